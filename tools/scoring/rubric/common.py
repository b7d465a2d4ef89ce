"""Shared pieces of the per-test rule modules: the judgement record, series helpers, scoring.

Every rule module (deep_squat.py, hurdle_step.py, ...) exposes
`judge(skel, criteria, view, side, ctx) -> TestJudgement`. The engine
(tools/scoring/rubric/__init__.py) adds what is common to all tests: pain, clearing
tests, test recognition, confidence from criterion margins and review reasons.

A TestJudgement carries `score_fn`, the test's scoring rule as a function of
which criteria passed. The engine flips each criterion in turn to find the
ones whose outcome the score hangs on (pivotal criteria); the smallest margin
among them sets the confidence.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from tools.geometry.angles import Measurement, measure
from tools.scoring.rubric.result import CriterionResult, judge
from tools.core.skeleton import Skeleton

SIDE_NAMES = {"L": "left", "R": "right"}
OTHER = {"L": "R", "R": "L"}


@dataclass
class Context:
    """Inputs the clinician gives (or that are inferred), passed to every rule module."""

    side: str | None = None          # "L"/"R" as asked (None = infer), "NA" for one-sided tests
    heels_raised: bool | None = None
    sex: str | None = None           # "M" / "F"
    hand_length_m: float | None = None


@dataclass
class TestJudgement:
    """What a rule module found on one clip."""

    __test__ = False   # not a pytest test class, despite the name

    criteria: list[CriterionResult]
    score: int | None
    score_fn: Callable[[dict[str, bool | None]], int | None]
    side: str = "NA"
    side_inferred: bool = False
    reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    inputs: dict = field(default_factory=dict)
    deciding: str | None = None      # criterion id that set the score (None: the engine picks)
    key_frame: int | None = None     # the frame that shows the test best (bottom, top of the lift...)
    test_version: str = "FMS original criteria"


def measured(skel: Skeleton, names: list[str] | None = None) -> dict[str, Measurement]:
    """tools.geometry.angles.measure with the NaN warnings of unseen joints silenced (NaN is the answer)."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return measure(skel, names)


def nanarg(values: np.ndarray, fn) -> int | None:
    return int(fn(values)) if np.isfinite(values).any() else None


def at(values: np.ndarray, frame: int | None) -> float | None:
    return None if frame is None or not np.isfinite(values[frame]) else float(values[frame])


def window_median(values: np.ndarray, frame: int | None, fps: float, half_s: float = 0.1) -> float | None:
    """Median of the series over +-half_s around `frame`, so one noisy frame does not decide."""
    if frame is None:
        return None
    half = max(1, int(round(half_s * fps)))
    w = values[max(0, frame - half): frame + half + 1]
    if not np.isfinite(w).any():
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(np.nanmedian(w))


def robust_extreme(values: np.ndarray, fps: float, mode: str = "max", half_s: float = 0.1,
                   mask: np.ndarray | None = None) -> tuple[float | None, int | None]:
    """(value, frame) of the extreme of a lightly median-filtered series (restricted to `mask`).

    A running median over +-half_s keeps a single-frame pose glitch from setting an extreme.
    """
    v = np.asarray(values, dtype=float)
    if mask is not None:
        v = np.where(mask, v, np.nan)
    if not np.isfinite(v).any():
        return None, None
    half = max(1, int(round(half_s * fps)))
    padded = np.pad(v, half, mode="constant", constant_values=np.nan)
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        smooth = np.nanmedian(windows, axis=1)
    smooth = np.where(np.isfinite(v), smooth, np.nan)
    if not np.isfinite(smooth).any():
        return None, None
    frame = int(np.nanargmax(smooth) if mode == "max" else np.nanargmin(smooth))
    return float(smooth[frame]), frame


def phase_mask(signal: np.ndarray, fps: float, mode: str = "max", fraction: float = 0.2) -> np.ndarray:
    """Frames of the key phase: where the (lightly median-filtered) signal is within `fraction`
    of its range from its extreme (mode "max": the top of a lift; "min": the bottom of a lunge)."""
    v = np.asarray(signal, dtype=float)
    if not np.isfinite(v).any():
        return np.zeros(len(v), bool)
    half = max(1, int(round(0.1 * fps)))
    padded = np.pad(v, half, mode="constant", constant_values=np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        smooth = np.nanmedian(np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1), axis=1)
    lo, hi = np.nanmin(smooth), np.nanmax(smooth)
    if mode == "max":
        return np.isfinite(smooth) & (smooth >= hi - fraction * (hi - lo))
    return np.isfinite(smooth) & (smooth <= lo + fraction * (hi - lo))


def phase_median(values: np.ndarray, mask: np.ndarray) -> tuple[float | None, int | None]:
    """(median of the series over the phase, the phase frame closest to that median)."""
    v = np.where(mask, np.asarray(values, dtype=float), np.nan)
    if not np.isfinite(v).any():
        return None, None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        med = float(np.nanmedian(v))
    frame = int(np.nanargmin(np.abs(v - med)))
    return med, frame


def start_baseline(values: np.ndarray, fps: float, seconds: float = 0.3) -> float | None:
    """Median over the first `seconds` (the start position)."""
    n = max(1, int(round(seconds * fps)))
    w = values[:n]
    if not np.isfinite(w).any():
        w = values[np.isfinite(values)][:n]
        if w.size == 0:
            return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(np.nanmedian(w))


def ground_anchored(skel: Skeleton) -> bool:
    """False when the 3D skeleton does not keep the body's travel toward the camera (monocular
    lifting that re-centres every frame on the hips): displacements of a foot on the floor are
    then not measurable, so criteria marked `needs_ground_anchor` are not judged."""
    return "no depth travel" not in str(skel.meta.get("origin", ""))


NOT_ANCHORED = ("this skeleton does not keep the body's travel toward the camera (monocular 3D), so a foot's "
                "displacement on the floor cannot be measured; check it on the video")


def judge_all(spec: dict, items: list[tuple], view: str, sides: dict[str, str] | None = None,
              anchored: bool = True) -> list[CriterionResult]:
    """judge() over (criterion id, value, frame[, unjudged reason]) tuples, specs from one test's section.

    `sides` fills the `{side}` / `{other}` placeholders of a criterion's `measure`
    (e.g. {"side": "left", "other": "right"}), so each result names the series it read.
    `anchored` False leaves the criteria marked `needs_ground_anchor` unjudged (ground_anchored()).
    """
    out = []
    for item in items:
        cid, value, frame = item[:3]
        reason = item[3] if len(item) > 3 else ""
        if not anchored and spec[cid].get("needs_ground_anchor"):
            value, reason = None, NOT_ANCHORED
        measure = spec[cid]["measure"].format(**sides) if sides and "{" in spec[cid]["measure"] else spec[cid]["measure"]
        gated = _gate(measure, spec[cid], view)
        result = judge(cid, spec[cid], value, frame, "unknown" if gated is not None else view, unjudged_reason=reason)
        result.measure = measure
        if gated and result.passed is not None:        # the error budget says this view cannot judge it
            result.passed, result.margin, result.margin_scaled, result.reason = None, None, None, gated
        second = getattr(view, "second", None)
        if second is not None:                         # a second clip of the same repetition: the better view decides
            from tools.scoring.rubric.two_views import choose
            result = choose(result, spec[cid], second)
        out.append(result)
    return out


def _gate(measure: str, spec: dict, view: str) -> str | None:
    """"" when the per-view error budget lets this view judge the criterion, its reason when not, None when
    the budget knows nothing of it here (the criterion's `view` field decides; tools.scoring.rubric.views)."""
    from tools.scoring.rubric.views import view_gate
    try:
        return view_gate(measure, spec, view) or ""
    except LookupError:
        return None


def capped_score(caps: dict[str, int], passed: dict[str, bool | None], top: int = 3) -> int:
    """Score = the lowest cap among failed criteria (each failure caps the score), else `top`.

    Unjudged criteria (None) do not cap: the engine reports them as review reasons.
    """
    score = top
    for cid, ok in passed.items():
        if ok is False:
            score = min(score, caps.get(cid, top))
    return score


def passed_map(criteria: list[CriterionResult]) -> dict[str, bool | None]:
    return {c.id: c.passed for c in criteria}


def deciding_failure(criteria: list[CriterionResult], caps: dict[str, int]) -> str | None:
    """The failed criterion that set the score: lowest cap first, then the clearest failure."""
    failed = [c for c in criteria if c.passed is False]
    if not failed:
        return None
    return min(failed, key=lambda c: (caps.get(c.id, 3), c.margin_scaled if c.margin_scaled is not None else 0.0)).id


def unjudged_reason(criteria: list[CriterionResult]) -> list[str]:
    unjudged = [c for c in criteria if c.passed is None]
    if not unjudged:
        return []
    return ["could not judge " + ", ".join(f"{c.id} ({c.reason})" for c in unjudged)]
