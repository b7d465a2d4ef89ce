"""In-line lunge rules (FMS test 3; side = the front leg).

3 = dowel keeps its three contacts and stays vertical, no torso movement, dowel
and feet in the sagittal plane, back knee touches behind the front heel;
2 = any one of those fails; 1 = loss of balance (or the position is not reached).
The skeleton has no dowel: the line from the lower to the upper fist stands in
for it (the hands hold the dowel behind the neck and at the lower back).
"""
from __future__ import annotations

import numpy as np

from tools.scoring.rubric.common import (OTHER, SIDE_NAMES, capped_score, Context, deciding_failure, ground_anchored,
                                 judge_all, measured, phase_mask, phase_median, robust_extreme, start_baseline,
                                 TestJudgement, unjudged_reason)
from tools.scoring.rubric.sides import SideEvidence, resolve_side
from tools.core.skeleton import Skeleton

CAPS = {"dowel_contacts": 2, "dowel_vertical": 2, "torso_still": 2, "sagittal_alignment": 2,
        "back_knee_touch": 2, "balance": 1}


def side_evidence(m: dict, fps: float) -> SideEvidence:
    ahead = {s: start_baseline(m[f"{n}_toe_ahead_m"].values, fps) for s, n in SIDE_NAMES.items()}
    return SideEvidence(ahead["L"], ahead["R"], "m", "toe ahead of the other toe at the start",
                        min_value=0.25, min_difference=0.5)


def _abs_change(values: np.ndarray, fps: float) -> np.ndarray:
    base = start_baseline(values, fps)
    return np.abs(values - base) if base is not None else values * np.nan


def judge(skel: Skeleton, criteria: dict, view: str, ctx: Context) -> TestJudgement:
    spec = criteria["inline_lunge"]
    m = measured(skel)
    fps = skel.fps
    side, inferred, reasons = resolve_side("inline_lunge", ctx.side, side_evidence(m, fps))
    front, back = SIDE_NAMES[side], SIDE_NAMES[OTHER[side]]

    knee_series = m[f"{back}_knee_height_m"].values
    knee_h, bottom = robust_extreme(knee_series, fps, "min")
    deep = phase_mask(knee_series, fps, "min", float(spec["bottom_phase_share_of_depth"]))
    lean, lean_frame = phase_median(_abs_change(m["trunk_forward_lean_deg"].values, fps), deep)
    off, off_frame = phase_median(np.abs(m["dowel_off_trunk_deg"].values), deep)
    rot, rot_frame = phase_median(m["shoulder_rotation_deg"].values, deep)
    drift, drift_frame = phase_median(np.abs(m[f"{front}_knee_drift_from_line_m"].values), deep)
    shift, shift_frame = robust_extreme(np.fmax(m[f"{back}_toe_shift_m"].values, m[f"{front}_toe_shift_m"].values),
                                        fps, "max")
    crits = judge_all(spec, [
        ("dowel_contacts", off, off_frame, "fists not seen"),
        ("dowel_vertical", lean, lean_frame),
        ("torso_still", rot, rot_frame),
        ("sagittal_alignment", drift, drift_frame),
        ("back_knee_touch", knee_h, bottom),
        ("balance", shift, shift_frame),
    ], view, sides={"side": front, "other": back}, anchored=ground_anchored(skel))
    score = capped_score(CAPS, {c.id: c.passed for c in crits})
    reasons += unjudged_reason(crits)
    reasons += _hands_check(m, side, fps)
    failed = [c.id for c in crits if c.passed is False]
    return TestJudgement(criteria=crits, score=score, score_fn=lambda p: capped_score(CAPS, p), side=side,
                         side_inferred=inferred, reasons=reasons,
                         notes=["fails " + ", ".join(failed) if failed else "all criteria pass"],
                         inputs={"side_inferred": inferred}, deciding=deciding_failure(crits, CAPS),
                         key_frame=bottom)


def _hands_check(m: dict, side: str, fps: float) -> list[str]:
    """Protocol: the hand opposite the front leg holds the dowel behind the neck (on top)."""
    top = SIDE_NAMES[OTHER[side]]
    low = SIDE_NAMES[side]
    diff = m[f"{top}_hand_height_m"].values - m[f"{low}_hand_height_m"].values
    base = start_baseline(diff, fps)
    if base is not None and base < -0.2:
        return [f"the {low} hand is on top, but the protocol puts the hand opposite the front leg on top: "
                "check the side or the grip"]
    return []
