"""Repetitions as excursions of a movement signal away from rest, with start, bottom and end frames.

The signal's activity (tools/geometry/repetitions/signals.py: 0 at rest, > 0 while moving) is
median-filtered over `smooth_s`; every run above the "on" level is the core of a movement, and
each core is widened to where the signal comes back to its local rest level (the median over the
rest just before it, and just after it, so a heel board or feet set a little apart between
repetitions do not move the boundaries). Cores whose widened spans meet, or come within
`merge_gap_s`, are one repetition: a dip in the middle of a repetition (the hurdle foot touching
down in front, the rotary stability draw-in) never splits it, while the return to rest between two
repetitions does, however long or short the pause.

Levels, in the signal's unit:
- on = max(the test's smallest movement, `on_share` x the clip's largest excursion);
- a repetition starts and ends where it is within max(`off_share` x its own peak, 1.5 x the rest
  wobble) of rest (the rest wobble: 90th percentile of the activity between repetitions).
A repetition reaching less than the test's `partial_below` share of the clip's largest excursion is
partial (aborted part-way; not for the tests whose amplitude is their score: a low leg raise or a
push-up that only lifts the chest is a repetition that scores low); shorter than `min_duration_s` it is dropped as a twitch. Frames outside the
test's posture (standing up between floor repetitions) never belong to a repetition.
A movement that runs into a change of posture (standing up from the floor, lying down) is a
posture change, not a repetition. Bottom = the middle of the frames within 5 % of the peak (the hold); hurdle step: the highest lift.
"""
from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy.ndimage import median_filter

from tools.core.skeleton import Skeleton
from tools.geometry.repetitions.signals import MovementSignal, movement_signal


@dataclass(frozen=True)
class SegmentConfig:
    """Segmentation settings (documented defaults; override with dataclasses.replace on a copy)."""

    on_share: float = 0.15
    off_share: float = 0.06
    merge_gap_s: float = 0.35
    min_duration_s: float = 0.6
    smooth_s: float = 0.2
    local_rest_s: float = 0.5
    wobble_clear_s: float = 1.2      # the rest wobble is read this far from every movement
    pad_s: float = 0.7               # rest kept before / after a repetition in its own slice (the rules read
                                     # the start pose from the first 0.3 s of a clip)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Repetition:
    """One repetition: frames of the clip (0-based), its excursion, and the slice that is scored."""

    index: int                       # 1-based
    start_frame: int                 # movement leaves rest
    bottom_frame: int                # deepest point (the hold)
    end_frame: int                   # back at rest
    slice_start: int                 # the repetition's own clip: [slice_start, slice_end)
    slice_end: int
    peak: float                      # excursion at the bottom, in the signal's unit
    share_of_largest: float          # peak / the clip's largest peak
    partial: bool
    side_hint: str | None = None     # L / R from the side hint series (bilateral tests)
    truncated: bool = False          # the clip starts or ends inside this repetition

    def to_dict(self, fps: float) -> dict:
        d = asdict(self)
        d.update(start_s=round(self.start_frame / fps, 3), bottom_s=round(self.bottom_frame / fps, 3),
                 end_s=round(self.end_frame / fps, 3), duration_s=round((self.end_frame - self.start_frame) / fps, 3),
                 peak=round(float(self.peak), 4), share_of_largest=round(float(self.share_of_largest), 3))
        return d


@dataclass
class Segmentation:
    """The repetitions found in one clip of one test, with what the segmentation read."""

    test: str
    signal: str
    signal_unit: str
    signal_description: str
    fps: float
    n_frames: int
    repetitions: list[Repetition]
    levels: dict                     # on / largest / rest wobble / smallest movement, signal units
    out_of_posture: list[tuple[int, int]] = field(default_factory=list)   # [start, end) frame runs
    posture_changes: list[tuple[int, int]] = field(default_factory=list)  # movements into / out of them
    leg_length_m: float = 0.0
    config: SegmentConfig = field(default_factory=SegmentConfig)

    @property
    def complete(self) -> list[Repetition]:
        return [r for r in self.repetitions if not r.partial]

    def to_dict(self) -> dict:
        return {
            "test": self.test, "signal": self.signal, "signal_unit": self.signal_unit,
            "signal_description": self.signal_description, "fps": self.fps, "n_frames": self.n_frames,
            "n_repetitions": len(self.repetitions), "n_complete": len(self.complete),
            "repetitions": [r.to_dict(self.fps) for r in self.repetitions],
            "levels": {k: round(float(v), 4) for k, v in self.levels.items()},
            "out_of_posture": [[int(a), int(b)] for a, b in self.out_of_posture],
            "posture_changes": [[int(a), int(b)] for a, b in self.posture_changes],
            "leg_length_m": round(float(self.leg_length_m), 4), "config": self.config.to_dict(),
            "method": "excursions of the test's movement signal from rest (hysteresis, local rest, merge)",
        }


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    padded = np.concatenate([[False], mask, [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]


def _oriented(sig: MovementSignal, values: np.ndarray, rest: float) -> np.ndarray:
    return (rest - values) if sig.spec.rest == "high" else (values - rest)


def _widen(sig: MovementSignal, smooth_raw: np.ndarray, act: np.ndarray, core: tuple[int, int], lo_limit: int,
           hi_limit: int, off: float, fps: float, cfg: SegmentConfig) -> tuple[int, int]:
    """Start and end of the movement around a core, against the local rest before and after it."""
    a, b = core
    start = a
    while start > lo_limit and act[start - 1] > off:
        start -= 1
    end = b
    while end < hi_limit and act[end] > off:
        end += 1
    n_rest = max(2, int(round(cfg.local_rest_s * fps)))
    peak_frame = a + int(np.argmax(act[a:b]))
    # the local rest level: the median just before / after, when the signal really rests there
    w0, w1 = slice(max(lo_limit, start - n_rest), start), slice(end, min(hi_limit, end + n_rest))
    before = smooth_raw[w0] if act[w0].size and np.median(act[w0]) <= off else np.zeros(0)
    after = smooth_raw[w1] if act[w1].size and np.median(act[w1]) <= off else np.zeros(0)
    peak = float(act[peak_frame])
    if before.size >= 2:
        local = _oriented(sig, smooth_raw, float(np.median(before)))
        s = peak_frame
        while s > lo_limit and local[s - 1] > off:
            s -= 1
        start = _settle(local, s, -1, lo_limit, hi_limit, peak, off)
    if after.size >= 2:
        local = _oriented(sig, smooth_raw, float(np.median(after)))
        e = peak_frame
        while e < hi_limit - 1 and local[e + 1] > off:
            e += 1
        end = _settle(local, e, +1, lo_limit, hi_limit, peak, off)
    return start, end


def _settle(local: np.ndarray, frame: int, step: int, lo: int, hi: int, peak: float, off: float) -> int:
    """From the threshold crossing, keep going while the signal still falls towards rest (the slow
    first and last part of a movement eases in and out below any threshold); stops at rest."""
    eps = 0.002 * peak
    f = frame
    while lo < f + step < hi and local[f + step] < local[f] - eps and local[f + step] > -off:
        f += step
    return f


def segment_signal(sig: MovementSignal, fps: float, config: SegmentConfig | None = None) -> Segmentation:
    """Repetitions in a movement signal (see the module docstring)."""
    cfg = config or SegmentConfig()
    T = len(sig.activity)
    k = max(1, int(round(cfg.smooth_s * fps))) | 1
    act = median_filter(sig.activity, size=k, mode="nearest")
    smooth_raw = median_filter(sig.raw, size=k, mode="nearest")
    largest = float(np.percentile(act, 99.5)) if T else 0.0
    on = max(sig.min_amplitude, cfg.on_share * largest)
    levels = {"smallest_movement": sig.min_amplitude, "on": on, "largest": largest}
    out_runs = _runs(~sig.in_posture)
    base = Segmentation(test=sig.spec.test, signal=sig.spec.name, signal_unit=sig.spec.unit,
                        signal_description=sig.spec.description, fps=fps, n_frames=T, repetitions=[],
                        levels={**levels, "rest_wobble": 0.0}, out_of_posture=out_runs,
                        leg_length_m=sig.leg_length_m, config=cfg)
    if largest < sig.min_amplitude:
        return base
    cores = [(a, b) for a, b in _runs(act > on)]
    near_core = np.zeros(T, bool)             # the rest wobble is read away from every movement
    reach = int(round(cfg.wobble_clear_s * fps))
    for a, b in cores:
        near_core[max(0, a - reach):b + reach] = True
    rest_act = act[~near_core & sig.in_posture]
    wobble = float(np.percentile(rest_act, 90)) if rest_act.size else 0.0
    base.levels["rest_wobble"] = wobble
    # posture runs bound every repetition
    posture_runs = _runs(sig.in_posture)
    spans: list[list[int]] = []
    transitions: list[tuple[int, int]] = []
    for a, b in cores:
        lo, hi = next(((p, q) for p, q in posture_runs if p <= a < q), (0, T))
        peak = float(act[a:b].max())
        off = max(cfg.off_share * peak, 1.5 * wobble)
        s, e = _widen(sig, smooth_raw, act, (a, b), lo, hi, off, fps, cfg)
        if (s <= lo and lo > 0 and act[lo] > off) or (e >= hi - 1 and hi < T and act[hi - 1] > off):
            transitions.append((s, e))        # runs into a change of posture: standing up / lying down
            continue
        gap = int(round(cfg.merge_gap_s * fps))
        if spans and s - spans[-1][1] <= gap and spans[-1][3] == lo:
            spans[-1][1] = max(spans[-1][1], e)
        else:
            spans.append([s, e, peak, lo])
    reps: list[Repetition] = []
    min_len = int(round(cfg.min_duration_s * fps))
    kept = [sp for sp in spans if sp[1] - sp[0] >= min_len]
    peaks = [float(act[s:e].max()) for s, e, _, _ in kept]
    top = max(peaks) if peaks else largest
    pad = int(round(cfg.pad_s * fps))
    for i, ((s, e, _, _), peak) in enumerate(zip(kept, peaks)):
        bottom = _bottom(sig, act, s, e)
        prev_end = kept[i - 1][1] if i > 0 else 0
        next_start = kept[i + 1][0] if i + 1 < len(kept) else T
        reps.append(Repetition(
            index=i + 1, start_frame=int(s), bottom_frame=int(bottom), end_frame=int(min(e, T - 1)),
            slice_start=int(max(prev_end, s - pad, 0)), slice_end=int(min(next_start, e + pad, T)),
            peak=peak, share_of_largest=peak / top if top > 0 else 0.0,
            partial=bool(sig.spec.partial_below is not None and peak < sig.spec.partial_below * top),
            side_hint=_side_hint(sig, s, e), truncated=bool(s == 0 or e >= T)))
    base.repetitions = reps
    base.posture_changes = transitions
    return base


def _bottom(sig: MovementSignal, act: np.ndarray, s: int, e: int) -> int:
    if sig.spec.test == "hurdle_step" and sig.sides:
        # the highest lift on the way over (the foot lifts as high again on the way back)
        lift = np.nan_to_num(np.fmax(sig.sides["L"][s:e], sig.sides["R"][s:e]), nan=-np.inf)
        if np.isfinite(lift).any():
            f = int(np.flatnonzero(lift >= 0.95 * lift.max())[0])
            while f + 1 < len(lift) and lift[f + 1] >= lift[f]:
                f += 1
            return s + f
    w = act[s:e]
    near = np.flatnonzero(w >= 0.95 * w.max())
    return s + int(round(0.5 * (near[0] + near[-1])))


def _side_hint(sig: MovementSignal, s: int, e: int) -> str | None:
    if not sig.spec.sided or not sig.sides:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        moved = {side: float(np.nanpercentile(v[s:e], 95)) if np.isfinite(v[s:e]).any() else -np.inf
                 for side, v in sig.sides.items()}
    best = max(moved, key=moved.get)
    if sig.spec.side_is_other:
        best = {"L": "R", "R": "L"}[best]
    return best


def segment_repetitions(skel: Skeleton, test: str, config: SegmentConfig | None = None) -> Segmentation:
    """The repetitions of `test` in a clip, from the skeleton's own movement signal."""
    return segment_signal(movement_signal(skel, test), skel.fps, config)
