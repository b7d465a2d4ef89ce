"""Multi-repetition clips and whole-screen recordings: reproducible, with the truth per repetition and test."""
import numpy as np
import pytest

from tools.core.errors import InputError
from tools.core.fms import TESTS
from tools.synth.recording import make_screen_recording, manifest_rows
from tools.synth.repetitions import (
    RepPlan,
    clip_skeleton,
    make_repetition_clip,
    sample_plan,
)


def test_same_seed_same_clip_and_the_truth_is_consistent():
    a, b = make_repetition_clip("inline_lunge", 21), make_repetition_clip("inline_lunge", 21)
    assert np.array_equal(a.motion.joints, b.motion.joints) and [r.to_dict() for r in a.reps] == [r.to_dict() for r in b.reps]
    for r in a.reps:
        assert 0 <= r.start_frame <= r.bottom_frame <= r.end_frame < a.motion.n_frames
    for earlier, later in zip(a.reps, a.reps[1:]):
        assert earlier.end_frame < later.start_frame
    best = a.truth_scores()
    for side, score in best.items():
        assert score == max(r.score for r in a.reps if r.counts and r.side == side)
    skel = clip_skeleton(a)
    assert skel.meta["multi_repetition"] and "heels_raised" not in skel.meta   # the rubric never reads the truth


def test_bone_lengths_stay_exact_inside_repetitions():
    clip = make_repetition_clip("deep_squat", 4, plan=[RepPlan(3), RepPlan(2, pause_before_s=1.0)])
    j = clip.motion.joints
    from tools.core.skeleton import JOINT_INDEX as J
    for r in clip.reps:
        thigh = np.linalg.norm(j[r.start_frame:r.end_frame, J["left_hip"]] - j[r.start_frame:r.end_frame, J["left_knee"]], axis=1)
        assert thigh.max() - thigh.min() < 1e-6


def test_variant_labels_follow_the_protocol():
    clip = make_repetition_clip("rotary_stability", 8, plan=[RepPlan(1, side="L", variant="unilateral"),
                                                             RepPlan(2, side="L")])
    first, second = clip.reps
    assert (first.variant, first.score, first.decided) == ("unilateral", 1, False)   # a failed unilateral decides nothing
    assert (second.variant, second.score, second.decided) == ("diagonal", 2, True)
    assert clip.truth_scores() == {"L": 2}


def test_random_plans_cover_both_sides_and_bad_plans_are_refused():
    rng = np.random.default_rng(0)
    plans = [sample_plan("hurdle_step", rng) for _ in range(30)]
    assert any({p.side for p in plan} == {"L", "R"} for plan in plans)
    with pytest.raises(InputError, match="side must be L or R"):
        make_repetition_clip("hurdle_step", 1, plan=[RepPlan(3, side="NA")])
    with pytest.raises(InputError, match="no other movement"):
        make_repetition_clip("active_straight_leg_raise", 1, plan=[RepPlan(3, side="L", kind="other")])


def test_a_whole_screen_recording_has_every_test_in_order_with_the_truth():
    rec = make_screen_recording(5)
    assert [t.test for t in rec.tests] == list(TESTS)
    assert len(rec.split_points()) == 6
    for k, p in enumerate(rec.split_points()):
        assert rec.tests[k].last_rep_end < p < rec.tests[k + 1].first_rep_start
    assert rec.composite() == sum(min(t.truth_scores.values()) for t in rec.tests)
    rows = manifest_rows(rec, "M")
    assert [r["test"] for r in rows][:3] == ["deep_squat", "hurdle_step", "hurdle_step"]
    assert clip_skeleton(rec).n_frames == rec.motion.n_frames
