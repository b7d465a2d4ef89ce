"""A whole-screen recording split into its tests: with the physio's order, without it, the split points."""
import pytest

from tools.core.errors import InputError
from tools.scoring.recording import order_from_rows, split_recording
from tools.synth.recording import make_screen_recording
from tools.synth.repetitions import RepPlan, clip_skeleton

ORDER = ("deep_squat", "inline_lunge", "trunk_stability_pushup")


@pytest.fixture(scope="module")
def recording():
    plans = {"deep_squat": [RepPlan(3), RepPlan(3, pause_before_s=1.0)],
             "inline_lunge": [RepPlan(3, side="L"), RepPlan(2, side="R")],
             "trunk_stability_pushup": [RepPlan(2), RepPlan(2)]}
    rec = make_screen_recording(3, order=ORDER, plans=plans)
    return rec, clip_skeleton(rec, noise="realistic").filled(6).smoothed(window_s=0.2)


@pytest.mark.parametrize("with_order", [True, False])
def test_the_tests_are_found_in_order_and_no_split_cuts_a_repetition(recording, with_order):
    rec, skel = recording
    order = order_from_rows([("deep_squat", None), ("inline_lunge", "L"), ("inline_lunge", "R"),
                             ("trunk_stability_pushup", None)]) if with_order else None
    split = split_recording(skel, order)
    assert [s.test for s in split.segments] == list(ORDER)
    assert split.mode == ("order" if with_order else "free")
    for k, p in enumerate(split.split_points):
        assert rec.tests[k].last_rep_end <= p.frame <= rec.tests[k + 1].first_rep_start
        assert abs(p.frame - rec.split_points()[k]) / skel.fps < 3.0
    lunge = split.segments[1]
    assert lunge.sides == (["L", "R"] if with_order else []) and lunge.n_repetitions == 2
    for s in split.segments:
        assert s.start_frame <= s.clip_start < s.clip_end <= s.end_frame
    d = split.to_dict()
    assert len(d["windows"]["scores"]) == len(d["windows"]["centres"]) and d["split_points"][0]["time_s"] > 0


def test_a_recording_too_short_and_a_bad_order_are_refused(recording):
    _, skel = recording
    short = skel.replace(xyz=skel.xyz[:30], conf=skel.conf[:30], uv=None)
    with pytest.raises(InputError, match="give it to `formscout screen`"):
        split_recording(short)
    with pytest.raises(InputError, match="unknown test"):
        order_from_rows([("squat", None)])
