"""Verdict headlines that cannot be misread (issue 19): not the test, provisional, integrity, confidence."""
from __future__ import annotations

from tools.report.headline import NOT_INTACT, decider_label, headline, not_the_test


def _verdict(**kw) -> dict:
    v = {"test": "deep_squat", "side": "NA", "score": 3, "confidence": 0.87, "review": False, "reasons": [],
         "inputs": {"pain": False}, "deciding_criterion": "dowel_over_feet",
         "criteria": [{"id": "dowel_over_feet", "passed": True}, {"id": "knee_valgus", "passed": True}],
         "test_recognition": {"asked": "deep_squat", "asked_score": 1.0, "looks_like": "deep_squat",
                              "matches_asked": True}}
    v.update(kw)
    return v


def test_a_clean_score_shows_the_decisions_confidence():
    h = headline(_verdict())
    assert h.kind == "score" and h.title == "Deep squat: score 3 of 3" and h.badge == "3"
    assert h.confidence == 0.87 and "Confidence 0.87" in h.lines[0] and h.is_result


def test_a_review_is_provisional_and_never_shows_a_confidence():
    h = headline(_verdict(score=1, confidence=1.0, review=True, reasons=["dowel not overhead"]))
    assert h.kind == "provisional" and h.title == "Deep squat: provisional 1, physio review"
    assert h.badge == "provisional 1" and h.score is None and h.provisional == 1
    assert h.confidence is None and not any("1.00" in line for line in h.lines) and not h.is_result


def test_not_the_asked_test_shows_no_score():
    rec = {"asked": "deep_squat", "asked_score": 0.0, "looks_like": None, "matches_asked": False}
    v = _verdict(score=1, confidence=1.0, review=True, test_recognition=rec)
    assert not_the_test(v)
    h = headline(v)
    assert h.kind == "not_the_test" and h.title == "This does not look like a deep squat: no score"
    assert h.badge is None and h.score is None and h.provisional is None and h.confidence is None
    assert "1" not in h.title
    looks = headline(_verdict(test="hurdle_step", side="L", test_recognition=dict(rec, looks_like="inline_lunge")))
    assert looks.title == "This does not look like a hurdle step: no score"
    assert "looks more like an in-line lunge" in looks.lines[0]


def test_an_edited_trace_shows_no_score_at_all():
    h = headline(_verdict(), intact=False)
    assert h.kind == "not_intact" and h.title == NOT_INTACT == "NOT intact: do not use this result"
    assert h.badge is None and h.score is None and h.confidence is None and not h.is_result


def test_pain_gives_zero_and_no_review_means_no_provisional():
    h = headline(_verdict(score=0, confidence=1.0, inputs={"pain": True}))
    assert h.kind == "pain" and h.title == "Deep squat: 0 (pain reported)" and h.score == 0
    assert headline(_verdict(score=None, review=True)).title == "Deep squat: no score, physio review"
    side = headline(_verdict(test="hurdle_step", side="L", score=2))
    assert side.title == "Hurdle step, left: score 2 of 3"


def test_a_passing_decider_is_closest_to_failing():
    assert decider_label(_verdict()) == "Closest to failing"
    failed = _verdict(score=1, criteria=[{"id": "dowel_over_feet", "passed": False}])
    assert decider_label(failed) == "Deciding criterion"
