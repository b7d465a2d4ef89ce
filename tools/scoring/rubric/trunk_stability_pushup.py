"""Trunk stability push-up rules (FMS test 6; scored once).

Hand position sets the level the repetition can earn (men: forehead 3, chin 2;
women: chin 3, collarbone 2); the body must rise as one unit (no lag in the
lower back) and actually leave the floor. The thumb line is placed on a
landmark scale 0 = collarbone, 1 = chin, 2 = forehead
(tools.geometry.angles.pushup_hand_level). Sex is an input; without it the level is
judged both ways and the clip goes to review.

A failed repetition at the score-3 position does not decide 2 vs 1 (the
athlete then tries the score-2 position): it scores a provisional 1 and goes
to review, saying which repetition to film.
"""
from __future__ import annotations

from tools.scoring.rubric.common import Context, TestJudgement, judge_all, measured, robust_extreme, start_baseline, unjudged_reason
from tools.scoring.rubric.result import CriterionResult
from tools.core.skeleton import Skeleton

LEVEL_CRITERIA = ("hands_at_level_3", "hands_at_level_2")
EXECUTION = ("body_rises_as_unit", "body_lifts")
SEX_NAMES = {"M": "male", "F": "female"}


def pushup_score(passed: dict) -> int:
    level = 3 if passed.get("hands_at_level_3") is not False else (
        2 if passed.get("hands_at_level_2") is not False else 1)
    ok = all(passed.get(c) is not False for c in EXECUTION)
    return level if ok else 1


def _level_specs(spec: dict, sex: str) -> dict:
    out = {}
    for cid in LEVEL_CRITERIA:
        base = {k: v for k, v in spec[cid].items() if k not in ("male", "female")}
        base.update(spec[cid][SEX_NAMES[sex]])
        out[cid] = base
    return out


def _judge_for(sex: str, spec: dict, level: float | None, execution: list[CriterionResult],
               view: str) -> tuple[int, list[CriterionResult]]:
    crits = judge_all(_level_specs(spec, sex), [(cid, level, 0, "face or hands not seen at rest")
                                               for cid in LEVEL_CRITERIA], view) + execution
    return pushup_score({c.id: c.passed for c in crits}), crits


def judge(skel: Skeleton, criteria: dict, view: str, ctx: Context) -> TestJudgement:
    spec = criteria["trunk_stability_pushup"]
    m = measured(skel)
    fps = skel.fps
    level = start_baseline(m["pushup_hand_level"].values, fps)
    lag, lag_frame = robust_extreme(m["pushup_lumbar_lag_deg"].values, fps, "max")
    rise, rise_frame = robust_extreme(m["pelvis_rise_m"].values, fps, "max")
    execution = judge_all(spec, [("body_rises_as_unit", lag, lag_frame), ("body_lifts", rise, rise_frame)], view)
    reasons: list[str] = []
    notes: list[str] = []
    inputs: dict = {"sex": ctx.sex}
    if ctx.sex is not None:
        score, crits = _judge_for(ctx.sex, spec, level, execution, view)
        sex = ctx.sex
    else:
        by_sex = {s: _judge_for(s, spec, level, execution, view) for s in ("M", "F")}
        sex = min(by_sex, key=lambda s: by_sex[s][0])       # the lower score until sex is given
        score, crits = by_sex[sex]
        reasons.append("sex not given: the push-up hand levels differ for men and women "
                       f"(this clip scores {by_sex['M'][0]} for a man, {by_sex['F'][0]} for a woman); give --sex M or F")
        inputs["sex_assumed_for_score"] = sex
    for c in crits:
        if c.id in LEVEL_CRITERIA:
            c.deciding_frame = 0
    passed = {c.id: c.passed for c in crits}
    reasons += unjudged_reason(crits)
    at_level3 = passed.get("hands_at_level_3") is not False
    failed_execution = [c.id for c in crits if c.id in EXECUTION and c.passed is False]
    if failed_execution and at_level3:
        reasons.append("the push-up at the score-3 hand position fails (" + ", ".join(failed_execution) +
                       "): film the repetition at the score-2 position to tell 2 from 1")
        notes.append("provisional 1 until the score-2 repetition is seen")
    if level is not None:
        notes.append(f"thumb line at level {level:.2f} (0 collarbone, 1 chin, 2 forehead)")
    deciding = (failed_execution[0] if failed_execution else
                next((cid for cid in LEVEL_CRITERIA if passed.get(cid) is False), None))
    return TestJudgement(criteria=crits, score=score, score_fn=pushup_score,
                         side="NA", reasons=reasons, notes=notes, inputs=inputs, deciding=deciding,
                         key_frame=lag_frame)
