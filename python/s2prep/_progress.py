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
    set_description()): one pass of the bar per stage of each acquisition. Acquisitions in flight
    report at the same time; the bar shows their passes one after another, each from its start to
    its end, so it never jumps between two of them."""

    def __init__(self, bar):
        self._bar = bar
        self._passes = {}  # (stage, index) -> latest Progress, in the order they began
        self._ended = set()
        self._current = None
        self._shown = 0.0

    def _ends(self, key):
        p = self._passes[key]
        if p.total > 0 and p.done >= p.total:
            return True
        # A stage ends when its acquisition has gone on to the next one, and a stage without a
        # total (the search) when any other begins.
        return any(k != key and (k[1] == key[1] or p.total <= 0) for k in self._passes)

    def _start(self, key):
        bar, p = self._bar, self._passes[key]
        self._current = key
        self._shown = 0.0
        total = p.total if p.total > 0 else None
        if hasattr(bar, "reset"):
            bar.reset(total=total)
        else:
            bar.total = total
        if hasattr(bar, "set_description"):
            where = f" {p.index + 1}/{p.count}" if p.count else ""
            bar.set_description(f"{p.stage}{where}")

    def _advance(self):
        bar, p = self._bar, self._passes[self._current]
        if p.total > 0 and getattr(bar, "total", None) != p.total:
            bar.total = p.total
        step = p.done - self._shown
        if step > 0:
            bar.update(step)
            self._shown = p.done

    def __call__(self, p):
        key = (p.stage, p.index)
        if key in self._ended:
            return
        self._passes[key] = p
        if self._current is None:
            self._start(key)
        if key == self._current:
            self._advance()
        while self._current is not None and self._ends(self._current):
            self._ended.add(self._current)
            del self._passes[self._current]
            self._current = None
            waiting = next(iter(self._passes), None)
            if waiting is not None:
                self._start(waiting)
                self._advance()


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
