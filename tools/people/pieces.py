"""Posing one clip in pieces, one per core: the person search and the pose pass split in time.

A clip of T frames is cut into `workers` consecutive pieces (each at least
`min_piece_s` long, so a short clip stays whole). Each piece runs in its own
thread with its own decoder (tools.video.clip.decode_ahead over its frame
range), its own MediaPipe graphs and its own identity check; PyAV, OpenCV and
MediaPipe release the interpreter lock while they work, so the pieces run on
separate cores. Pieces never share a graph (MediaPipe graphs are not
thread-safe).

Seams: a video-mode graph tracks from frame to frame and smooths landmarks
over time, so a piece's graph starts `warmup_s` (1 s) before its first frame
and those warm-up frames are posed but not kept, and each seam is moved to
where the athlete moves least (their keyframe keypoints from the person
search): by the seam the graph tracks the athlete and its smoothing filter has
settled. That is not enough on every clip: on a rendered shoulder-mobility
clip seen from behind (124 frames, one seam), the second piece's hands stayed
up to 82 px from the one-pass result for ~2 s after the seam, and further
from the rendered truth (arm joints 35.8 px mean error vs 29.2 px in one
pass): MediaPipe's tracking is path-dependent where the view is ambiguous.
So by default only the person search runs in pieces (keyframes stand alone:
identical detections); the pose pass runs in pieces only with
`pose_in_pieces=True` (about 1.9x faster on two idle cores, at that cost). The identity check runs through the warm-up too (its counts start
at the seam). The person search needs no warm-up (each keyframe stands alone).
Merged results: keypoints by frame, counts summed, frames left out concatenated.
"""
from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from tools.core.progress import with_context
from tools.people.follow import AthleteFollower, FollowStats
from tools.pose.backends import PoseResult, empty_arrays

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PieceConfig:
    """How a clip is split across cores (seconds; workers None = the machine's cores, at most 4)."""

    workers: int | None = None
    min_piece_s: float = 2.0
    warmup_s: float = 1.0
    pose_in_pieces: bool = False     # the pose pass too (off: see the module docstring, "Seams")

    def n_workers(self) -> int:
        return max(1, int(self.workers if self.workers is not None else min(4, os.cpu_count() or 1)))

    def pose_pieces(self, n_frames: int, fps: float, motion: np.ndarray | None = None) -> list[Piece]:
        """The pieces of the pose pass: one (the whole clip) unless pose_in_pieces."""
        if not self.pose_in_pieces:
            return [Piece(0, None, 0)]
        return split_clip(n_frames, fps, self, motion)


@dataclass(frozen=True)
class Piece:
    """Frames [start, stop) of the clip, posed from `warm_start` (frames before `start` only warm the graph)."""

    start: int
    stop: int | None          # None: to the end of the clip
    warm_start: int


def split_clip(n_frames: int, fps: float, config: PieceConfig | None = None,
               motion: np.ndarray | None = None) -> list[Piece]:
    """Consecutive pieces covering frames 0..n_frames-1 (the last one open-ended: the header's frame count
    may be a frame or two off). With `motion` (float[T], the athlete's movement per frame; NaN = unknown)
    each seam moves, within a quarter piece of the even cut, to where the athlete moves least, so that
    no graph starts in the middle of a fast movement."""
    cfg = config or PieceConfig()
    n = max(1, min(cfg.n_workers(), int(n_frames // max(1.0, cfg.min_piece_s * fps))))
    edges = [int(round(k * n_frames / n)) for k in range(n + 1)]
    if motion is not None and n > 1:
        m = np.asarray(motion, dtype=np.float64)
        reach = max(1, n_frames // (4 * n))
        for k in range(1, n):
            lo, hi = max(1, edges[k] - reach), min(len(m) - 1, edges[k] + reach)
            window = m[lo:hi + 1]
            if hi > lo and np.isfinite(window).any():
                edges[k] = lo + int(np.nanargmin(window))
    warm = int(round(cfg.warmup_s * fps))
    return [Piece(edges[k], edges[k + 1] if k + 1 < n else None, max(0, edges[k] - warm)) for k in range(n)]


def movement_per_frame(frames: list[int], uv: list, conf: list, n_frames: int, body_height_px: float,
                       min_conf: float = 0.5) -> np.ndarray:
    """float[T]: how fast the athlete moves around each frame, from their keyframe keypoints: the median
    joint displacement between consecutive keyframes (joints seen on both), in body heights per frame,
    spread over the frames between them; NaN where unknown."""
    out = np.full(n_frames, np.nan)
    for i in range(len(frames) - 1):
        a, b = frames[i], frames[i + 1]
        if uv[i] is None or uv[i + 1] is None or b <= a:
            continue
        seen = (np.asarray(conf[i]) >= min_conf) & (np.asarray(conf[i + 1]) >= min_conf)
        if seen.sum() < 4:
            continue
        step = np.linalg.norm(np.asarray(uv[i + 1])[seen] - np.asarray(uv[i])[seen], axis=-1)
        out[a:min(b + 1, n_frames)] = float(np.median(step)) / max(body_height_px, 1.0) / (b - a)
    return out


def run_pieces(work, pieces: list[Piece]) -> list:
    """`work(piece)` for every piece, in parallel threads (inline for one piece); results in piece order."""
    if len(pieces) == 1:
        return [work(pieces[0])]
    with ThreadPoolExecutor(max_workers=len(pieces), thread_name_prefix="pose piece") as pool:
        return list(pool.map(with_context(work), pieces))   # progress reports reach the caller's listener


def pose_whole_frames(clip, backend, pieces: list[Piece]) -> PoseResult:
    """The backend's video mode on the whole frame, piece by piece in parallel (tools.pose: one stream each)."""
    def work(piece: Piece):
        rows: list = []
        image_size = None
        with clip.open(start=piece.warm_start, stop=piece.stop) as frames, backend.open_stream(clip.fps) as stream:
            for k, frame in enumerate(frames, start=piece.warm_start):
                image_size = (frame.shape[1], frame.shape[0])
                found = stream.process(np.ascontiguousarray(frame), k)
                if k >= piece.start:
                    rows.append(found)
        return rows, image_size

    parts = run_pieces(work, pieces)
    rows = [r for part, _ in parts for r in part]
    image_size = next((size for _, size in parts if size is not None), (0, 0))
    uv, conf, world = empty_arrays(len(rows), with_world=True)
    for t, found in enumerate(rows):
        if found is not None:
            uv[t], conf[t], w = found
            if w is not None:
                world[t] = w
    return PoseResult(uv=uv, conf=conf, world_xyz=world, image_size=image_size, fps=clip.fps, meta=backend.meta())


def follow_athlete(clip, backend, athlete_boxes: np.ndarray, other_boxes: np.ndarray, body_height_px: float,
                   config, pieces: list[Piece], make_detector) -> tuple[np.ndarray, np.ndarray, np.ndarray, FollowStats]:
    """tools.people.follow.AthleteFollower piece by piece in parallel; `make_detector()` builds each piece's
    re-check detector (a context manager). Returns uv [T, 23, 2], conf [T, 23], world [T, 23, 3], FollowStats."""
    n = len(athlete_boxes)

    def work(piece: Piece):
        stop = n if piece.stop is None else piece.stop
        with make_detector() as rechecker, clip.open(start=piece.warm_start, stop=stop) as frames:
            follower = AthleteFollower(backend, athlete_boxes, other_boxes, clip.fps, body_height_px,
                                       detector=rechecker, config=config)
            uv, conf, world, _ = follower.run(frames, first_frame=piece.warm_start, count_from=piece.start)
        return piece, stop, uv, conf, world, follower.stats

    uv, conf, world = empty_arrays(n, with_world=True)
    stats = []
    for piece, stop, p_uv, p_conf, p_world, p_stats in run_pieces(work, pieces):
        uv[piece.start:stop], conf[piece.start:stop], world[piece.start:stop] = \
            p_uv[piece.start:stop], p_conf[piece.start:stop], p_world[piece.start:stop]
        stats.append(p_stats)
    return uv, conf, world, FollowStats.combined(stats)
