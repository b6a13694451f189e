"""Progress reporting: the Progress record and the adapters from a callable or a tqdm-like bar
to what the extension calls (a function of one dict, called from s2prep's worker threads one
call at a time, with the GIL held)."""

from dataclasses import dataclass

from ._s2prep import InputError


@dataclass(frozen=True)
class Progress:
    """Progress of a call. `stage` is "search", "read", "inference" or "write"; `done`/`total`
    count band reads for "read" and chips for "inference"; `acquisition` is the ISO datetime of
    the acquisition being made, the `index`-th (from 0) of `count`."""

    stage: str
    acquisition: str
    index: int
    count: int
    done: float
    total: float


class _Bar:
    """Drives a tqdm-like object (update(), total, and optionally reset() and
    set_description()): one pass of the bar per stage of each acquisition."""

    def __init__(self, bar):
        self._bar = bar
        self._key = None
        self._shown = 0.0

    def __call__(self, p):
        bar = self._bar
        key = (p.stage, p.index)
        if key != self._key:
            self._key = key
            self._shown = 0.0
            total = p.total if p.total > 0 else None
            if hasattr(bar, "reset"):
                bar.reset(total=total)
            else:
                bar.total = total
            if hasattr(bar, "set_description"):
                where = f" {p.index + 1}/{p.count}" if p.count else ""
                bar.set_description(f"{p.stage}{where}")
        elif p.total > 0 and getattr(bar, "total", None) != p.total:
            bar.total = p.total
        step = p.done - self._shown
        if step > 0:
            bar.update(step)
            self._shown = p.done


def adapter(progress):
    """What the extension calls for `progress=` (None: no progress)."""
    if progress is None:
        return None
    if callable(progress):
        report = progress
    elif hasattr(progress, "update"):
        report = _Bar(progress)
    else:
        raise InputError(
            "Parameter 'progress' must be a callable or a tqdm-like object with update(), "
            f"not {type(progress).__name__}."
        )

    def call(d):
        report(Progress(d["stage"], d["acquisition"], d["index"], d["count"], d["done"], d["total"]))

    return call
