"""Repetition segmentation: repetitions found from the test's own movement signal, with their frames."""
import numpy as np
import pytest

from tests.skeleton_factory import squat_clip
from tools.geometry.repetitions import SIGNALS, segment_repetitions
from tools.synth.library import make_sample, truth_skeleton
from tools.synth.repetitions import RepPlan, clip_skeleton, make_repetition_clip


def _found(test, plan, seed=3, noise="clean"):
    clip = make_repetition_clip(test, seed, plan=plan)
    skel = clip_skeleton(clip, noise=noise).filled(6).smoothed(window_s=0.2)
    return clip, segment_repetitions(skel, test)


def test_three_squats_with_a_pause_are_three_repetitions_at_their_frames():
    plan = [RepPlan(3), RepPlan(3, pause_before_s=2.5), RepPlan(2, pause_before_s=0.8)]
    clip, seg = _found("deep_squat", plan)
    assert [r.partial for r in seg.repetitions] == [False, False, False]
    for found, truth in zip(seg.repetitions, clip.reps):
        assert found.start_frame <= found.bottom_frame <= found.end_frame
        assert abs(found.start_frame - truth.start_frame) <= 25 and abs(found.end_frame - truth.end_frame) <= 25
        assert abs(found.bottom_frame - truth.bottom_frame) <= 10
        assert found.slice_start <= found.start_frame and found.end_frame < found.slice_end
    d = seg.to_dict()
    assert d["n_complete"] == 3 and d["signal"] == "mid_hip_height_m" and d["repetitions"][0]["start_s"] >= 0


def test_a_partial_repetition_is_flagged_and_never_splits_a_full_one():
    plan = [RepPlan(3, side="L"), RepPlan(3, side="L", kind="partial", partial_share=0.3), RepPlan(2, side="L")]
    clip, seg = _found("hurdle_step", plan, noise="realistic")
    complete = [r for r in seg.repetitions if not r.partial]
    assert len(complete) == 2
    assert all(r.side_hint == "L" for r in complete)
    # a detected partial must be the truth's partial repetition
    for r in seg.repetitions:
        if r.partial:
            assert clip.reps[1].start_frame - 15 <= r.start_frame <= clip.reps[1].end_frame


def test_standing_up_between_push_ups_is_not_a_repetition():
    plan = [RepPlan(3), RepPlan(2, stand_up_before=True, pause_before_s=1.0)]
    clip, seg = _found("trunk_stability_pushup", plan)
    assert len(seg.repetitions) == 2
    assert seg.out_of_posture, "the stand-up is outside the push-up posture"
    stand = next(i for i in clip.intervals if i["kind"] == "stand")
    assert all(not (r.start_frame < stand["end_frame"] and stand["start_frame"] < r.end_frame)
               for r in seg.repetitions)


@pytest.mark.parametrize("test", list(SIGNALS))
def test_a_single_repetition_clip_is_one_repetition(test):
    side = "L" if test not in ("deep_squat", "trunk_stability_pushup") else "NA"
    skel = truth_skeleton(make_sample(test, 11, score=2, side=side)).filled(6).smoothed(window_s=0.2)
    seg = segment_repetitions(skel, test)
    assert len(seg.complete) == 1, seg.to_dict()["repetitions"]


def test_the_factory_squat_without_rest_is_one_repetition_and_a_still_clip_none():
    assert len(segment_repetitions(squat_clip(), "deep_squat").complete) == 1
    still = squat_clip()
    still = still.replace(xyz=np.repeat(still.xyz[:1], 60, axis=0), conf=np.repeat(still.conf[:1], 60, axis=0))
    assert segment_repetitions(still, "deep_squat").repetitions == []


def test_both_sides_of_a_rotary_clip_are_told_apart():
    plan = [RepPlan(3, side="L"), RepPlan(2, side="R"), RepPlan(2, side="R")]
    _, seg = _found("rotary_stability", plan)
    assert [r.side_hint for r in seg.complete] == ["L", "R", "R"]
