"""Repair short left/right swaps: frames where the pose backend labelled the left limbs as the right ones.

Pose estimators (MediaPipe, COCO models) sometimes swap the athlete's left and
right joints for a few frames, most often when the body turns side-on. A swap
moves no joint far from where the other side's joint is, so the quality checks
(identity jumps) do not see it, but smoothing across it drags both limbs toward
each other for a whole smoothing window: the fists or feet of that window meet
in the middle, and a criterion read there (the smallest fist gap, the largest
toe shift) is wrong by a hand length or a stance width.

`repair_lr_swaps(skel)` compares every frame with the running median of its
neighbours (window +-`half_window_s`; a swap lasting less than half the window
is a minority in it): a frame whose mirrored labelling lies much closer to that
reference (summed over the bilateral joints: less than `max_cost_ratio` of the
unswapped distance and at least `min_gain_m` closer) is relabelled. Two passes,
so a burst next to another is caught once its neighbour is repaired. A swap
longer than the window cannot be told from the athlete's true left and right
and is left alone. Coordinates stay in metres; joints and conf move with their
labels (uv too, when present).
"""
from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import numpy as np

from tools.core.skeleton import JOINTS, MIRROR_INDEX, Skeleton

log = logging.getLogger(__name__)

BILATERAL_JOINTS = np.array([i for i, n in enumerate(JOINTS) if n.startswith(("left_", "right_"))])


@dataclass(frozen=True)
class SwapRepairConfig:
    """When a frame counts as swapped (metres summed over the bilateral joints; seconds)."""

    half_window_s: float = 0.25
    max_cost_ratio: float = 0.5
    min_gain_m: float = 0.10
    passes: int = 2


def swapped_frames(xyz: np.ndarray, fps: float, cfg: SwapRepairConfig = SwapRepairConfig()) -> np.ndarray:
    """bool[T]: frames whose left/right labelling is swapped relative to their neighbours. xyz [T, J, 3]."""
    T = xyz.shape[0]
    half = max(2, int(round(cfg.half_window_s * fps)))
    x = xyz.astype(np.float64)
    flags = np.zeros(T, bool)
    for _ in range(cfg.passes):
        current = np.where(flags[:, None, None], x[:, MIRROR_INDEX], x)
        padded = np.pad(current, ((half, half), (0, 0), (0, 0)), constant_values=np.nan)
        windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1, axis=0)   # [T, J, 3, W]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            ref = np.nanmedian(windows, axis=-1)                                            # [T, J, 3]
        keep = np.linalg.norm(x[:, BILATERAL_JOINTS] - ref[:, BILATERAL_JOINTS], axis=-1)
        swap = np.linalg.norm(x[:, MIRROR_INDEX][:, BILATERAL_JOINTS] - ref[:, BILATERAL_JOINTS], axis=-1)
        both = np.isfinite(keep) & np.isfinite(swap)
        keep_cost = np.where(both, keep, 0.0).sum(axis=1)
        swap_cost = np.where(both, swap, 0.0).sum(axis=1)
        enough = both.sum(axis=1) >= 4
        new = enough & (swap_cost < cfg.max_cost_ratio * keep_cost) & (keep_cost - swap_cost > cfg.min_gain_m)
        if np.array_equal(new, flags):
            break
        flags = new
    return flags


def repair_lr_swaps(skel: Skeleton, cfg: SwapRepairConfig = SwapRepairConfig()) -> tuple[Skeleton, list[int]]:
    """(skeleton with swapped frames relabelled, the frames repaired). The input is unchanged."""
    if skel.n_frames < 5:
        return skel.replace(), []
    flags = swapped_frames(skel.xyz, skel.fps, cfg)
    frames = [int(t) for t in np.flatnonzero(flags)]
    if not frames:
        return skel.replace(), []
    xyz, conf = skel.xyz.copy(), skel.conf.copy()
    xyz[flags] = skel.xyz[flags][:, MIRROR_INDEX]
    conf[flags] = skel.conf[flags][:, MIRROR_INDEX]
    uv = None
    if skel.uv is not None:
        uv = skel.uv.copy()
        uv[flags] = skel.uv[flags][:, MIRROR_INDEX]
    log.info("left/right swap repaired in %d frame(s) (first %s)", len(frames), frames[:5])
    return skel.replace(xyz=xyz, conf=conf, uv=uv), frames
