"""Shared geometry of the measurements: vector helpers, the start of the clip, and the athlete's axes and floor
fixed from the start position (conventions: tools.geometry.angles)."""
from __future__ import annotations

from typing import Callable

import numpy as np

from tools.core.skeleton import Skeleton


UP = np.array([0.0, 1.0, 0.0])


def _angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle between vectors a and b ([T,3]) in degrees; NaN where either is missing/zero."""
    na = np.linalg.norm(a, axis=-1)
    nb = np.linalg.norm(b, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = np.sum(a * b, axis=-1) / (na * nb)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def _joint_angle_deg(s: Skeleton, a: str, vertex: str, c: str) -> np.ndarray:
    v = s.joint(vertex)
    return _angle_deg(s.joint(a) - v, s.joint(c) - v)


def _mid(s: Skeleton, a: str, b: str) -> np.ndarray:
    return (s.joint(a) + s.joint(b)) / 2.0


def _horizontal(v: np.ndarray) -> np.ndarray:
    out = v.copy()
    out[..., 1] = 0.0
    return out


def _unit(v: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _nanmedian_rows(v: np.ndarray) -> np.ndarray:
    """Median direction over the clip ([T,3] -> [3]); NaN rows ignored."""
    return np.nanmedian(v, axis=0) if np.isfinite(v).any() else np.full(3, np.nan)


def _start_frames(s: Skeleton, seconds: float = 0.3) -> slice:
    return slice(0, max(1, int(round(seconds * s.fps))))


def _line_tilt(left: str, right: str) -> Callable[[Skeleton], np.ndarray]:
    def f(s: Skeleton) -> np.ndarray:
        v = s.joint(left) - s.joint(right)
        horiz = np.linalg.norm(_horizontal(v), axis=-1)
        return np.degrees(np.arctan2(v[:, 1], horiz))
    return f


def _lateral0(s: Skeleton) -> np.ndarray:
    """The athlete's left, horizontal unit [3], from the shoulder and hip lines at the start (median).

    The two lines are summed (the longer shoulder line weighs more), which halves the
    direction error a single hip line has from pose noise.
    """
    v = _horizontal((s.joint("left_hip") - s.joint("right_hip")) + (s.joint("left_shoulder") - s.joint("right_shoulder")))
    start = _nanmedian_rows(v[_start_frames(s)])
    if not np.isfinite(start).all():
        start = _nanmedian_rows(v)
    return _unit(start)


def _forward0(s: Skeleton) -> np.ndarray:
    """The direction the athlete faces at the start, horizontal unit [3] (left x up)."""
    return _unit(np.cross(_lateral0(s), UP))


def _start_median(values: np.ndarray, s: Skeleton) -> np.ndarray:
    """Median of a [T] or [T,3] series over the start frames (whole clip if the start is unseen)."""
    start = values[_start_frames(s)]
    ok = np.isfinite(start) if start.ndim == 1 else np.isfinite(start).all(axis=-1)
    pool = start if ok.any() else values
    return np.nanmedian(pool, axis=0)


def _floor_y(s: Skeleton) -> float:
    """Floor height: mean of the three lowest joints at the start (median over the start frames).

    Standing those are heels and toes; lying or kneeling hands, heels or knees. Joint
    centres sit a centimetre or two above the surface they rest on.
    """
    y = np.where(np.isfinite(s.xyz[:, :, 1]), s.xyz[:, :, 1], np.inf)
    lowest = np.sort(y, axis=1)[:, :3]
    low = np.where(np.isfinite(lowest).all(axis=1), lowest.mean(axis=1), np.nan)
    return float(_start_median(low, s))


def _outward(side: str) -> float:
    """+1 when the athlete's left (+lateral) is outward for this side's limb, -1 for the right."""
    return 1.0 if side == "left" else -1.0


def foot_low_point(s: Skeleton, side: str) -> np.ndarray:
    """[T] height of the lowest of heel and toe (the sole) of one foot."""
    return np.fmin(s.joint(f"{side}_heel")[:, 1], s.joint(f"{side}_toe")[:, 1])


def _sagittal_lean_deg(v: np.ndarray, fwd: np.ndarray) -> np.ndarray:
    """Angle of v from vertical within the sagittal plane (forward component vs up); + = top forward."""
    return np.degrees(np.arctan2(np.sum(v * fwd, axis=-1), v[:, 1]))


def _body_axis0(s: Skeleton) -> np.ndarray:
    """Caudal long axis of a lying body at the start: mid-shoulder -> mid-hip, horizontal unit [3]."""
    v = _horizontal(_mid(s, "left_hip", "right_hip") - _mid(s, "left_shoulder", "right_shoulder"))
    return _unit(_start_median(v, s))
