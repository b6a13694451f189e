"""s2prep.search(): the plain Python result, the command line's JSON, every form of geometry,
items=, parameters (names, files) and the exceptions, against `s2prep search` of the same build
and geometries written by GDAL's own OGR."""

import datetime as dt
import json
import pathlib

import pytest

s2prep = pytest.importorskip("s2prep", reason="the s2prep module is not built (needs pybind11-dev)")
ogr = pytest.importorskip("osgeo.ogr", reason="GDAL's Python bindings (python3-gdal) are missing")

DATES = ("2021-06-01", "2023-09-30")


def test_result_is_plain_python(server, scene):
    result = s2prep.search(scene[1], *DATES, **server.services)
    assert result.complete and result.nothing_found == ""
    assert len(result.acquisitions) >= 3
    for a in result.acquisitions:
        assert isinstance(a, s2prep.Acquisition)
        assert isinstance(a.datetime, dt.datetime) and a.datetime.utcoffset() == dt.timedelta(0)
        assert a.tiles == ("33UUP", "33UVP") or set(a.tiles) == {"33UUP", "33UVP"}
        assert len(a.item_ids) == len(a.tiles)
        assert a.coverage >= 0.99
    assert [a.datetime for a in result.acquisitions] == sorted(a.datetime for a in result.acquisitions)
    # The swath-cut date covers only part of the region.
    assert any("min_tile_cover" in s.reason for s in result.skipped)
    ids = {i["id"] for i in result.items}
    assert all(isinstance(i, dict) and i["type"] == "Feature" for i in result.items)
    assert {i for a in result.acquisitions for i in a.item_ids} <= ids
    assert result.items_found == len(result.items)


def test_to_json_is_the_command_lines(server, scene, cli):
    result = s2prep.search(scene[1], *DATES, **server.services)
    printed = cli("search", "--json", "--geometry", scene[1], "--start", DATES[0], "--end", DATES[1], *server.flags)
    assert json.loads(result.to_json()) == json.loads(printed.stdout)
    cli_acquisitions = json.loads(printed.stdout)["acquisitions"]
    assert [a["items"] for a in cli_acquisitions] == [list(a.item_ids) for a in result.acquisitions]


def _geojson_of(wkt):
    """The region as a GeoJSON geometry dict, written by OGR (not by s2prep)."""
    return json.loads(ogr.CreateGeometryFromWkt(wkt).ExportToJson())


class _Shape:
    """A shapely-like object: only __geo_interface__."""

    def __init__(self, mapping):
        self.__geo_interface__ = mapping


def _vector_file(wkt, path, driver):
    ds = ogr.GetDriverByName(driver).CreateDataSource(str(path))
    srs = ogr.osr.SpatialReference()
    srs.ImportFromEPSG(4326)
    srs.SetAxisMappingStrategy(ogr.osr.OAMS_TRADITIONAL_GIS_ORDER)
    layer = ds.CreateLayer("field", srs, ogr.wkbPolygon)
    feature = ogr.Feature(layer.GetLayerDefn())
    feature.SetGeometry(ogr.CreateGeometryFromWkt(wkt))
    layer.CreateFeature(feature)
    ds = None
    return path


def test_every_form_of_geometry_selects_the_same(server, scene, tmp_path):
    wkt = scene[1]
    expected = s2prep.search(wkt, *DATES, **server.services).acquisitions
    geojson = _geojson_of(wkt)
    forms = {
        "dict": geojson,
        "feature": {"type": "Feature", "properties": {}, "geometry": geojson},
        "geo_interface": _Shape(geojson),
        "geojson text": json.dumps(geojson),
        "path str": str(_vector_file(wkt, tmp_path / "field.geojson", "GeoJSON")),
        "PathLike": _vector_file(wkt, tmp_path / "field.gpkg", "GPKG"),
    }
    for name, geometry in forms.items():
        got = s2prep.search(geometry, *DATES, **server.services).acquisitions
        assert [(a.datetime, a.item_ids) for a in got] == [(a.datetime, a.item_ids) for a in expected], name


def test_dates_as_datetime_objects(server, scene):
    by_text = s2prep.search(scene[1], *DATES, **server.services)
    by_object = s2prep.search(scene[1], dt.date(2021, 6, 1), dt.datetime(2023, 9, 30, 23, 59, 59, tzinfo=dt.timezone.utc), **server.services)
    assert by_object.acquisitions == by_text.acquisitions


def test_items_select_without_a_second_search(server, scene):
    first = s2prep.search(scene[1], *DATES, **server.services)
    # Nothing listens on port 9: a catalogue request would fail.
    dead = {"stac_url": "http://127.0.0.1:9/stac", "token_url": server.base_url + "/token"}
    again = s2prep.search(scene[1], *DATES, items=first, **dead)
    assert again.acquisitions == first.acquisitions
    as_dicts = s2prep.search(scene[1], *DATES, items=first.items, **dead)
    assert as_dicts.acquisitions == first.acquisitions


def test_unknown_parameter_is_an_input_error_naming_it(scene):
    with pytest.raises(s2prep.InputError, match="cloud_threshold"):
        s2prep.search(scene[1], *DATES, cloud_threshold=0.5)
    with pytest.raises(ValueError, match="'jobs' applies to"):
        s2prep.search(scene[1], *DATES, jobs=2)
    with pytest.raises(s2prep.InputError, match="min_tile_cover"):
        s2prep.search(scene[1], *DATES, min_tile_cover="most")


def test_bad_value_has_the_command_lines_sentence(server, scene, cli):
    with pytest.raises(s2prep.InputError) as raised:
        s2prep.search(scene[1], *DATES, min_tile_cover=1.5, **server.services)
    printed = cli("search", "--geometry", scene[1], "--start", DATES[0], "--end", DATES[1],
                  "--min-tile-cover", "1.5", *server.flags, check=False)
    assert printed.returncode == 2
    assert f"s2prep: error: {raised.value}" in printed.stderr.splitlines()
    assert isinstance(raised.value, s2prep.Error)


def test_bad_geometry_is_an_input_error(server):
    with pytest.raises(s2prep.InputError):
        s2prep.search("POLYGON((not a polygon))", *DATES, **server.services)
    with pytest.raises(s2prep.InputError, match="geometry"):
        s2prep.search(42, *DATES, **server.services)


def test_service_failure_is_a_remote_error(server, scene):
    with pytest.raises(s2prep.RemoteError) as raised:
        s2prep.search(scene[1], *DATES, stac_url=server.base_url + "/no-such-api", token_url="none")
    assert isinstance(raised.value, s2prep.Error)
    assert raised.value.url.startswith(server.base_url)


def test_params_file_sets_the_workflows_parameters(server, scene, cli, tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("min_tile_cover: 0.5\nmax_tiles_per_time: null\n")
    got = s2prep.search(scene[1], *DATES, params=params, **server.services)
    printed = cli("search", "--json", "--geometry", scene[1], "--start", DATES[0], "--end", DATES[1],
                  "--min-tile-cover", "0.5", *server.flags)
    assert json.loads(got.to_json()) == json.loads(printed.stdout)
    # An argument wins over the file.
    strict = s2prep.search(scene[1], *DATES, params=params, min_tile_cover=0.99, **server.services)
    assert len(strict.acquisitions) < len(got.acquisitions)

    bad = tmp_path / "bad.yaml"
    bad.write_text("cloud_thr: 0.4\ncloud_threshold: 0.5\n")
    with pytest.raises(s2prep.InputError, match="Unknown parameter 'cloud_threshold' in .*bad.yaml"):
        s2prep.search(scene[1], *DATES, params=bad, **server.services)
    with pytest.raises(s2prep.InputError, match="Cannot read the parameters file"):
        s2prep.search(scene[1], *DATES, params=tmp_path / "missing.yaml", **server.services)


def test_version():
    assert s2prep.version() == s2prep.__version__
    assert s2prep.version().count(".") == 2


def test_exception_hierarchy():
    for error in (s2prep.InputError, s2prep.NothingFoundError, s2prep.RemoteError, s2prep.DataError):
        assert issubclass(error, s2prep.Error)
    assert issubclass(s2prep.InputError, ValueError)
    assert s2prep.Error.__module__ == "s2prep"


def test_path_objects_are_accepted_for_geometry(server, scene, tmp_path):
    path = pathlib.Path(_vector_file(scene[1], tmp_path / "f.geojson", "GeoJSON"))
    assert s2prep.search(path, *DATES, **server.services).acquisitions


def test_log_lines_go_to_pythons_logging(server, scene, caplog):
    import logging

    with caplog.at_level(logging.INFO, logger="s2prep"):
        s2prep.search(scene[1], *DATES, **server.services)
    messages = [r.getMessage() for r in caplog.records if r.name == "s2prep"]
    assert any(m.startswith("Searching " + server.base_url) for m in messages), messages


THREADS_SCRIPT = """
import warnings, s2prep
region, stac_url = __import__("sys").argv[1:]
kw = dict(stac_url=stac_url, token_url="none")
s2prep.plan(region, "2023-09-01", "2023-09-01", threads=2, **kw)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    s2prep.plan(region, "2023-09-01", "2023-09-01", threads=2, **kw)
    assert not caught, [str(w.message) for w in caught]
    s2prep.plan(region, "2023-09-01", "2023-09-01", threads=3, **kw)
    assert len(caught) == 1 and issubclass(caught[0].category, RuntimeWarning)
    assert "threads=3 is ignored" in str(caught[0].message) and "(2)" in str(caught[0].message)
assert s2prep.initialize(threads=4) is False
print("ok")
"""


def test_threads_are_process_wide(server, scene, python_env):
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", THREADS_SCRIPT, scene[1], server.base_url + "/stac"],
                          capture_output=True, text=True, env=python_env)
    assert done.returncode == 0 and done.stdout == "ok\n", done.stderr
