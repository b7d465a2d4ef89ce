"""Test recognition by rules: each of the seven tests is recognised from its skeleton, mismatches are worded."""
import pytest

from tools.core.fms import BILATERAL, TESTS
from tools.scoring.rubric.recognize import MATCH, mismatch_reason, ramp, recognize_test
from tools.synth.library import make_sample, truth_skeleton


@pytest.mark.parametrize("test", TESTS)
def test_each_test_is_recognised_at_every_score(test):
    for seed, score in ((1, 1), (2, 2), (3, 3)):
        s = make_sample(test, 100 + seed, score=score, side="R" if test in BILATERAL else "NA")
        rec = recognize_test(truth_skeleton(s))
        assert rec["test"] == test, rec["reason"]
        assert rec["scores"][test] >= MATCH
        assert sum(v >= MATCH for v in rec["scores"].values()) == 1, rec["scores"]


def test_mismatch_reason_names_both_tests():
    s = make_sample("active_straight_leg_raise", 7, side="L")
    rec = recognize_test(truth_skeleton(s))
    why = mismatch_reason("trunk_stability_pushup", rec)
    assert why.startswith("asked for trunk stability push-up, this looks like an active straight-leg raise")
    assert mismatch_reason("active_straight_leg_raise", rec) is None


def test_ramp_is_a_soft_condition():
    assert ramp(0.5, 0.0, 1.0) == 0.5 and ramp(2, 0, 1) == 1.0 and ramp(None, 0, 1) == 0.0
    assert ramp(30, 60, 35) == 1.0 and ramp(70, 60, 35) == 0.0


def test_a_movement_that_matches_no_test_is_not_the_asked_test():
    """Standing still matches nothing: asked for a deep squat, the check says it is not one (issue 19)."""
    from tools.scoring.rubric.recognize import asked_test_check
    s = make_sample("shoulder_mobility", 5, side="L")
    rec = recognize_test(truth_skeleton(s))
    rec = dict(rec, test=None, scores={t: 0.0 for t in TESTS})        # no test matches clearly
    check = asked_test_check("deep_squat", rec)
    assert check == {"asked": "deep_squat", "asked_score": 0.0, "looks_like": None, "matches_asked": False}
    why = mismatch_reason("deep_squat", rec)
    assert why.startswith("asked for deep squat, but the movement does not look like one")
    same = recognize_test(truth_skeleton(make_sample("deep_squat", 5)))
    assert asked_test_check("deep_squat", same)["matches_asked"] is True
