"""The camera of one clip: intrinsics (from metadata or a phone prior) and its pose above the floor.

Intrinsics. A pinhole with square pixels and the principal point at the image
centre; only the focal length (pixels) is estimated:
  1. metadata: the container's 35 mm-equivalent focal length (QuickTime
     `com.apple.quicktime.camera.focal_length.35mm_equivalent`, or the
     `FocalLengthIn35mmFormat` an Android recorder writes), converted on the
     image diagonal: f_px = f_35mm / 43.27 mm x diagonal_px (43.27 mm is the
     diagonal of the 36 x 24 mm frame the equivalence refers to). Source
     "metadata"; the fit keeps it within a few percent (prior sd 3 %).
  2. else the phone prior: recent phone main cameras filming video have a
     horizontal field of view of about 70-74 deg, i.e. f = 0.67-0.71 x the
     image's long side; we take 0.69 (PHONE_FOCAL_PRIOR) with a prior sd of
     25 % in the fit, which refines it where the clip allows (perspective of
     the body at different depths). Source "phone prior".

Pose. World frame of the fitted skeleton: metres, right-handed, y up against
gravity, the floor at y = 0, x the camera's right projected on the floor, z
towards the camera along the floor; the camera's centre is at (0, h, 0) with
h the lens height above the floor. Camera axes (OpenCV): x right, y down, z
forward. X_cam = R (X_world - C), R = R_roll(roll) @ R_pitch(pitch) @ diag(1, -1, -1):
  pitch_deg > 0: the camera looks down (the horizon is above the image centre);
  roll_deg > 0: the image is turned clockwise relative to the horizon (the
  horizon line falls to the right).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

PHONE_FOCAL_PRIOR = 0.69              # focal length / long image side for a phone main camera in video mode
PHONE_FOCAL_RANGE = (0.67, 0.71)
FOCAL_PRIOR_SD_LOG = 0.25             # sd of log(focal) around the phone prior
METADATA_FOCAL_SD_LOG = 0.03          # sd of log(focal) around a metadata focal length
FULL_FRAME_DIAGONAL_MM = 43.27        # diagonal of the 36 x 24 mm frame that "35 mm equivalent" refers to


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics of one clip (pixels of the upright frame)."""

    focal_px: float
    width: int
    height: int
    source: str                       # "metadata", "phone prior", "given" or "fit (from ...)"
    prior_sd_log: float = FOCAL_PRIOR_SD_LOG
    focal_35mm: float | None = None
    lens_model: str | None = None

    @property
    def cx(self) -> float:
        return self.width / 2.0

    @property
    def cy(self) -> float:
        return self.height / 2.0

    @property
    def hfov_deg(self) -> float:
        return math.degrees(2 * math.atan(self.width / (2 * self.focal_px)))

    def to_dict(self) -> dict:
        d = asdict(self)
        d.update(focal_px=round(self.focal_px, 2), hfov_deg=round(self.hfov_deg, 2),
                 focal_over_long_side=round(self.focal_px / max(self.width, self.height), 4))
        return d


def intrinsics_for(image_size: tuple[int, int], metadata: dict | None = None,
                   focal_px: float | None = None) -> Intrinsics:
    """Intrinsics from a given focal length, else the clip's metadata, else the phone prior (module docstring)."""
    width, height = int(image_size[0]), int(image_size[1])
    long_side = max(width, height)
    meta = metadata or {}
    lens = meta.get("lens_model")
    if focal_px is not None and focal_px > 0:
        return Intrinsics(float(focal_px), width, height, "given", METADATA_FOCAL_SD_LOG, lens_model=lens)
    f35 = meta.get("focal_length_35mm")
    if f35 is not None:
        try:
            f35 = float(f35)
        except (TypeError, ValueError):
            f35 = None
    if f35 is not None and 8.0 <= f35 <= 300.0:
        diagonal = math.hypot(width, height)
        return Intrinsics(f35 / FULL_FRAME_DIAGONAL_MM * diagonal, width, height, "metadata", METADATA_FOCAL_SD_LOG,
                          focal_35mm=f35, lens_model=lens)
    return Intrinsics(PHONE_FOCAL_PRIOR * long_side, width, height, "phone prior", FOCAL_PRIOR_SD_LOG, lens_model=lens)


def rotation_world_to_camera(pitch_rad: float, roll_rad: float) -> np.ndarray:
    """R [3, 3] with X_cam = R (X_world - C) (module docstring conventions)."""
    cp, sp, cr, sr = math.cos(pitch_rad), math.sin(pitch_rad), math.cos(roll_rad), math.sin(roll_rad)
    r_pitch = np.array([[1.0, 0, 0], [0, cp, -sp], [0, sp, cp]])
    r_roll = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1.0]])
    return r_roll @ r_pitch @ np.diag([1.0, -1.0, -1.0])


def rotation_torch(pitch, roll):
    """Torch version of rotation_world_to_camera (differentiable in pitch and roll, radians)."""
    import torch
    one, zero = torch.ones_like(pitch), torch.zeros_like(pitch)
    cp, sp, cr, sr = torch.cos(pitch), torch.sin(pitch), torch.cos(roll), torch.sin(roll)
    r_pitch = torch.stack([torch.stack([one, zero, zero]), torch.stack([zero, cp, -sp]),
                           torch.stack([zero, sp, cp])])
    r_roll = torch.stack([torch.stack([cr, -sr, zero]), torch.stack([sr, cr, zero]),
                          torch.stack([zero, zero, one])])
    flip = torch.diag(torch.tensor([1.0, -1.0, -1.0], dtype=pitch.dtype))
    return r_roll @ r_pitch @ flip


def project(points_world: np.ndarray, intr: Intrinsics, pitch_rad: float, roll_rad: float,
            height_m: float) -> np.ndarray:
    """Pixels [..., 2] of world points [..., 3] (numpy)."""
    r = rotation_world_to_camera(pitch_rad, roll_rad)
    pc = (np.asarray(points_world) - np.array([0.0, height_m, 0.0])) @ r.T
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.stack([intr.focal_px * pc[..., 0] / pc[..., 2] + intr.cx,
                         intr.focal_px * pc[..., 1] / pc[..., 2] + intr.cy], axis=-1)


def horizon_line(intr: Intrinsics, pitch_rad: float, roll_rad: float) -> tuple[np.ndarray, np.ndarray]:
    """Two image points (px) on the horizon (the vanishing line of the floor), at the image's left and right edges."""
    r = rotation_world_to_camera(pitch_rad, roll_rad)
    pts = []
    for x in (-1.0, 1.0):
        # far points on the floor's horizontal directions: camera forward +- sideways, at camera height
        d = r @ np.array([x * 0.5, 0.0, -1.0])
        pts.append([intr.focal_px * d[0] / d[2] + intr.cx, intr.focal_px * d[1] / d[2] + intr.cy])
    a, b = np.array(pts[0]), np.array(pts[1])
    if abs(b[0] - a[0]) < 1e-9:
        return a, b
    slope = (b[1] - a[1]) / (b[0] - a[0])
    left = np.array([0.0, a[1] + slope * (0.0 - a[0])])
    right = np.array([float(intr.width), a[1] + slope * (intr.width - a[0])])
    return left, right
