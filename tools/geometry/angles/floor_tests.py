"""Tests on the floor: the active straight-leg raise, the trunk stability push-up and rotary stability
(conventions: tools.geometry.angles)."""
from __future__ import annotations

from typing import Callable

import numpy as np

from tools.core.skeleton import Skeleton
from tools.geometry.angles.base import UP, _angle_deg, _body_axis0, _mid, _start_median, _unit


# ASLR landmarks: the ASIS sits ~6 cm cranial of the hip joint centre along the body axis.
ASIS_CRANIAL_OF_HIP_M = 0.06


def aslr_ankle_fraction(side: str) -> Callable[[Skeleton], np.ndarray]:
    """Raised ankle along the down leg: 0 = ASIS, 0.5 = mid-thigh, 1 = knee joint line (body axis)."""
    other = "right" if side == "left" else "left"

    def f(s: Skeleton) -> np.ndarray:
        axis = _body_axis0(s)
        hip = _start_median(_mid(s, "left_hip", "right_hip"), s)
        asis = float(np.dot(hip, axis)) - ASIS_CRANIAL_OF_HIP_M
        knee = float(np.dot(_start_median(s.joint(f"{other}_knee"), s), axis))
        ankle = np.sum(s.joint(f"{side}_ankle") * axis, axis=-1)
        return (ankle - asis) / (knee - asis)
    return f


# Push-up hand levels along the body's long axis, from the face and shoulders at rest. Head model
# (same as the canonical head: centre between the ears, radius = ear gap / 1.84): forehead top
# 0.6 r cranial of the head centre, chin 0.8 r caudal of it, collarbone 3 cm cranial of the
# shoulder joint line. The fist ('hand') joint lies ~2 cm cranial of the thumb line of a flat hand.
FOREHEAD_ABOVE_HEAD_CENTRE_R = 0.6
CHIN_BELOW_HEAD_CENTRE_R = 0.8
EAR_GAP_TO_HEAD_RADIUS = 1.84
COLLARBONE_ABOVE_SHOULDER_M = 0.03
THUMB_LINE_BEHIND_KNUCKLES_M = 0.02


def pushup_landmarks(s: Skeleton) -> dict[str, float]:
    """Positions (m) along the cranial body axis at rest: collarbone, chin, forehead, thumb line."""
    cranial = -_body_axis0(s)
    shoulder = float(np.dot(_start_median(_mid(s, "left_shoulder", "right_shoulder"), s), cranial))
    ears_l, ears_r = _start_median(s.joint("left_ear"), s), _start_median(s.joint("right_ear"), s)
    centre = float(np.dot((ears_l + ears_r) / 2, cranial))
    r = float(np.linalg.norm(ears_l - ears_r)) / EAR_GAP_TO_HEAD_RADIUS
    hands = float(np.dot(_start_median(_mid(s, "left_hand", "right_hand"), s), cranial))
    return {"collarbone": shoulder + COLLARBONE_ABOVE_SHOULDER_M, "chin": centre - CHIN_BELOW_HEAD_CENTRE_R * r,
            "forehead": centre + FOREHEAD_ABOVE_HEAD_CENTRE_R * r, "thumbs": hands - THUMB_LINE_BEHIND_KNUCKLES_M}


def pushup_hand_level(s: Skeleton) -> np.ndarray:
    """Thumb line on the landmark scale 0 = collarbone, 1 = chin, 2 = forehead (linear between, extrapolated)."""
    lm = pushup_landmarks(s)
    x, c0, c1, c2 = lm["thumbs"], lm["collarbone"], lm["chin"], lm["forehead"]
    if x <= c1:
        level = (x - c0) / (c1 - c0)
    else:
        level = 1.0 + (x - c1) / (c2 - c1)
    return np.full(s.n_frames, level)


def pushup_lumbar_lag(s: Skeleton) -> np.ndarray:
    """Trunk elevation minus leg elevation (sagittal), relative to rest: + = chest leads the pelvis."""
    cranial = -_body_axis0(s)
    trunk = _mid(s, "left_shoulder", "right_shoulder") - _mid(s, "left_hip", "right_hip")
    legs = _mid(s, "left_hip", "right_hip") - _mid(s, "left_ankle", "right_ankle")
    lag = (np.degrees(np.arctan2(trunk[:, 1], np.sum(trunk * cranial, axis=-1)))
           - np.degrees(np.arctan2(legs[:, 1], np.sum(legs * cranial, axis=-1))))
    return lag - _start_median(lag, s)


def pelvis_rise(s: Skeleton) -> np.ndarray:
    y = _mid(s, "left_hip", "right_hip")[:, 1]
    return y - _start_median(y, s)


def arm_elevation(side: str) -> Callable[[Skeleton], np.ndarray]:
    def f(s: Skeleton) -> np.ndarray:
        arm = s.joint(f"{side}_hand") - s.joint(f"{side}_shoulder")
        return _angle_deg(arm, np.broadcast_to(-UP, arm.shape))
    return f


def thigh_elevation(side: str) -> Callable[[Skeleton], np.ndarray]:
    def f(s: Skeleton) -> np.ndarray:
        thigh = s.joint(f"{side}_knee") - s.joint(f"{side}_hip")
        return _angle_deg(thigh, np.broadcast_to(-UP, thigh.shape))
    return f


def elbow_to_knee(side: str, same: bool) -> Callable[[Skeleton], np.ndarray]:
    knee_side = side if same else ("right" if side == "left" else "left")
    return lambda s: np.linalg.norm(s.joint(f"{side}_elbow") - s.joint(f"{knee_side}_knee"), axis=-1)


def chest_facing_up(s: Skeleton) -> np.ndarray:
    """Cosine of the chest normal with vertical: +1 lying on the back, -1 face down, 0 upright."""
    lateral = (s.joint("left_shoulder") - s.joint("right_shoulder")) + (s.joint("left_hip") - s.joint("right_hip"))
    trunk = _mid(s, "left_shoulder", "right_shoulder") - _mid(s, "left_hip", "right_hip")
    return _unit(np.cross(lateral, trunk))[:, 1]
