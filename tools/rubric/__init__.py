"""The deterministic FMS rubric: every score names the criterion that decided it.

`score_test(skel, test, ...)` measures the clip (tools.angles), judges each
criterion of that test against knowledge/criteria.yaml, and returns a
RubricResult: score 0-3 (or None), confidence from criterion margins, the
deciding criterion and frame, and `review: true` with reasons when the rules
cannot stand behind the score (low margin, wrong view, joints not seen, the
clip does not look like the test asked for). Pain reported by the athlete
always gives 0; the tool never infers pain from video.
"""
from __future__ import annotations

import numpy as np

from knowledge.loader import load_criteria
from tools.errors import InputError
from tools.rubric.result import CriterionResult, RubricResult
from tools.rubric.views import estimate_view
from tools.skeleton import Skeleton

TESTS: tuple[str, ...] = (
    "deep_squat", "hurdle_step", "inline_lunge", "shoulder_mobility",
    "active_straight_leg_raise", "trunk_stability_pushup", "rotary_stability",
)
BILATERAL: frozenset[str] = frozenset({"hurdle_step", "inline_lunge", "shoulder_mobility",
                                       "active_straight_leg_raise", "rotary_stability"})


def check_test_and_side(test: str, side: str | None) -> str | None:
    """Validate a test name and side; returns the side as 'L'/'R'/'NA' (None = infer later)."""
    if test not in TESTS:
        raise InputError(f"unknown test {test!r}; choose one of: {', '.join(TESTS)}")
    if side is not None:
        side = str(side).upper()
        side = {"LEFT": "L", "RIGHT": "R"}.get(side, side)
        if side not in ("L", "R", "NA"):
            raise InputError(f"side must be L or R (got {side!r})")
    if test not in BILATERAL:
        if side in ("L", "R"):
            raise InputError(f"{test} is scored once, not per side: leave out --side")
        return "NA"
    if side == "NA":
        raise InputError(f"{test} is scored per side: give --side L or R (or leave it out to detect it)")
    return side


def _confidence(score: int | None, criteria: list[CriterionResult]) -> tuple[float, CriterionResult | None]:
    """Confidence from the deciding margin: at the threshold 0.5, a full `scale` away 1.0."""
    judged = [c for c in criteria if c.margin_scaled is not None]
    if score is None or not judged:
        return 0.0, None
    failed = [c for c in judged if not c.passed]
    if failed:
        # the clearest failure decides the score
        decider = max(failed, key=lambda c: -c.margin_scaled)
    else:
        # the closest pass could have tipped the score
        decider = min(judged, key=lambda c: c.margin_scaled)
    return 0.5 + 0.5 * min(1.0, abs(decider.margin_scaled)), decider


def score_test(skel: Skeleton, test: str, side: str | None = None, *, pain: bool = False,
               heels_raised: bool | None = None, criteria: dict | None = None,
               criteria_file: str | None = None) -> RubricResult:
    """Score one clip of one FMS test with the deterministic rubric."""
    side = check_test_and_side(test, side)
    criteria = criteria if criteria is not None else load_criteria(criteria_file)
    view, _ = estimate_view(skel)
    inputs: dict = {"pain": bool(pain)}
    reasons: list[str] = []
    notes: list[str] = []

    if test == "deep_squat":
        from tools.rubric.deep_squat import score_deep_squat, squat_score
        spec = criteria["deep_squat"]
        if heels_raised is None:
            # The board is not reliably visible in a skeleton (MediaPipe's heel landmark already sits
            # ~5 cm above the toe on flat ground in our rendered tests), so unless the skeleton's meta
            # or the physio says so, the repetition is taken as flat-heeled and the output says it.
            heels_raised = bool(skel.meta.get("heels_raised", False))
            inputs["heels_raised_assumed"] = "heels_raised" not in skel.meta
            if inputs["heels_raised_assumed"]:
                notes.append("heels assumed flat on the floor; for the heels-raised repetition say so "
                             "(--heels-raised yes)")
        inputs["heels_raised"] = bool(heels_raised)
        judged = score_deep_squat(skel, criteria, view, heels_raised)
        crits = judged["criteria"]
        score, why, more = squat_score(crits, heels_raised)
        reasons += why
        notes += more
        check = spec["movement_check"]
        if judged["knee_flexion_range_deg"] < check["min_knee_flexion_range_deg"]:
            reasons.append(f"does not look like a deep squat: knees bend through only "
                           f"{judged['knee_flexion_range_deg']:.0f} deg "
                           f"(a squat needs > {check['min_knee_flexion_range_deg']:.0f} deg)")
        if judged["hands_above_head_share"] < check["min_hands_above_head_share"]:
            reasons.append(f"dowel not overhead: fists above the head in only "
                           f"{100 * judged['hands_above_head_share']:.0f}% of frames")
    else:
        raise InputError(f"rules for {test} are not built yet; deep_squat is available")

    confidence, decider = _confidence(score, crits)
    if pain:
        notes.append("pain reported: score 0 (the movement was still measured for the record)")
        score, confidence = 0, 1.0
    min_conf = float(criteria.get("review", {}).get("min_confidence", 0.65))
    if score is not None and not pain and confidence < min_conf:
        reasons.append(f"borderline: {decider.id} is {decider.value:.3g} {decider.unit} against a threshold of "
                       f"{decider.threshold:.3g} {decider.unit} (confidence {confidence:.2f} < {min_conf:.2f})")
    if score is None:
        reasons.append("the rules could not reach a score")
    return RubricResult(
        test=test, side=side or "NA", side_inferred=False, score=score, confidence=confidence,
        review=bool(reasons), reasons=reasons, criteria=crits,
        deciding_criterion=decider.id if decider else None,
        deciding_frame=decider.deciding_frame if decider else None,
        view=view, inputs=inputs, notes=notes)
