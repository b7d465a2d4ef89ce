"""Pose keypoints -> the canonical metric Skeleton (metres, y up).

Canonical frame (tools.core.skeleton): right-handed, metres, camera-aligned:
  x  to the camera's right (image right)
  y  up (against gravity for a level camera)
  z  towards the camera
Left/right joints are the athlete's own: an athlete facing the camera has
their left shoulder on the image right, so at larger x.

Two routes:
1. Backend world coordinates (MediaPipe world landmarks: metres, origin at the
   hip centre, x image-right, y DOWN, z away from the camera). Converted by a
   180 degree rotation about x: (x, y, z) -> (x, -y, -z), which keeps the frame
   right-handed. MediaPipe re-centres every frame on the hips, which hides the
   body's own travel (the hips dropping in a squat). With `root_from_image`
   (default) that travel is put back from the image: the hip centre's pixel
   displacement from its clip median, scaled to metres by the clip's own
   metres-per-pixel ratio (world leg+trunk length over its least
   foreshortened pixel length), x right and y up; depth travel is not recovered (meta says so).
   meta["measurement_plane"] = "3d".
2. 2D-only backends (YOLO): xyz from the image plane: x = (u - u0) * s,
   y = -(v - v0) * s, z = 0, origin (u0, v0) the clip-median hip centre, and
   s metres per pixel from an assumed standing height (default 1.70 m): ankle-
   knee-hip-shoulder length is 0.779 of standing height (Winter), taken on the
   95th percentile of each segment's pixel length over the clip (projection
   only shortens segments). meta["measurement_plane"] = "image": every
   measurement downstream is a 2D projection and must say so.
Frames or joints with no detection are NaN with conf 0.
"""
from __future__ import annotations

import logging

import numpy as np

from tools.core.errors import InputError
from tools.pose.backends import PoseResult
from tools.core.skeleton import JOINT_INDEX, Skeleton

log = logging.getLogger(__name__)

DEFAULT_STANDING_HEIGHT_M = 1.70
# Ankle->knee + knee->hip + hip->shoulder as a share of standing height (Winter 2009, segment heights
# 0.039, 0.285, 0.530, 0.818 of H): 0.246 + 0.245 + 0.288.
LEG_TRUNK_SHARE_OF_HEIGHT = 0.779
_CHAIN = (("ankle", "knee"), ("knee", "hip"), ("hip", "shoulder"))
MEDIAPIPE_WORLD_TO_CANONICAL = np.diag([1.0, -1.0, -1.0]).astype(np.float32)  # rotation, det = +1
# Backend name -> rotation from its world frame to the canonical one (a backend with world
# coordinates must be listed here: a silent wrong axis would flip every angle).
WORLD_TO_CANONICAL: dict[str, np.ndarray] = {"mediapipe": MEDIAPIPE_WORLD_TO_CANONICAL}


def to_skeleton(pose: PoseResult, source_meta: dict | None = None, *, standing_height_m: float | None = None,
                root_from_image: bool = True, min_conf: float = 0.0) -> Skeleton:
    """Canonical Skeleton from a PoseResult (see module docstring for the two routes).

    `standing_height_m` scales image-plane skeletons (default 1.70 m); `min_conf`
    turns joints with lower confidence into NaN (default: keep all detected joints,
    conf says how sure they are). `source_meta` (video path, hash, ...) is merged
    into the skeleton's meta.
    """
    if pose.n_frames == 0:
        raise InputError("the pose result has no frames; check the video decodes (formscout screen CLIP)")
    conf = pose.conf.copy()
    missing = (conf <= min_conf) | (conf <= 0) | ~np.isfinite(pose.uv).all(axis=-1)
    conf[missing] = 0.0
    uv = pose.uv.copy()
    uv[missing] = np.nan

    meta = dict(source_meta or {})
    meta.update(pose=dict(pose.meta), backend=pose.meta.get("backend"),
                backend_version=pose.meta.get("backend_version"),
                axes="x camera-right, y up, z towards camera; metres; right-handed")
    if pose.world_xyz is not None:
        backend = str(pose.meta.get("backend"))
        if backend not in WORLD_TO_CANONICAL:
            raise ValueError(f"no world-frame conversion known for pose backend {backend!r}; "
                             "add it to tools.geometry.lift3d.WORLD_TO_CANONICAL")
        xyz = pose.world_xyz @ WORLD_TO_CANONICAL[backend].T
        xyz[missing] = np.nan
        meta.update(measurement_plane="3d", world_source=f"{pose.meta.get('backend')} world landmarks",
                    origin="hip centre of each frame")
        if root_from_image:
            scale = _world_m_per_px(xyz, uv)
            if np.isfinite(scale):
                xyz += _root_offset(uv, scale)[:, None, :]
                meta.update(origin="clip-median hip centre; root travel from the image plane (no depth travel)",
                            root_m_per_px=round(float(scale), 9))
            else:
                log.warning("lift3d: no frame with both world and image legs; root travel not restored")
    else:
        height = DEFAULT_STANDING_HEIGHT_M if standing_height_m is None else float(standing_height_m)
        if not 0.5 <= height <= 2.5:
            raise InputError(f"standing height {height} m is implausible; give the athlete's height in metres")
        scale = _image_m_per_px(uv, height)
        if not np.isfinite(scale):
            log.warning("lift3d: legs and trunk never seen together; image-plane skeleton left unscaled (NaN)")
        xyz = np.zeros(uv.shape[:2] + (3,), dtype=np.float32)
        xyz[..., :2] = _image_xy(uv) * scale
        xyz[missing] = np.nan
        meta.update(measurement_plane="image", origin="clip-median hip centre, z = 0 (image plane)",
                    assumed_standing_height_m=height, m_per_px=None if not np.isfinite(scale) else round(scale, 9),
                    note="2D backend: distances and angles are projections onto the image plane")
    log.info("lift3d: %d frames, measurement plane %s, backend %s", pose.n_frames, meta["measurement_plane"],
             meta["backend"])
    return Skeleton(xyz=xyz.astype(np.float32), conf=conf, fps=pose.fps, uv=uv,
                    image_size=pose.image_size, meta=meta)


def _hip_centre(a: np.ndarray) -> np.ndarray:
    return (a[:, JOINT_INDEX["left_hip"]] + a[:, JOINT_INDEX["right_hip"]]) / 2


def _image_xy(uv: np.ndarray) -> np.ndarray:
    """[T, J, 2] pixels -> x right / y up pixels around the clip-median hip centre."""
    hips = _hip_centre(uv)
    origin = np.nanmedian(hips, axis=0) if np.isfinite(hips).any() else np.zeros(2)
    xy = uv - origin
    xy[..., 1] *= -1
    return xy


def _chain_lengths(a: np.ndarray) -> np.ndarray:
    """[T, 6] lengths of ankle-knee, knee-hip, hip-shoulder, left then right (NaN where unseen)."""
    out = []
    for side in ("left", "right"):
        for lo, hi in _CHAIN:
            d = a[:, JOINT_INDEX[f"{side}_{lo}"]] - a[:, JOINT_INDEX[f"{side}_{hi}"]]
            out.append(np.linalg.norm(d, axis=-1))
    return np.stack(out, axis=1)


def _image_m_per_px(uv: np.ndarray, height_m: float) -> float:
    seg = _chain_lengths(uv)
    if not np.isfinite(seg).any(axis=0).all():
        return float("nan")
    per_segment = np.nanpercentile(seg, 95, axis=0)  # [6]
    chain_px = float((per_segment[:3].sum() + per_segment[3:].sum()) / 2)  # one side's chain, mean of L and R
    return LEG_TRUNK_SHARE_OF_HEIGHT * height_m / chain_px if chain_px > 0 else float("nan")


def _world_m_per_px(xyz: np.ndarray, uv: np.ndarray) -> float:
    """Metres per pixel: world leg+trunk length over its least-foreshortened pixel length.

    Per segment, the clip median of the world length over the 95th percentile
    of the pixel length (projection only shortens a segment), summed over the
    ankle-knee-hip-shoulder chain of both sides.
    """
    world, pixels = _chain_lengths(xyz), _chain_lengths(uv)
    if not (np.isfinite(world).any(axis=0).all() and np.isfinite(pixels).any(axis=0).all()):
        return float("nan")
    px = float(np.nanpercentile(pixels, 95, axis=0).sum())
    return float(np.nanmedian(world, axis=0).sum()) / px if px > 0 else float("nan")


def _root_offset(uv: np.ndarray, scale: float) -> np.ndarray:
    """[T, 3] hip-centre travel in metres (x right, y up, z 0) relative to its clip median.

    Frames where the hips themselves are unseen get the travel interpolated from
    their neighbours, so their other joints are kept.
    """
    hips = _hip_centre(uv)
    seen = np.isfinite(hips).all(axis=1)
    if seen.any() and not seen.all():
        t = np.arange(len(hips))
        hips = np.stack([np.interp(t, t[seen], hips[seen, c]) for c in range(2)], axis=1)
    origin = np.nanmedian(hips, axis=0) if seen.any() else np.zeros(2)
    d = (hips - origin) * scale
    out = np.zeros((uv.shape[0], 3), dtype=np.float32)
    out[:, 0] = d[:, 0]
    out[:, 1] = -d[:, 1]
    return out
