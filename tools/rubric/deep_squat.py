"""Deep squat rules (FMS test 1).

3 = thigh below horizontal, torso parallel to the tibia or more upright, knees
over the feet, dowel over the feet, with heels flat; 2 = the same only with the
heels raised on a board; 1 = fails even with heels raised.

A flat-heel clip that fails cannot tell 2 from 1 by itself (the physio then
films the heels-raised repetition): it scores 1 and goes to review, saying so.
"""
from __future__ import annotations

import warnings

import numpy as np

from tools.angles import measure
from tools.rubric.result import CriterionResult, RubricResult, judge
from tools.skeleton import Skeleton

CRITERIA_ORDER = ("thigh_below_horizontal", "torso_parallel_tibia", "knee_valgus", "dowel_over_feet",
                  "heels_stay_down")


def _mean_lr(m: dict, stem: str) -> np.ndarray:
    return np.nanmean(np.stack([m[f"left_{stem}"].values, m[f"right_{stem}"].values]), axis=0)


def _max_lr(m: dict, stem: str) -> np.ndarray:
    return np.fmax(m[f"left_{stem}"].values, m[f"right_{stem}"].values)


def _nanarg(values: np.ndarray, fn) -> int | None:
    return int(fn(values)) if np.isfinite(values).any() else None


def _at(values: np.ndarray, frame: int | None) -> float | None:
    return None if frame is None or not np.isfinite(values[frame]) else float(values[frame])


def score_deep_squat(skel: Skeleton, criteria: dict, view: str, heels_raised: bool) -> dict:
    """Judge every deep-squat criterion. Returns criteria, score, bottom frame and movement checks."""
    spec = criteria["deep_squat"]
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # frames where a joint was not seen give NaN
        m = measure(skel)
        depth = _mean_lr(m, "hip_below_knee_deg")
        knee_flex = _mean_lr(m, "knee_flexion_deg")
    bottom = _nanarg(depth, np.nanargmax)
    if bottom is None:
        bottom = _nanarg(knee_flex, np.nanargmax)
    # Judge posture over a short window around the bottom, so one noisy frame does not decide.
    half = max(1, int(round(0.1 * skel.fps)))
    window = slice(max(0, (bottom or 0) - half), (bottom or 0) + half + 1)
    loaded = knee_flex > 30.0  # knees bent: valgus only matters under load

    def window_median(values: np.ndarray) -> float | None:
        w = values[window]
        return float(np.nanmedian(w)) if bottom is not None and np.isfinite(w).any() else None

    results: list[CriterionResult] = []
    results.append(judge("thigh_below_horizontal", spec["thigh_below_horizontal"],
                         _at(depth, bottom), bottom, view))
    results.append(judge("torso_parallel_tibia", spec["torso_parallel_tibia"],
                         window_median(m["torso_minus_tibia_deg"].values), bottom, view))
    ratio = np.where(loaded, m["knee_ankle_separation_ratio"].values, np.nan)
    valgus_frame = _nanarg(ratio, np.nanargmin)
    results.append(judge("knee_valgus", spec["knee_valgus"], _at(ratio, valgus_frame), valgus_frame, view,
                         unjudged_reason="knees not bent or feet too close together to judge"))
    results.append(judge("dowel_over_feet", spec["dowel_over_feet"],
                         window_median(m["hands_outside_feet_m"].values), bottom, view))
    if not heels_raised:
        heel = _max_lr(m, "heel_rise_m")
        heel_frame = _nanarg(heel, np.nanargmax)
        results.append(judge("heels_stay_down", spec["heels_stay_down"], _at(heel, heel_frame), heel_frame, view))

    flex_range = float(np.nanmax(knee_flex) - np.nanmin(knee_flex)) if np.isfinite(knee_flex).any() else 0.0
    overhead = m["hands_above_head_m"].values
    overhead_share = float(np.mean(overhead[np.isfinite(overhead)] > 0)) if np.isfinite(overhead).any() else 0.0
    return {"criteria": results, "bottom_frame": bottom, "knee_flexion_range_deg": flex_range,
            "hands_above_head_share": overhead_share}


def squat_score(results: list[CriterionResult], heels_raised: bool) -> tuple[int | None, list[str], list[str]]:
    """Score from judged criteria: (score, review reasons, notes)."""
    failed = [c for c in results if c.passed is False]
    unjudged = [c for c in results if c.passed is None]
    reasons, notes = [], []
    if unjudged:
        reasons.append("could not judge " + ", ".join(f"{c.id} ({c.reason})" for c in unjudged))
    if failed:
        if heels_raised:
            return 1, reasons, ["fails with heels raised on the board: 1"]
        reasons.append("flat-heel repetition fails (" + ", ".join(c.id for c in failed) +
                       "): film the heels-raised repetition to tell 2 from 1")
        return 1, reasons, ["flat-heel repetition fails; provisional 1 until the heels-raised repetition is seen"]
    if unjudged:
        # Every judged criterion passed, but not all could be judged: the best we can say is provisional.
        return (2 if heels_raised else 3), reasons, ["provisional: some criteria could not be judged"]
    return (2 if heels_raised else 3), reasons, ["all criteria pass" + (" with heels raised" if heels_raised else "")]
