"""Active straight-leg raise rules (FMS test 5; side = the raised leg).

Where the raised ankle's vertical line falls on the down leg at the top of the
raise, as a fraction of the ASIS (0) -> knee joint line (1) distance along the
body axis (tools.geometry.angles.aslr_ankle_fraction): 3 = past mid-thigh (< 0.5),
2 = between mid-thigh and the knee line, 1 = below the knee line. The down leg
must stay flat: if its knee lifts off the floor, the raise was helped by the
pelvis and the score drops one level (not below 1).
"""
from __future__ import annotations

from tools.scoring.rubric.common import (OTHER, SIDE_NAMES, Context, TestJudgement, deciding_failure, judge_all, measured,
                                 phase_mask, phase_median, robust_extreme, unjudged_reason)
from tools.scoring.rubric.sides import SideEvidence, resolve_side
from tools.core.skeleton import Skeleton

CAPS = {"ankle_past_mid_thigh": 2, "ankle_past_knee": 1, "down_leg_flat": 2}


def aslr_score(passed: dict) -> int:
    score = 3
    if passed.get("ankle_past_mid_thigh") is False:
        score = 2
    if passed.get("ankle_past_knee") is False:
        score = 1
    if passed.get("down_leg_flat") is False:
        score = max(1, score - 1)
    return score


def side_evidence(m: dict, fps: float) -> SideEvidence:
    lifts = {s: robust_extreme(m[f"{n}_foot_lift_m"].values, fps)[0] for s, n in SIDE_NAMES.items()}
    return SideEvidence(lifts["L"], lifts["R"], "m", "highest foot lift", min_value=0.15, min_difference=0.15)


def judge(skel: Skeleton, criteria: dict, view: str, ctx: Context) -> TestJudgement:
    spec = criteria["active_straight_leg_raise"]
    m = measured(skel)
    fps = skel.fps
    side, inferred, reasons = resolve_side("active_straight_leg_raise", ctx.side, side_evidence(m, fps))
    raised, down = SIDE_NAMES[side], SIDE_NAMES[OTHER[side]]
    top_phase = phase_mask(m[f"{raised}_foot_lift_m"].values, fps, "max", 0.1)   # the leg at its highest
    frac, top = phase_median(m[f"{raised}_aslr_ankle_fraction"].values, top_phase)
    rise, rise_frame = phase_median(m[f"{down}_knee_rise_m"].values, top_phase)
    crits = judge_all(spec, [
        ("ankle_past_mid_thigh", frac, top, "raised ankle or down leg not seen"),
        ("ankle_past_knee", frac, top, "raised ankle or down leg not seen"),
        ("down_leg_flat", rise, rise_frame),
    ], view, sides={"side": raised, "other": down})
    score = aslr_score({c.id: c.passed for c in crits})
    reasons += unjudged_reason(crits)
    notes = []
    if any(c.id == "down_leg_flat" and c.passed is False for c in crits):
        notes.append("the down leg lifted: score lowered one level (the pelvis helped the raise)")
    return TestJudgement(criteria=crits, score=score, score_fn=aslr_score, side=side, side_inferred=inferred,
                         reasons=reasons, notes=notes, inputs={"side_inferred": inferred},
                         deciding=deciding_failure(crits, CAPS), key_frame=top)
