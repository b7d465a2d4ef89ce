"""Quality report on hand-made skeletons with known dropouts, jitter and identity jumps."""
from __future__ import annotations

import json

import numpy as np
import pytest

from tools.core.errors import InputError
from tools.geometry.quality import CORE_JOINTS, QualityThresholds, assess_quality
from tools.core.skeleton import JOINT_INDEX as JI
from tools.core.skeleton import Skeleton

FPS = 30.0
PX_PER_M = 300.0
# Standing, facing the camera; canonical metres around the hip centre (x right, y up).
STAND = {
    "nose": (0.0, 0.62), "left_eye": (0.03, 0.66), "right_eye": (-0.03, 0.66), "left_ear": (0.07, 0.64),
    "right_ear": (-0.07, 0.64), "left_shoulder": (0.19, 0.49), "right_shoulder": (-0.19, 0.49),
    "left_elbow": (0.22, 0.17), "right_elbow": (-0.22, 0.17), "left_wrist": (0.23, -0.08),
    "right_wrist": (-0.23, -0.08), "left_hip": (0.09, 0.0), "right_hip": (-0.09, 0.0),
    "left_knee": (0.10, -0.42), "right_knee": (-0.10, -0.42), "left_ankle": (0.10, -0.84),
    "right_ankle": (-0.10, -0.84), "left_heel": (0.10, -0.89), "right_heel": (-0.10, -0.89),
    "left_toe": (0.12, -0.90), "right_toe": (-0.12, -0.90), "left_hand": (0.23, -0.15),
    "right_hand": (-0.23, -0.15),
}


def clip(n=120) -> Skeleton:
    """A smooth, slow sway (5 cm, 0.5 Hz) of a standing figure: no noise, no dropouts."""
    base = np.array([(x, y, 0.0) for x, y in STAND.values()], np.float32)
    t = np.arange(n) / FPS
    sway = 0.05 * np.sin(2 * np.pi * 0.5 * t)
    xyz = np.repeat(base[None], n, 0)
    xyz[..., 0] += sway[:, None]
    uv = np.stack([640 + xyz[..., 0] * PX_PER_M, 400 - xyz[..., 1] * PX_PER_M], -1)
    return Skeleton(xyz=xyz, conf=np.full((n, 23), 0.95), fps=FPS, uv=uv, image_size=(1280, 720),
                    meta={"measurement_plane": "3d"})


def drop(skel: Skeleton, frames) -> Skeleton:
    xyz, conf, uv = skel.xyz.copy(), skel.conf.copy(), skel.uv.copy()
    xyz[frames], uv[frames], conf[frames] = np.nan, np.nan, 0
    return skel.replace(xyz=xyz, conf=conf, uv=uv)


def test_clean_clip_is_ok():
    q = assess_quality(clip())
    assert q.ok and q.problems == []
    assert q.athlete_share == 1.0 and q.dropped_frames == 0 and q.identity_jumps == 0
    assert q.jitter_mm < 0.5  # a smooth sway is movement, not noise
    assert q.required_joint_mean_conf == pytest.approx(0.95)
    assert q.per_joint_visible_share["left_heel"] == 1.0


def test_dropouts_are_counted():
    skel = drop(clip(100), list(range(10, 20)) + list(range(50, 70)))  # 10 + 20 frames
    q = assess_quality(skel)
    assert q.athlete_share == pytest.approx(0.70) and q.frames_with_athlete == 70
    assert q.dropped_frames == 30 and q.longest_dropout_frames == 20
    assert q.longest_dropout_s == pytest.approx(20 / FPS)
    assert not q.ok
    assert any("only 70% of frames" in p for p in q.problems)
    assert any("lost for 0.7 s" in p and "frame 50" in p for p in q.problems)
    assert q.identity_jumps == 0  # the athlete comes back where it left


def test_missing_core_joints_mean_no_athlete():
    skel = clip(40)
    conf = skel.conf.copy()
    # 3 of the 8 core joints unseen in frames 0-9: 5/8 < 75% -> athlete absent there.
    conf[:10, [JI["left_knee"], JI["left_ankle"], JI["right_ankle"]]] = 0.1
    q = assess_quality(skel.replace(conf=conf))
    assert q.frames_with_athlete == 30
    assert q.per_joint_visible_share["left_knee"] == pytest.approx(0.75)


def test_jitter_figure_matches_the_added_noise():
    skel = clip(300)
    sigma = 0.015  # 15 mm per coordinate
    rng = np.random.default_rng(1)
    noisy = skel.xyz + rng.normal(0, sigma, skel.xyz.shape).astype(np.float32)
    q = assess_quality(skel.replace(xyz=noisy))
    # Residual from a 9-frame order-2 Savitzky-Golay fit keeps sqrt(1 - 59/231) of the noise
    # per coordinate; the median of a 3-D Gaussian norm is 1.538 sigma.
    expected_mm = 1000 * sigma * np.sqrt(1 - 59 / 231) * 1.538
    assert q.jitter_mm == pytest.approx(expected_mm, rel=0.08)
    # Second difference of white noise: std sqrt(6) sigma per coordinate, x fps^2.
    assert q.jitter_accel_m_s2 == pytest.approx(np.sqrt(6) * sigma * FPS ** 2 * 1.538, rel=0.08)
    assert any("jittery" in p for p in q.problems)
    assert assess_quality(skel.replace(xyz=noisy), thresholds=QualityThresholds(max_jitter_mm=25)).ok


def test_identity_jump_to_another_person():
    skel = clip(90)
    uv = skel.uv.copy()
    uv[45:, :, 0] += 400  # from frame 45 the tracker follows someone 400 px (1.3 m) to the right
    q = assess_quality(skel.replace(uv=uv))
    assert q.identity_jump_frames == [45] and not q.ok
    assert any("jumps 1 time(s), first at frame 45 (1.5 s)" in p for p in q.problems)


def test_identity_jump_by_body_size():
    skel = clip(90)
    uv = skel.uv.copy()
    hips = (uv[:, JI["left_hip"]] + uv[:, JI["right_hip"]]) / 2
    uv[60:] = hips[60:, None] + 0.6 * (uv[60:] - hips[60:, None])  # a smaller person, same place
    q = assess_quality(skel.replace(uv=uv))
    assert q.identity_jump_frames == [60]


def test_jump_after_a_gap_allows_for_travel():
    skel = clip(120)
    uv = skel.uv.copy()
    uv[60:, :, 0] += 100  # 100 px = 0.19 body heights: too far for one frame ...
    assert assess_quality(skel.replace(uv=uv)).identity_jump_frames == [60]
    # ... but fine after a 1 s gap (allowance 0.15 + 1.5 body heights/s x ~1 s).
    gap = drop(skel.replace(uv=uv), list(range(30, 60)))
    assert assess_quality(gap).identity_jumps == 0


def test_required_joints_and_notes():
    skel = clip(60)
    xyz, conf = skel.xyz.copy(), skel.conf.copy()
    for name in ("left_heel", "right_heel"):  # a COCO-17 backend never sees heels
        xyz[:, JI[name]] = np.nan
        conf[:, JI[name]] = 0
    skel = skel.replace(xyz=xyz, conf=conf, meta={"measurement_plane": "image", "pose": {"hand_extrapolated": True}})
    q = assess_quality(skel, required_joints=list(CORE_JOINTS) + ["left_heel", "right_heel"])
    assert q.required_joint_visible_share["left_heel"] == 0.0
    assert q.required_joint_mean_conf == pytest.approx(0.95 * 8 / 10)
    assert any("left_heel 0%" in p for p in q.problems)
    assert q.measurement_plane == "image" and any("image plane" in n for n in q.notes)
    assert any("extrapolated" in n for n in q.notes)
    with pytest.raises(InputError, match="unknown joint"):
        assess_quality(skel, required_joints=["left_knuckle"])


def test_report_is_json_serialisable_without_nan():
    skel = drop(clip(30), list(range(30)))  # nobody at all
    d = assess_quality(skel).to_dict()
    text = json.dumps(d, allow_nan=False)
    assert d["athlete_share"] == 0.0 and d["jitter_mm"] is None and d["required_joint_mean_conf"] is None
    assert d["ok"] is False and "thresholds" in d and isinstance(json.loads(text)["problems"], list)


@pytest.mark.slow
def test_real_footage_quality_figures(sports2d_clip):
    """sports2d_demo.mp4 holds two people; when the man jumps off the box into the sun glare,
    MediaPipe alone loses him and picks up the woman walking in front: the report must say so."""
    from tools.geometry.lift3d import to_skeleton
    from tools.people.athlete_pose import estimate_pose

    # select="off": MediaPipe alone, as before athlete tracking (tests/tools/people/test_track.py checks the tracked path)
    skel = to_skeleton(estimate_pose(sports2d_clip, select="off"), {"source": sports2d_clip.name})
    q = assess_quality(skel)
    assert q.n_frames == 230 and 0.85 <= q.athlete_share <= 1.0
    assert q.required_joint_mean_conf > 0.7
    assert q.jitter_mm is not None and 1 < q.jitter_mm < 30
    assert q.identity_jumps >= 1 and not q.ok
    assert any("another person" in p for p in q.problems)
    json.dumps(q.to_dict(), allow_nan=False)
