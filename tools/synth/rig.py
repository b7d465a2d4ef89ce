"""Rig geometry: build the 23 canonical joints from a few targets, keeping bone lengths exact.

Body frame of every generator: x = the athlete's left, y = up, z = the
direction the athlete faces (right-handed, metres, floor at y = 0). Motions
place a few things (feet, pelvis, trunk direction, hand targets) and the
helpers here solve the rest (knees and elbows by two-bone IK with a pole
vector, heels/toes from a foot placement, face points from a head frame).
Every helper is vectorised over leading axes: arrays are [..., 3].
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tools.core.skeleton import JOINT_INDEX, JOINTS, MIRROR_INDEX
from tools.synth.body import Athlete

X = np.array([1.0, 0.0, 0.0])   # athlete's left
Y = np.array([0.0, 1.0, 0.0])   # up
Z = np.array([0.0, 0.0, 1.0])   # athlete's facing direction

HEEL_TO_ANKLE_FRACTION = 0.22   # ankle sits this share of the foot length in front of the heel
BOARD_2X6_HEIGHT_M = 0.038      # a 2x6 board lying flat: 1.5 in
BOARD_2X6_WIDTH_M = 0.14        # 5.5 in
DOWEL_LENGTH_M = 1.22           # 4 ft FMS dowel


def unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(n, 1e-9)


def dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=-1, keepdims=True)


def rotate(v: np.ndarray, axis: np.ndarray, angle_rad: np.ndarray | float) -> np.ndarray:
    """Rodrigues rotation of v about unit `axis` by `angle_rad` (right-hand rule)."""
    axis = unit(np.broadcast_to(axis, np.broadcast_shapes(np.shape(v), np.shape(axis))))
    a = np.asarray(angle_rad, dtype=float)[..., None] if np.ndim(angle_rad) else float(angle_rad)
    c, s = np.cos(a), np.sin(a)
    return v * c + np.cross(axis, v) * s + axis * dot(axis, v) * (1 - c)


def two_bone(root: np.ndarray, target: np.ndarray, l1: float, l2: float,
             pole: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two-bone IK: (middle joint, end point) with |mid-root| = l1, |end-mid| = l2 exactly.

    The end reaches `target` when it can (else stops on the line towards it);
    the middle joint bends towards `pole` (a direction, e.g. forward for a knee).
    """
    d = target - root
    dist = np.linalg.norm(d, axis=-1, keepdims=True)
    direction = d / np.maximum(dist, 1e-9)
    reach = np.clip(dist, abs(l1 - l2) + 1e-4, (l1 + l2) * (1 - 1e-6))
    end = root + direction * reach
    cos_a = np.clip((l1 ** 2 + reach ** 2 - l2 ** 2) / (2 * l1 * reach), -1.0, 1.0)
    perp = pole - dot(pole, direction) * direction
    perp = unit(perp)
    mid = root + l1 * (cos_a * direction + np.sqrt(1 - cos_a ** 2) * perp)
    return mid, end


def foot_on_ground(toe: np.ndarray, heading: np.ndarray, heel_height: np.ndarray,
                   athlete: Athlete) -> dict[str, np.ndarray]:
    """Heel, toe, ankle of a foot whose toe tip rests at `toe` and heel is `heel_height` above it.

    `heading` is the horizontal heel-to-toe direction; the foot pitches about the toe.
    """
    L = athlete.foot_m
    sin_p = np.clip(np.asarray(heel_height, dtype=float) / L, -0.9, 0.9)[..., None]
    cos_p = np.sqrt(1 - sin_p ** 2)
    heading = unit(heading * np.array([1.0, 0.0, 1.0]))
    forward = cos_p * heading - sin_p * Y           # along the sole, heel -> toe
    sole_up = sin_p * heading + cos_p * Y
    heel = toe - forward * L
    ankle = heel + forward * (HEEL_TO_ANKLE_FRACTION * L) + sole_up * athlete.ankle_height_m
    return {"heel": heel, "toe": toe, "ankle": ankle}


def foot_from_ankle(ankle: np.ndarray, forward: np.ndarray, sole_up: np.ndarray,
                    athlete: Athlete) -> dict[str, np.ndarray]:
    """Heel and toe of a foot in the air, given the ankle and the sole's forward/up directions."""
    forward = unit(forward)
    sole_up = unit(sole_up - dot(sole_up, forward) * forward)
    heel = ankle - forward * (HEEL_TO_ANKLE_FRACTION * athlete.foot_m) - sole_up * athlete.ankle_height_m
    return {"heel": heel, "toe": heel + forward * athlete.foot_m, "ankle": ankle}


def head_points(neck_base: np.ndarray, up: np.ndarray, forward: np.ndarray,
                athlete: Athlete) -> dict[str, np.ndarray]:
    """Nose, eyes and ears from the base of the neck and the head's up/forward directions."""
    up = unit(up)
    forward = unit(forward - dot(forward, up) * up)
    left = np.cross(up, forward)
    r = athlete.head_radius_m
    centre = neck_base + up * (athlete.neck_m + 0.85 * r)
    return {
        "head_centre": centre,
        "nose": centre + forward * (0.98 * r) - up * (0.22 * r),
        "left_eye": centre + forward * (0.80 * r) + up * (0.10 * r) + left * (0.36 * r),
        "right_eye": centre + forward * (0.80 * r) + up * (0.10 * r) - left * (0.36 * r),
        "left_ear": centre + left * (0.92 * r) - forward * (0.05 * r),
        "right_ear": centre - left * (0.92 * r) - forward * (0.05 * r),
    }


def arm_to(shoulder: np.ndarray, hand_target: np.ndarray, pole: np.ndarray,
           athlete: Athlete) -> dict[str, np.ndarray]:
    """Elbow, wrist and fist centre of an arm whose fist reaches for `hand_target`."""
    l2 = athlete.forearm_m + athlete.fist_offset_m
    elbow, hand = two_bone(shoulder, hand_target, athlete.upper_arm_m, l2, pole)
    wrist = elbow + unit(hand - elbow) * athlete.forearm_m
    return {"elbow": elbow, "wrist": wrist, "hand": hand}


def arm_fk(shoulder: np.ndarray, upper_dir: np.ndarray, fore_dir: np.ndarray,
           athlete: Athlete) -> dict[str, np.ndarray]:
    """Elbow, wrist, fist from bone directions (no IK)."""
    elbow = shoulder + unit(upper_dir) * athlete.upper_arm_m
    wrist = elbow + unit(fore_dir) * athlete.forearm_m
    return {"elbow": elbow, "wrist": wrist, "hand": wrist + unit(fore_dir) * athlete.fist_offset_m}


def shoulders_from_trunk(mid_hip: np.ndarray, trunk_dir: np.ndarray, left: np.ndarray,
                         athlete: Athlete, shrug_m: np.ndarray | float = 0.0) -> dict[str, np.ndarray]:
    """Shoulder joints and the spine midpoint from the pelvis centre and trunk direction."""
    trunk_dir = unit(trunk_dir)
    left = unit(left - dot(left, trunk_dir) * trunk_dir)
    mid_shoulder = mid_hip + trunk_dir * athlete.trunk_m
    shrug = np.asarray(shrug_m, dtype=float)
    shrug = shrug[..., None] if shrug.ndim else shrug
    return {
        "mid_shoulder": mid_shoulder,
        "left_shoulder": mid_shoulder + left * athlete.shoulder_half_width_m + trunk_dir * shrug,
        "right_shoulder": mid_shoulder - left * athlete.shoulder_half_width_m + trunk_dir * shrug,
        "spine_mid": mid_hip + trunk_dir * (0.5 * athlete.trunk_m),
    }


@dataclass
class Motion:
    """A generated movement in the body frame. Shapes: joints [T, 23, 3], spine_mid [T, 3].

    `props` are renderable objects (see tools.synth.props) in the same frame.
    """

    joints: np.ndarray
    spine_mid: np.ndarray
    fps: float
    props: list = field(default_factory=list)
    events: dict = field(default_factory=dict)   # named frame indices, e.g. {"bottom": 72}

    @property
    def n_frames(self) -> int:
        return int(self.joints.shape[0])

    def mirrored(self) -> "Motion":
        """The left<->right mirror (x negated, sides swapped): how a right-side sample is made."""
        joints = self.joints[:, MIRROR_INDEX].copy()
        joints[..., 0] *= -1
        spine = self.spine_mid.copy()
        spine[..., 0] *= -1
        return Motion(joints=joints, spine_mid=spine, fps=self.fps,
                      props=[p.mirrored() for p in self.props], events=dict(self.events))


def body_parts(head: dict, shoulders: dict, arm_l: dict, arm_r: dict, leg_l: dict, leg_r: dict) -> dict:
    """Named joints of a whole body for `assemble`: the head's joints, both shoulders, each arm's elbow /
    wrist / hand and each leg's hip / knee / ankle / heel / toe (each [T, 3] or [3])."""
    parts = {n: v for n, v in head.items() if n != "head_centre"}
    parts.update(left_shoulder=shoulders["left_shoulder"], right_shoulder=shoulders["right_shoulder"])
    for side, arm, leg in (("left", arm_l, leg_l), ("right", arm_r, leg_r)):
        parts.update({f"{side}_{j}": arm[j] for j in ("elbow", "wrist", "hand")})
        parts.update({f"{side}_{j}": leg[j] for j in ("hip", "knee", "ankle", "heel", "toe")})
    return parts


def assemble(parts: dict[str, np.ndarray], n_frames: int) -> np.ndarray:
    """Stack named joint arrays ([T, 3] or [3]) into the canonical [T, 23, 3] order."""
    out = np.full((n_frames, len(JOINTS), 3), np.nan)
    for name in JOINTS:
        if name not in parts:
            raise KeyError(f"rig is missing joint {name}")
        out[:, JOINT_INDEX[name]] = np.broadcast_to(parts[name], (n_frames, 3))
    return out
