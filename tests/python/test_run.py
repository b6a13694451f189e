"""s2prep.run(): the same files as `s2prep run` for the same request (byte for byte), the
catalogue returned; Ctrl-C (SIGINT to a Python process loading or running against a slow
server) raises KeyboardInterrupt and leaves nothing half-written."""

import json
import signal
import subprocess
import sys
import textwrap

import pytest

s2prep = pytest.importorskip("s2prep", reason="the s2prep module is not built (needs pybind11-dev)")

DATES = ("2023-04-01", "2023-09-30")
# Records of the run that may name the server (its URL differs between the two runs here).
RECORDS = ("run.json", "folder.json")


def _files(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def _without_server(value, server_urls):
    """A JSON record with every string naming one of the servers replaced by a placeholder."""
    if isinstance(value, dict):
        return {k: _without_server(v, server_urls) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_server(v, server_urls) for v in value]
    if isinstance(value, str) and any(url in value for url in server_urls):
        return "<server>"
    return value


def test_same_files_as_the_command_line(server, scene, cli, tmp_path):
    cli_out, py_out = tmp_path / "cli", tmp_path / "python"
    cli("run", "--quiet", "--geometry", scene[1], "--start", DATES[0], "--end", DATES[1], *server.flags,
        "--out", str(cli_out), "--keep-probabilities", "--dilation", "3")
    catalogue = s2prep.run(scene[1], *DATES, out=py_out, keep_probabilities=True, dilation=3, **server.services)

    assert _files(py_out) == _files(cli_out)
    assert any(name.endswith("_raster.tif") for name in _files(py_out))
    for name in _files(cli_out):
        ours, theirs = (py_out / name).read_bytes(), (cli_out / name).read_bytes()
        if name.split("/")[-1] in RECORDS:
            assert _without_server(json.loads(ours), [server.base_url]) == _without_server(
                json.loads(theirs), [server.base_url]
            ), name
        else:
            assert ours == theirs, name
    assert catalogue == json.loads((py_out / "items.json").read_text())
    assert catalogue["features"]

    # Resumed: nothing is rewritten, the catalogue is the same.
    before = {name: (py_out / name).stat().st_mtime_ns for name in _files(py_out) if name.endswith(".tif")}
    again = s2prep.run(scene[1], *DATES, out=py_out, keep_probabilities=True, dilation=3, **server.services)
    assert again == catalogue
    assert before == {name: (py_out / name).stat().st_mtime_ns for name in before}


def test_another_request_in_the_folder_is_refused(server, scene, tmp_path):
    s2prep.run(scene[1], "2023-09-01", "2023-09-01", out=tmp_path, **server.services)
    with pytest.raises(s2prep.InputError):
        s2prep.run(scene[1], "2023-09-01", "2023-09-01", out=tmp_path, layout="tile", **server.services)
    catalogue = s2prep.run(scene[1], "2023-09-01", "2023-09-01", out=tmp_path, layout="tile",
                           replace_request=True, **server.services)
    assert all("T33U" in f["id"] for f in catalogue["features"])


INTERRUPTED = 42
SCRIPT = textwrap.dedent(
    """
    import sys
    import s2prep

    call, region, stac_url, token_url, out = sys.argv[1:]
    services = dict(stac_url=stac_url, token_url=token_url)
    dates = ("2021-06-01", "2023-09-30")
    print("outputs", len(s2prep.plan(region, *dates, **services).outputs), flush=True)
    acquisitions_read = set()

    def progress(p):
        if p.stage == "read":
            if not acquisitions_read:
                print("reading", flush=True)
            acquisitions_read.add(p.index)

    try:
        if call == "load":
            s2prep.load(region, *dates, progress=progress, **services)
        else:
            s2prep.run(region, *dates, out=out, progress=progress, **services)
    except KeyboardInterrupt:
        # Raised while s2prep worked, not after it had finished: few acquisitions were read.
        print("KeyboardInterrupt after reading", len(acquisitions_read), flush=True)
        sys.exit(%d)
    print("finished", flush=True)
    """
    % INTERRUPTED
)


@pytest.mark.parametrize("call", ["load", "run"])
def test_ctrl_c_raises_keyboard_interrupt(call, slow_server, scene, python_env, tmp_path):
    out = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, call, scene[1], *slow_server.services.values(), str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=python_env,
    )
    try:
        planned = process.stdout.readline()
        assert planned.startswith("outputs "), planned + process.stderr.read()
        outputs = int(planned.split()[1])
        assert outputs >= 4
        first = process.stdout.readline()
        assert first == "reading\n", first + process.stderr.read()
        process.send_signal(signal.SIGINT)
        # A generous bound only so that a hang fails instead of blocking the suite.
        stdout, stderr = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == INTERRUPTED, stdout + stderr
    assert "finished" not in stdout
    read = int(stdout.split("KeyboardInterrupt after reading")[1])
    assert read < outputs
    if call == "run":
        files = _files(out) if out.exists() else []
        # No temporary file is left, and every listed output is complete.
        assert not [name for name in files if ".tmp" in name], files
        listed = json.loads((out / "items.json").read_text())["features"] if (out / "items.json").exists() else []
        for feature in listed:
            for asset in feature["assets"].values():
                assert (out / asset["href"]).is_file()
        # Interrupted before the end: not every output was written.
        assert len([n for n in files if n.endswith("_raster.tif")]) < outputs


def test_per_feature_returns_each_features_catalogue(server, scene, cli, tmp_path):
    ogr = pytest.importorskip("osgeo.ogr", reason="GDAL's Python bindings (python3-gdal) are missing")
    geometry = json.loads(ogr.CreateGeometryFromWkt(scene[1]).ExportToJson())
    collection = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "id": "north_field", "properties": {}, "geometry": geometry},
            {"type": "Feature", "id": "south", "properties": {}, "geometry": geometry},
        ],
    }
    catalogues = s2prep.run(collection, "2023-09-01", "2023-09-01", out=tmp_path / "python", per_feature=True,
                            **server.services)
    assert sorted(catalogues) == ["north_field", "south"]
    for name, catalogue in catalogues.items():
        assert catalogue == json.loads((tmp_path / "python" / name / "items.json").read_text())
        assert len(catalogue["features"]) == 1
    cli("run", "--quiet", "--geometry", json.dumps(collection), "--start", "2023-09-01", "--end", "2023-09-01",
        *server.flags, "--out", str(tmp_path / "cli"), "--per-feature")
    assert _files(tmp_path / "python") == _files(tmp_path / "cli")
