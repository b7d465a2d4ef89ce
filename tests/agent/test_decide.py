"""The decision policy: evidence-named reasons, the decider, abstention that never vetoes, quality that counts."""
from __future__ import annotations

import pytest

from agent.screening.decide import DecisionPolicy, decide, load_policy

POLICY = DecisionPolicy(min_confidence=0.9, min_stgcn_confidence=0.8, min_stgcn_agreement=0.1)


def _rubric(score=2, confidence=0.999, reasons=(), sex=None):
    crit = {"id": "fists_within_1_hand", "value": 1.3, "unit": "hand_lengths", "threshold": 1.0,
            "margin_sd": -3.0, "passed": False}
    return {"score": score, "confidence": confidence, "reasons": list(reasons), "criteria": [crit],
            "deciding_criterion": crit["id"], "inputs": {"pain": False, "sex": sex}}


def _stgcn(p, abstain=False, reason=None):
    return {"p_score": p, "abstain": abstain, "abstain_reason": reason, "abstain_score": abstain}


def test_a_clear_rule_score_stands_and_says_what_decided_it():
    v = decide(_rubric(), {"athlete_share": 1.0, "problems": [], "selection_problems": []}, None, None, POLICY)
    assert not v["review"] and v["score"] == 2 and v["confidence"] == pytest.approx(0.999)
    assert v["decided_by"] == "rules_margin" and v["reasons"] == []


def test_an_abstaining_second_opinion_is_recorded_and_never_vetoes():
    why = "second opinion abstains: this movement is unlike its training clips (distance 40 > 12)"
    v = decide(_rubric(), None, _stgcn([0, 0.99, 0.01, 0.0], abstain=True, reason=why), None, POLICY)
    assert not v["review"] and v["confidence"] == pytest.approx(0.999)
    assert v["second_opinion"]["status"] == "abstains" and v["notes"] == [why]


def test_a_confident_in_distribution_disagreement_goes_to_review_with_both_scores():
    v = decide(_rubric(score=2), None, _stgcn([0.0, 0.95, 0.03, 0.02]), None, POLICY)
    assert v["review"] and v["decided_by"] == "second_opinion"
    reason = next(d for d in v["reason_details"] if d["evidence"] == "second_opinion")["text"]
    assert reason.startswith("second opinion: ") and "favours 1" in reason and "rule score 2" in reason
    assert v["confidence"] == pytest.approx(0.999)          # it flags; it does not water the confidence down


def test_a_lukewarm_disagreement_does_not_flag():
    v = decide(_rubric(score=2), None, _stgcn([0.0, 0.6, 0.3, 0.1]), None, POLICY)
    assert not v["review"] and v["second_opinion"]["status"] == "uncertain"


def test_the_pushup_second_opinion_reads_the_head_of_the_sex_the_physio_gave():
    st = {"p_score": [0, 0, 0, 0], "abstain": False, "abstain_score": True,
          "p_score_by_sex": {"M": {"0": 0, "1": 0.02, "2": 0.95, "3": 0.03}, "F": {"0": 0, "1": 0.0, "2": 0.05, "3": 0.95}}}
    men = decide(_rubric(score=3, sex="M"), None, st, None, POLICY)
    women = decide(_rubric(score=3, sex="F"), None, st, None, POLICY)
    unknown = decide(_rubric(score=3), None, st, None, POLICY)
    assert men["second_opinion"]["status"] == "disagrees" and women["second_opinion"]["status"] == "agrees"
    assert unknown["second_opinion"]["status"] == "abstains"


def test_a_failed_quality_check_cannot_keep_full_confidence():
    q = {"athlete_share": 0.95, "problems": ["needed joints rarely visible in the frames with the athlete: left_hand"],
         "selection_problems": ["the skeleton landed on another person 1 time(s) and could not be brought back"]}
    v = decide(_rubric(), q, None, None, POLICY)
    assert v["evidence"]["quality_factor"] <= 0.25 and v["confidence"] < 0.3 and v["review"]
    assert v["decided_by"] == "athlete_selection"
    assert {d["evidence"] for d in v["reason_details"]} == {"pose_quality", "athlete_selection"}


def test_every_reason_names_its_evidence():
    v = decide(_rubric(confidence=0.7, reasons=["could not judge knee_valgus (needs a front view)",
                                                "borderline: fists_within_1_hand is 1.05"]),
               {"athlete_share": 1.0, "problems": [], "selection_problems": []}, None,
               [{"score": 3}] * 5, POLICY)
    labels = {d["evidence"]: d["text"].split(":")[0] for d in v["reason_details"]}
    assert labels == {"rules": "rules", "rules_margin": "rules margin", "neighbours": "neighbours"}
    assert v["decided_by"] == "rules"
    # the rubric's own borderline line is replaced by the policy's, against the policy's line
    assert sum("borderline" in r for r in v["reasons"]) == 1 and "< 0.90" in v["reasons"][1]


def test_pain_decides_and_keeps_quality_on_record():
    r = _rubric(reasons=["could not judge x"])
    r["inputs"]["pain"] = True
    v = decide(r, {"athlete_share": 1.0, "problems": ["skeleton is jittery"], "selection_problems": []}, None, None,
               POLICY)
    assert v["score"] == 0 and v["decided_by"] == "pain" and v["reasons"] == ["pose quality: skeleton is jittery"]


def test_the_shipped_policy_file_loads_with_its_calibration():
    p = load_policy()
    assert 0.5 < p.min_confidence <= 1.0 and p.source.endswith("decision_policy.yaml")
    knots = p.calibration_rule_confidence
    assert list(knots) == sorted(knots)
    assert list(p.calibration_p_correct) == sorted(p.calibration_p_correct)
