"""Hurdle step rules (FMS test 2; side = the leg that steps over).

3 = hip, knee and ankle of the stepping leg stay in the sagittal plane, little
lumbar movement, dowel stays parallel to the hurdle, foot clears the cord;
2 = alignment lost, lumbar movement or dowel tilt; 1 = foot touches the cord
or balance is lost. The cord is placed by protocol (tools.geometry.angles.hurdle_cord).
"""
from __future__ import annotations

import numpy as np

from tools.scoring.rubric.common import (OTHER, SIDE_NAMES, capped_score, Context, deciding_failure, ground_anchored,
                                 judge_all, measured, phase_mask, phase_median, robust_extreme, start_baseline,
                                 TestJudgement, unjudged_reason)
from tools.scoring.rubric.sides import SideEvidence, resolve_side
from tools.core.skeleton import Skeleton

CAPS = {"sagittal_alignment": 2, "lumbar_stability": 2, "dowel_parallel": 2, "hurdle_clearance": 1, "balance": 1}


def side_evidence(m: dict, fps: float) -> SideEvidence:
    lifts = {s: robust_extreme(m[f"{n}_foot_lift_m"].values, fps)[0] for s, n in SIDE_NAMES.items()}
    return SideEvidence(lifts["L"], lifts["R"], "m", "highest foot lift", min_value=0.15, min_difference=0.10)


def judge(skel: Skeleton, criteria: dict, view: str, ctx: Context) -> TestJudgement:
    spec = criteria["hurdle_step"]
    m = measured(skel)
    side, inferred, reasons = resolve_side("hurdle_step", ctx.side, side_evidence(m, skel.fps))
    step, stance = SIDE_NAMES[side], SIDE_NAMES[OTHER[side]]
    fps = skel.fps

    lift = m[f"{step}_foot_lift_m"].values
    swing = phase_mask(lift, fps, "max", 1.0 - float(spec["swing_phase_share_of_lift"]))  # foot well up
    top_phase = phase_mask(lift, fps, "max", 0.2)
    top = int(np.nanargmax(np.where(np.isfinite(lift), lift, -np.inf))) if np.isfinite(lift).any() else None

    clearance = m[f"{step}_hurdle_clearance_m"].values
    clr_frame = int(np.nanargmin(clearance)) if np.isfinite(clearance).any() else None
    clr_value = float(clearance[clr_frame]) if clr_frame is not None else None

    knee_value, _ = phase_median(np.abs(m[f"{step}_knee_out_of_plane_m"].values), top_phase)
    trunk, trunk_frame = phase_median(m["trunk_excursion_deg"].values, swing)
    tilt = m["hands_line_tilt_deg"].values
    tilt0 = start_baseline(tilt, fps)
    tilt_change = np.abs(tilt - tilt0) if tilt0 is not None else tilt * np.nan
    dowel, dowel_frame = phase_median(tilt_change, swing)
    shift, shift_frame = robust_extreme(m[f"{stance}_toe_shift_m"].values, fps, "max")

    crits = judge_all(spec, [
        ("sagittal_alignment", knee_value, top),
        ("lumbar_stability", trunk, trunk_frame, "the stepping foot never left the floor"),
        ("dowel_parallel", dowel, dowel_frame, "fists not seen during the step"),
        ("hurdle_clearance", clr_value, clr_frame, "the stepping foot was not seen crossing the cord line"),
        ("balance", shift, shift_frame),
    ], view, sides={"side": step, "other": stance}, anchored=ground_anchored(skel))
    passed = {c.id: c.passed for c in crits}
    score = capped_score(CAPS, passed)
    reasons += unjudged_reason(crits)
    failed = [c.id for c in crits if c.passed is False]
    notes = ["fails " + ", ".join(failed) if failed else "all criteria pass"]
    cord_y, plane = _cord(skel)
    inputs = {"side_inferred": inferred, "hurdle_height_m": cord_y,
              "hurdle_height_source": "protocol: tibial tuberosity, 0.93 x shank length above the standing ankle"}
    return TestJudgement(criteria=crits, score=score, score_fn=lambda p: capped_score(CAPS, p), side=side,
                         side_inferred=inferred, reasons=reasons, notes=notes, inputs=inputs,
                         deciding=deciding_failure(crits, CAPS), key_frame=top)


def _cord(skel: Skeleton) -> tuple[float | None, float | None]:
    from tools.geometry.angles import hurdle_cord
    y, plane = hurdle_cord(skel)
    return (round(y, 4) if np.isfinite(y) else None), (round(plane, 4) if np.isfinite(plane) else None)
