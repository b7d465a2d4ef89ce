"""Whole-screen synthetic recordings: one athlete doing the seven FMS tests in one take, with the truth.

Physios often film the whole screen in one recording. `make_screen_recording`
strings together one multi-repetition clip per test (tools/synth/repetitions.py,
both sides for the bilateral tests, left then right), in the FMS order or
another, joined by transitions: the athlete gets up or lies down, sets up the
next test (a minimum-jerk blend to the neutral standing pose, standing there
1-3 s, and a blend into the next test's start), 3-7 s in all. Static props are
kept per test (rendering is done chunk by chunk), the dowel appears where a
test uses it.

Truth (`ScreenRecording`): per test its frame span (`start_frame`, `end_frame`:
from the first frame of its clip to the last), its repetitions (frames of the
whole recording) and its per-side protocol score; the transitions between
tests; the split points (the middle of each transition); the composite
(bilateral tests count the lower side; 7 tests -> 0-21). Frames: body frame
as every generator, placed once per recording by the style's facing / offset.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from tools.core.errors import InputError
from tools.core.fms import BILATERAL, TESTS
from tools.synth.body import Athlete, make_athlete
from tools.synth.repetitions import (
    Chunk,
    MultiRepClip,
    RepPlan,
    RepTruth,
    _blend,
    _hold,
    _neutral_stand,
    clip_pieces,
    join_pieces,
    make_repetition_clip,
    sample_plan,
)
from tools.synth.rig import Motion


@dataclass
class TestSpan:
    """One test inside a recording: where it is and what it truly scores."""

    test: str
    start_frame: int                 # first frame of its clip (set-up rest included)
    end_frame: int                   # one past its last frame
    reps: list[RepTruth]             # frames of the whole recording
    truth_scores: dict               # side -> protocol score (NA for one-sided tests)

    @property
    def first_rep_start(self) -> int:
        return min(r.start_frame for r in self.reps)

    @property
    def last_rep_end(self) -> int:
        return max(r.end_frame for r in self.reps)

    def to_dict(self) -> dict:
        return {"test": self.test, "start_frame": self.start_frame, "end_frame": self.end_frame,
                "first_rep_start": self.first_rep_start, "last_rep_end": self.last_rep_end,
                "truth_scores": dict(self.truth_scores), "repetitions": [r.to_dict() for r in self.reps]}


@dataclass
class ScreenRecording:
    """A whole screen in one recording. Duck-types the sample interface of tools.synth.library
    (motion, athlete, side, sample_id, facing_deg, offset_m, meta(); chunks for rendering)."""

    sample_id: str
    athlete: Athlete
    motion: Motion
    chunks: list[Chunk]
    tests: list[TestSpan]
    transitions: list[dict]          # {from, to, start_frame, end_frame}
    seed: int
    style: str = "classic"
    facing_deg: float = 0.0
    offset_m: tuple[float, float] = (0.0, 0.0)
    side: str = "NA"
    reps: list[RepTruth] = field(default_factory=list)

    @property
    def test_name(self) -> str:
        return "whole_screen"

    def split_points(self) -> list[int]:
        """True split frames: the middle of each transition between two tests."""
        return [int(round(0.5 * (t["start_frame"] + t["end_frame"]))) for t in self.transitions]

    def composite(self) -> int | None:
        """The true composite 0-21 (lower side of a bilateral test; None when a test has no score)."""
        total = 0
        for span in self.tests:
            vals = [v for v in span.truth_scores.values()]
            if not vals or any(v is None for v in vals):
                return None
            total += min(vals)
        return total if len(self.tests) == len(TESTS) else None

    def meta(self) -> dict:
        from tools.synth.library import GENERATOR_VERSION
        return {
            "source": "synthetic", "generator": GENERATOR_VERSION, "sample_id": self.sample_id,
            "whole_screen": True, "style": self.style, "facing_deg": round(float(self.facing_deg), 3),
            "offset_m": [round(float(v), 4) for v in self.offset_m],
            "tests_truth": [t.to_dict() for t in self.tests], "transitions": self.transitions,
            "split_points_truth": self.split_points(), "composite_truth": self.composite(),
            "athlete": self.athlete.to_dict(), "seed": self.seed,
            "frame": "world: y up, metres, floor y=0; body frame turned by facing_deg about y and moved by offset_m",
        }


def make_screen_recording(seed: int, athlete: Athlete | None = None, style=None, fps: float = 30.0,
                          order: tuple[str, ...] = TESTS, plans: dict[str, list[RepPlan]] | None = None,
                          sample_id: str | None = None) -> ScreenRecording:
    """One athlete's whole screen in one take (see the module docstring). Same arguments -> same recording."""
    from tools.synth.style import get_style
    bad = [t for t in order if t not in TESTS]
    if bad or not order:
        raise InputError(f"recording order must name FMS tests, got {list(order)}")
    style = get_style(style)
    rng = np.random.default_rng([seed, 77])
    if athlete is None:
        athlete = make_athlete(rng, index=seed % 10000, body=style.body)
    neutral = _neutral_stand(athlete, rng, fps)
    pieces, spans, transitions, reps = [], [], [], []
    frame = 0
    for k, test in enumerate(order):
        plan = (plans or {}).get(test)
        if plan is None:
            plan = _screen_plan(test, np.random.default_rng([seed, 78, k]))
        clip: MultiRepClip = make_repetition_clip(test, seed * 10 + k, plan=plan, athlete=athlete, style=style,
                                                  fps=fps, sample_id=f"screen{seed}_{test}")
        if pieces:
            t0 = frame
            trng = np.random.default_rng([seed, 79, k])
            first = clip_pieces(clip)[0]
            for piece in (_blend(pieces[-1], neutral, int(round(trng.uniform(1.2, 2.2) * fps)), []),
                          _hold(neutral, int(round(trng.uniform(1.0, 3.0) * fps)), trng, fps, True, "stand")):
                pieces.append(piece)
                frame += piece.joints.shape[0]
            piece = _blend(pieces[-1], first, int(round(trng.uniform(1.2, 2.2) * fps)), first.props)
            pieces.append(piece)
            frame += piece.joints.shape[0]
            transitions.append({"from": order[k - 1], "to": test, "start_frame": t0, "end_frame": frame})
        start = frame
        for piece in clip_pieces(clip):
            pieces.append(piece)
            frame += piece.joints.shape[0]
        shifted = [replace(r, start_frame=r.start_frame + start, bottom_frame=r.bottom_frame + start,
                           end_frame=r.end_frame + start, index=len(reps) + i + 1) for i, r in enumerate(clip.reps)]
        reps += shifted
        spans.append(TestSpan(test, start, frame, shifted, clip.truth_scores()))
    motion, chunks = join_pieces(pieces, fps)
    facing = float(rng.uniform(*style.facing_deg)) if style.facing_deg != (0.0, 0.0) else 0.0
    offset = (tuple(float(v) for v in rng.uniform(-style.offset_m, style.offset_m, size=2))
              if style.offset_m > 0 else (0.0, 0.0))
    return ScreenRecording(sample_id=sample_id or f"syn_screen_{seed}", athlete=athlete, motion=motion,
                           chunks=chunks, tests=spans, transitions=transitions, seed=seed, style=style.name,
                           facing_deg=facing, offset_m=offset, reps=reps)


def _screen_plan(test: str, rng: np.random.Generator) -> list[RepPlan]:
    """A test inside a whole screen: both sides of the bilateral tests, fewer odd events than a single clip."""
    plan = sample_plan(test, rng, both_sides=test in BILATERAL)
    return [rp for rp in plan if rp.kind != "other"] or plan


def manifest_rows(recording: ScreenRecording, sex: str) -> list[dict]:
    """The physio's manifest of the recording's order (test, side, the inputs a physio gives), as CSV rows."""
    rows = []
    for span in recording.tests:
        sides = ("L", "R") if span.test in BILATERAL else ("",)
        for side in sides:
            heels = ""
            if span.test == "deep_squat":
                v = {r.variant for r in span.reps if r.kind == "full"}
                heels = "yes" if v == {"heels_raised"} else "no" if v == {"flat"} else ""
            rows.append({"test": span.test, "side": side, "pain": "", "clearing_pain": "", "heels_raised": heels,
                         "hand_length_m": f"{recording.athlete.hand_length_m:.3f}"
                         if span.test == "shoulder_mobility" else ""})
    return rows
