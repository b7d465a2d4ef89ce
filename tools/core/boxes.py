"""Box geometry, defined once: every person box, crop window and mask box in FormScout uses these.

Boxes are xyxy pixels of the upright frame: (x0, y0, x1, y1), x to the right,
y down, x1 >= x0 and y1 >= y0. A box drawn by a user arrives as xywh (left,
top, width, height) and is converted with `xywh_to_xyxy`. A box around a mask
uses pixel edges (x1 = last column + 1), so a one-pixel mask has area 1.
NaN marks "no box" (a person absent on that frame); the pairwise functions
treat a NaN box as empty (IoU 0).
"""
from __future__ import annotations

import numpy as np


def box_area(boxes: np.ndarray) -> np.ndarray:
    """[..., 4] xyxy -> [...] area in px^2 (0 for degenerate boxes)."""
    b = np.asarray(boxes, dtype=np.float64)
    return np.clip(b[..., 2] - b[..., 0], 0, None) * np.clip(b[..., 3] - b[..., 1], 0, None)


def box_intersection(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise intersection areas of boxes a [N, 4] and b [M, 4] -> [N, M] px^2."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)[:, None]
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)[None]
    w = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    h = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    return w * h


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise intersection over union of boxes a [N, 4] and b [M, 4] -> [N, M] in 0-1 (NaN boxes give 0)."""
    a = np.nan_to_num(np.asarray(a, dtype=np.float64).reshape(-1, 4))
    b = np.nan_to_num(np.asarray(b, dtype=np.float64).reshape(-1, 4))
    inter = box_intersection(a, b)
    union = box_area(a)[:, None] + box_area(b)[None] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def expand_box(box: np.ndarray, ratio: float, image_size: tuple[int, int] | None = None) -> np.ndarray:
    """The box grown by `ratio` x its height on every side (clipped to the image (w, h) when given)."""
    b = np.asarray(box, dtype=np.float64).copy()
    m = ratio * (b[3] - b[1])
    b += (-m, -m, m, m)
    if image_size is not None:
        b[[0, 2]] = np.clip(b[[0, 2]], 0, image_size[0])
        b[[1, 3]] = np.clip(b[[1, 3]], 0, image_size[1])
    return b


def union_box(boxes: np.ndarray) -> np.ndarray | None:
    """The smallest box holding every finite box of [N, 4] (None when there is none)."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    b = b[np.isfinite(b).all(axis=1)]
    if not len(b):
        return None
    return np.array([b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()])


def box_from_keypoints(uv: np.ndarray, conf: np.ndarray, min_conf: float = 0.3) -> np.ndarray | None:
    """xyxy extent of the keypoints seen with conf >= min_conf (uv [J, 2] px, conf [J]); None if fewer than 4."""
    ok = (np.asarray(conf) >= min_conf) & np.isfinite(uv).all(axis=-1)
    if ok.sum() < 4:
        return None
    pts = np.asarray(uv, dtype=np.float64)[ok]
    return np.concatenate([pts.min(axis=0), pts.max(axis=0)])


def xywh_to_xyxy(box_xywh) -> np.ndarray:
    """(left, top, width, height) px -> (x0, y0, x1, y1) px."""
    x, y, w, h = (float(v) for v in box_xywh)
    return np.array([x, y, x + w, y + h])


def mask_to_box(mask: np.ndarray) -> tuple[float, float, float, float] | None:
    """Tight box (x0, y0, x1, y1) px around a bool[H, W] mask, pixel edges (x1 = last column + 1); None if empty."""
    m = np.asarray(mask, dtype=bool)
    if m.ndim != 2:
        raise ValueError(f"mask must be 2-D [H, W], got shape {m.shape}")
    rows, cols = np.flatnonzero(m.any(axis=1)), np.flatnonzero(m.any(axis=0))
    if rows.size == 0:
        return None
    return float(cols[0]), float(rows[0]), float(cols[-1] + 1), float(rows[-1] + 1)
