"""The canonical Skeleton: file format, mirror, resample, gap filling, smoothing."""
import json

import numpy as np
import pytest

from tests.skeleton_factory import squat_clip
from tools.core.errors import InputError
from tools.core.skeleton import JOINT_INDEX, JOINTS, MIRROR_INDEX, Skeleton


def test_npz_round_trip_keeps_every_field(tmp_path):
    clip = squat_clip(seconds=1.0)
    uv = np.random.default_rng(0).uniform(0, 500, clip.xyz.shape[:2] + (2,)).astype(np.float32)
    clip = clip.replace(uv=uv, image_size=(640, 480), meta={"source": "unit", "backend": "none"})
    path = clip.save(tmp_path / "a.npz")
    with np.load(path) as raw:  # the documented on-disk layout
        assert list(raw["joints"]) == list(JOINTS)
        assert raw["xyz"].dtype == np.float32 and raw["conf"].dtype == np.float32
        assert json.loads(str(raw["meta"]))["source"] == "unit"
        assert tuple(raw["image_size"]) == (640, 480)
    back = Skeleton.load(path)
    np.testing.assert_array_equal(back.xyz, clip.xyz)
    np.testing.assert_array_equal(back.uv, clip.uv)
    assert back.fps == 30.0 and back.image_size == (640, 480)


def test_load_rejects_non_skeleton_files(tmp_path):
    bad = tmp_path / "x.npz"
    np.savez(bad, foo=np.zeros(3))
    with pytest.raises(InputError, match="missing"):
        Skeleton.load(bad)
    junk = tmp_path / "junk.npz"
    junk.write_text("not a zip")
    with pytest.raises(InputError, match="cannot read"):
        Skeleton.load(junk)
    with pytest.raises(InputError, match="not found"):
        Skeleton.load(tmp_path / "absent.npz")


def test_wrong_shapes_are_refused():
    with pytest.raises(InputError):
        Skeleton(xyz=np.zeros((5, 17, 3)), conf=np.zeros((5, 17)), fps=30)
    with pytest.raises(InputError):
        Skeleton(xyz=np.zeros((5, 23, 3)), conf=np.zeros((5, 23)), fps=0)


def test_mirror_swaps_sides_and_negates_x():
    clip = squat_clip(seconds=1.0)
    m = clip.mirrored()
    li, ri = JOINT_INDEX["left_knee"], JOINT_INDEX["right_knee"]
    np.testing.assert_allclose(m.xyz[:, li, 0], -clip.xyz[:, ri, 0])
    np.testing.assert_allclose(m.xyz[:, li, 1:], clip.xyz[:, ri, 1:])
    np.testing.assert_allclose(m.mirrored().xyz, clip.xyz)
    assert sorted(MIRROR_INDEX) == list(range(len(JOINTS)))
    assert m.meta["mirrored"] is True


def test_resample_changes_rate_not_duration():
    clip = squat_clip(seconds=2.0, fps=30.0)
    r = clip.resampled(60.0)
    assert r.fps == 60.0
    assert r.n_frames == 120
    assert r.duration_s == pytest.approx(clip.duration_s, abs=1 / 30)
    # same pose at the same time
    np.testing.assert_allclose(r.xyz[60], clip.xyz[30], atol=0.02)


def test_fill_short_gaps_only():
    clip = squat_clip(seconds=1.0)
    xyz = clip.xyz.copy()
    k = JOINT_INDEX["left_knee"]
    xyz[10:13, k] = np.nan   # 3-frame dropout: filled
    xyz[20:29, k] = np.nan   # 9-frame dropout: too long, stays missing
    filled = clip.replace(xyz=xyz).filled(max_gap_frames=5)
    assert np.isfinite(filled.xyz[10:13, k]).all()
    np.testing.assert_allclose(filled.xyz[11, k], clip.xyz[11, k], atol=0.01)
    assert np.isnan(filled.xyz[20:29, k]).all()


def test_smoothing_reduces_jitter_and_keeps_shape():
    clip = squat_clip(seconds=2.0)
    noisy = clip.replace(xyz=clip.xyz + np.random.default_rng(1).normal(0, 0.01, clip.xyz.shape).astype(np.float32))
    smooth = noisy.smoothed(window_s=0.25)
    err_noisy = np.abs(noisy.xyz - clip.xyz).mean()
    err_smooth = np.abs(smooth.xyz - clip.xyz).mean()
    assert err_smooth < 0.6 * err_noisy
