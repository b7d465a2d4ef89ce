"""tools/video/overlay.py: skeleton drawing, the deciding-angle highlight, overlay mp4 + PNG."""
from __future__ import annotations

import av
import cv2
import numpy as np
import pytest

from tools.core.errors import InputError
from tools.video.overlay import (LEFT_RGB, PASS_RGB, RIGHT_RGB, UNJUDGED_RGB, Highlight, draw_skeleton,
                           write_overlay)
from tools.core.skeleton import JOINT_INDEX, JOINTS, Skeleton
from tools.video.clip import iter_frames, probe_video, write_video

# A standing person facing the camera, metres (x to camera right, y up): the athlete's left is +x.
STANDING = {
    "nose": (0.0, 1.70), "left_eye": (0.03, 1.72), "right_eye": (-0.03, 1.72),
    "left_ear": (0.07, 1.70), "right_ear": (-0.07, 1.70),
    "left_shoulder": (0.20, 1.45), "right_shoulder": (-0.20, 1.45),
    "left_elbow": (0.30, 1.20), "right_elbow": (-0.30, 1.20),
    "left_wrist": (0.35, 0.95), "right_wrist": (-0.35, 0.95),
    "left_hand": (0.36, 0.88), "right_hand": (-0.36, 0.88),
    "left_hip": (0.12, 0.95), "right_hip": (-0.12, 0.95),
    "left_knee": (0.25, 0.50), "right_knee": (-0.13, 0.50),
    "left_ankle": (0.13, 0.08), "right_ankle": (-0.13, 0.08),
    "left_heel": (0.13, 0.02), "right_heel": (-0.13, 0.02),
    "left_toe": (0.16, 0.00), "right_toe": (-0.16, 0.00),
}
W, H = 320, 240
PX_PER_M = 120.0


def _skeleton(n: int = 30, fps: float = 30.0, with_uv: bool = True) -> Skeleton:
    xy = np.asarray([STANDING[j] for j in JOINTS], np.float32)
    xyz = np.zeros((n, len(JOINTS), 3), np.float32)
    xyz[..., :2] = xy
    xyz[..., 0] += np.linspace(-0.1, 0.1, n)[:, None]  # drifts sideways over the clip
    uv = np.stack([W / 2 + xyz[..., 0] * PX_PER_M, 225 - xyz[..., 1] * PX_PER_M], axis=-1)
    conf = np.ones((n, len(JOINTS)), np.float32)
    return Skeleton(xyz=xyz, conf=conf, fps=fps, uv=uv if with_uv else None,
                    image_size=(W, H) if with_uv else None)


def _near(rgb: np.ndarray, colour: tuple[int, int, int], tol: int = 40) -> np.ndarray:
    return (np.abs(rgb.astype(int) - np.asarray(colour)).max(axis=-1) <= tol)


KNEE = Highlight(frame=15, joints=("left_hip", "left_knee", "left_ankle"), label="left knee flexion",
                 value=18.0, unit="deg", passed=True)


# ----------------------------------------------------------------- Highlight
def test_highlight_validates_names_and_formats_text():
    with pytest.raises(InputError, match="not canonical joint names"):
        Highlight(frame=0, joints=("left_hip", "left_kneecap", "left_ankle"), label="x", value=1.0)
    with pytest.raises(InputError, match="3 names"):
        Highlight(frame=0, joints=("left_hip", "left_knee"), label="x", value=1.0)
    assert KNEE.text() == "left knee flexion: 18 deg  PASS"
    assert Highlight(0, ("left_hip", "left_heel", "left_toe"), "heel rise", 0.034, "m", False).text() \
        == "heel rise: 0.03 m  FAIL"
    assert KNEE.to_dict()["joints"] == ("left_hip", "left_knee", "left_ankle")


# ----------------------------------------------------------------- draw_skeleton
def test_draw_skeleton_colours_sides_and_skips_missing_joints():
    sk = _skeleton()
    uv, conf = sk.uv[0].copy(), sk.conf[0].copy()
    frame = np.zeros((H, W, 3), np.uint8)
    uv[JOINT_INDEX["right_wrist"]] = np.nan          # missing joint
    conf[JOINT_INDEX["left_wrist"]] = 0.05           # too uncertain to draw
    out = draw_skeleton(frame, uv, conf)
    assert out is not frame and not frame.any(), "input frame must not be modified"

    def mid(a: str, b: str) -> tuple[int, int]:
        p = (sk.uv[0, JOINT_INDEX[a]] + sk.uv[0, JOINT_INDEX[b]]) / 2
        return int(round(p[1])), int(round(p[0]))

    assert _near(out[mid("left_hip", "left_knee")], LEFT_RGB, 10)
    assert _near(out[mid("right_hip", "right_knee")], RIGHT_RGB, 10)
    # bones to the missing / uncertain wrists are not drawn
    assert not out[mid("right_elbow", "right_wrist")].any()
    assert not out[mid("left_elbow", "left_wrist")].any()


def test_faint_joints_are_drawn_faded():
    sk = _skeleton()
    conf = sk.conf[0].copy()
    conf[[JOINT_INDEX["right_hip"], JOINT_INDEX["right_knee"]]] = 0.3
    out = draw_skeleton(np.zeros((H, W, 3), np.uint8), sk.uv[0], conf)
    p = (sk.uv[0, JOINT_INDEX["right_hip"]] + sk.uv[0, JOINT_INDEX["right_knee"]]) / 2
    px = out[int(round(p[1])), int(round(p[0]))].astype(int)
    assert 0 < px.max() < 0.6 * max(RIGHT_RGB)  # present, but dimmer than a solid bone


def test_highlight_arc_and_label_are_drawn_at_the_vertex():
    sk = _skeleton()
    out = draw_skeleton(np.zeros((H, W, 3), np.uint8), sk.uv[0], sk.conf[0], KNEE)
    u, v = np.round(sk.uv[0, JOINT_INDEX["left_knee"]]).astype(int)
    assert _near(out[v, u], PASS_RGB, 10)
    assert _near(out[v - 8:v + 9, u - 8:u + 9], PASS_RGB, 10).sum() > 50
    # the label box (text in the highlight colour) is drawn as well, away from the vertex
    assert _near(out, PASS_RGB, 10).sum() > _near(out[v - 20:v + 21, u - 20:u + 21], PASS_RGB, 10).sum()


def test_draw_skeleton_survives_all_nan_and_rejects_bad_shapes():
    nan_uv = np.full((len(JOINTS), 2), np.nan)
    out = draw_skeleton(np.zeros((H, W, 3), np.uint8), nan_uv, np.ones(len(JOINTS)), KNEE)
    assert _near(out, PASS_RGB, 10).any(), "label still written when the joints are missing"
    with pytest.raises(InputError, match="uv must be"):
        draw_skeleton(np.zeros((H, W, 3), np.uint8), np.zeros((17, 2)), np.ones(17))


# ----------------------------------------------------------------- write_overlay
def test_overlay_on_video_writes_h264_and_png_with_the_highlight(tmp_path):
    sk = _skeleton(n=30)
    bg = [np.full((H, W, 3), 90, np.uint8)] * 30
    video = write_video(tmp_path / "clip.mp4", bg, fps=30)
    result = write_overlay(sk, tmp_path / "out", video_path=video, highlight=KNEE)
    assert set(result) >= {"overlay_mp4", "deciding_frame_png", "deciding_frame"}
    assert result["deciding_frame"] == 15

    info = probe_video(result["overlay_mp4"], min_duration_s=0.5)
    assert (info.codec, info.n_frames, info.width, info.height) == ("h264", 30, W, H)
    with av.open(result["overlay_mp4"]) as c:
        assert c.streams.video[0].codec_context.pix_fmt == "yuv420p"

    png = cv2.cvtColor(cv2.imread(result["deciding_frame_png"]), cv2.COLOR_BGR2RGB)
    assert png.shape == (H, W, 3)
    u, v = np.round(sk.uv[15, JOINT_INDEX["left_knee"]]).astype(int)
    assert _near(png[v, u], PASS_RGB, 10)
    assert _near(png[v - 6:v + 7, u - 6:u + 7], PASS_RGB, 10).sum() > 30

    # the highlight is on for ~1 s around the deciding frame (here 0..30), and the
    # skeleton is drawn on every frame
    frames = list(iter_frames(result["overlay_mp4"]))
    assert all(_near(f, LEFT_RGB).sum() > 20 for f in frames)
    assert _near(frames[15], PASS_RGB).sum() > 50


def test_highlight_window_is_about_one_second(tmp_path):
    sk = _skeleton(n=60, fps=30)
    hl = Highlight(frame=30, joints=KNEE.joints, label="left knee flexion", value=18.0, passed=True)
    result = write_overlay(sk, tmp_path, highlight=hl, stem="window")
    lit = [int(_near(f, PASS_RGB).sum() > 50) for f in iter_frames(result["overlay_mp4"])]
    on = [i for i, x in enumerate(lit) if x]
    assert on[0] == 15 and on[-1] == 45, on  # 30 +- 0.5 s at 30 fps
    assert len(lit) == 60


def test_overlay_without_uv_projects_xyz_on_a_canvas(tmp_path):
    sk = _skeleton(with_uv=False)
    hl = Highlight(frame=3, joints=("right_shoulder", "right_elbow", "right_wrist"), label="right elbow",
                   value=170.0, passed=None)
    result = write_overlay(sk, tmp_path, highlight=hl, stem="canvas")
    png = cv2.cvtColor(cv2.imread(result["deciding_frame_png"]), cv2.COLOR_BGR2RGB)
    assert png.shape == (480, 640, 3)
    assert _near(png, UNJUDGED_RGB, 10).sum() > 100
    assert _near(png, LEFT_RGB, 10).sum() > 100 and _near(png, RIGHT_RGB, 10).sum() > 100
    # the athlete faces the camera, so their left side is on the image's right
    lx = np.nonzero(_near(png, LEFT_RGB, 10))[1].mean()
    rx = np.nonzero(_near(png, RIGHT_RGB, 10))[1].mean()
    assert lx > rx
    assert probe_video(result["overlay_mp4"], min_duration_s=0.5).n_frames == 30


def test_overlay_handles_nan_joints_and_frames(tmp_path):
    sk = _skeleton()
    xyz, uv = sk.xyz.copy(), sk.uv.copy()
    xyz[5:10] = np.nan                      # whole frames lost
    uv[5:10] = np.nan
    uv[15, JOINT_INDEX["left_knee"]] = np.nan  # the vertex itself is missing on the deciding frame
    sk = sk.replace(xyz=xyz, uv=uv)
    result = write_overlay(sk, tmp_path, highlight=KNEE, stem="nan")
    assert probe_video(result["overlay_mp4"], min_duration_s=0.5).n_frames == 30
    png = cv2.imread(result["deciding_frame_png"])
    assert png is not None and _near(cv2.cvtColor(png, cv2.COLOR_BGR2RGB), PASS_RGB, 10).any()
    # an all-NaN skeleton without uv still renders (empty canvas)
    empty = Skeleton(xyz=np.full((20, len(JOINTS), 3), np.nan), conf=np.zeros((20, len(JOINTS))), fps=20)
    assert write_overlay(empty, tmp_path, stem="empty")["deciding_frame_png"] is None


def test_overlay_scales_uv_to_the_video_size(tmp_path):
    sk = _skeleton()
    half = sk.replace(uv=sk.uv / 2, image_size=(W // 2, H // 2))  # pose run on a half-size copy
    video = write_video(tmp_path / "clip.mp4", [np.zeros((H, W, 3), np.uint8)] * 30, fps=30)
    result = write_overlay(half, tmp_path, video_path=video, highlight=KNEE, stem="scaled")
    png = cv2.cvtColor(cv2.imread(result["deciding_frame_png"]), cv2.COLOR_BGR2RGB)
    u, v = np.round(sk.uv[15, JOINT_INDEX["left_knee"]]).astype(int)
    assert _near(png[v, u], PASS_RGB, 10)


def test_tall_video_is_scaled_down_with_the_skeleton(tmp_path):
    sk = _skeleton()
    video = write_video(tmp_path / "clip.mp4", [np.zeros((H, W, 3), np.uint8)] * 30, fps=30)
    result = write_overlay(sk, tmp_path, video_path=video, highlight=KNEE, stem="small", max_height_px=H // 2)
    info = probe_video(result["overlay_mp4"], min_duration_s=0)
    assert (info.width, info.height) == (W // 2, H // 2)
    png = cv2.cvtColor(cv2.imread(result["deciding_frame_png"]), cv2.COLOR_BGR2RGB)
    assert png.shape[:2] == (H // 2, W // 2)
    u, v = np.round(sk.uv[15, JOINT_INDEX["left_knee"]] / 2).astype(int)
    assert _near(png[v, u], PASS_RGB, 10)


def test_overlay_rejects_mismatched_input(tmp_path):
    video = write_video(tmp_path / "clip.mp4", [np.zeros((H, W, 3), np.uint8)] * 30, fps=30)
    with pytest.raises(InputError, match="no image coordinates"):
        write_overlay(_skeleton(with_uv=False), tmp_path, video_path=video)
    late = Highlight(frame=99, joints=KNEE.joints, label="x", value=1.0)
    with pytest.raises(InputError, match="past the end"):
        write_overlay(_skeleton(), tmp_path, highlight=late)


def test_the_plan_names_what_write_overlay_then_writes(tmp_path):
    from tools.video.overlay import overlay_plan
    sk = _skeleton(n=30)
    video = write_video(tmp_path / "clip.mp4", [np.full((H, W, 3), 90, np.uint8)] * 30, fps=30)
    plan = overlay_plan(sk, tmp_path / "out", video_path=video, highlight=KNEE)
    assert not (tmp_path / "out" / "overlay.mp4").exists()           # planning draws nothing
    assert plan == write_overlay(sk, tmp_path / "out", video_path=video, highlight=KNEE)
    assert overlay_plan(sk, tmp_path / "c") == write_overlay(sk, tmp_path / "c")
