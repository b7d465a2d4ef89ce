"""Do two clips show the same movement, and how far apart in time did their recordings start?

A physio who films a repetition from the front and from the side with two phones
starts them by hand, so the clips are offset in time by up to a few seconds and
may differ in frame rate. `align_clips(a, b)` compares view-robust series of
the two fitted skeletons (knee and hip flexion, the mean of both sides so that
a left/right mix-up in one view does not matter; trunk inclination; pelvis
height; the wrists' height over the pelvis) resampled to one rate, and finds
the time offset at which the series that move in both clips correlate best
(Pearson r, each series weighted by how far it moves in the clip where it
moves less: a joint that barely moves in one view carries mostly that view's
measurement noise). The result says the lag (s: b's moment t shows what a
shows at t + lag, so + = b's recording started later into the movement), the
correlation at that lag and the overlap; below SAME_MOVEMENT_MIN_CORRELATION
the two clips are not taken as one movement.

What this can and cannot tell: FMS tests are mostly one smooth bend and
return, so clips of two different tests can correlate well too; the screening
step also runs test recognition on the second clip (agent/screening/steps.py
measure_second_view) for that. The same test's next repetition also moves
alike: this check tells "moving together", not "the same repetition".
Figures on rendered pairs in docs/BENCHMARKS.md (issue 16, two views).
"""
from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass

import numpy as np

from tools.core.skeleton import Skeleton

ALIGN_FPS = 15.0                 # both clips are compared at this rate (movement is far slower)
MIN_OVERLAP_SHARE = 0.5          # the aligned stretch must cover this share of the shorter clip
MIN_SIGNAL_SD = {"deg": 4.0, "m": 0.03}   # a series must move at least this much in both clips to count
SAME_MOVEMENT_MIN_CORRELATION = 0.5      # below this the two clips are not taken as one movement
CLEAR_MOVEMENT = {"deg": 20.0, "m": 0.1}  # a range this size weighs 1 in the correlation (WEIGHT_CAP at most)
WEIGHT_CAP = 3.0


@dataclass
class Alignment:
    """How clip b lines up with clip a."""

    lag_s: float | None            # b's time t shows what a shows at t + lag_s
    correlation: float | None      # mean Pearson r of the moving series at that lag (None: nothing moved)
    overlap_s: float               # length of the stretch both clips cover at that lag
    signals: list[str]             # the series compared
    same_movement: bool
    reason: str = ""               # why the clips are not taken as one movement ("" when they are)

    def to_dict(self) -> dict:
        d = asdict(self)
        for key in ("lag_s", "correlation", "overlap_s"):
            if d[key] is not None:
                d[key] = round(float(d[key]), 3)
        return d


def _series(skel: Skeleton) -> dict[str, tuple[np.ndarray, str]]:
    """The view-robust series of one clip at ALIGN_FPS: name -> (values, unit)."""
    from tools.geometry.angles import measure
    s = skel.resampled(ALIGN_FPS) if abs(skel.fps - ALIGN_FPS) > 1e-6 else skel
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        m = measure(s, ["left_knee_flexion_deg", "right_knee_flexion_deg", "left_hip_flexion_deg",
                        "right_hip_flexion_deg", "trunk_inclination_deg"])
        out = {"knee_flexion_deg": (np.nanmean([m["left_knee_flexion_deg"].values,
                                                m["right_knee_flexion_deg"].values], axis=0), "deg"),
               "hip_flexion_deg": (np.nanmean([m["left_hip_flexion_deg"].values,
                                               m["right_hip_flexion_deg"].values], axis=0), "deg"),
               "trunk_inclination_deg": (m["trunk_inclination_deg"].values, "deg")}
        pelvis = 0.5 * (s.joint("left_hip")[:, 1] + s.joint("right_hip")[:, 1])
        out["pelvis_height_m"] = (pelvis, "m")
        wrists = 0.5 * (s.joint("left_wrist")[:, 1] + s.joint("right_wrist")[:, 1])
        out["wrists_over_pelvis_m"] = (wrists - pelvis, "m")
    return out


def _range(values: np.ndarray) -> float:
    """The series' range, 5th to 95th percentile (one glitch does not set it)."""
    v = values[np.isfinite(values)]
    return float(np.percentile(v, 95) - np.percentile(v, 5)) if v.size >= 5 else 0.0


def _moves(values: np.ndarray, unit: str) -> bool:
    v = values[np.isfinite(values)]
    return v.size >= 5 and float(np.std(v)) >= MIN_SIGNAL_SD[unit]


def _corr_at(a: np.ndarray, b: np.ndarray, lag: int, min_overlap: int) -> float | None:
    """Pearson r of a[t + lag] against b[t] over the frames both have (None if too few)."""
    if lag >= 0:
        x, y = a[lag:], b[: max(0, len(a) - lag)]
    else:
        x, y = a[: len(a)], b[-lag:]
    n = min(len(x), len(y))
    x, y = x[:n], y[:n]
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < min_overlap:
        return None
    x, y = x[ok], y[ok]
    sx, sy = np.std(x), np.std(y)
    if sx < 1e-9 or sy < 1e-9:
        return None
    return float(np.mean((x - x.mean()) * (y - y.mean())) / (sx * sy))


def align_clips(a: Skeleton, b: Skeleton) -> Alignment:
    """The lag (s) at which clip b best matches clip a, and whether they show the same movement."""
    sa, sb = _series(a), _series(b)
    names = [n for n in sa if _moves(*sa[n]) and _moves(*sb[n])]
    n_short = min(len(next(iter(sa.values()))[0]), len(next(iter(sb.values()))[0]))
    min_overlap = max(5, int(MIN_OVERLAP_SHARE * n_short))
    if not names:
        return Alignment(None, None, 0.0, [], False,
                         "neither clip shows a joint moving enough to compare the two (knees, hips, trunk and "
                         "pelvis height all still in one of them)")
    # a series counts by how far it moves in the clip where it moves less (in units of a clear movement):
    # a joint that barely moves in one view carries mostly that view's measurement noise
    weights = {n: min(WEIGHT_CAP, min(_range(sa[n][0]), _range(sb[n][0])) / CLEAR_MOVEMENT[sa[n][1]]) for n in names}
    len_a, len_b = len(sa[names[0]][0]), len(sb[names[0]][0])
    best: tuple[float, int] | None = None
    for lag in range(-(len_b - 1), len_a):          # every offset (the overlap rule rejects the far ones)
        rs = [_corr_at(sa[n][0], sb[n][0], lag, min_overlap) for n in names]
        if any(r is None for r in rs):
            continue
        r = float(np.average(rs, weights=[weights[n] for n in names]))
        if best is None or r > best[0]:
            best = (r, lag)
    if best is None:
        return Alignment(None, None, 0.0, names, False,
                         f"the two clips never overlap for {100 * MIN_OVERLAP_SHARE:.0f}% of the shorter one "
                         "at any time offset")
    r, lag = best
    overlap = (min(len_a - max(lag, 0), len_b - max(-lag, 0))) / ALIGN_FPS
    same = r >= SAME_MOVEMENT_MIN_CORRELATION
    reason = "" if same else (f"the two clips do not move alike (best correlation {r:.2f} of "
                              f"{', '.join(names)} at a {lag / ALIGN_FPS:+.1f} s offset; two views of one "
                              f"repetition give {SAME_MOVEMENT_MIN_CORRELATION:.1f} or more)")
    return Alignment(lag / ALIGN_FPS, r, overlap, names, same, reason)
