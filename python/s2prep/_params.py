"""The parameters of search(), plan(), load() and run(): their names (the workflow's, then the
command line's long flags with ``_`` for ``-``), their types, and which calls take them."""

import datetime as _dt
import json
import numbers
import os

from ._s2prep import InputError
from ._s2prep import read_params_file as _read_params_file

# Which calls take a parameter.
REQUEST = "request"  # every call
PROCESSING = "processing"  # plan, load, run
RUN = "run"  # run only


def _number(name, value):
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    raise InputError(f"Parameter '{name}' must be a number, not {value!r}.")


def _integer(name, value):
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    raise InputError(f"Parameter '{name}' must be an integer, not {value!r}.")


def _optional(convert):
    def optional(name, value):
        return None if value is None else convert(name, value)

    return optional


def _flag(name, value):
    if isinstance(value, bool) or type(value).__name__ == "bool_":  # numpy.bool_ too
        return bool(value)
    raise InputError(f"Parameter '{name}' must be True or False, not {value!r}.")


def _text(name, value):
    if isinstance(value, str):
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise InputError(f"Parameter '{name}' must be a string, not {value!r}.")


def _texts(name, value):
    if isinstance(value, (str, os.PathLike)):
        return [_text(name, value)]
    try:
        return [_text(name, v) for v in value]
    except TypeError:
        raise InputError(
            f"Parameter '{name}' must be a string or a list of strings, not {value!r}."
        ) from None


# public name -> (key of the extension's options, conversion, calls that take it)
PARAMETERS = {
    # The workflow's parameters, named as the reference workflow names them.
    "min_tile_cover": ("min_tile_cover", _number, REQUEST),
    "max_tiles_per_time": ("max_tiles_per_time", _optional(_integer), REQUEST),
    "cloud_thr": ("cloud_thr", _number, REQUEST),
    "shadow_thr": ("shadow_thr", _number, REQUEST),
    "in_memory": ("in_memory", _flag, REQUEST),
    "cloud_model": ("cloud_model", _text, REQUEST),
    "shadow_model": ("shadow_model", _text, REQUEST),
    "pc_key": ("pc_key", _optional(_text), REQUEST),
    "dl_timeout": ("dl_timeout", _number, REQUEST),
    # The command line's flags.
    "stac_url": ("stac_url", _text, REQUEST),
    "token_url": ("token_url", _text, REQUEST),
    "collection": ("collection", _text, REQUEST),
    "sign_host": ("sign_hosts", _texts, REQUEST),
    "max_cloud_cover": ("max_cloud_cover", _optional(_number), REQUEST),
    "layout": ("layout", _text, PROCESSING),
    "full_tile": ("full_tile", _flag, PROCESSING),
    "keep_probabilities": ("keep_probabilities", _flag, PROCESSING),
    "model_dir": ("model_dir", _text, PROCESSING),
    "engine": ("engine", _text, PROCESSING),
    "jobs": ("jobs", _integer, PROCESSING),
    "parallel_acquisitions": ("acquisitions_in_flight", _integer, PROCESSING),
    "dilation": ("dilation_radius", _integer, PROCESSING),
    "min_area": ("min_area", _integer, PROCESSING),
    "context": ("context_margin", _integer, PROCESSING),
    "allow_incomplete": ("allow_incomplete", _flag, PROCESSING),
    "force": ("force", _flag, RUN),
    "per_feature": ("per_feature", _flag, RUN),
    "replace_request": ("replace_request", _flag, RUN),
    "quicklook": ("quicklook", _flag, RUN),
}
# Handled apart: no_harmonize (the inverse of the library's `harmonize`), threads (process-wide),
# params (a file), items (a selection).
SPECIAL = {"no_harmonize": PROCESSING, "threads": PROCESSING, "params": REQUEST, "items": REQUEST}

_CALLS = {
    REQUEST: "every call",
    PROCESSING: "s2prep.plan, s2prep.load and s2prep.run",
    RUN: "s2prep.run",
}


def _scope(name):
    if name in PARAMETERS:
        return PARAMETERS[name][2]
    return SPECIAL.get(name)


def check_names(call, params, scopes):
    """Raises InputError for a parameter `call` does not take, naming it."""
    for name in params:
        scope = _scope(name)
        if scope is None:
            known = ", ".join(sorted(list(PARAMETERS) + list(SPECIAL)))
            raise InputError(f"Unknown parameter '{name}' of s2prep.{call}; the parameters are {known}.")
        if scope not in scopes:
            raise InputError(f"Parameter '{name}' applies to {_CALLS[scope]}, not to s2prep.{call}.")


def date_text(name, value):
    """A date or date-time as the library reads it: ISO 8601, UTC."""
    if isinstance(value, str):
        return value
    if isinstance(value, _dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(_dt.timezone.utc).replace(tzinfo=None)
        text = value.strftime("%Y-%m-%dT%H:%M:%S")
        if value.microsecond:
            text += f".{value.microsecond:06d}"
        return text + "Z"
    if isinstance(value, _dt.date):
        return value.isoformat()
    raise InputError(
        f"'{name}' must be a date: an ISO 8601 string, a datetime.date or a datetime.datetime, "
        f"not {value!r}."
    )


def _jsonable(value):
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def geometry_text(geometry):
    """The region as the library reads it: a path, or inline GeoJSON or WKT."""
    if isinstance(geometry, os.PathLike):
        return os.fspath(geometry)
    if isinstance(geometry, str):
        if not geometry.strip():
            raise InputError(
                "The geometry is empty; give a GeoJSON dict, a shapely geometry, a WKT string or "
                "the path of a vector file."
            )
        return geometry
    if hasattr(geometry, "__geo_interface__"):
        geometry = geometry.__geo_interface__
    if isinstance(geometry, dict):
        try:
            return json.dumps(geometry, default=_jsonable)
        except (TypeError, ValueError) as e:
            raise InputError(
                f"The geometry dict cannot be written as GeoJSON ({e}); give plain numbers and lists."
            ) from None
    raise InputError(
        f"The geometry must be a GeoJSON dict, an object with __geo_interface__ (e.g. a shapely geometry), "
        f"a WKT or GeoJSON string, or the path of a vector file, not {type(geometry).__name__}."
    )


def item_texts(items):
    """STAC Items as GeoJSON texts: from a SearchResult, a FeatureCollection dict, or a list of
    dicts, texts or objects with to_dict() (pystac)."""
    texts = getattr(items, "_item_texts", None)
    if texts is not None:
        return list(texts)
    if isinstance(items, dict):
        if items.get("type") == "FeatureCollection":
            items = items.get("features", [])
        else:
            items = [items]
    elif hasattr(items, "to_dict") and not isinstance(items, (list, tuple)):
        items = items.to_dict().get("features", [])  # pystac ItemCollection
    out = []
    try:
        for item in items:
            if isinstance(item, str):
                out.append(item)
            elif isinstance(item, dict):
                out.append(json.dumps(item, default=_jsonable))
            elif hasattr(item, "to_dict"):
                out.append(json.dumps(item.to_dict(), default=_jsonable))
            else:
                raise InputError(
                    f"Parameter 'items' holds a {type(item).__name__}; give STAC Item dicts or "
                    "GeoJSON texts."
                )
    except TypeError:
        raise InputError("Parameter 'items' must be a SearchResult or a list of STAC Item dicts.") from None
    return out


def read_params_file(path):
    """The workflow's parameters set by a YAML or JSON parameters file, read by the library's own
    reader (as the command line's --params): keys must be the workflow's names; only the keys
    present are returned."""
    return _read_params_file(os.fspath(path))


def options(call, geometry, start, end, params, scopes):
    """The extension's options dict for one call, and the `threads` asked for (or None)."""
    check_names(call, params, scopes)
    values = {}
    if params.get("params") is not None:
        for key, value in read_params_file(params["params"]).items():
            values[PARAMETERS[key][0]] = value
    for name, value in params.items():
        if name in PARAMETERS:
            key, convert, _ = PARAMETERS[name]
            values[key] = convert(name, value)
        elif name == "no_harmonize":
            values["harmonize"] = not _flag(name, value)
        elif name == "items" and value is not None:
            values["items"] = item_texts(value)
    values["geometry"] = geometry_text(geometry)
    values["start"] = date_text("start", start)
    values["end"] = date_text("end", end)
    threads = params.get("threads")
    if threads is not None:
        threads = _integer("threads", threads)
        if not 1 <= threads <= 256:
            raise InputError(f"Parameter 'threads' must be from 1 to 256, not {threads}.")
    return values, threads
