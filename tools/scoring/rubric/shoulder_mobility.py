"""Shoulder mobility rules (FMS test 4; side = the arm on top).

3 = fists within one hand length, 2 = within 1.5, 1 = more than 1.5. The gap is
the smallest 3D distance between the fist centres (canonical `hand` joints)
while the reach is held. Hand length is an input (measured: distal wrist
crease to the tip of the middle finger); without it, it is estimated as
0.74 x the forearm length (tools.geometry.angles.estimated_hand_length_m) and the
criteria's margins are widened by the estimate's uncertainty.
"""
from __future__ import annotations

import numpy as np

from tools.geometry.angles import HAND_TO_FOREARM_RATIO, estimated_hand_length_m
from tools.scoring.rubric.common import (SIDE_NAMES, Context, TestJudgement, capped_score, deciding_failure, judge_all,
                                 measured, phase_mask, phase_median, robust_extreme, unjudged_reason)
from tools.scoring.rubric.sides import SideEvidence, resolve_side
from tools.core.skeleton import Skeleton

CAPS = {"fists_within_1_hand": 2, "fists_within_1_5_hands": 1}


def side_evidence(m: dict, fps: float) -> SideEvidence:
    """The top fist reaches over the shoulder: its highest point is well above the bottom fist's."""
    top = {s: robust_extreme(m[f"{n}_hand_height_m"].values, fps)[0] for s, n in SIDE_NAMES.items()}
    lower = min((v for v in top.values() if v is not None), default=0.0)
    rel = {s: (None if v is None else v - lower) for s, v in top.items()}
    return SideEvidence(rel["L"], rel["R"], "m", "highest fist point above the other fist's highest point",
                        min_value=0.08, min_difference=0.08)


def judge(skel: Skeleton, criteria: dict, view: str, ctx: Context) -> TestJudgement:
    spec = criteria["shoulder_mobility"]
    m = measured(skel)
    fps = skel.fps
    hold = phase_mask(m["fist_gap_m"].values, fps, "min", 0.1)   # the reach held, fists at their closest
    gap_m, frame = phase_median(m["fist_gap_m"].values, hold)
    side, inferred, reasons = resolve_side("shoulder_mobility", ctx.side, side_evidence(m, fps))

    notes: list[str] = []
    inputs: dict = {"side_inferred": inferred}
    if ctx.hand_length_m is not None:
        hand, source, widen = ctx.hand_length_m, "given", 1.0
    else:
        hand = estimated_hand_length_m(skel)
        source = f"estimated: {HAND_TO_FOREARM_RATIO} x median forearm length"
        widen = float(spec.get("estimated_hand_length_scale_factor", 1.0))
        notes.append(f"hand length estimated from the forearm ({hand:.3f} m); give the measured hand length "
                     "(--hand-length-m) to remove that uncertainty")
    inputs.update(hand_length_m=None if not np.isfinite(hand) else round(float(hand), 4),
                  hand_length_source=source)
    gap_hl = None if gap_m is None or not np.isfinite(hand) else gap_m / hand
    specs = {cid: dict(spec[cid], scale=float(spec[cid]["scale"]) * widen) for cid in CAPS}
    crits = judge_all(specs, [
        ("fists_within_1_hand", gap_hl, frame, "fists not seen"),
        ("fists_within_1_5_hands", gap_hl, frame, "fists not seen"),
    ], view)
    if gap_m is not None:
        notes.append(f"closest fist gap {gap_m:.3f} m = {gap_hl:.2f} hand lengths" if gap_hl is not None
                     else f"closest fist gap {gap_m:.3f} m (hand length unknown)")
    score = capped_score(CAPS, {c.id: c.passed for c in crits})
    reasons += unjudged_reason(crits)
    return TestJudgement(criteria=crits, score=score, score_fn=lambda p: capped_score(CAPS, p), side=side,
                         side_inferred=inferred, reasons=reasons, notes=notes, inputs=inputs,
                         deciding=deciding_failure(crits, CAPS), key_frame=frame)
