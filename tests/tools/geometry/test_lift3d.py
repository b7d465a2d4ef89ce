"""PoseResult -> canonical Skeleton: axes, handedness, root travel, image-plane scaling, missing frames."""
from __future__ import annotations

import numpy as np
import pytest

from tools.core.errors import InputError
from tools.geometry.lift3d import LEG_TRUNK_SHARE_OF_HEIGHT, MEDIAPIPE_WORLD_TO_CANONICAL, to_skeleton
from tools.pose.backends import PoseResult
from tools.core.skeleton import JOINT_INDEX as JI
from tools.core.skeleton import Skeleton

# A person standing and facing the camera, in the athlete's own left/right.
# Canonical metres: x camera-right, y up, z towards the camera, origin between the hips.
STANDING_CANONICAL = {
    "nose": (0.0, 0.62, 0.10), "left_eye": (0.03, 0.66, 0.08), "right_eye": (-0.03, 0.66, 0.08),
    "left_ear": (0.07, 0.64, 0.0), "right_ear": (-0.07, 0.64, 0.0),
    "left_shoulder": (0.19, 0.49, 0.0), "right_shoulder": (-0.19, 0.49, 0.0),
    "left_elbow": (0.22, 0.17, 0.0), "right_elbow": (-0.22, 0.17, 0.0),
    "left_wrist": (0.23, -0.08, 0.02), "right_wrist": (-0.23, -0.08, 0.02),
    "left_hip": (0.09, 0.0, 0.0), "right_hip": (-0.09, 0.0, 0.0),
    "left_knee": (0.10, -0.42, 0.02), "right_knee": (-0.10, -0.42, 0.02),
    "left_ankle": (0.10, -0.84, 0.0), "right_ankle": (-0.10, -0.84, 0.0),
    "left_heel": (0.10, -0.89, -0.05), "right_heel": (-0.10, -0.89, -0.05),
    "left_toe": (0.12, -0.90, 0.15), "right_toe": (-0.12, -0.90, 0.15),
    "left_hand": (0.23, -0.15, 0.03), "right_hand": (-0.23, -0.15, 0.03),
}
CANON = np.array([STANDING_CANONICAL[j] for j in JI], np.float32)  # [23, 3]
IMAGE_SIZE = (1280, 720)
PX_PER_M = 300.0
HIP_UV = np.array([640.0, 400.0])


def mediapipe_world(canonical: np.ndarray) -> np.ndarray:
    """What MediaPipe reports for a canonical pose: x image-right, y DOWN, z AWAY from the camera."""
    return canonical * np.array([1, -1, -1], np.float32)


def image_uv(canonical: np.ndarray, hip_uv=HIP_UV) -> np.ndarray:
    """Orthographic projection: u right, v down."""
    return np.stack([hip_uv[0] + canonical[..., 0] * PX_PER_M, hip_uv[1] - canonical[..., 1] * PX_PER_M], -1)


def make_pose(n=10, world=True, hip_drop_px=0.0) -> PoseResult:
    uv = np.stack([image_uv(CANON, HIP_UV + [0, hip_drop_px * t / max(n - 1, 1)]) for t in range(n)])
    return PoseResult(uv=uv, conf=np.full((n, 23), 0.9), world_xyz=np.repeat(mediapipe_world(CANON)[None], n, 0)
                      if world else None, image_size=IMAGE_SIZE, fps=30, meta={"backend": "mediapipe"})


def test_conversion_is_a_proper_rotation():
    assert np.linalg.det(MEDIAPIPE_WORLD_TO_CANONICAL) == pytest.approx(1.0)


def test_mediapipe_world_to_canonical_axes_and_sides():
    skel = to_skeleton(make_pose(), {"source": "synthetic"}, root_from_image=False)
    xyz = skel.xyz[0]
    np.testing.assert_allclose(xyz, CANON, atol=1e-6)
    j = lambda name: xyz[JI[name]]  # noqa: E731
    assert j("nose")[1] > j("left_shoulder")[1] > j("left_hip")[1] > j("left_knee")[1] > j("left_ankle")[1]
    # Facing the camera: the athlete's left shoulder is on the image right (larger x) ...
    assert j("left_shoulder")[0] > j("right_shoulder")[0]
    assert skel.uv[0, JI["left_shoulder"], 0] > skel.uv[0, JI["right_shoulder"], 0]
    # ... the nose and toes point towards the camera (+z) ...
    assert j("nose")[2] > j("left_ear")[2] and j("left_toe")[2] > j("left_heel")[2]
    # ... and the frame is right-handed: (right->left shoulder) x (hips->head) points to the camera.
    across = j("left_shoulder") - j("right_shoulder")
    up = j("nose") - (j("left_hip") + j("right_hip")) / 2
    assert np.cross(across, up)[2] > 0
    assert skel.meta["measurement_plane"] == "3d" and skel.meta["source"] == "synthetic"
    assert skel.image_size == IMAGE_SIZE and skel.uv.shape == (10, 23, 2)


def test_root_travel_is_restored_from_the_image():
    drop_px = 90.0  # hips sink 90 px = 0.3 m at 300 px/m over the clip
    skel = to_skeleton(make_pose(n=10, hip_drop_px=drop_px))
    hip_y = (skel.joint("left_hip")[:, 1] + skel.joint("right_hip")[:, 1]) / 2
    assert hip_y[0] - hip_y[-1] == pytest.approx(drop_px / PX_PER_M, rel=1e-3)
    assert skel.meta["root_m_per_px"] == pytest.approx(1 / PX_PER_M, rel=1e-3)
    # Shape is untouched: ankle-to-nose distance stays the world one.
    np.testing.assert_allclose(skel.joint("nose")[:, 1] - skel.joint("left_ankle")[:, 1], 0.62 + 0.84, atol=1e-5)


def test_image_plane_route_scales_by_standing_height():
    pose = make_pose(world=False)
    skel = to_skeleton(pose, standing_height_m=1.80)
    assert skel.meta["measurement_plane"] == "image" and skel.meta["assumed_standing_height_m"] == 1.80
    assert (skel.xyz[..., 2] == 0).all()
    chain_px = sum(np.linalg.norm(CANON[JI[f"left_{a}"], :2] - CANON[JI[f"left_{b}"], :2]) * PX_PER_M
                   for a, b in (("ankle", "knee"), ("knee", "hip"), ("hip", "shoulder")))
    m_per_px = LEG_TRUNK_SHARE_OF_HEIGHT * 1.80 / chain_px
    assert skel.meta["m_per_px"] == pytest.approx(m_per_px, rel=1e-4)
    # y up, origin at the hip centre, left/right kept.
    np.testing.assert_allclose(skel.xyz[0, :, :2], CANON[:, :2] * PX_PER_M * m_per_px, atol=1e-5)
    assert skel.joint("nose")[0, 1] > skel.joint("left_ankle")[0, 1]
    with pytest.raises(InputError, match="height"):
        to_skeleton(pose, standing_height_m=17.0)


def test_frames_without_detection_and_low_confidence_joints():
    pose = make_pose(n=6)
    pose.uv[2] = np.nan
    pose.conf[2] = 0
    pose.world_xyz[2] = np.nan
    pose.conf[4, JI["left_heel"]] = 0.2
    skel = to_skeleton(pose, min_conf=0.3)
    assert np.isnan(skel.xyz[2]).all() and (skel.conf[2] == 0).all() and np.isnan(skel.uv[2]).all()
    assert np.isnan(skel.xyz[4, JI["left_heel"]]).all() and skel.conf[4, JI["left_heel"]] == 0
    assert np.isfinite(skel.xyz[[0, 1, 3, 5]]).all()
    empty = PoseResult(uv=np.zeros((0, 23, 2)), conf=np.zeros((0, 23)), world_xyz=None, image_size=(0, 0), fps=30)
    with pytest.raises(InputError, match="no frames"):
        to_skeleton(empty)


def test_nobody_ever_detected_gives_an_all_nan_skeleton():
    n = 4
    pose = PoseResult(uv=np.full((n, 23, 2), np.nan), conf=np.zeros((n, 23)), world_xyz=None,
                      image_size=(640, 480), fps=30)
    skel = to_skeleton(pose)
    assert np.isnan(skel.xyz).all() and (skel.conf == 0).all()


def test_skeleton_round_trips_through_npz(tmp_path):
    skel = to_skeleton(make_pose(), {"source": "synthetic"})
    back = Skeleton.load(skel.save(tmp_path / "s.npz"))
    np.testing.assert_allclose(back.xyz, skel.xyz)
    assert back.meta["measurement_plane"] == "3d" and back.meta["pose"]["backend"] == "mediapipe"
    assert back.image_size == IMAGE_SIZE


def test_unseen_hips_keep_the_rest_of_the_frame():
    pose = make_pose(n=5, hip_drop_px=40)
    for hip in ("left_hip", "right_hip"):
        pose.conf[2, JI[hip]] = 0
    skel = to_skeleton(pose)
    assert np.isnan(skel.joint("left_hip")[2]).all()
    # The nose keeps its place: travel interpolated between frames 1 and 3.
    assert skel.joint("nose")[2, 1] == pytest.approx((skel.joint("nose")[1, 1] + skel.joint("nose")[3, 1]) / 2,
                                                     abs=1e-5)


def test_world_coordinates_from_an_unknown_backend_are_refused():
    pose = make_pose(n=2)
    pose.meta["backend"] = "somebody3d"
    with pytest.raises(ValueError, match="WORLD_TO_CANONICAL"):
        to_skeleton(pose)
