"""Which camera view a clip was filmed from, estimated from the skeleton.

Uses the image coordinates when present (shoulder and hip width in pixels
relative to torso length: wide = front, narrow = side), otherwise the camera-
frame 3D hip line's angle to the image plane. Camera-independent (world-frame)
skeletons without uv give "unknown", and the rubric then judges every criterion.
"""
from __future__ import annotations

import numpy as np

from tools.core.skeleton import Skeleton

# width/torso ratio limits (shoulder+hip width over torso length, in the image)
FRONT_RATIO = 0.55
SIDE_RATIO = 0.25
VIEW_ALIASES = {"front": "front", "side": "side", "oblique": "oblique", "45": "oblique",
                "45deg": "oblique", "diagonal": "oblique"}


def estimate_view(skel: Skeleton) -> tuple[str, float | None]:
    """Return (view, width_to_torso_ratio) with view in front / side / oblique / unknown."""
    stated = VIEW_ALIASES.get(str(skel.meta.get("camera_view", "")).lower())
    if stated:
        return stated, None
    if skel.uv is None:
        return "unknown", None
    ls, rs, lh, rh = (skel.joint_uv(j) for j in ("left_shoulder", "right_shoulder", "left_hip", "right_hip"))
    width = (np.linalg.norm(ls - rs, axis=-1) + np.linalg.norm(lh - rh, axis=-1)) / 2
    torso = np.linalg.norm((ls + rs) / 2 - (lh + rh) / 2, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = width / torso
    ratio = ratio[np.isfinite(ratio)]
    if ratio.size == 0:
        return "unknown", None
    r = float(np.median(ratio))
    if r >= FRONT_RATIO:
        return "front", r
    if r <= SIDE_RATIO:
        return "side", r
    return "oblique", r
