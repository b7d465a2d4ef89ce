"""What the page says while work runs: the screening's steps with frame counts, and the queue position.

`PageProgress` turns the ProgressEvents of a screening (agent.screening.run:
one per step start/finish from the trace recorder, and frame counts from the
tools: "decode" = reading the frames and finding people, "pose" = the pose
model frame by frame, "overlay" = drawing the skeleton video) into (fraction,
text) for the page, e.g. "Step 2 of 10: find the athlete's joints in every
frame: pose 96/158 frames". The fraction weighs each step by its usual share of
a run's time (pose dominates a video run), so the bar moves with the work
instead of jumping.

`ScreenQueue` admits at most `workers` screenings at once (the app sets it to
the CPU cores); the others wait in order, and while they wait the page says
"Queued: 1 screening ahead of you, about 20 s" (expected wait from the mean
duration of the app's recent screenings).
"""
from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tools.core.progress import ProgressEvent

PageCallback = Callable[[float, str], None]          # (fraction 0-1, what is happening now)

# a step's usual share of a screening's time (measured on the demo clip: pose ~75%, overlay and ST-GCN ~10% each)
STEP_WEIGHTS: dict[str, float] = {
    "check_video": 1.0, "select_athlete_sam3": 30.0, "estimate_pose": 70.0, "lift_to_3d": 1.0,
    "prepare_skeleton": 1.0, "measure_angles": 1.0, "segment_repetitions": 1.0, "measure_second_view": 80.0,
    "score_rubric": 1.0,
    "score_stgcn": 8.0, "retrieve_similar_clips": 2.0, "retrieve_passages": 2.0, "decide": 0.5,
    "render_overlay": 9.0,
}
FRAME_STAGES = {"decode": "reading the frames and finding people", "pose": "pose", "overlay": "drawing the overlay"}
DECODE_SHARE = 0.6      # of the pose step: the first pass (finding people) vs the pose model itself


class PageProgress:
    """A ProgressCallback that reports (fraction, text) to the page; `planned` = the tool names expected (the
    run's own "plan" event replaces them)."""

    def __init__(self, page: PageCallback, planned: list[str], start: float = 0.0, span: float = 1.0,
                 prefix: str = "") -> None:
        self.page, self.planned, self.start, self.span, self.prefix = page, list(planned), start, span, prefix
        self.weights = [STEP_WEIGHTS.get(t, 1.0) for t in self.planned]
        self.step, self.tool, self.what = 0, "", ""
        self.frames: dict[str, tuple[int, int | None]] = {}
        self._last = 0.0

    def _fraction(self, within: float) -> float:
        total = sum(self.weights) or 1.0
        done = sum(self.weights[: self.step]) + within * (self.weights[self.step] if self.step < len(self.weights) else 0)
        return self.start + self.span * min(1.0, done / total)

    def _within(self) -> float:
        if self.tool == "estimate_pose":
            d = self.frames.get("decode")
            p = self.frames.get("pose")
            f_d = d[0] / d[1] if d and d[1] else (1.0 if p else 0.0)
            f_p = p[0] / p[1] if p and p[1] else 0.0
            return DECODE_SHARE * min(1.0, f_d) + (1 - DECODE_SHARE) * min(1.0, f_p)
        if self.tool == "render_overlay":
            o = self.frames.get("overlay")
            return 0.0 if not o else (o[0] / o[1] if o[1] else 0.5)
        return 0.0

    def __call__(self, event: ProgressEvent) -> None:
        if event.stage == "plan":                  # the run's own plan (optional steps it cannot take left out)
            self.planned = [t for t in event.detail.split(",") if t]
            self.weights = [STEP_WEIGHTS.get(t, 1.0) for t in self.planned]
            return
        if event.stage == "steps":
            tool, _, what = event.detail.partition(": ")
            if what in ("done", "failed"):
                self.step = min(event.done, len(self.planned))
                return self._say(force=True)
            self.step, self.tool, self.what, self.frames = event.done, tool, what, {}
            return self._say(force=True)
        if event.stage in FRAME_STAGES:
            self.frames[event.stage] = (event.done, event.total)
            self._say()

    def text(self) -> str:
        if self.planned and self.step >= len(self.planned):
            return self.prefix + f"All {len(self.planned)} steps done: writing the verdict and the trace"
        n = max(len(self.planned), self.step + 1)
        head = f"Step {min(self.step + 1, n)} of {n}: {self.what.rstrip('.').lower() or self.tool.replace('_', ' ')}"
        counts = []
        for stage, words in FRAME_STAGES.items():
            if stage in self.frames:
                done, total = self.frames[stage]
                counts.append(f"{words} {done}/{total} frames" if total else f"{words} {done} frames")
        return self.prefix + head + (": " + ", ".join(counts) if counts else "")

    def _say(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < 0.25:       # frame events arrive many times a second
            return
        self._last = now
        self.page(self._fraction(self._within()), self.text())


class SessionProgress:
    """A whole session on the page: clip k of n, and inside it the clip's own steps and frames."""

    def __init__(self, page: PageCallback, planned_of: Callable[[int], list[str]] | None = None) -> None:
        self.page, self.planned_of = page, planned_of
        self.inner: PageProgress | None = None

    def __call__(self, event: ProgressEvent) -> None:
        if event.stage == "clips":
            n = event.total or 1
            if event.detail.endswith(" done"):
                self.page(event.done / (n + 1), f"Screened clip {event.done} of {n}")
                return
            planned = self.planned_of(event.done) if self.planned_of else list(STEP_WEIGHTS)
            self.inner = PageProgress(self.page, planned, start=event.done / (n + 1), span=1 / (n + 1),
                                      prefix=f"Clip {event.done + 1} of {n} ({event.detail}): ")
            self.page(event.done / (n + 1), f"Clip {event.done + 1} of {n}: {event.detail}")
        elif event.stage == "report":
            self.page(0.97 if event.done < 1 else 1.0, "Building the scorecard and the report")
        elif self.inner is not None:
            self.inner(event)


class ScreenQueue:
    """At most `workers` screenings at once; the rest wait in arrival order, told their place and expected wait."""

    def __init__(self, workers: int, typical_s: float = 30.0) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.workers = int(workers)
        self._cond = threading.Condition()
        self._running = 0
        self._waiting: deque[int] = deque()
        self._tickets = itertools.count()
        self._durations: deque[float] = deque([typical_s], maxlen=20)

    @property
    def typical_s(self) -> float:
        with self._cond:
            return sum(self._durations) / len(self._durations)

    def expected_wait_s(self, ahead: int) -> float:
        """Seconds until a slot frees for someone with `ahead` screenings waiting before them."""
        rounds = ahead // self.workers + 1
        return rounds * self.typical_s

    @contextmanager
    def slot(self, on_wait: PageCallback | None = None, poll_s: float = 1.0) -> Iterator[None]:
        """Hold one of the `workers` slots for the block; while waiting, tell `on_wait` the queue position."""
        ticket = next(self._tickets)
        with self._cond:
            self._waiting.append(ticket)
            while self._running >= self.workers or self._waiting[0] != ticket:
                if on_wait is not None:
                    ahead = self._waiting.index(ticket)
                    on_wait(0.0, f"Queued: number {ahead + 1} in line ({self._running} screening(s) running, "
                                 f"{self.workers} at a time); expected wait about {self.expected_wait_s(ahead):.0f} s")
                self._cond.wait(timeout=poll_s)
            self._waiting.popleft()
            self._running += 1
        t0 = time.monotonic()
        try:
            yield
        finally:
            with self._cond:
                self._running -= 1
                self._durations.append(time.monotonic() - t0)
                self._cond.notify_all()
