"""Two clips of one movement are found alike and lined up in time; clips of different tests are not."""
from __future__ import annotations

import numpy as np
import pytest

from tools.core.fms import BILATERAL
from tools.geometry.sync import align_clips
from tools.synth.library import make_sample, truth_skeleton


def _clip(test: str, seed: int = 8100):
    return truth_skeleton(make_sample(test, seed, side="L" if test in BILATERAL else "NA"))


def test_a_late_start_and_another_frame_rate_are_lined_up():
    squat = _clip("deep_squat")
    late = squat.replace(xyz=squat.xyz[12:], conf=squat.conf[12:], uv=None, image_size=None)   # started 0.4 s late
    a = align_clips(squat, late.resampled(24.0))
    assert a.same_movement and a.correlation > 0.95
    assert a.lag_s == pytest.approx(0.4, abs=1.0 / 15)
    assert "knee_flexion_deg" in a.signals


def test_clips_that_do_not_move_together_are_not_taken_as_one_movement():
    squat = _clip("deep_squat")
    order = np.random.default_rng(0).permutation(squat.n_frames)    # the same poses in a random order
    scrambled = squat.replace(xyz=squat.xyz[order].copy(), conf=squat.conf[order].copy(), uv=None, image_size=None)
    found = align_clips(squat, scrambled)
    assert found.correlation is not None and found.correlation < 0.5
    assert not found.same_movement and found.reason.startswith("the two clips do not move alike")


def test_different_tests_still_get_an_offset_and_a_correlation_for_the_record():
    found = align_clips(_clip("deep_squat"), _clip("hurdle_step", 8300))
    assert found.signals and found.correlation is not None and found.lag_s is not None
    assert found.same_movement == (found.correlation >= 0.5)


def test_a_still_clip_cannot_be_compared():
    squat = _clip("deep_squat")
    still = squat.replace(xyz=squat.xyz[:1].repeat(squat.n_frames, axis=0))
    found = align_clips(still, still)
    assert not found.same_movement and found.reason.startswith("neither clip shows a joint moving enough")
