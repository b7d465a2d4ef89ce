"""Progress of long work, reported from where it happens to whoever listens (a CLI bar, the app's page).

The one progress contract of FormScout: a `ProgressEvent` (what stage, how many
units done of how many) passed to a `ProgressCallback`. Code deep inside a
tool does not take a callback argument: it calls `report(stage, done)`, which
reaches the listener set for the current context with `reporting(callback)`
(a context variable, so two screenings in two threads each reach their own
listener) and does nothing when nobody listens. The caller that knows how many
units to expect (e.g. the number of frames a pose pass will see) says so with
`expecting(total)`; events without a total of their own take that one, and
`advance(stage)` counts one more unit of a stage inside that block (from any
thread started with `with_context(fn)`, so pieces posed in parallel add up).

Stages named by the pose and overlay code: "decode" (the first pass over the
frames, finding people on keyframes), "pose" (the pose model frame by frame),
"overlay" (drawing the skeleton video). The screening run adds one event per
step ("steps": done / total steps, detail = the step and what it does).
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, copy_context
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProgressEvent:
    """`done` of `total` units of `stage` finished (total None: not known)."""

    stage: str
    done: int
    total: int | None = None
    unit: str = "frames"
    detail: str = ""

    @property
    def fraction(self) -> float | None:
        """done / total in [0, 1], or None when the total is not known."""
        if not self.total:
            return None
        return max(0.0, min(1.0, self.done / self.total))


ProgressCallback = Callable[[ProgressEvent], None]

class _Tally:
    """Units done per stage inside one `expecting` block, shared by the threads that copied its context."""

    def __init__(self, total: int | None) -> None:
        self.total = total
        self.done: dict[str, int] = {}
        self._lock = threading.Lock()

    def add(self, stage: str, n: int) -> int:
        with self._lock:
            self.done[stage] = self.done.get(stage, 0) + n
            return self.done[stage]


_LISTENER: ContextVar[ProgressCallback | None] = ContextVar("formscout_progress_listener", default=None)
_TALLY: ContextVar[_Tally | None] = ContextVar("formscout_progress_tally", default=None)


@contextmanager
def reporting(callback: ProgressCallback | None) -> Iterator[None]:
    """Send every `report` made inside this block (in this context) to `callback` (None: to nobody)."""
    token = _LISTENER.set(callback)
    try:
        yield
    finally:
        _LISTENER.reset(token)


@contextmanager
def expecting(total: int | None) -> Iterator[None]:
    """Inside this block, events reported without a total of their own are out of `total` units, and
    `advance` counts units per stage from 0 (threads started with a copy of this context count together)."""
    token = _TALLY.set(_Tally(int(total) if total else None))
    try:
        yield
    finally:
        _TALLY.reset(token)


def listener() -> ProgressCallback | None:
    """The callback `report` would reach now (to hand on to another thread), or None."""
    return _LISTENER.get()


def report(stage: str, done: int, total: int | None = None, unit: str = "frames", detail: str = "") -> None:
    """Tell the current listener that `done` units of `stage` are finished; a no-op when nobody listens.

    A listener that raises is logged and ignored: progress never stops the work.
    """
    callback = _LISTENER.get()
    if callback is None:
        return
    tally = _TALLY.get()
    if total is None and tally is not None:
        total = tally.total
    if total:
        done = min(int(done), int(total))
    try:
        callback(ProgressEvent(stage, int(done), total, unit, detail))
    except Exception:  # noqa: BLE001 - a broken progress display must not fail a screening
        log.debug("progress listener failed", exc_info=True)


def advance(stage: str, n: int = 1, unit: str = "frames") -> None:
    """`n` more units of `stage` are done (counted inside the current `expecting` block); a no-op when
    nobody listens or nothing is expected. Safe from several threads."""
    tally = _TALLY.get()
    if tally is None or _LISTENER.get() is None:
        return
    report(stage, tally.add(stage, n), unit=unit)


def with_context(fn: Callable) -> Callable:
    """`fn` wrapped to run in a copy of the caller's context (progress listener and tally included), for
    a worker thread: `pool.map(with_context(work), pieces)`."""
    ctx = copy_context()

    def run(*args, **kwargs):
        return ctx.copy().run(fn, *args, **kwargs)
    return run
