"""Each repetition scored on its own; the protocol's best counts (variants, sides, other movements)."""
import pytest

from tools.geometry.repetitions import segment_repetitions
from tools.scoring.repetitions import RepetitionInputs, score_repetitions
from tools.synth.library import auto_camera
from tools.synth.repetitions import RepPlan, clip_skeleton, make_repetition_clip


def _score(test, plan, seed=5, **inputs):
    clip = make_repetition_clip(test, seed, plan=plan)
    view = "side" if test in ("active_straight_leg_raise", "trunk_stability_pushup") else "45"
    skel = clip_skeleton(clip, auto_camera(clip, view)).filled(6).smoothed(window_s=0.2)
    seg = segment_repetitions(skel, test).to_dict()
    return clip, score_repetitions(skel, test, seg, RepetitionInputs(**inputs))


def test_a_hurdle_step_of_a_1_a_3_and_a_2_scores_3_from_the_second_repetition():
    clip, out = _score("hurdle_step", [RepPlan(1, side="L"), RepPlan(3, side="L"), RepPlan(2, side="L")])
    assert [r.score for r in clip.reps] == [1, 3, 2]
    assert out["score"] == 3 and out["counted_repetition"] == 2 and out["side"] == "L"
    statuses = {r["index"]: r["status"] for r in out["repetitions"]}
    assert statuses == {1: "scored", 2: "counted", 3: "scored"}
    assert [r["score"] for r in out["repetitions"]] == [1, 3, 2]
    # every frame is a frame of the whole clip: the deciding frame lies inside the counted repetition
    counted = out["repetitions"][1]
    assert counted["slice_start"] <= out["deciding_frame"] < counted["slice_end"]
    assert "best of the repetitions" in out["protocol"]["summary"]


def test_a_failed_flat_heel_squat_then_the_board_gives_2_without_the_film_it_reason():
    clip, out = _score("deep_squat", [RepPlan(1, variant="flat"), RepPlan(2), RepPlan(2, pause_before_s=1.0)])
    assert [r.variant for r in clip.reps] == ["flat", "heels_raised", "heels_raised"]
    assert out["score"] == 2
    assert out["repetitions"][0]["variant"]["heels_raised"] is False
    assert all(r["variant"]["heels_raised"] for r in out["repetitions"][1:])
    assert out["protocol"]["heels_board"]["told_apart"] is True
    assert not any("film the heels-raised" in r for r in out["reasons"])


def test_a_flat_heel_3_beats_a_heels_raised_2():
    _, out = _score("deep_squat", [RepPlan(2), RepPlan(3, pause_before_s=1.0)])
    assert out["score"] == 3 and out["counted_repetition"] == 2


def test_both_sides_in_one_clip_give_both_scores():
    _, out = _score("hurdle_step", [RepPlan(3, side="L"), RepPlan(2, side="R"), RepPlan(1, side="R")])
    assert set(out["sides"]) == {"L", "R"}
    assert out["sides"]["L"]["score"] == 3 and out["sides"]["R"]["score"] == 2
    assert out["side"] == "R"                     # no side asked: the lower one is the top line
    _, asked = _score("hurdle_step", [RepPlan(3, side="L"), RepPlan(2, side="R"), RepPlan(1, side="R")], side="L")
    assert asked["side"] == "L" and asked["score"] == 3 and asked["sides"]["R"]["score"] == 2


def test_a_lunge_inside_a_squat_clip_is_ignored_and_named():
    _, out = _score("deep_squat", [RepPlan(3), RepPlan(3, kind="other"), RepPlan(3)], heels_raised=False)
    lunge = [r for r in out["repetitions"] if r["status"] == "ignored" and "not the asked-for movement" in
             (r["ignored_reason"] or "")]
    assert [r["index"] for r in lunge] == [2] and "deep squat" in lunge[0]["ignored_reason"]
    assert out["score"] == 3 and out["counted_repetition"] != 2


def test_push_up_at_the_lower_hand_position_decides_after_a_failed_top_one():
    clip = make_repetition_clip("trunk_stability_pushup", 5, plan=[RepPlan(2)])
    sex = "M" if clip.athlete.sex == "male" else "F"
    _, out = _score("trunk_stability_pushup", [RepPlan(1, variant="level3"), RepPlan(2)], sex=sex)
    assert out["score"] == 2 and out["counted_repetition"] == 2
    assert not any("score-2 position" in r for r in out["reasons"])


def test_a_clip_with_no_repetition_is_refused():
    from tools.core.errors import InputError
    clip = make_repetition_clip("deep_squat", 1, plan=[RepPlan(3)])
    with pytest.raises(InputError, match="no repetition"):
        score_repetitions(clip_skeleton(clip), "deep_squat", {"repetitions": []})
