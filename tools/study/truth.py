"""Measured vs true: compare a skeleton estimated from video with the ground-truth skeleton.

Used on rendered synthetic clips, where the true 3D skeleton is known. Both
skeletons are measured with tools.geometry.angles (same definitions), aligned in time
(resampled to the truth's frame rate), and compared per measurement: mean
absolute error over the frames where both are valid, and the error at the
bottom of the movement (deepest frame of the truth).
"""
from __future__ import annotations

import warnings

import numpy as np

from tools.geometry.angles import measure
from tools.core.skeleton import Skeleton

KEY_ANGLES = ("left_knee_flexion_deg", "right_knee_flexion_deg", "left_hip_flexion_deg",
              "right_hip_flexion_deg", "trunk_inclination_deg")


def bottom_frame(truth: Skeleton) -> int:
    """Deepest frame of the truth: lowest mid-hip height."""
    hip_y = (truth.joint("left_hip")[:, 1] + truth.joint("right_hip")[:, 1]) / 2
    return int(np.nanargmin(hip_y))


def compare(measured: Skeleton, truth: Skeleton, names: tuple[str, ...] = KEY_ANGLES) -> dict:
    """Per measurement: MAE over the clip and error at the truth's bottom frame, in the measure's unit."""
    if abs(measured.fps - truth.fps) > 1e-6 or measured.n_frames != truth.n_frames:
        measured = measured.resampled(truth.fps)
    n = min(measured.n_frames, truth.n_frames)
    m_series, t_series = measure(measured, list(names)), measure(truth, list(names))
    bottom = min(bottom_frame(truth), n - 1)
    out = {"bottom_frame": bottom, "frames_compared": n, "measures": {}}
    for name in names:
        mv, tv = m_series[name].values[:n], t_series[name].values[:n]
        ok = np.isfinite(mv) & np.isfinite(tv)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            out["measures"][name] = {
                "unit": m_series[name].unit,
                "mae": float(np.mean(np.abs(mv[ok] - tv[ok]))) if ok.any() else None,
                "valid_share": float(ok.mean()),
                "true_at_bottom": float(tv[bottom]) if np.isfinite(tv[bottom]) else None,
                "measured_at_bottom": float(mv[bottom]) if np.isfinite(mv[bottom]) else None,
            }
        e = out["measures"][name]
        e["error_at_bottom"] = (None if e["true_at_bottom"] is None or e["measured_at_bottom"] is None
                                else e["measured_at_bottom"] - e["true_at_bottom"])
    return out
