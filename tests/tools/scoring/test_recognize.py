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
