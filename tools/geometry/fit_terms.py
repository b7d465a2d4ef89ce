"""The loss terms of the skeleton fit (tools.geometry.fit), each a pure torch function.

Every term is a mean over its items, scaled so that a "typical acceptable"
error costs about 1 (the scale is named in each docstring), so the weights in
FitWeights are comparable. Shapes: joints [T, 23, 3] world metres (y up),
uv [T, 23, 2] px, w [T, 23] weights.
"""
from __future__ import annotations

import math

from tools.core.skeleton import JOINT_INDEX as JI

_L = {s: {j: JI[f"{s}_{j}"] for j in ("hip", "knee", "ankle", "heel", "toe", "shoulder", "elbow", "wrist", "hand")}
      for s in ("left", "right")}


def _unit(v):
    import torch
    return v / torch.linalg.norm(v, dim=-1, keepdim=True).clamp_min(1e-9)


def project(joints, rot, cam_height, focal, cx, cy):
    """Pixels [T, J, 2] and camera depth [T, J] of world joints (camera at (0, h, 0), X_cam = R (X - C))."""
    import torch
    centre = torch.stack([torch.zeros_like(cam_height), cam_height, torch.zeros_like(cam_height)])
    pc = (joints - centre) @ rot.T
    z = pc[..., 2].clamp_min(0.05)
    u = focal * pc[..., 0] / z + cx
    v = focal * pc[..., 1] / z + cy
    return torch.stack([u, v], dim=-1), pc[..., 2]


def reprojection(px, uv, w, scale_px: float, delta: float = 1.5):
    """Pseudo-Huber of the pixel error in units of `scale_px` (about 1 % of the figure): 1 ~ one scale off."""
    import torch
    r2 = ((px - uv) ** 2).sum(-1) / scale_px ** 2
    rho = 2 * delta ** 2 * (torch.sqrt(1 + r2 / delta ** 2) - 1)
    return (w * rho).sum() / w.sum().clamp_min(1e-9)


def direction_prior(dirs_cam, prior_dirs, w, sd: float = 0.2):
    """Bone directions (camera axes) vs the pose model's: squared chord / sd^2 (sd 0.2 ~ 11 deg)."""
    d = ((_unit(dirs_cam) - prior_dirs) ** 2).sum(-1) / sd ** 2
    return (w * d).sum() / w.sum().clamp_min(1e-9)


def smoothness(joints, fps: float, accel_m_s2: float = 4.0):
    """Second difference of every joint (m / frame^2) over accel_m_s2 / fps^2."""
    if joints.shape[0] < 3:
        return joints.sum() * 0
    acc = joints[2:] - 2 * joints[1:-1] + joints[:-2]
    return (acc ** 2).sum(-1).mean() / (accel_m_s2 / fps ** 2) ** 2


def contact(joints, mask, height_m, sd_m: float = 0.01):
    """Joints in contact with the floor stay at their contact height: ((y - h) / sd)^2 over contacts."""
    if mask.sum() == 0:
        return joints.sum() * 0
    d = (joints[..., 1] - height_m) ** 2 / sd_m ** 2
    return (mask * d).sum() / mask.sum()


def stillness(joints, mask, sd_m: float = 0.004):
    """Joints in contact in two consecutive frames do not move: (displacement / sd)^2."""
    both = mask[1:] * mask[:-1]
    if both.sum() == 0:
        return joints.sum() * 0
    step = ((joints[1:] - joints[:-1]) ** 2).sum(-1) / sd_m ** 2
    return (both * step).sum() / both.sum()


def above_floor(joints, clearance_m, sd_m: float = 0.01):
    """No joint below its clearance above the floor (clearance [J]): hinge^2 / sd^2."""
    import torch
    gap = torch.relu(clearance_m - joints[..., 1])
    return (gap ** 2).mean() / sd_m ** 2


def upright(joints, mask, sd_deg: float = 4.0):
    """In standing frames (mask [T]) the ankles-to-shoulders line is vertical: chord^2 / sd^2."""
    import torch
    if mask.sum() == 0:
        return joints.sum() * 0
    ankles = (joints[:, _L["left"]["ankle"]] + joints[:, _L["right"]["ankle"]]) / 2
    shoulders = (joints[:, _L["left"]["shoulder"]] + joints[:, _L["right"]["shoulder"]]) / 2
    axis = _unit(shoulders - ankles)
    up = torch.tensor([0.0, 1.0, 0.0], dtype=joints.dtype)
    d = ((axis - up) ** 2).sum(-1) / math.radians(sd_deg) ** 2
    return (mask * d).sum() / mask.sum()


def straight_legs(joints, mask, sd_deg: float = 8.0):
    """In standing frames (mask [T]) the knees are straight: thigh and shank directions alike, chord^2 / sd^2."""
    if mask.sum() == 0:
        return joints.sum() * 0
    d = 0
    for s in ("left", "right"):
        thigh = _unit(joints[:, _L[s]["knee"]] - joints[:, _L[s]["hip"]])
        shank = _unit(joints[:, _L[s]["ankle"]] - joints[:, _L[s]["knee"]])
        d = d + ((thigh - shank) ** 2).sum(-1) / math.radians(sd_deg) ** 2
    return (mask * d / 2).sum() / mask.sum()


def joint_limits(joints, dirs):
    """Anatomical limits as hinge penalties (each ~1 at 10 deg past the limit).

    - knees bend one way only: (thigh x shank) . left >= -sin 5 deg (no hyperextension or backward bend);
    - the shoulder line stays within 60 deg of the hip line (trunk twist);
    - the trunk stays within 35 deg of perpendicular to the hip line (side bend);
    - the face looks within 100 deg of the chest's forward direction (head turn).
    """
    import torch
    from tools.geometry.body_model import DIR_INDEX as D
    hip_line = _unit(dirs[:, D["hip_line"]])
    shoulder_line = _unit(dirs[:, D["shoulder_line"]])
    trunk = _unit(dirs[:, D["trunk"]])
    s10 = math.sin(math.radians(10))
    total = joints.sum() * 0
    for side in ("left", "right"):
        thigh = _unit(dirs[:, D[f"{side}_thigh"]])
        shank = _unit(dirs[:, D[f"{side}_shank"]])
        bend = (torch.cross(thigh, shank, dim=-1) * hip_line).sum(-1)
        total = total + (torch.relu(-math.sin(math.radians(5)) - bend) ** 2).mean() / s10 ** 2
    twist = (shoulder_line * hip_line).sum(-1)
    total = total + (torch.relu(math.cos(math.radians(60)) - twist) ** 2).mean() / s10 ** 2
    side_bend = (trunk * hip_line).sum(-1).abs()
    total = total + (torch.relu(side_bend - math.sin(math.radians(35))) ** 2).mean() / s10 ** 2
    chest_forward = _unit(torch.cross(shoulder_line + hip_line, trunk, dim=-1))
    ears = (joints[:, JI["left_ear"]] + joints[:, JI["right_ear"]]) / 2
    face = _unit(joints[:, JI["nose"]] - ears)
    look = (face * chest_forward).sum(-1)
    total = total + (torch.relu(math.cos(math.radians(100)) - look) ** 2).mean() / s10 ** 2
    return total


def foot_rigidity(joints, foot_length, sd_m: float = 0.01):
    """Heel-to-toe distance stays the foot's length (the foot is one rigid piece with the ankle)."""
    import torch
    total = joints.sum() * 0
    for side in ("left", "right"):
        d = torch.linalg.norm(joints[:, _L[side]["toe"]] - joints[:, _L[side]["heel"]], dim=-1)
        total = total + ((d - foot_length) ** 2).mean() / sd_m ** 2
    return total / 2


def prior_log(value, mean, sd):
    """((value - mean) / sd)^2 of a scalar tensor."""
    return ((value - mean) / sd) ** 2
