"""Rules for the deep squat, lunge, shoulder mobility, ASLR, push-up and rotary stability on synthetic clips
whose fault knobs are set by hand (tools.synth): each knob fails the criterion it names, and nothing else."""
import numpy as np
import pytest

from tools.synth.body import make_athlete
from tools.synth.library import auto_camera, make_sample, truth_skeleton
from tools.scoring.rubric import score_test

ATHLETE_M = make_athlete(np.random.default_rng(3), index=3, sex="male", variation=0.0)
ATHLETE_F = make_athlete(np.random.default_rng(4), index=4, sex="female", variation=0.0)


def clip(test, knobs, side="L", athlete=ATHLETE_M, view="45", seed=5):
    s = make_sample(test, seed, side=side, knobs=knobs, athlete=athlete, speed=1.0)
    return truth_skeleton(s, auto_camera(s, view))


def crit(r, cid):
    return next(c for c in r.criteria if c.id == cid)


def failed(r):
    return {c.id for c in r.criteria if c.passed is False}


def test_deep_squat_flat_pass_board_pass_and_board_fail():
    from tools.synth.squat import DeepSquatKnobs
    good = clip("deep_squat", DeepSquatKnobs(), side="NA")
    assert score_test(good, "deep_squat", heels_raised=False).score == 3
    board = clip("deep_squat", DeepSquatKnobs(heel_board=True), side="NA")
    assert score_test(board, "deep_squat", heels_raised=True).score == 2
    lean = clip("deep_squat", DeepSquatKnobs(heel_board=True, torso_minus_tibia_deg=28.0), side="NA")
    r = score_test(lean, "deep_squat", heels_raised=True)
    assert r.score == 1 and failed(r) == {"torso_parallel_tibia"}


@pytest.mark.parametrize("knob,value,criterion,score", [
    (None, None, None, 3),
    ("back_knee_gap_m", 0.12, "back_knee_touch", 2),
    ("dowel_contact_gap_m", 0.10, "dowel_contacts", 2),
    ("trunk_lean_deg", 15.0, "dowel_vertical", 2),
    ("torso_rotation_deg", 16.0, "torso_still", 2),
    ("front_knee_drift_m", 0.10, "sagittal_alignment", 2),
    ("balance_loss", True, "balance", 1),
])
def test_inline_lunge_faults(knob, value, criterion, score):
    from tools.synth.lunge import InlineLungeKnobs
    kw = {"torso_rotation_deg": 1.0, "trunk_lean_deg": 1.0}
    if knob:
        kw[knob] = value
    if knob == "balance_loss":
        kw["torso_rotation_deg"] = 15.0
    r = score_test(clip("inline_lunge", InlineLungeKnobs(**kw)), "inline_lunge")
    assert r.side == "L" and r.side_inferred
    assert r.score == score, (failed(r), r.reasons)
    if criterion:
        assert criterion in failed(r)
    else:
        assert not failed(r) and not r.review


def test_inline_lunge_right_side_is_the_front_leg():
    from tools.synth.lunge import InlineLungeKnobs
    r = score_test(clip("inline_lunge", InlineLungeKnobs(), side="R"), "inline_lunge")
    assert r.side == "R" and r.side_inferred and r.score == 3


@pytest.mark.parametrize("gap,score", [(0.6, 3), (1.25, 2), (2.0, 1)])
def test_shoulder_mobility_levels_with_measured_hand_length(gap, score):
    from tools.synth.shoulder import ShoulderMobilityKnobs
    skel = clip("shoulder_mobility", ShoulderMobilityKnobs(fist_gap_hand_lengths=gap), side="R")
    r = score_test(skel, "shoulder_mobility", hand_length_m=ATHLETE_M.hand_length_m)
    assert r.score == score and r.side == "R" and r.side_inferred
    assert crit(r, "fists_within_1_hand").value == pytest.approx(gap, abs=0.02)
    assert r.inputs["hand_length_source"] == "given"


def test_shoulder_mobility_estimates_hand_length_and_says_how():
    from tools.synth.shoulder import ShoulderMobilityKnobs
    r = score_test(clip("shoulder_mobility", ShoulderMobilityKnobs(fist_gap_hand_lengths=0.6)), "shoulder_mobility")
    assert r.score == 3
    assert r.inputs["hand_length_source"].startswith("estimated: 0.74 x")
    assert r.inputs["hand_length_m"] == pytest.approx(ATHLETE_M.hand_length_m, rel=0.05)
    assert any("hand length estimated" in n for n in r.notes)


def test_shoulder_mobility_close_to_a_threshold_is_flagged():
    from tools.synth.shoulder import ShoulderMobilityKnobs
    r = score_test(clip("shoulder_mobility", ShoulderMobilityKnobs(fist_gap_hand_lengths=1.03)), "shoulder_mobility",
                   hand_length_m=ATHLETE_M.hand_length_m)
    assert r.review and any("borderline: fists_within_1_hand" in why for why in r.reasons)


@pytest.mark.parametrize("fraction,lift,score,fails", [
    (0.2, 0.0, 3, set()),
    (0.75, 0.0, 2, {"ankle_past_mid_thigh"}),
    (1.3, 0.0, 1, {"ankle_past_mid_thigh", "ankle_past_knee"}),
    (0.2, 0.10, 2, {"down_leg_flat"}),
])
def test_active_straight_leg_raise(fraction, lift, score, fails):
    from tools.synth.aslr import ActiveStraightLegRaiseKnobs
    knobs = ActiveStraightLegRaiseKnobs(ankle_fraction_asis_to_knee=fraction, down_leg_lift_m=lift)
    r = score_test(clip("active_straight_leg_raise", knobs, view="side"), "active_straight_leg_raise")
    assert r.score == score and failed(r) == fails and r.side == "L" and r.side_inferred
    assert crit(r, "ankle_past_mid_thigh").value == pytest.approx(fraction, abs=0.03)


@pytest.mark.parametrize("athlete,sex,level,lag,completes,score", [
    (ATHLETE_M, "M", "forehead", 1.0, True, 3),
    (ATHLETE_M, "M", "chin", 1.0, True, 2),
    (ATHLETE_M, "M", "chin", 20.0, True, 1),
    (ATHLETE_M, "M", "chin", 20.0, False, 1),
    (ATHLETE_F, "F", "chin", 1.0, True, 3),
    (ATHLETE_F, "F", "collarbone", 1.0, True, 2),
])
def test_pushup_levels_by_sex(athlete, sex, level, lag, completes, score):
    from tools.synth.pushup import TrunkStabilityPushupKnobs
    knobs = TrunkStabilityPushupKnobs(hand_level=level, lumbar_lag_deg=lag, completes=completes)
    r = score_test(clip("trunk_stability_pushup", knobs, side="NA", athlete=athlete, view="side"),
                   "trunk_stability_pushup", sex=sex)
    assert r.score == score, (failed(r), r.reasons)
    assert r.inputs["sex"] == sex


def test_pushup_without_sex_goes_to_review_with_the_lower_score():
    from tools.synth.pushup import TrunkStabilityPushupKnobs
    skel = clip("trunk_stability_pushup", TrunkStabilityPushupKnobs(hand_level="chin", lumbar_lag_deg=1.0), side="NA",
                view="side")
    r = score_test(skel, "trunk_stability_pushup")
    assert r.review and any("sex not given" in why for why in r.reasons)
    assert r.score == 2    # chin: 2 for a man, 3 for a woman -> the lower until sex is given


def test_pushup_failing_at_the_score3_position_asks_for_the_score2_repetition():
    from tools.synth import pushup
    knobs = pushup.TrunkStabilityPushupKnobs(hand_level="forehead", lumbar_lag_deg=22.0)
    motion = pushup.generate(ATHLETE_M, knobs, np.random.default_rng(0))
    from tools.core.skeleton import Skeleton
    skel = Skeleton(xyz=motion.joints, conf=np.ones(motion.joints.shape[:2]), fps=motion.fps,
                    meta={"camera_view": "side"})
    r = score_test(skel, "trunk_stability_pushup", sex="M")
    assert r.score == 1 and r.review
    assert any("score-2 position" in why for why in r.reasons)


@pytest.mark.parametrize("pattern,gap,roll,balance,score", [
    ("unilateral", 0.0, 2.0, False, 3),
    ("diagonal", 0.0, 2.0, False, 2),
    ("diagonal", 0.16, 2.0, False, 1),
    ("diagonal", 0.0, 20.0, False, 1),
    ("diagonal", 0.0, 20.0, True, 1),
])
def test_rotary_stability_original_version(pattern, gap, roll, balance, score):
    from tools.synth.rotary import RotaryStabilityKnobs
    knobs = RotaryStabilityKnobs(pattern=pattern, elbow_knee_gap_m=gap, trunk_roll_deg=roll, balance_loss=balance)
    r = score_test(clip("rotary_stability", knobs, side="R"), "rotary_stability")
    assert r.score == score, (failed(r), r.reasons)
    assert r.side == "R" and r.side_inferred
    assert "pre-2023" in r.test_version and "pre-2023" in r.inputs["test_version"]
    assert r.inputs["pattern"] == pattern
