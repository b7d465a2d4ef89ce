"""Deep-squat family: joint flexion, segment inclinations against gravity, depth, heel rise, knee tracking and
the dowel over the feet (conventions: tools.geometry.angles)."""
from __future__ import annotations

from typing import Callable

import numpy as np

from tools.core.skeleton import Skeleton
from tools.geometry.angles.base import UP, _angle_deg, _horizontal, _joint_angle_deg, _mid, _nanmedian_rows, _start_frames, _unit


# ----- measurement functions (Skeleton -> [T]) -------------------------------
def knee_flexion(side: str) -> Callable[[Skeleton], np.ndarray]:
    return lambda s: 180.0 - _joint_angle_deg(s, f"{side}_hip", f"{side}_knee", f"{side}_ankle")


def hip_flexion(side: str) -> Callable[[Skeleton], np.ndarray]:
    return lambda s: 180.0 - _joint_angle_deg(s, f"{side}_shoulder", f"{side}_hip", f"{side}_knee")


def ankle_dorsiflexion(side: str) -> Callable[[Skeleton], np.ndarray]:
    def f(s: Skeleton) -> np.ndarray:
        shank = s.joint(f"{side}_knee") - s.joint(f"{side}_ankle")
        foot = s.joint(f"{side}_toe") - s.joint(f"{side}_heel")
        return 90.0 - _angle_deg(shank, foot)
    return f


def trunk_inclination(s: Skeleton) -> np.ndarray:
    trunk = _mid(s, "left_shoulder", "right_shoulder") - _mid(s, "left_hip", "right_hip")
    return _angle_deg(trunk, np.broadcast_to(UP, trunk.shape))


def tibia_inclination(side: str) -> Callable[[Skeleton], np.ndarray]:
    def f(s: Skeleton) -> np.ndarray:
        shank = s.joint(f"{side}_knee") - s.joint(f"{side}_ankle")
        return _angle_deg(shank, np.broadcast_to(UP, shank.shape))
    return f


def torso_minus_tibia(s: Skeleton) -> np.ndarray:
    tibia = np.nanmean(np.stack([tibia_inclination("left")(s), tibia_inclination("right")(s)]), axis=0)
    return trunk_inclination(s) - tibia


def hip_below_knee(side: str) -> Callable[[Skeleton], np.ndarray]:
    def f(s: Skeleton) -> np.ndarray:
        thigh = s.joint(f"{side}_knee") - s.joint(f"{side}_hip")
        length = np.linalg.norm(thigh, axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.degrees(np.arcsin(np.clip(thigh[:, 1] / length, -1.0, 1.0)))
    return f


def heel_rise(side: str) -> Callable[[Skeleton], np.ndarray]:
    def f(s: Skeleton) -> np.ndarray:
        height = s.joint(f"{side}_heel")[:, 1] - s.joint(f"{side}_toe")[:, 1]
        start = height[_start_frames(s)]
        baseline = np.nanmedian(start) if np.isfinite(start).any() else np.nanmin(height)
        return height - baseline
    return f


def knee_valgus(side: str) -> Callable[[Skeleton], np.ndarray]:
    def f(s: Skeleton) -> np.ndarray:
        hip, knee, ankle = (s.joint(f"{side}_{j}") for j in ("hip", "knee", "ankle"))
        # Frontal plane: spanned by the (horizontal) hip line and vertical; its normal
        # is the anteroposterior axis. Project the leg onto it.
        lateral = _unit(_horizontal(s.joint("left_hip") - s.joint("right_hip")))  # towards athlete's left
        normal = _unit(np.cross(lateral, np.broadcast_to(UP, lateral.shape)))

        def proj(p: np.ndarray) -> np.ndarray:
            return p - np.sum(p * normal, axis=-1, keepdims=True) * normal

        h, k, a = proj(hip), proj(knee), proj(ankle)
        bend = 180.0 - _angle_deg(h - k, a - k)
        # Medial = towards the midline: for the left leg that is the -lateral direction.
        medial = -lateral if side == "left" else lateral
        line = a - h
        with np.errstate(invalid="ignore", divide="ignore"):
            t = np.sum((k - h) * line, axis=-1, keepdims=True) / np.sum(line * line, axis=-1, keepdims=True)
        offset = np.sum((k - (h + t * line)) * medial, axis=-1)
        return np.sign(offset) * bend
    return f


def hands_outside_feet(s: Skeleton) -> np.ndarray:
    forward = _unit(_horizontal(_mid(s, "left_toe", "right_toe") - _mid(s, "left_heel", "right_heel")))
    forward = np.broadcast_to(_unit(_nanmedian_rows(forward)), forward.shape)
    hands = _mid(s, "left_hand", "right_hand")
    heel = np.sum(_mid(s, "left_heel", "right_heel") * forward, axis=-1)
    toe = np.sum(_mid(s, "left_toe", "right_toe") * forward, axis=-1)
    h = np.sum(hands * forward, axis=-1)
    ahead = h - np.maximum(heel, toe)
    behind = np.minimum(heel, toe) - h
    return np.clip(np.maximum(ahead, behind), 0.0, None) * np.where(np.isnan(h), np.nan, 1.0)


def knee_ankle_separation_ratio(s: Skeleton) -> np.ndarray:
    lateral = _unit(_horizontal(s.joint("left_hip") - s.joint("right_hip")))
    knee_gap = np.sum((s.joint("left_knee") - s.joint("right_knee")) * lateral, axis=-1)
    ankle_gap = np.sum((s.joint("left_ankle") - s.joint("right_ankle")) * lateral, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(np.abs(ankle_gap) > 0.05, knee_gap / ankle_gap, np.nan)


def hands_above_head(s: Skeleton) -> np.ndarray:
    top = np.fmin(s.joint("left_hand")[:, 1], s.joint("right_hand")[:, 1])
    return top - s.joint("nose")[:, 1]


def pelvis_rotation(s: Skeleton) -> np.ndarray:
    v = _horizontal(s.joint("left_hip") - s.joint("right_hip"))
    start = _unit(_nanmedian_rows(v[_start_frames(s)]))
    return _angle_deg(v, np.broadcast_to(start, v.shape))
