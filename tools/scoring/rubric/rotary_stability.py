"""Rotary stability rules, ORIGINAL (pre-2023) FMS version (test 7; side = the moving arm).

Quadruped. Unilateral pattern (same-side arm and leg) done correctly = 3;
diagonal pattern (the arm with the opposite leg) done correctly = 2; diagonal
not done correctly = 1. "Correctly": the arm and leg reach out to about level,
the elbow and knee meet under the body, the trunk does not roll, and the
moving hand does not touch down for balance. A unilateral repetition that
fails does not decide 2 vs 1 (the diagonal one does): provisional 1 + review.

The 2023 revision of the screen changed this test. It belongs in its own module
(rotary_stability_2023.py) with its own criteria section, selected by
`test_version`, so the two are never mixed; it is not implemented.
"""
from __future__ import annotations

import numpy as np

from tools.scoring.rubric.common import (OTHER, SIDE_NAMES, Context, TestJudgement, judge_all, measured, phase_median,
                                 robust_extreme, unjudged_reason)
from tools.scoring.rubric.sides import SideEvidence, resolve_side
from tools.core.skeleton import Skeleton

TEST_VERSION = "original (pre-2023) FMS rotary stability"
CORRECTNESS = ("limbs_extend", "elbow_knee_touch", "trunk_level", "balance")


def rotary_score(passed: dict) -> int:
    correct = all(passed.get(c) is not False for c in CORRECTNESS)
    if not correct:
        return 1
    return 3 if passed.get("unilateral_pattern") is not False else 2


def side_evidence(m: dict, fps: float) -> SideEvidence:
    arms = {s: robust_extreme(m[f"{n}_arm_elevation_deg"].values, fps)[0] for s, n in SIDE_NAMES.items()}
    return SideEvidence(arms["L"], arms["R"], "deg", "highest arm elevation", min_value=45.0, min_difference=30.0)


def judge(skel: Skeleton, criteria: dict, view: str, ctx: Context) -> TestJudgement:
    spec = criteria["rotary_stability"]
    m = measured(skel)
    fps = skel.fps
    side, inferred, reasons = resolve_side("rotary_stability", ctx.side, side_evidence(m, fps))
    arm, other = SIDE_NAMES[side], SIDE_NAMES[OTHER[side]]

    thigh_same, _ = robust_extreme(m[f"{arm}_thigh_elevation_deg"].values, fps)
    thigh_opp, _ = robust_extreme(m[f"{other}_thigh_elevation_deg"].values, fps)
    same_share = None
    if thigh_same is not None and thigh_opp is not None and thigh_same + thigh_opp > 0:
        same_share = max(thigh_same, 0.0) / (max(thigh_same, 0.0) + max(thigh_opp, 0.0))
    unilateral = same_share is None or same_share >= float(spec["unilateral_pattern"]["threshold"])
    leg = arm if unilateral else other
    pattern = "unilateral" if unilateral else "diagonal"

    both = np.fmin(m[f"{arm}_arm_elevation_deg"].values, m[f"{leg}_thigh_elevation_deg"].values)
    reach, reach_frame = robust_extreme(both, fps, "max")
    gap_series = m[f"{arm}_elbow_to_{'same' if unilateral else 'opposite'}_knee_m"].values
    # the touch can be brief: the closest approach (after the pipeline's smoothing) decides
    touch_frame = int(np.nanargmin(gap_series)) if np.isfinite(gap_series).any() else None
    gap = None if touch_frame is None else float(gap_series[touch_frame])
    hand_h = m[f"{arm}_hand_height_m"].values
    raised = np.flatnonzero(hand_h > float(spec["balance"]["hand_raised_m"]))
    window = np.zeros(len(hand_h), bool)
    if raised.size:
        window[raised[0]: raised[-1] + 1] = True   # from lifting the hand to putting it back down
    roll, roll_frame = phase_median(np.abs(m["trunk_roll_deg"].values), window)
    touch_down, touch_down_frame = (None, None)
    if raised.size:
        touch_down, touch_down_frame = robust_extreme(hand_h, fps, "min", half_s=0.05, mask=window)
    crits = judge_all(spec, [
        ("unilateral_pattern", same_share, reach_frame, "legs not seen"),
        ("limbs_extend", reach, reach_frame),
        ("elbow_knee_touch", gap, touch_frame),
        ("trunk_level", roll, roll_frame),
        ("balance", touch_down, touch_down_frame, "the moving hand never left the floor"),
    ], view, sides={"side": arm, "other": other, "leg": leg, "knee": "same" if unilateral else "opposite"})
    passed = {c.id: c.passed for c in crits}
    score = rotary_score(passed)
    reasons += unjudged_reason(crits)
    notes = [f"{pattern} pattern ({arm} arm with the {leg} leg); rules: {TEST_VERSION}"]
    failed = [c for c in crits if c.id in CORRECTNESS and c.passed is False]
    if failed and unilateral:
        reasons.append("the unilateral repetition fails (" + ", ".join(c.id for c in failed) +
                       "): film the diagonal repetition to tell 2 from 1")
        notes.append("provisional 1 until the diagonal repetition is seen")
    deciding = (max(failed, key=lambda c: -c.margin_scaled).id if failed
                else ("unilateral_pattern" if not unilateral else None))
    return TestJudgement(criteria=crits, score=score, score_fn=rotary_score, side=side, side_inferred=inferred,
                         reasons=reasons, notes=notes, inputs={"side_inferred": inferred, "pattern": pattern},
                         deciding=deciding, key_frame=touch_frame, test_version=TEST_VERSION)
