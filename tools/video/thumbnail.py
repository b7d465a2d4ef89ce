"""A small picture of one moment of a clip: the video frame (or a grey canvas) with the skeleton and a caption.

Used for the split points of a whole-screen recording (the session report and
the app show where one test ends and the next begins). `frame` is a skeleton
frame; the video frame shown is the one at the same time
(video frame = round(frame / skeleton fps x video fps)). Without a video the
skeleton is drawn on the overlay's grey canvas (its uv when it has one, else a
front projection). A person filling less than half the picture is cropped to
(with half their size around them). The caption sits on a dark band at the top.
"""
from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

from tools.core.skeleton import Skeleton


def thumbnail(skel: Skeleton, frame: int, video_path: str | Path | None = None, caption: str = "",
              max_width_px: int = 360) -> np.ndarray:
    """RGB uint8 [H, W, 3] of skeleton `frame` (see the module docstring)."""
    from tools.video.overlay import CANVAS_RGB, _canvas_uv, draw_skeleton
    frame = int(np.clip(frame, 0, skel.n_frames - 1))
    if video_path is not None and skel.uv is not None:
        from tools.video.clip import probe_video, read_frame
        info = probe_video(video_path, min_duration_s=0.0, max_duration_s=math.inf, max_size_mb=math.inf)
        index = int(min(max(0, round(frame / skel.fps * info.fps)), max(0, info.n_frames - 1)))
        bg = read_frame(video_path, index)
        uv = skel.uv[frame]
        if skel.image_size and tuple(skel.image_size) != (bg.shape[1], bg.shape[0]):
            uv = uv * (np.asarray([bg.shape[1], bg.shape[0]], np.float32) / np.asarray(skel.image_size, np.float32))
    else:
        uv_all, (w, h) = _canvas_uv(skel)
        bg = np.empty((h, w, 3), np.uint8)
        bg[:] = CANVAS_RGB
        uv = uv_all[frame]
    img = _around_person(draw_skeleton(bg, uv, skel.conf[frame]), uv)
    if img.shape[1] != max_width_px:
        scale = max_width_px / img.shape[1]
        img = cv2.resize(img, (max_width_px, max(2, int(round(img.shape[0] * scale)))),
                         interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    if caption:
        band = max(16, img.shape[0] // 12)
        cv2.rectangle(img, (0, 0), (img.shape[1], band), (20, 20, 20), -1)
        fs = 0.4 * band / 16
        cv2.putText(img, caption, (4, int(band * 0.72)), cv2.FONT_HERSHEY_SIMPLEX, fs, (240, 240, 240),
                    max(1, round(fs * 1.5)), cv2.LINE_AA)
    return img


def _around_person(img: np.ndarray, uv: np.ndarray, margin: float = 0.5) -> np.ndarray:
    """The picture cropped to the person (their joints' box, `margin` of its size around it, the frame's
    aspect kept) when they fill less than half of it; else the whole picture."""
    ok = np.isfinite(uv).all(axis=1)
    if ok.sum() < 3:
        return img
    h, w = img.shape[:2]
    (x0, y0), (x1, y1) = uv[ok].min(axis=0), uv[ok].max(axis=0)
    bw, bh = (x1 - x0) * (1 + 2 * margin), (y1 - y0) * (1 + 2 * margin)
    if bw > 0.5 * w or bh > 0.5 * h:
        return img
    side_h = max(bh, bw * h / w, 0.25 * h)
    side_w = side_h * w / h
    cx, cy = 0.5 * (x0 + x1), 0.5 * (y0 + y1)
    a = int(np.clip(cx - side_w / 2, 0, max(0, w - side_w)))
    b = int(np.clip(cy - side_h / 2, 0, max(0, h - side_h)))
    return np.ascontiguousarray(img[b:b + int(side_h), a:a + int(side_w)])


def write_png(path: str | Path, rgb: np.ndarray) -> Path:
    """Write an RGB image as PNG (to a temporary name, then renamed)."""
    from tools.core.files import atomic_path
    path = Path(path)
    with atomic_path(path) as tmp:
        if not cv2.imwrite(str(tmp), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
            raise OSError(f"could not write {path}")
    return path
