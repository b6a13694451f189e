"""s2prep: "this field, this time range" to analysis-ready Sentinel-2 imagery.

    import s2prep
    ds = s2prep.load("field.geojson", "2023-06-01", "2023-06-30")   # xarray.Dataset
    ds.B04, ds.mask                                                   # (time, y, x)
    s2prep.run("field.geojson", "2023-06-01", "2023-06-30", out="out")  # the CLI's files

Every call takes the region (`geometry`: a GeoJSON dict, a shapely-like object with
``__geo_interface__``, a WKT or GeoJSON string, or the path of any vector file GDAL reads; lon/lat
unless the file says otherwise), the time range (`start`, `end`: ISO 8601 strings, or
datetime.date / datetime.datetime, inclusive; naive datetimes are UTC) and keyword parameters:

- the workflow's: min_tile_cover, max_tiles_per_time, cloud_thr, shadow_thr, in_memory,
  cloud_model, shadow_model, pc_key, dl_timeout; params= a YAML or JSON file of them (arguments
  win over the file);
- the command line's long flags with ``_`` for ``-``: stac_url, token_url, collection, sign_host,
  max_cloud_cover; for plan/load/run also layout, full_tile, keep_probabilities, model_dir,
  engine, jobs, threads, parallel_acquisitions, no_harmonize, dilation, min_area, context,
  allow_incomplete; for run also force, per_feature, replace_request, quicklook;
- items=: a SearchResult (or a list of STAC Item dicts) to select from instead of searching.

`threads` (the inference engines' threads) is process-wide: it takes effect only on the first
call in the process (or through s2prep.initialize()); a later call asking for another number
gets a RuntimeWarning and runs with the first setting.

Errors are s2prep.Error: InputError (also a ValueError), NothingFoundError, RemoteError (a
service failed; `url`, `http_status`), DataError; their message is one sentence naming what is
at fault and what to do. The work runs with the GIL released; Ctrl-C stops it (outputs finished
before stay complete, nothing half-written is left) and raises KeyboardInterrupt.

At scale: run(..., client=dask_client) plans once and makes each output in a task on a
dask.distributed cluster (workers must share the `out` folder); or write_plan(), then
run_plan(plan_file, shard=(i, n)) on any machines, then collect() — as `s2prep plan`,
`s2prep run --plan --shard` and `s2prep collect`.

`progress=` takes a callable (called with an s2prep.Progress) or a tqdm-like bar. It is called
from s2prep's worker threads, one call at a time; an exception it raises stops the work and is
raised by the call.
"""

import datetime as _dt
import json
import os
import threading as _threading
import warnings as _warnings
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

from . import _dataset, _params, _progress
from ._progress import Progress
from ._s2prep import Cancelled, DataError, Error, InputError, NothingFoundError, RemoteError
from . import _s2prep

__all__ = [
    "Acquisition",
    "Cancelled",
    "DataError",
    "Error",
    "InputError",
    "NothingFoundError",
    "PlannedOutput",
    "Plan",
    "Progress",
    "RemoteError",
    "SearchResult",
    "SkippedAcquisition",
    "collect",
    "initialize",
    "load",
    "plan",
    "run",
    "run_plan",
    "search",
    "version",
    "write_plan",
]

BANDS = _dataset.BANDS
__version__ = _s2prep.version()


def version():
    """s2prep's version, e.g. "0.2.0"."""
    return _s2prep.version()


def _datetime(text):
    """A timezone-aware UTC datetime of an ISO 8601 text, or None for an empty one."""
    if not text:
        return None
    return _dt.datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)


@dataclass(frozen=True)
class Acquisition:
    """One acquisition the workflow uses: the items (tiles) covering the region at one time."""

    datetime: _dt.datetime
    item_ids: Tuple[str, ...]  # mosaic order: an earlier item wins where items overlap
    tiles: Tuple[str, ...]  # MGRS tiles of the items, same order
    coverage: float  # fraction of the region covered by the union of the items' footprints
    cloud_cover: Optional[float]  # the largest eo:cloud_cover of the items, percent


@dataclass(frozen=True)
class SkippedAcquisition:
    """An acquisition (or, per feature, a feature) the workflow does not use, and why."""

    datetime: Optional[_dt.datetime]
    item_ids: Tuple[str, ...]
    reason: str
    feature: str = ""  # the feature's sub-folder name in per-feature runs


@dataclass(frozen=True)
class SearchResult:
    """What search() found. `complete` is False when the catalogue may have held more items than
    it returned (see `warnings`): load() and run() refuse such a selection unless
    allow_incomplete=True. Pass the result as items= to load() or run() to use this selection
    without searching again."""

    acquisitions: List[Acquisition]
    skipped: List[SkippedAcquisition]
    items_found: int
    complete: bool
    warnings: List[str]
    nothing_found: str  # why no acquisition can be used, in one sentence; empty when some can
    items: List[dict] = field(repr=False)  # every item found, as the catalogue returned it
    region_wkt: str = field(repr=False)
    start: str = ""
    end: str = ""
    _json: str = field(default="", repr=False)
    _item_texts: Tuple[str, ...] = field(default=(), repr=False)

    def to_json(self):
        """The JSON object the command line's `s2prep search --json` prints."""
        return self._json


@dataclass(frozen=True)
class PlannedOutput:
    """One output run() would write."""

    name: str
    datetime: _dt.datetime
    item_ids: Tuple[str, ...]
    tiles: Tuple[str, ...]
    grid: dict  # epsg, transform (GDAL order), width, height, crs_wkt
    memory_bytes: int


@dataclass(frozen=True)
class Plan:
    search: SearchResult
    outputs: List[PlannedOutput]


def _skipped(raw):
    return [
        SkippedAcquisition(_datetime(s["datetime"]), tuple(s["item_ids"]), s["reason"], s["feature"])
        for s in raw
    ]


def _search_result(raw):
    return SearchResult(
        acquisitions=[
            Acquisition(
                _datetime(a["datetime"]), tuple(a["item_ids"]), tuple(a["tiles"]), a["coverage"], a["cloud_cover"]
            )
            for a in raw["acquisitions"]
        ],
        skipped=_skipped(raw["skipped"]),
        items_found=raw["items_found"],
        complete=raw["complete"],
        warnings=list(raw["warnings"]),
        nothing_found=raw["nothing_found"],
        items=[json.loads(t) for t in raw["items"]],
        region_wkt=raw["region_wkt"],
        start=raw["start"],
        end=raw["end"],
        _json=raw["json"],
        _item_texts=tuple(raw["items"]),
    )


# What this module initialised the process with (None: not yet).
_process_lock = _threading.Lock()
_process_settings = None


def initialize(threads=None, gdal_cache_mb=None, gdal_threads=None):
    """Applies the process-wide settings: `threads` of the inference engines (default all cores),
    GDAL's block cache in MB (default 256) and GDAL's threads inside one operation (default all
    cores). Only the first call in the process has an effect (returns True); search(), load(),
    run() and plan() make that first call with their `threads` when nobody has. Later calls
    change nothing and return False."""
    global _process_settings
    settings = (
        0 if threads is None else threads,
        0 if gdal_cache_mb is None else gdal_cache_mb,
        0 if gdal_threads is None else gdal_threads,
    )
    for name, value in zip(("threads", "gdal_cache_mb", "gdal_threads"), settings):
        _params._integer(name, value)
        if value < 0:
            raise InputError(f"Parameter '{name}' must not be negative, not {value}.")
    with _process_lock:
        first = _s2prep.initialize(*settings)
        if first:
            _process_settings = settings
        return first


def _initialize_for(threads):
    with _process_lock:
        already = _process_settings
    if already is None:
        if initialize(threads=threads) or threads is None:
            return
        with _process_lock:
            already = _process_settings
    if threads is not None and (already is None or already[0] != threads):
        were = "set by another caller" if already is None else f"{already[0] or 'all cores'}"
        _warnings.warn(
            f"threads={threads} is ignored: the inference threads are process-wide and were set "
            f"already ({were}); set them once, in the first call or with s2prep.initialize().",
            RuntimeWarning,
            stacklevel=3,
        )


def search(geometry, start, end, **params):
    """The acquisitions the workflow would use for the request, without reading pixels: a
    SearchResult. A search that finds nothing returns an empty result (see `skipped` and
    `nothing_found`) rather than raising."""
    values, threads = _params.options("search", geometry, start, end, params, {_params.REQUEST})
    _initialize_for(threads)
    return _search_result(_s2prep.search(values))


def plan(geometry, start, end, **params):
    """The outputs run() would write (names, items, grids), without reading pixels. Raises
    NothingFoundError when no acquisition can cover the region."""
    values, threads = _params.options(
        "plan", geometry, start, end, params, {_params.REQUEST, _params.PROCESSING}
    )
    _initialize_for(threads)
    return _plan(_s2prep.plan(values))


def _plan(raw):
    outputs = [
        PlannedOutput(
            o["name"], _datetime(o["datetime"]), tuple(o["item_ids"]), tuple(o["tiles"]), o["grid"], o["memory_bytes"]
        )
        for o in raw["outputs"]
    ]
    return Plan(_search_result(raw["search"]), outputs)


def load(geometry, start, end, progress=None, **params):
    """Every output of the request in memory on one grid, as an xarray.Dataset shaped like
    odc-stac's: B01 ... B12 (uint16 digital numbers, reflectance x 10000, 0 no data), mask
    (uint8: 0 clear, 1 cloud or shadow, 255 no data), product_mask (uint8, from the product's
    SCL), with keep_probabilities=True also cloud_probability and shadow_probability (float32),
    over (time, y, x) with pixel-centre coordinates and a `spatial_ref` coordinate for rioxarray.
    The pixels are those run() writes for the same request. The arrays are s2prep's own buffers
    (no copy). Mind the memory: 26 bytes per pixel and acquisition (34 with probabilities)."""
    values, threads = _params.options(
        "load", geometry, start, end, params, {_params.REQUEST, _params.PROCESSING}
    )
    callback = _progress.adapter(progress)
    _initialize_for(threads)
    raw = _s2prep.load(values, callback)
    return _dataset.dataset(raw, __version__)


def _read_json(path):
    with open(path, "rb") as f:
        return json.load(f)


def run(geometry, start, end, out, progress=None, client=None, **params):
    """Writes the request's outputs into the folder `out`, exactly as `s2prep run` does: per
    output a 12-band raster and a mask (COGs), the product mask, optionally the probabilities,
    and a STAC Item; items.json catalogues every complete output. Resumable: outputs already
    complete for the same request are kept. Returns the catalogue (items.json) as a dict; with
    per_feature=True a dict of each feature's sub-folder name to its catalogue.

    With `client` (a dask.distributed Client), the work goes to the cluster: the request is
    planned once (out/plan.json), each output is made by a task of its own on a worker (which
    must see `out`, a shared folder), and the catalogue is collected; the files are
    byte-identical to a run on one machine. A task that fails makes this call raise."""
    values, threads = _params.options(
        "run", geometry, start, end, params, {_params.REQUEST, _params.PROCESSING, _params.RUN}
    )
    values["out_dir"] = _params._text("out", out)
    callback = _progress.adapter(progress)
    _initialize_for(threads)
    if client is not None:
        return _run_on_dask(client, values, params)
    raw = _s2prep.run(values, callback)
    catalogue = raw["items_json"]
    if os.path.isdir(catalogue):
        return {
            name: _read_json(os.path.join(catalogue, name, "items.json"))
            for name in sorted(os.listdir(catalogue))
            if os.path.isfile(os.path.join(catalogue, name, "items.json"))
        }
    return _read_json(catalogue)


def write_plan(geometry, start, end, out, **params):
    """Searches and selects once and writes out/plan.json (as `s2prep plan`): the frozen STAC
    items, the grids, the resolved parameters (never the key), the models and the numbered
    units. Returns the Plan; run its units with run_plan() anywhere, then collect()."""
    values, threads = _params.options(
        "run", geometry, start, end, params, {_params.REQUEST, _params.PROCESSING, _params.RUN}
    )
    values["out_dir"] = _params._text("out", out)
    _initialize_for(threads)
    return _plan(_s2prep.write_plan(values))


def run_plan(plan_file, shard=(0, 1), model_dir="", jobs=0, force=False, progress=None):
    """Makes shard `shard` = (index, count) of a plan's units (those whose number modulo count
    is index), as `s2prep run --plan FILE --shard I/N`, in the folder of the plan. Units already
    complete are kept. Returns the names of the outputs made or kept."""
    index, count = shard
    raw = _s2prep.run_plan(
        os.fspath(plan_file), int(index), int(count), os.fspath(model_dir), int(jobs), bool(force),
        _progress.adapter(progress),
    )
    return [o["name"] for o in raw["outputs"]]


def collect(out):
    """Writes out/items.json from the complete outputs of a plan's folder (as `s2prep collect`)
    and returns a dict: `units`, `complete` and `missing` output names, `items_json`."""
    return _s2prep.collect(os.fspath(out))


def _run_plan_task(plan_file, index, count, model_dir):
    # Runs in a Dask worker process: one unit per task.
    return run_plan(plan_file, (index, count), model_dir=model_dir)


def _run_on_dask(client, values, params):
    plan_result = _s2prep.write_plan(values)
    plan_file = os.path.join(values["out_dir"], "plan.json")
    count = len(plan_result["outputs"])
    model_dir = os.fspath(params.get("model_dir") or "")
    futures = client.map(
        _run_plan_task,
        [plan_file] * count,
        range(count),
        [count] * count,
        [model_dir] * count,
        pure=False,
    )
    client.gather(futures)  # raises the first task's error
    result = collect(values["out_dir"])
    if result["missing"]:
        raise Error(
            f"{len(result['missing'])} of the plan's {result['units']} units are missing from "
            f"{values['out_dir']} after the Dask tasks; run s2prep.run(..., client=...) again "
            "(complete outputs are kept)."
        )
    return _read_json(result["items_json"])
