"""Deep squat rules (FMS test 1).

3 = thigh below horizontal, torso parallel to the tibia or more upright, knees
over the feet, dowel over the feet, with heels flat; 2 = the same only with the
heels raised on a board; 1 = fails even with heels raised. The heels must stay
on their support (floor or board) in either repetition.

A flat-heel clip that fails cannot tell 2 from 1 by itself (the physio then
films the heels-raised repetition): it scores 1 and goes to review, saying so.
"""
from __future__ import annotations

import warnings

import numpy as np

from tools.scoring.rubric.common import (Context, TestJudgement, at, judge_all, measured, nanarg, robust_extreme,
                                         unjudged_reason, window_median)
from tools.scoring.rubric.result import CriterionResult
from tools.core.skeleton import Skeleton

CRITERIA_ORDER = ("thigh_below_horizontal", "torso_parallel_tibia", "knee_valgus", "dowel_over_feet",
                  "heels_stay_down")


def _mean_lr(m: dict, stem: str) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # frames where neither side was seen give NaN
        return np.nanmean(np.stack([m[f"left_{stem}"].values, m[f"right_{stem}"].values]), axis=0)


def _max_lr(m: dict, stem: str) -> np.ndarray:
    return np.fmax(m[f"left_{stem}"].values, m[f"right_{stem}"].values)


def score_deep_squat(skel: Skeleton, criteria: dict, view: str, heels_raised: bool) -> dict:
    """Judge every deep-squat criterion. Returns criteria, bottom frame and movement checks."""
    spec = criteria["deep_squat"]
    m = measured(skel)
    depth = _mean_lr(m, "hip_below_knee_deg")
    knee_flex = _mean_lr(m, "knee_flexion_deg")
    bottom = nanarg(depth, np.nanargmax)
    if bottom is None:
        bottom = nanarg(knee_flex, np.nanargmax)
    loaded = knee_flex > 30.0  # knees bent: valgus only matters under load
    ratio = np.where(loaded, m["knee_ankle_separation_ratio"].values, np.nan)
    # extremes of a running median (+-0.1 s), so pose jitter alone cannot set the lowest ratio or highest heel
    valgus_value, valgus_frame = robust_extreme(ratio, skel.fps, "min")
    heel = _max_lr(m, "heel_rise_m")
    heel_value, heel_frame = robust_extreme(heel, skel.fps, "max")
    results: list[CriterionResult] = judge_all(spec, [
        ("thigh_below_horizontal", at(depth, bottom), bottom),
        ("torso_parallel_tibia", window_median(m["torso_minus_tibia_deg"].values, bottom, skel.fps), bottom),
        ("knee_valgus", valgus_value, valgus_frame, "knees not bent or feet too close together to judge"),
        ("dowel_over_feet", window_median(m["hands_outside_feet_m"].values, bottom, skel.fps), bottom),
        ("heels_stay_down", heel_value, heel_frame),
    ], view)
    flex_range = float(np.nanmax(knee_flex) - np.nanmin(knee_flex)) if np.isfinite(knee_flex).any() else 0.0
    overhead = m["hands_above_head_m"].values
    overhead_share = float(np.mean(overhead[np.isfinite(overhead)] > 0)) if np.isfinite(overhead).any() else 0.0
    return {"criteria": results, "bottom_frame": bottom, "knee_flexion_range_deg": flex_range,
            "hands_above_head_share": overhead_share}


def squat_score_fn(heels_raised: bool):
    """Score as a function of which criteria passed (unjudged criteria do not fail)."""
    def score(passed: dict) -> int:
        if any(v is False for v in passed.values()):
            return 1
        return 2 if heels_raised else 3
    return score


def squat_score(results: list[CriterionResult], heels_raised: bool) -> tuple[int | None, list[str], list[str]]:
    """Score from judged criteria: (score, review reasons, notes)."""
    failed = [c for c in results if c.passed is False]
    unjudged = [c for c in results if c.passed is None]
    reasons, notes = unjudged_reason(results), []
    score = squat_score_fn(heels_raised)({c.id: c.passed for c in results})
    if failed:
        if heels_raised:
            return score, reasons, ["fails with heels raised on the board: 1"]
        reasons.append("flat-heel repetition fails (" + ", ".join(c.id for c in failed) +
                       "): film the heels-raised repetition to tell 2 from 1")
        return score, reasons, ["flat-heel repetition fails; provisional 1 until the heels-raised repetition is seen"]
    if unjudged:
        return score, reasons, ["provisional: some criteria could not be judged"]
    return score, reasons, ["all criteria pass" + (" with heels raised" if heels_raised else "")]


def judge(skel: Skeleton, criteria: dict, view: str, ctx: Context) -> TestJudgement:
    spec = criteria["deep_squat"]
    inputs: dict = {}
    notes: list[str] = []
    heels_raised = ctx.heels_raised
    if heels_raised is None:
        # The board is not reliably visible in a skeleton (MediaPipe's heel landmark already sits
        # ~5 cm above the toe on flat ground in rendered tests), so unless the skeleton's meta or
        # the physio says so, the repetition is taken as flat-heeled and the output says it.
        heels_raised = bool(skel.meta.get("heels_raised", False))
        inputs["heels_raised_assumed"] = "heels_raised" not in skel.meta
        if inputs["heels_raised_assumed"]:
            notes.append("heels assumed flat on the floor; for the heels-raised repetition say so "
                         "(--heels-raised yes)")
    inputs["heels_raised"] = bool(heels_raised)
    found = score_deep_squat(skel, criteria, view, heels_raised)
    crits = found["criteria"]
    score, reasons, more = squat_score(crits, heels_raised)
    notes += more
    check = spec["movement_check"]
    if found["knee_flexion_range_deg"] < check["min_knee_flexion_range_deg"]:
        reasons.append(f"does not look like a deep squat: knees bend through only "
                       f"{found['knee_flexion_range_deg']:.0f} deg "
                       f"(a squat needs > {check['min_knee_flexion_range_deg']:.0f} deg)")
    if found["hands_above_head_share"] < check["min_hands_above_head_share"]:
        reasons.append(f"dowel not overhead: fists above the head in only "
                       f"{100 * found['hands_above_head_share']:.0f}% of frames")
    failed = [c for c in crits if c.passed is False]
    deciding = max(failed, key=lambda c: -c.margin_scaled).id if failed else None
    return TestJudgement(criteria=crits, score=score, score_fn=squat_score_fn(heels_raised), side="NA",
                         reasons=reasons, notes=notes, inputs=inputs, deciding=deciding,
                         key_frame=found["bottom_frame"])
