"""s2prep on a Dask cluster: s2prep.run(..., client=...) plans once, makes each output in a task
on a dask.distributed worker (a LocalCluster of worker processes here) and collects; the files
equal a single-process run of the command line byte for byte."""

import json

import pytest

s2prep = pytest.importorskip("s2prep", reason="the s2prep module is not built (needs pybind11-dev)")
distributed = pytest.importorskip("distributed", reason="Dask (python3-distributed) is not installed")

DATES = ("2023-04-01", "2023-09-30")
# Records that name the server or the way the run was made (a plan's folder has plan.json).
RECORDS = ("run.json", "folder.json", "plan.json")


def _files(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_units_on_dask_workers_equal_a_single_run(server, scene, cli, tmp_path):
    single, clustered = tmp_path / "single", tmp_path / "dask"
    cli("run", "--quiet", "--geometry", scene[1], "--start", DATES[0], "--end", DATES[1],
        *server.flags, "--out", str(single), "--layout", "tile")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        catalogue = s2prep.run(scene[1], *DATES, out=clustered, client=client, layout="tile",
                               **server.services)
        workers = {w: info["id"] for w, info in client.scheduler_info()["workers"].items()}
    assert len(workers) == 2

    plan = json.loads((clustered / "plan.json").read_text())
    assert len(plan["units"]) == len(catalogue["features"]) > 2
    expected = [f for f in _files(single) if f.split("/")[-1] not in RECORDS]
    assert [f for f in _files(clustered) if f.split("/")[-1] not in RECORDS] == expected
    for name in expected:
        assert (clustered / name).read_bytes() == (single / name).read_bytes(), name
    assert catalogue == json.loads((clustered / "items.json").read_text())
    assert s2prep.collect(clustered)["missing"] == []
