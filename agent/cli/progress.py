"""Progress bars at the CLI's edge: a tqdm bar fed by tools.core.progress events (counts and time left).

`ProgressBar(stage, desc, unit)` is a ProgressCallback: events of its own
stage move the bar (done of total, with tqdm's rate and time left); events of
other stages (the screening steps, frames posed inside one clip) are shown
after the bar, at most a few times a second. The bar writes to stderr and
switches itself off when stderr is not a terminal (logs and --json stay
clean); `--verbose` does not change it. The index's (done, total) callbacks
get the same bar through `counts()`.
"""
from __future__ import annotations

import sys
import time

from tools.core.progress import ProgressEvent

POSTFIX_EVERY_S = 0.25


class ProgressBar:
    """A tqdm bar over one stage's events; other stages' events as its postfix."""

    def __init__(self, stage: str, desc: str, unit: str = "it", total: int | None = None,
                 disable: bool | None = None) -> None:
        from tqdm import tqdm
        self.stage = stage
        self.unit = unit  # a disabled tqdm bar keeps no .unit of its own
        self._last_postfix = 0.0
        self.bar = tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True, leave=True,
                        disable=disable if disable is not None else not sys.stderr.isatty())

    def __call__(self, event: ProgressEvent) -> None:
        if event.stage == self.stage:
            if event.total is not None and self.bar.total != event.total:
                self.bar.total = event.total
            self.bar.update(max(0, event.done - self.bar.n))
            if event.detail:
                self.bar.set_postfix_str(event.detail[:60], refresh=False)
            self.bar.refresh()
            return
        now = time.monotonic()
        if now - self._last_postfix >= POSTFIX_EVERY_S or (event.total and event.done >= event.total):
            self._last_postfix = now
            count = f"{event.done}/{event.total}" if event.total else f"{event.done}"
            what = event.detail.split(":")[0] if event.stage == "steps" else event.stage
            self.bar.set_postfix_str(f"{what} {count} {event.unit}"[:60])

    def counts(self, done: int, total: int) -> None:
        """A (done, total) callback (index.library.api.Progress) on the same bar."""
        self(ProgressEvent(self.stage, done, total, self.unit))

    def close(self) -> None:
        self.bar.close()

    def __enter__(self) -> "ProgressBar":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
