"""Hand-built skeletons with known geometry, for tests (not a data generator).

`squat_pose` places a symmetric figure in the world frame (metres, y up),
facing +z, athlete's left at +x, with chosen trunk lean, tibia lean and
thigh angle, so every angle in tools/geometry/angles.py has a closed-form answer:
knee flexion = 90 + phi + beta, hip flexion = 90 + alpha + phi,
torso minus tibia = alpha - beta, hip below knee = phi.
"""
from __future__ import annotations

import numpy as np

from tools.core.skeleton import JOINT_INDEX, JOINTS, Skeleton

SHANK_M, THIGH_M, TRUNK_M = 0.42, 0.44, 0.50


def _d(deg: float) -> float:
    return np.radians(deg)


def squat_pose(alpha_trunk_deg: float, beta_tibia_deg: float, phi_hip_below_knee_deg: float,
               stance_half_m: float = 0.16, knee_in_m: float = 0.0, heel_lift_m: float = 0.0,
               arms_overhead: bool = True, hands_forward_m: float = 0.0) -> np.ndarray:
    a, b, p = _d(alpha_trunk_deg), _d(beta_tibia_deg), _d(phi_hip_below_knee_deg)
    xyz = np.full((len(JOINTS), 3), np.nan)
    for side, sx in (("left", 1.0), ("right", -1.0)):
        ankle = np.array([sx * stance_half_m, 0.08 + heel_lift_m, 0.0])
        knee = ankle + SHANK_M * np.array([0.0, np.cos(b), np.sin(b)])
        knee[0] -= sx * knee_in_m   # move the knee towards the midline
        hip = knee + THIGH_M * np.array([0.0, -np.sin(p), -np.cos(p)])
        hip[0] = ankle[0]            # only the knee moves in (valgus); hips stay over the ankles
        shoulder = hip + TRUNK_M * np.array([0.0, np.cos(a), np.sin(a)])
        xyz[JOINT_INDEX[f"{side}_ankle"]] = ankle
        xyz[JOINT_INDEX[f"{side}_knee"]] = knee
        xyz[JOINT_INDEX[f"{side}_hip"]] = hip
        xyz[JOINT_INDEX[f"{side}_shoulder"]] = shoulder
        xyz[JOINT_INDEX[f"{side}_heel"]] = np.array([sx * stance_half_m, 0.02 + heel_lift_m, -0.06])
        xyz[JOINT_INDEX[f"{side}_toe"]] = np.array([sx * stance_half_m, 0.02, 0.16])
        if arms_overhead:
            elbow = shoulder + np.array([0.0, 0.30, 0.0])
            wrist = elbow + np.array([0.0, 0.26, hands_forward_m])
        else:
            elbow = shoulder + np.array([0.0, -0.30, 0.0])
            wrist = elbow + np.array([0.0, -0.26, 0.0])
        xyz[JOINT_INDEX[f"{side}_elbow"]] = elbow
        xyz[JOINT_INDEX[f"{side}_wrist"]] = wrist
        xyz[JOINT_INDEX[f"{side}_hand"]] = wrist + np.array([0.0, 0.08 if arms_overhead else -0.08, 0.0])
        xyz[JOINT_INDEX[f"{side}_eye"]] = (shoulder + np.array([-sx * 0.15, 0.25, 0.08]))
        xyz[JOINT_INDEX[f"{side}_ear"]] = (shoulder + np.array([-sx * 0.12, 0.22, 0.0]))
    mid_sh = (xyz[JOINT_INDEX["left_shoulder"]] + xyz[JOINT_INDEX["right_shoulder"]]) / 2
    xyz[JOINT_INDEX["nose"]] = mid_sh + np.array([0.0, 0.22, 0.10])
    return xyz


def squat_clip(depth_deg: float = 15.0, trunk_deg: float = 35.0, tibia_deg: float = 35.0,
               fps: float = 30.0, seconds: float = 3.0, **pose_kw) -> Skeleton:
    """Stand -> squat to the given bottom pose -> stand, with a smooth (cosine) path."""
    n = int(seconds * fps)
    s = 0.5 - 0.5 * np.cos(np.linspace(0, 2 * np.pi, n))  # 0 -> 1 -> 0
    frames = []
    for k in s:
        kw = {key: (val * k if key in ("knee_in_m", "heel_lift_m", "hands_forward_m") else val)
              for key, val in pose_kw.items()}
        frames.append(squat_pose(trunk_deg * k, tibia_deg * k, -90.0 + (90.0 + depth_deg) * k, **kw))
    xyz = np.stack(frames).astype(np.float32)
    return Skeleton(xyz=xyz, conf=np.ones(xyz.shape[:2], np.float32), fps=fps, meta={"source": "test"})
