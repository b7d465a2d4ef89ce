"""The fit's body model: a tree of bones with constant, left/right-symmetric lengths.

The 23 canonical joints are built from a root (the mid-hip point), one unit
direction per bone and one length per bone *kind* (shared by the left and the
right bone of a pair), so every frame of a fitted clip has exactly the same
bone lengths and the two sides are the same size.

Bones (parent -> child, length kind):
  mid_hip -> left_hip / right_hip        hip_half       one direction (the hip line, towards the left)
  mid_hip -> mid_shoulder                trunk
  mid_shoulder -> left/right_shoulder    shoulder_half  one direction (the shoulder line, towards the left)
  mid_shoulder -> nose                   nose
  mid_shoulder -> left/right_eye         eye
  mid_shoulder -> left/right_ear         ear
  shoulder -> elbow -> wrist -> hand     upper_arm, forearm, fist
  hip -> knee -> ankle                   thigh, shank
  ankle -> heel, ankle -> toe            heel, toe       (heel-toe distance kept by a soft term: foot)
Face points hang off the shoulder line's midpoint at a constant distance (the
neck bends and turns the head about its base, which keeps those distances
within a few millimetres).

Shapes: root [T, 3], directions [T, N_DIRS, 3] (any length; normalised here),
lengths [N_KINDS]; joints come out [T, 23, 3]. Works on torch tensors.
"""
from __future__ import annotations

import numpy as np

from tools.core.skeleton import JOINT_INDEX, JOINTS

LENGTH_KINDS: tuple[str, ...] = ("hip_half", "trunk", "shoulder_half", "nose", "eye", "ear", "upper_arm", "forearm",
                                 "fist", "thigh", "shank", "heel", "toe", "foot")
KIND_INDEX = {k: i for i, k in enumerate(LENGTH_KINDS)}

# Directions: (name, parent point, child joint(s), length kind). A "line" bone gives its child at
# +length and its mirror joint at -length (hips, shoulders).
DIRECTIONS: tuple[tuple[str, str, str, str], ...] = (
    ("hip_line", "mid_hip", "left_hip", "hip_half"),
    ("trunk", "mid_hip", "mid_shoulder", "trunk"),
    ("shoulder_line", "mid_shoulder", "left_shoulder", "shoulder_half"),
    ("nose", "mid_shoulder", "nose", "nose"),
    ("left_eye", "mid_shoulder", "left_eye", "eye"),
    ("right_eye", "mid_shoulder", "right_eye", "eye"),
    ("left_ear", "mid_shoulder", "left_ear", "ear"),
    ("right_ear", "mid_shoulder", "right_ear", "ear"),
    ("left_upper_arm", "left_shoulder", "left_elbow", "upper_arm"),
    ("left_forearm", "left_elbow", "left_wrist", "forearm"),
    ("left_fist", "left_wrist", "left_hand", "fist"),
    ("right_upper_arm", "right_shoulder", "right_elbow", "upper_arm"),
    ("right_forearm", "right_elbow", "right_wrist", "forearm"),
    ("right_fist", "right_wrist", "right_hand", "fist"),
    ("left_thigh", "left_hip", "left_knee", "thigh"),
    ("left_shank", "left_knee", "left_ankle", "shank"),
    ("left_heel", "left_ankle", "left_heel", "heel"),
    ("left_toe", "left_ankle", "left_toe", "toe"),
    ("right_thigh", "right_hip", "right_knee", "thigh"),
    ("right_shank", "right_knee", "right_ankle", "shank"),
    ("right_heel", "right_ankle", "right_heel", "heel"),
    ("right_toe", "right_ankle", "right_toe", "toe"),
)
DIR_INDEX = {d[0]: i for i, d in enumerate(DIRECTIONS)}
N_DIRS = len(DIRECTIONS)
_MIRRORED_LINES = {"hip_line": "right_hip", "shoulder_line": "right_shoulder"}


def forward_kinematics(root, directions, lengths):
    """Joints [T, 23, 3] from root [T, 3], directions [T, N_DIRS, 3] and lengths [N_KINDS] (torch)."""
    import torch
    unit = directions / torch.linalg.norm(directions, dim=-1, keepdim=True).clamp_min(1e-9)
    points = {"mid_hip": root}
    for i, (name, parent, child, kind) in enumerate(DIRECTIONS):
        step = unit[:, i] * lengths[KIND_INDEX[kind]]
        points[child] = points[parent] + step
        if name in _MIRRORED_LINES:
            points[_MIRRORED_LINES[name]] = points[parent] - step
    return torch.stack([points[j] for j in JOINTS], dim=1)


def kind_segments(kind: str) -> list[tuple[tuple[str, ...], tuple[str, ...], float]]:
    """The joint pairs whose distance measures a length kind: (joints averaged for end a, for end b, factor);
    length = factor x |a - b| (0.5 for the hip and shoulder lines, whose kinds are half widths)."""
    mids = {"mid_hip": ("left_hip", "right_hip"), "mid_shoulder": ("left_shoulder", "right_shoulder")}
    out = []
    for name, parent, child, k in DIRECTIONS:
        if k != kind:
            continue
        if name in _MIRRORED_LINES:
            out.append(((child,), (_MIRRORED_LINES[name],), 0.5))
        else:
            out.append((mids.get(parent, (parent,)), mids.get(child, (child,)), 1.0))
    if kind == "foot":
        out += [(("left_heel",), ("left_toe",), 1.0), (("right_heel",), ("right_toe",), 1.0)]
    return out


def directions_from_joints(joints: np.ndarray) -> np.ndarray:
    """Unit bone directions [T, N_DIRS, 3] of a joint array [T, 23, 3] (numpy; NaN where a joint is missing)."""
    pts = _named(joints)
    out = np.empty(joints.shape[:1] + (N_DIRS, 3))
    for i, (name, parent, child, _) in enumerate(DIRECTIONS):
        if name in _MIRRORED_LINES:
            v = pts[child] - pts[_MIRRORED_LINES[name]]
        else:
            v = pts[child] - pts[parent]
        with np.errstate(invalid="ignore", divide="ignore"):
            out[:, i] = v / np.linalg.norm(v, axis=-1, keepdims=True)
    return out


def lengths_from_joints(joints: np.ndarray) -> np.ndarray:
    """Per-frame bone lengths [T, N_KINDS] (left and right of a pair averaged; NaN where unseen)."""
    pts = _named(joints)
    per_kind: dict[str, list[np.ndarray]] = {k: [] for k in LENGTH_KINDS}
    for name, parent, child, kind in DIRECTIONS:
        if name in _MIRRORED_LINES:
            per_kind[kind].append(np.linalg.norm(pts[child] - pts[_MIRRORED_LINES[name]], axis=-1) / 2)
        else:
            per_kind[kind].append(np.linalg.norm(pts[child] - pts[parent], axis=-1))
    for side in ("left", "right"):
        per_kind["foot"].append(np.linalg.norm(pts[f"{side}_toe"] - pts[f"{side}_heel"], axis=-1))
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.stack([np.nanmean(np.stack(per_kind[k]), axis=0) for k in LENGTH_KINDS], axis=1)


def _named(joints: np.ndarray) -> dict[str, np.ndarray]:
    pts = {j: joints[:, JOINT_INDEX[j]] for j in JOINTS}
    pts["mid_hip"] = (pts["left_hip"] + pts["right_hip"]) / 2
    pts["mid_shoulder"] = (pts["left_shoulder"] + pts["right_shoulder"]) / 2
    return pts


def mid_hip(joints: np.ndarray) -> np.ndarray:
    return (joints[:, JOINT_INDEX["left_hip"]] + joints[:, JOINT_INDEX["right_hip"]]) / 2
