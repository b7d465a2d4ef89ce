"""Mannequin renderer: the figure and props are where the truth says, videos decode, MediaPipe sees a person."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from tools.core.skeleton import JOINT_INDEX as J
from tools.synth.camera import view_camera
from tools.core.fms import BILATERAL, TESTS
from tools.synth.library import auto_camera, make_sample, render_video, truth_skeleton
from tools.synth.render import Renderer
from tools.synth.rig import Motion

BODY_JOINTS = ("left_shoulder", "right_shoulder", "left_hip", "right_hip", "left_knee", "right_knee", "nose")


def _empty_scene(renderer: Renderer) -> np.ndarray:
    return np.clip(renderer.static_rgb, 0, 255).astype(np.uint8)


def test_camera_projects_its_target_to_the_image_centre():
    cam = view_camera("side", distance_m=3.0, height_m=0.9, target=(0.0, 0.9, 0.0), width=320, height=240)
    uv, depth = cam.project(np.array([0.0, 0.9, 0.0]))
    np.testing.assert_allclose(uv, [160, 120], atol=1e-6)
    assert depth == pytest.approx(3.0)
    # front view: the athlete's left (+x) appears on the image right
    front = view_camera("front", width=320, height=240)
    assert front.project(np.array([0.3, 0.85, 0.1]))[0][0] > 160


@pytest.mark.parametrize("test", TESTS)
def test_figure_is_drawn_where_the_joints_project(test):
    s = make_sample(test, seed=5, side="L" if test in BILATERAL else "NA")
    view = "side" if test in ("active_straight_leg_raise", "trunk_stability_pushup", "rotary_stability") else "45"
    cam = auto_camera(s, view, width=160, height=120)
    r = Renderer(cam, s.athlete, s.motion)
    frame_i = s.motion.n_frames // 2
    frame, empty = r.frame(frame_i), _empty_scene(r)
    uv = truth_skeleton(s, cam).uv[frame_i]
    changed = 0
    for name in BODY_JOINTS:
        u, v = np.round(uv[J[name]]).astype(int)
        assert 0 <= u < 160 and 0 <= v < 120, f"{name} projects outside the image"
        patch = np.abs(frame[max(v - 1, 0):v + 2, max(u - 1, 0):u + 2].astype(int)
                       - empty[max(v - 1, 0):v + 2, max(u - 1, 0):u + 2].astype(int))
        changed += patch.sum(axis=-1).max() > 30
    assert changed >= len(BODY_JOINTS) - 1
    # and the figure does not fill the frame: most pixels are still background
    assert (np.abs(frame.astype(int) - empty.astype(int)).sum(axis=-1) > 30).mean() < 0.5


def test_props_are_visible():
    s = make_sample("deep_squat", seed=2, score=2)          # dowel and the 2x6 board
    cam = auto_camera(s, "45", width=200, height=150)
    r = Renderer(cam, s.athlete, s.motion)
    no_props = Renderer(cam, s.athlete, Motion(s.motion.joints, s.motion.spine_mid, s.motion.fps, props=[]))
    diff = np.abs(r.frame(0).astype(int) - no_props.frame(0).astype(int)).sum(axis=-1) > 30
    dowel_mid, _ = cam.project(s.motion.props[0].at(0).mean(axis=0))
    u, v = np.round(dowel_mid).astype(int)
    assert diff.sum() > 50
    assert diff[v - 3:v + 4, u - 3:u + 4].any()


def test_render_video_writes_a_decodable_clip(tmp_path):
    import av
    s = make_sample("hurdle_step", seed=3, side="R")
    short = replace(s, motion=Motion(s.motion.joints[:6], s.motion.spine_mid[:6], s.motion.fps, s.motion.props))
    cam = auto_camera(short, "front", width=160, height=120)
    path = render_video(short, cam, tmp_path / "clip.mp4")
    with av.open(str(path)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
        fps = float(container.streams.video[0].average_rate)
    assert len(frames) == 6 and frames[0].shape == (120, 160, 3)
    assert fps == pytest.approx(30.0)
    first = Renderer(cam, short.athlete, short.motion).frame(0).astype(int)
    assert np.abs(frames[0].astype(int) - first).mean() < 6      # lossy, but the same picture


def test_mediapipe_finds_the_mannequin():
    import mediapipe as mp
    s = make_sample("deep_squat", seed=7, score=3)
    cam = auto_camera(s, "45", width=320, height=240)
    r = Renderer(cam, s.athlete, s.motion)
    uv = truth_skeleton(s, cam).uv
    with mp.solutions.pose.Pose(model_complexity=1, static_image_mode=True) as pose:
        found = 0
        for i in (0, s.motion.events["bottom"] + 5):
            res = pose.process(r.frame(i))
            if res.pose_landmarks is None:
                continue
            lm = res.pose_landmarks.landmark
            hips = np.array([[lm[k].x * 320, lm[k].y * 240] for k in (23, 24)])
            truth_hips = uv[i, [J["left_hip"], J["right_hip"]]]
            found += np.linalg.norm(hips - truth_hips, axis=-1).max() < 25
    assert found == 2
