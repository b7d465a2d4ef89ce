"""The rubric engine around the rule modules: inputs, pain and clearing tests, confidence, mismatches, versions."""
import numpy as np
import pytest

from tests.tools.scoring.test_rubric_poses import hurdle_clip
from tools.core.errors import InputError
from tools.core.fms import BILATERAL, CLEARING_TESTS, TESTS, check_test_and_side
from tools.scoring.rubric import score_test
from tools.scoring.rubric.common import TestJudgement, capped_score
from tools.scoring.rubric.result import CriterionResult


def test_bad_inputs_name_what_to_do():
    clip = hurdle_clip()
    with pytest.raises(InputError, match="unknown test 'hurdle'"):
        score_test(clip, "hurdle")
    with pytest.raises(InputError, match="scored once, not per side"):
        check_test_and_side("trunk_stability_pushup", "R")
    with pytest.raises(InputError, match="side must be L or R"):
        score_test(clip, "hurdle_step", "up")
    with pytest.raises(InputError, match="has no clearing test"):
        score_test(clip, "hurdle_step", "L", clearing_pain=True)
    with pytest.raises(InputError, match="sex must be M or F"):
        score_test(clip, "hurdle_step", "L", sex="X")
    with pytest.raises(InputError, match="hand length"):
        score_test(clip, "hurdle_step", "L", hand_length_m=19.0)
    assert set(CLEARING_TESTS) == {"shoulder_mobility", "trunk_stability_pushup", "rotary_stability"}
    assert len(TESTS) == 7 and len(BILATERAL) == 5


def test_pain_scores_zero_and_keeps_the_measurement():
    r = score_test(hurdle_clip(clearance_m=0.1), "hurdle_step", pain=True)
    assert r.score == 0 and r.confidence == 1.0 and r.inputs["pain"] is True
    assert any("pain reported during the test" in n for n in r.notes)
    assert all(c.value is not None for c in r.criteria)   # measured for the record


def test_clearing_pain_is_recorded_against_the_test_it_clears():
    from tests.tools.scoring.test_rubric_synth_tests import ATHLETE_M, clip
    from tools.synth.shoulder import ShoulderMobilityKnobs
    skel = clip("shoulder_mobility", ShoulderMobilityKnobs(fist_gap_hand_lengths=0.5))
    r = score_test(skel, "shoulder_mobility", clearing_pain=True, hand_length_m=ATHLETE_M.hand_length_m)
    assert r.score == 0 and r.inputs["clearing_pain"] is True
    assert r.inputs["clearing_test"] == "shoulder clearing test"
    assert any("shoulder clearing test" in n for n in r.notes)


def _crit(cid, passed, margin_scaled):
    return CriterionResult(id=cid, description=cid, measure=cid, value=1.0, unit="m", threshold=0.0, pass_if="<=",
                           passed=passed, margin=margin_scaled, margin_scaled=margin_scaled, deciding_frame=3,
                           view_needed="any")


def test_confidence_comes_from_the_criteria_the_score_hangs_on():
    from tools.scoring.rubric import _pivotal_confidence
    caps = {"a": 2, "b": 1}
    fn = lambda p: capped_score(caps, p)   # noqa: E731
    # a fails clearly; b passes narrowly and would drop the score to 1: b is pivotal
    # without an error model a margin of 0.1 scale = 0.35 noise sd (scale = 3.5 sd): Phi(0.35)
    j = TestJudgement(criteria=[_crit("a", False, -2.0), _crit("b", True, 0.1)], score=2, score_fn=fn)
    conf, weakest = _pivotal_confidence(j)
    assert weakest.id == "b" and conf == pytest.approx(0.6368, abs=1e-3)
    # two clear failures of the same cap: no single flip changes the score, the clearest one stands for it
    j = TestJudgement(criteria=[_crit("a", False, -0.4), _crit("c", False, -3.0)], score=2,
                      score_fn=lambda p: capped_score({"a": 2, "c": 2}, p))
    conf, weakest = _pivotal_confidence(j)
    assert weakest.id == "c" and conf > 0.9999
    # with an error model the margin counts in its sd, whatever the unit
    b = _crit("b", True, 0.1)
    b.margin_sd = 2.0
    conf, weakest = _pivotal_confidence(TestJudgement(criteria=[_crit("a", False, -2.0), b], score=2, score_fn=fn))
    assert weakest.id == "b" and conf == pytest.approx(0.9772, abs=1e-3)


def test_every_result_is_json_ready_with_versions():
    import json
    r = score_test(hurdle_clip(), "hurdle_step")
    d = r.to_dict()
    json.dumps(d)
    assert d["rubric_version"] == "formscout-rubric-2" and d["test_version"]
    assert d["recognition"]["test"] == "hurdle_step"
    assert d["key_frame"] is not None and d["deciding_frame"] is not None


def test_a_mislabelled_clip_is_caught():
    from tests.tools.scoring.test_rubric_synth_tests import clip
    from tools.synth.lunge import InlineLungeKnobs
    lunge = clip("inline_lunge", InlineLungeKnobs())
    r = score_test(lunge, "hurdle_step", "L")
    assert r.review
    assert any(why.startswith("asked for hurdle step, this looks like an in-line lunge") for why in r.reasons)
    # without a side there is no stepping leg to find: the error says what the clip looks like
    with pytest.raises(InputError, match="asked for hurdle step, this looks like an in-line lunge"):
        score_test(lunge, "hurdle_step")
    # the right test name gives no mismatch
    assert not any("asked for" in why for why in score_test(lunge, "inline_lunge").reasons)


def test_recognition_can_be_switched_off():
    r = score_test(hurdle_clip(), "hurdle_step", recognize=False)
    assert r.recognition is None and r.score is not None
    assert np.isfinite(r.confidence)
