"""s2prep.load(): the xarray.Dataset against the COGs `s2prep run` writes for the same request,
read with GDAL's Python bindings; georeferencing through rioxarray; no copies of the pixels;
progress callables and bars; the GIL released while s2prep works."""

import gc
import json
import threading

import pytest

np = pytest.importorskip("numpy", reason="numpy (python3-numpy) is missing")
xr = pytest.importorskip("xarray", reason="xarray (python3-xarray) is missing")
rioxarray = pytest.importorskip("rioxarray", reason="rioxarray (python3-rioxarray) is missing")
gdal = pytest.importorskip("osgeo.gdal", reason="GDAL's Python bindings (python3-gdal) are missing")
osr = pytest.importorskip("osgeo.osr", reason="GDAL's Python bindings (python3-gdal) are missing")
s2prep = pytest.importorskip("s2prep", reason="the s2prep module is not built (needs pybind11-dev)")

gdal.UseExceptions()

BANDS = ["B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11", "B12"]
# Five acquisitions (one a reprocessing with baseline 05.00, one with many clouds) and one
# skipped (the swath cuts through the region).
DATES = ("2022-06-01", "2023-09-30")


@pytest.fixture(scope="module")
def cli_run(server, scene, cli, tmp_path_factory):
    out = tmp_path_factory.mktemp("cli-run")
    cli("run", "--quiet", "--geometry", scene[1], "--start", DATES[0], "--end", DATES[1], *server.flags,
        "--out", str(out), "--keep-probabilities")
    return out, json.loads((out / "items.json").read_text())


@pytest.fixture(scope="module")
def loaded(server, scene):
    return s2prep.load(scene[1], *DATES, keep_probabilities=True, **server.services)


def _read(path):
    """Every band of a raster as a (bands, rows, cols) array, its geotransform and CRS, by GDAL."""
    ds = gdal.Open(str(path))
    return ds.ReadAsArray(), ds.GetGeoTransform(), ds.GetProjection()


def _outputs(cli_run):
    out, catalogue = cli_run
    features = catalogue["features"]
    assert features, "the CLI wrote no outputs"
    return out, sorted(features, key=lambda f: f["properties"]["datetime"])


def test_shape_and_types(loaded):
    ds = loaded
    assert isinstance(ds, xr.Dataset)
    for band in BANDS:
        assert ds[band].dims == ("time", "y", "x")
        assert ds[band].dtype == np.uint16
        assert ds[band].attrs["grid_mapping"] == "spatial_ref"
        assert ds[band].attrs["nodata"] == 0
        assert ds[band].attrs["scale_factor"] == 0.0001
    for name in ("mask", "product_mask"):
        assert ds[name].dtype == np.uint8 and ds[name].dims == ("time", "y", "x")
        assert ds[name].attrs["nodata"] == 255
        assert ds[name].attrs["grid_mapping"] == "spatial_ref"
    for name in ("cloud_probability", "shadow_probability"):
        assert ds[name].dtype == np.float32
    assert ds.time.dtype == np.dtype("datetime64[ns]")
    assert ds.spatial_ref.ndim == 0 and np.issubdtype(ds.spatial_ref.dtype, np.integer)
    assert set(ds.data_vars) == set(BANDS) | {"mask", "product_mask", "cloud_probability", "shadow_probability"}


def test_without_probabilities_there_are_none(server, scene):
    ds = s2prep.load(scene[1], "2023-09-01", "2023-09-01", **server.services)
    assert "cloud_probability" not in ds and "shadow_probability" not in ds
    assert ds.sizes["time"] == 1


def test_pixels_equal_the_command_lines_cogs(loaded, cli_run):
    out, features = _outputs(cli_run)
    ds = loaded
    assert ds.sizes["time"] == len(features)
    for t, feature in enumerate(features):
        expected_time = np.datetime64(feature["properties"]["datetime"].rstrip("Z"), "ns")
        assert ds.time.values[t] == expected_time
        assets = feature["assets"]
        raster, _, _ = _read(out / assets["raster"]["href"])
        assert raster.shape == (12, ds.sizes["y"], ds.sizes["x"])
        for b, band in enumerate(BANDS):
            np.testing.assert_array_equal(ds[band].values[t], raster[b], err_msg=f"{band} at {expected_time}")
        for name in ("mask", "product_mask", "cloud_probability", "shadow_probability"):
            pixels, _, _ = _read(out / assets[name]["href"])
            np.testing.assert_array_equal(ds[name].values[t], pixels, err_msg=f"{name} at {expected_time}")
    # The request has clouds, and clear pixels: the comparison is not of empty masks.
    assert (ds.mask.values == 1).any() and (ds.mask.values == 0).any()


def test_georeferencing_equals_the_cogs(loaded, cli_run):
    out, features = _outputs(cli_run)
    _, gt, wkt = _read(out / features[0]["assets"]["raster"]["href"])
    ds = loaded
    assert tuple(ds.rio.transform().to_gdal()) == pytest.approx(gt, abs=1e-9)
    cog_srs = osr.SpatialReference(wkt=wkt)
    our_srs = osr.SpatialReference(wkt=ds.rio.crs.to_wkt())
    assert our_srs.IsSame(cog_srs)
    assert ds.rio.crs.to_epsg() == int(cog_srs.GetAuthorityCode(None))
    # Pixel centres.
    np.testing.assert_allclose(ds.x.values, gt[0] + (np.arange(ds.sizes["x"]) + 0.5) * gt[1])
    np.testing.assert_allclose(ds.y.values, gt[3] + (np.arange(ds.sizes["y"]) + 0.5) * gt[5])
    spatial_ref = ds.spatial_ref.attrs
    assert [float(v) for v in spatial_ref["GeoTransform"].split()] == pytest.approx(list(gt))
    assert osr.SpatialReference(wkt=spatial_ref["crs_wkt"]).IsSame(cog_srs)
    assert spatial_ref["spatial_ref"] == spatial_ref["crs_wkt"]
    assert ds.B04.rio.nodata == 0 and ds.mask.rio.nodata == 255


def test_attributes_name_the_sources_and_models(loaded, cli_run, server, scene):
    ds = loaded
    for value in ds.attrs.values():
        assert isinstance(value, (str, int, float)), value
    acquisitions = json.loads(ds.attrs["acquisitions"])
    selected = s2prep.search(scene[1], *DATES, **server.services).acquisitions
    assert [a["item_ids"] for a in acquisitions] == [list(a.item_ids) for a in selected]
    assert json.loads(ds.attrs["items"]) == [list(a.item_ids) for a in selected]
    assert json.loads(ds.attrs["coverage"]) == pytest.approx([a.coverage for a in selected])
    baselines = json.loads(ds.attrs["processing_baselines"])
    harmonized = json.loads(ds.attrs["harmonized"])
    # Baselines 04.00 and later are harmonized, older ones are not.
    for per_time_baselines, per_time_flags in zip(baselines, harmonized):
        for baseline, flag in zip(per_time_baselines, per_time_flags):
            assert flag == (tuple(int(p) for p in baseline.split(".")) >= (4, 0))
    assert any(True in flags for flags in harmonized)
    # The models are those the command line's outputs name.
    _, features = _outputs(cli_run)
    assert ds.attrs["cloud_model"] in json.dumps(features[0]["properties"])
    assert ds.attrs["cloud_model_engine"]
    assert ds.attrs["shadow_model"] in json.dumps(features[0]["properties"])


def _root_array(a):
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def test_arrays_are_s2preps_buffers_without_copies(server, scene):
    ds = s2prep.load(scene[1], "2023-08-01", "2023-09-30", **server.services)
    b01 = ds.B01.values
    cube = _root_array(b01)
    assert not b01.flags.owndata
    assert type(cube.base).__name__ == "PyCapsule"  # owned by the C++ LoadResult
    assert cube.shape == (12, ds.sizes["time"], ds.sizes["y"], ds.sizes["x"])
    plane = ds.sizes["time"] * ds.sizes["y"] * ds.sizes["x"] * 2
    for i, band in enumerate(BANDS):
        values = ds[band].values
        assert _root_array(values) is cube
        assert np.shares_memory(values, cube)
        assert values.ctypes.data == cube.ctypes.data + i * plane
    assert type(_root_array(ds.mask.values).base).__name__ == "PyCapsule"
    # The buffers live as long as any array over them.
    expected = b01.copy()
    del ds, cube
    gc.collect()
    np.testing.assert_array_equal(b01, expected)


def test_progress_callable(server, scene):
    calls = []
    active = []
    overlapping = []
    main = threading.get_ident()

    def progress(p):
        if active:
            overlapping.append(p)
        active.append(p)
        calls.append((p, threading.get_ident()))
        active.pop()

    ds = s2prep.load(scene[1], "2023-08-01", "2023-09-30", progress=progress, **server.services)
    assert calls and not overlapping
    records = [p for p, _ in calls]
    assert all(isinstance(p, s2prep.Progress) for p in records)
    stages = {p.stage for p in records}
    assert {"read", "inference"} <= stages
    assert {p.index for p in records if p.stage == "read"} == set(range(ds.sizes["time"]))
    assert all(p.count == ds.sizes["time"] for p in records if p.stage == "read")
    assert all(0 <= p.done <= p.total for p in records if p.total)
    # Called from s2prep's worker threads.
    assert any(ident != main for _, ident in calls)


class _Bar:
    """The part of tqdm's interface s2prep uses."""

    def __init__(self):
        self.total = None
        self.n = 0
        self.descriptions = []
        self.finished = []

    def reset(self, total=None):
        if self.total:
            self.finished.append((self.n, self.total))
        self.n = 0
        self.total = total

    def update(self, n):
        self.n += n

    def set_description(self, text):
        self.descriptions.append(text)


def test_progress_bar(server, scene):
    bar = _Bar()
    s2prep.load(scene[1], "2023-08-01", "2023-09-30", progress=bar, **server.services)
    assert bar.descriptions and bar.descriptions[0].startswith(("search", "read"))
    assert any(d.startswith("read 2/2") for d in bar.descriptions)
    # Every pass that ended had counted up to its total.
    assert bar.finished and all(n == pytest.approx(total) for n, total in bar.finished)


def test_exception_in_progress_stops_and_is_raised(server, scene):
    class Stop(Exception):
        pass

    seen = []

    def progress(p):
        seen.append(p)
        if p.stage == "read":
            raise Stop("enough")

    with pytest.raises(Stop, match="enough"):
        s2prep.load(scene[1], *DATES, progress=progress, **server.services)
    # Never called again after it raised.
    assert seen[-1].stage == "read" and sum(p.stage == "read" for p in seen) == 1


def test_gil_is_released_while_s2prep_works(server, scene):
    ticks = []
    running = threading.Event()
    running.set()

    def tick():
        while running.is_set():
            ticks.append(1)
            threading.Event().wait(0.001)

    reads = []

    def progress(p):
        if p.stage == "read":
            reads.append(len(ticks))

    ticker = threading.Thread(target=tick)
    ticker.start()
    try:
        s2prep.load(scene[1], "2023-08-01", "2023-09-30", progress=progress, **server.services)
    finally:
        running.clear()
        ticker.join()
    # The other Python thread ran between s2prep's progress reports.
    assert reads[-1] > reads[0]


def test_nothing_found(server, scene):
    with pytest.raises(s2prep.NothingFoundError):
        s2prep.load(scene[1], "2020-01-01", "2020-01-31", **server.services)


def test_load_refuses_run_only_parameters(scene):
    with pytest.raises(s2prep.InputError, match="'force' applies to s2prep.run"):
        s2prep.load(scene[1], *DATES, force=True)


def test_plan_names_the_command_lines_outputs(server, scene, cli_run):
    out, features = _outputs(cli_run)
    planned = s2prep.plan(scene[1], *DATES, **server.services)
    assert [o.name + "_raster.tif" for o in planned.outputs] == [f["assets"]["raster"]["href"] for f in features]
    _, gt, _ = _read(out / features[0]["assets"]["raster"]["href"])
    for o in planned.outputs:
        assert o.grid["transform"] == pytest.approx(gt)
        assert o.memory_bytes > 0
    assert len(planned.search.acquisitions) == len(features)


def test_dataset_writes_to_netcdf_that_gdal_reads(loaded, cli_run, tmp_path):
    if gdal.GetDriverByName("netCDF") is None:
        pytest.skip("GDAL has no netCDF driver")
    if not {"netcdf4", "h5netcdf", "scipy"} & set(xr.backends.list_engines()):
        pytest.skip("xarray has no netCDF backend (python3-netcdf4 or python3-scipy)")
    path = tmp_path / "loaded.nc"
    loaded.to_netcdf(path)
    out, features = _outputs(cli_run)
    raster, gt, wkt = _read(out / features[0]["assets"]["raster"]["href"])
    ds = gdal.Open(f'NETCDF:"{path}":B04')
    # GDAL reads the first time step as band 1, north up, on the COG's grid and CRS.
    assert ds.GetGeoTransform() == pytest.approx(gt)
    assert osr.SpatialReference(wkt=ds.GetProjection()).IsSame(osr.SpatialReference(wkt=wkt))
    np.testing.assert_array_equal(ds.GetRasterBand(1).ReadAsArray(), raster[3])
    assert json.loads(xr.open_dataset(path).attrs["acquisitions"]) == json.loads(loaded.attrs["acquisitions"])


def test_renamed_flags_mean_what_the_command_lines_do(server, scene, cli, tmp_path):
    """no_harmonize, dilation, min_area and context are the command line's --no-harmonize,
    --dilation, --min-area and --context (the library names them otherwise)."""
    dates = ("2023-08-01", "2023-09-30")
    cli("run", "--quiet", "--geometry", scene[1], "--start", dates[0], "--end", dates[1], *server.flags,
        "--out", str(tmp_path), "--no-harmonize", "--dilation", "1", "--min-area", "9", "--context", "16")
    ds = s2prep.load(scene[1], *dates, no_harmonize=True, dilation=1, min_area=9, context=16, **server.services)
    default = s2prep.load(scene[1], *dates, **server.services)
    features = sorted(json.loads((tmp_path / "items.json").read_text())["features"],
                      key=lambda f: f["properties"]["datetime"])
    assert ds.sizes["time"] == len(features) == 2
    for t, feature in enumerate(features):
        raster, _, _ = _read(tmp_path / feature["assets"]["raster"]["href"])
        mask, _, _ = _read(tmp_path / feature["assets"]["mask"]["href"])
        for b, band in enumerate(BANDS):
            np.testing.assert_array_equal(ds[band].values[t], raster[b])
        np.testing.assert_array_equal(ds.mask.values[t], mask)
    # The flags changed something: raw digital numbers, another mask.
    assert json.loads(ds.attrs["harmonized"]) == [[False, False], [False, False]]
    assert (ds.B04.values != default.B04.values).any()
    assert (ds.mask.values != default.mask.values).any()


def test_load_items_without_a_second_search(server, scene, loaded):
    found = s2prep.search(scene[1], *DATES, **server.services)
    again = s2prep.load(scene[1], *DATES, items=found, keep_probabilities=True,
                        stac_url="http://127.0.0.1:9/stac", token_url=server.base_url + "/token")
    for name in loaded.data_vars:
        np.testing.assert_array_equal(again[name].values, loaded[name].values)
