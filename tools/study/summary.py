"""From per-clip predictions to the figures of a reliability study (JSON-serialisable dict).

Conventions, stated once here and repeated in the report:
- Pain clips (pain reported, or physio score 0) are scored 0 from the pain
  input, not by the tool: they are left out of agreement statistics (they
  would agree by construction) but count in the composite.
- "scored" = the tool gave a provisional score (flagged for review or not);
  "auto-scored" = scored and not flagged. Agreement is reported for both;
  coverage = auto-scored / all non-pain clips.
- Repeated trials of one test and side in a session count by their best
  score (FMS takes the best of up to three trials), for physio and tool alike.
- Composite (0-21) per session (athlete + date): sum of the 7 tests, the lower
  of L and R for bilateral tests; only sessions where the physio and the tool
  both have every test (both sides) count.
- Asymmetry: a bilateral test in one session with both sides labelled, no
  pain on either side, and both sides scored by the tool; physio-flagged =
  physio L != R; detected = tool L != R on that pair as well.
"""
from __future__ import annotations

from collections import defaultdict

import numpy as np

from tools.study.cv import CVResult, Prediction
from tools.core.stats import (agreement, confusion, continuous_agreement, reliability_bins)
from tools.core.fms import BILATERAL, TESTS

MAX_DISAGREEMENTS_LISTED = 200


def _pairs(preds: list[Prediction]) -> tuple[list[int], list[int]]:
    return [p.physio_score for p in preds], [int(p.tool_score) for p in preds]


def per_test(preds: list[Prediction]) -> dict:
    out = {}
    for test in TESTS + ("all",):
        rows = [p for p in preds if test == "all" or p.test_name == test]
        if not rows:
            continue
        movement = [p for p in rows if not p.pain]
        scored = [p for p in movement if p.scored]
        auto = [p for p in scored if not p.review]
        out[test] = {
            "n_clips": len(rows), "n_pain_excluded": len(rows) - len(movement),
            "n_scored": len(scored), "n_not_scored": len(movement) - len(scored),
            "n_auto_scored": len(auto),
            "coverage": round(len(auto) / len(movement), 4) if movement else None,
            "scored": agreement(*_pairs(scored)),
            "auto_scored": agreement(*_pairs(auto)),
            "confusion": confusion(*_pairs(scored)),
            "not_scored_reasons": sorted({p.error for p in movement if not p.scored and p.error})[:5],
        }
    return out


def _best_of_trials(preds: list[Prediction]) -> dict[tuple[str, str, str], dict[tuple[str, str], tuple[int, int | None]]]:
    """Per session and (test, side): (physio, tool) score, the best over repeated trials, as FMS
    counts the best of up to three trials (tool None if it could not score any trial)."""
    grouped: dict = defaultdict(lambda: defaultdict(list))
    for p in preds:
        grouped[(p.athlete_id, p.date)][(p.test_name, p.side)].append(p)
    out: dict = {}
    for session, by_test in grouped.items():
        out[session] = {}
        for key, trials in by_test.items():
            tool = [int(t.tool_score) for t in trials if t.tool_score is not None]
            out[session][key] = (max(t.physio_score for t in trials), max(tool) if tool else None)
    return out


def composite(preds: list[Prediction]) -> dict:
    physio, tool, ids, incomplete = [], [], [], 0
    for key, clips in sorted(_best_of_trials(preds).items()):
        total_p, total_t, ok = 0, 0, True
        for test in TESTS:
            sides = ("L", "R") if test in BILATERAL else ("NA",)
            got = [clips.get((test, s)) for s in sides]
            if any(g is None or g[1] is None for g in got):
                ok = False
                break
            total_p += min(g[0] for g in got)
            total_t += min(g[1] for g in got)
        if ok:
            physio.append(total_p)
            tool.append(total_t)
            ids.append(f"{key[0]} {key[1]}".strip())
        else:
            incomplete += 1
    result = continuous_agreement(physio, tool) if physio else {"n": 0}
    result.update({"n_sessions_complete": len(physio), "n_sessions_incomplete": incomplete,
                   "physio": physio, "tool": tool, "sessions": ids})
    return result


def asymmetry(preds: list[Prediction]) -> dict:
    movement = [p for p in preds if not p.pain]
    per: dict[str, dict] = {t: {"pairs": 0, "physio_asymmetric": 0, "detected": 0, "tool_false_alarms": 0}
                            for t in TESTS if t in BILATERAL}
    missed = []
    for (athlete, date), clips in sorted(_best_of_trials(movement).items()):
        for test in per:
            left, right = clips.get((test, "L")), clips.get((test, "R"))
            if left is None or right is None or left[1] is None or right[1] is None:
                continue
            d = per[test]
            d["pairs"] += 1
            physio_asym, tool_asym = left[0] != right[0], left[1] != right[1]
            if physio_asym:
                d["physio_asymmetric"] += 1
                d["detected"] += int(tool_asym)
                if not tool_asym:
                    missed.append(f"{athlete} {test}: physio L{left[0]}/R{right[0]}, tool L{left[1]}/R{right[1]}")
            elif tool_asym:
                d["tool_false_alarms"] += 1
    tot = {k: sum(d[k] for d in per.values()) for k in ("pairs", "physio_asymmetric", "detected", "tool_false_alarms")}
    for d in list(per.values()) + [tot]:
        d["detection_rate"] = round(d["detected"] / d["physio_asymmetric"], 4) if d["physio_asymmetric"] else None
        sym = d["pairs"] - d["physio_asymmetric"]
        d["false_alarm_rate"] = round(d["tool_false_alarms"] / sym, 4) if sym else None
    return {"per_test": per, "total": tot, "missed": missed[:50]}


def review_calibration(preds: list[Prediction]) -> dict:
    movement = [p for p in preds if not p.pain and p.scored]
    flagged = [p for p in movement if p.review]
    unflagged = [p for p in movement if not p.review]

    def acc(ps: list[Prediction]) -> float | None:
        return round(float(np.mean([p.tool_score == p.physio_score for p in ps])), 4) if ps else None
    return {"n": len(movement), "n_flagged": len(flagged), "n_unflagged": len(unflagged),
            "coverage": round(len(unflagged) / len(movement), 4) if movement else None,
            "exact_flagged": acc(flagged), "exact_unflagged": acc(unflagged),
            "note": "a useful review flag catches the clips the tool would get wrong: "
                    "exact agreement should be lower on flagged than on unflagged clips"}


def reliability(preds: list[Prediction]) -> dict:
    rows = [p for p in preds if not p.pain and p.scored and p.confidence is not None]
    return reliability_bins([p.confidence for p in rows], [p.tool_score == p.physio_score for p in rows])


def risk_coverage_summary(preds: list[Prediction]) -> dict:
    """Accuracy of the clips scored without review against the share scored without review.

    `curve`: as a review line on the tool's confidence moves (clips the scorer flags for a
    reason other than confidence are never counted as covered when it says which: the decision
    scorer's `other_reasons`); `operating_point`: what the scorer actually did. Over the
    pain-free clips (a clip it cannot score counts as not covered)."""
    from tools.study.policy_fit import risk_coverage, wilson_low
    movement = [p for p in preds if not p.pain]
    if not movement:
        return {"n": 0, "curve": [], "operating_point": None}
    conf = np.array([p.confidence if (p.scored and p.confidence is not None) else -1.0 for p in movement])
    ok = np.array([p.scored and p.tool_score == p.physio_score for p in movement])
    eligible = np.array([p.scored and not p.extra.get("other_reasons", False) for p in movement])
    auto = [p for p in movement if p.scored and not p.review]
    k = sum(p.tool_score == p.physio_score for p in auto)
    point = {"coverage": round(len(auto) / len(movement), 4), "n_unflagged": len(auto),
             "accuracy": round(k / len(auto), 4) if auto else None,
             "accuracy_wilson_low": round(wilson_low(k, len(auto)), 4) if auto else None,
             "confident_errors": len(auto) - k,
             "confident_errors_per_100": round(100 * (len(auto) - k) / len(movement), 2),
             "confident_correct_share": round(k / len(movement), 4)}
    return {"n": len(movement), "curve": risk_coverage(conf, ok, eligible), "operating_point": point}


def second_opinion_effect(preds: list[Prediction]) -> dict | None:
    """With vs without the ST-GCN (decision scorer only: each clip decided both ways).

    confident correct = scored without review and right, as a share of the pain-free clips;
    errors caught = clips the rules alone would have scored wrongly without review that the second
    opinion sent to review; correct sent to review = the reverse (right answers it vetoed)."""
    rows = [p for p in preds if not p.pain and "without_stgcn" in p.extra]
    if not rows:
        return None
    n = len(rows)

    def confident_correct(score, review, truth):
        return score is not None and not review and score == truth
    w_cc = sum(confident_correct(p.tool_score, p.review, p.physio_score) for p in rows)
    o_cc = sum(confident_correct(p.extra["without_stgcn"]["score"], p.extra["without_stgcn"]["review"],
                                 p.physio_score) for p in rows)
    w_err = sum(p.tool_score is not None and not p.review and p.tool_score != p.physio_score for p in rows)
    o_err = sum(p.extra["without_stgcn"]["score"] is not None and not p.extra["without_stgcn"]["review"]
                and p.extra["without_stgcn"]["score"] != p.physio_score for p in rows)
    caught = sum(not p.extra["without_stgcn"]["review"] and p.extra["without_stgcn"]["score"] != p.physio_score
                 and p.review for p in rows)
    vetoed = sum(not p.extra["without_stgcn"]["review"] and p.extra["without_stgcn"]["score"] == p.physio_score
                 and p.review for p in rows)
    status: dict[str, int] = {}
    for p in rows:
        s = (p.extra.get("second_opinion") or {}).get("status", "not run")
        status[s] = status.get(s, 0) + 1
    return {"n": n, "confident_correct_with": w_cc, "confident_correct_without": o_cc,
            "confident_correct_share_with": round(w_cc / n, 4), "confident_correct_share_without": round(o_cc / n, 4),
            "confident_correct_change_points": round(100 * (w_cc - o_cc) / n, 2),
            "confident_errors_with": w_err, "confident_errors_without": o_err,
            "rule_errors_caught": caught, "correct_sent_to_review": vetoed, "status": status}


def disagreements(preds: list[Prediction]) -> list[dict]:
    rows = [p for p in preds if not p.pain and p.scored and p.tool_score != p.physio_score]
    rows.sort(key=lambda p: (-abs(p.tool_score - p.physio_score), p.test_name, p.clip_id))
    return [{"clip_id": p.clip_id, "athlete_id": p.athlete_id, "test": p.test_name, "side": p.side,
             "physio": p.physio_score, "tool": p.tool_score, "review": p.review,
             "confidence": p.confidence, "reasons": "; ".join(p.reasons)[:200]}
            for p in rows[:MAX_DISAGREEMENTS_LISTED]]


def test_recognition(preds: list[Prediction]) -> dict | None:
    rows = [p for p in preds if p.predicted_test is not None]
    if not rows:
        return None
    per = {t: round(float(np.mean([p.predicted_test == t for p in rows if p.test_name == t])), 4)
           for t in TESTS if any(p.test_name == t for p in rows)}
    return {"n": len(rows), "accuracy": round(float(np.mean([p.predicted_test == p.test_name for p in rows])), 4),
            "per_test": per}


def summarise(result: CVResult) -> dict:
    preds = result.predictions
    return {
        "scorer": result.scorer, "scorer_description": result.scorer_description, "cv": result.cv,
        "n_folds": result.n_folds, "fitted_per_fold": result.fitted_per_fold,
        "n_clips": len(preds), "n_athletes": len({p.athlete_id for p in preds}),
        "per_test": per_test(preds), "composite": composite(preds), "asymmetry": asymmetry(preds),
        "review_calibration": review_calibration(preds), "reliability": reliability(preds),
        "risk_coverage": risk_coverage_summary(preds), "second_opinion": second_opinion_effect(preds),
        "test_recognition": test_recognition(preds), "disagreements": disagreements(preds),
        "notes": list(result.notes), "seconds": result.seconds,
    }
