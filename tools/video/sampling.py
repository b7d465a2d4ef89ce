"""Which frames to look at: evenly spread keyframes, or every n-th frame (frame indices only, no decoding)."""
from __future__ import annotations


def spread_frame_indices(n_frames: int, n: int) -> list[int]:
    """`n` frame indices spread evenly over the clip: the middle frame of each of n equal parts."""
    if n_frames <= 0 or n <= 0:
        return []
    n = min(n, n_frames)
    return sorted({int((k + 0.5) * n_frames / n) for k in range(n)})


def periodic_frame_indices(n_frames: int, interval: int) -> list[int]:
    """Every `interval`-th frame from the first, plus the last frame (so the clip's end is always seen)."""
    idx = list(range(0, n_frames, max(1, interval)))
    if n_frames and idx[-1] != n_frames - 1:
        idx.append(n_frames - 1)
    return idx
