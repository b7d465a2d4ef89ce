"""Deep squat rules on skeletons of known geometry."""
import pytest

from tools.scoring.criteria import load_criteria
from tests.skeleton_factory import squat_clip
from tools.core.errors import InputError
from tools.core.fms import check_test_and_side
from tools.scoring.rubric import score_test


def crit(result, cid):
    return next(c for c in result.criteria if c.id == cid)


def test_good_squat_scores_3_with_every_criterion_explained():
    r = score_test(squat_clip(depth_deg=20, trunk_deg=30, tibia_deg=35), "deep_squat")
    assert r.score == 3 and not r.review, r.reasons
    depth = crit(r, "thigh_below_horizontal")
    assert depth.passed and depth.value == pytest.approx(20, abs=0.5) and depth.unit == "deg"
    assert depth.deciding_frame is not None and depth.threshold == 0.0
    assert crit(r, "torso_parallel_tibia").value == pytest.approx(-5, abs=0.5)
    assert r.inputs["heels_raised"] is False and r.inputs["heels_raised_assumed"] is True
    assert any("heels assumed flat" in n for n in r.notes)
    assert r.confidence >= 0.65


def test_shallow_squat_fails_depth_and_goes_to_review_without_heel_board():
    r = score_test(squat_clip(depth_deg=-25, trunk_deg=30, tibia_deg=35), "deep_squat")
    assert crit(r, "thigh_below_horizontal").passed is False
    assert r.score == 1 and r.review
    assert any("heels-raised" in why for why in r.reasons)


def test_heels_raised_pass_is_2_and_fail_is_1():
    good = score_test(squat_clip(depth_deg=20, trunk_deg=30, tibia_deg=35), "deep_squat", heels_raised=True)
    assert good.score == 2 and not good.review
    leaning = score_test(squat_clip(depth_deg=20, trunk_deg=65, tibia_deg=30), "deep_squat", heels_raised=True)
    assert crit(leaning, "torso_parallel_tibia").passed is False
    assert leaning.score == 1 and leaning.deciding_criterion == "torso_parallel_tibia"


def test_valgus_and_dowel_faults_fail_their_criteria():
    r = score_test(squat_clip(depth_deg=20, trunk_deg=30, tibia_deg=35, knee_in_m=0.1), "deep_squat")
    assert crit(r, "knee_valgus").passed is False
    r = score_test(squat_clip(depth_deg=20, trunk_deg=30, tibia_deg=35, hands_forward_m=0.5), "deep_squat")
    assert crit(r, "dowel_over_feet").passed is False


def test_borderline_depth_is_flagged_not_confident():
    r = score_test(squat_clip(depth_deg=1.0, trunk_deg=30, tibia_deg=35), "deep_squat")
    assert r.review and any("borderline" in why for why in r.reasons)
    # 1 deg past level is under one expected-error sd of the depth measure: below the rubric's review line
    from tools.scoring.criteria import load_criteria
    assert r.confidence < load_criteria()["review"]["min_confidence"]


def test_pain_gives_zero_with_reason():
    r = score_test(squat_clip(depth_deg=20, trunk_deg=30, tibia_deg=35), "deep_squat", pain=True)
    assert r.score == 0 and r.inputs["pain"] is True
    assert any("pain" in n for n in r.notes)


def test_not_a_squat_is_sent_to_review():
    # arms down and barely any knee bend: not a deep squat
    r = score_test(squat_clip(depth_deg=-80, trunk_deg=5, tibia_deg=5, arms_overhead=False), "deep_squat")
    assert r.review
    assert any("does not look like a deep squat" in why for why in r.reasons)
    assert any("dowel not overhead" in why for why in r.reasons)


def test_team_override_file_changes_a_threshold(tmp_path):
    f = tmp_path / "team.yaml"
    f.write_text("deep_squat:\n  thigh_below_horizontal:\n    threshold: 25.0\n")
    crits = load_criteria(f)
    assert crits["deep_squat"]["thigh_below_horizontal"]["threshold"] == 25.0
    assert crits["deep_squat"]["torso_parallel_tibia"]["threshold"] == load_criteria()["deep_squat"]["torso_parallel_tibia"]["threshold"]
    r = score_test(squat_clip(depth_deg=20, trunk_deg=30, tibia_deg=35), "deep_squat", criteria=crits)
    assert crit(r, "thigh_below_horizontal").passed is False
    # defaults untouched by the override (deep copy)
    assert load_criteria()["deep_squat"]["thigh_below_horizontal"]["threshold"] == 0.0


def test_bad_test_and_side_inputs():
    with pytest.raises(InputError, match="unknown test"):
        check_test_and_side("squat", None)
    with pytest.raises(InputError, match="scored once"):
        check_test_and_side("deep_squat", "L")
    with pytest.raises(InputError, match="side must be"):
        check_test_and_side("hurdle_step", "X")
    assert check_test_and_side("hurdle_step", "left") == "L"
    with pytest.raises(InputError, match="not found"):
        load_criteria("/nonexistent/criteria.yaml")
