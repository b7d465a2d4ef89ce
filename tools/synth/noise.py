"""Pose-estimator-like noise for synthetic skeletons, as named models: clean, realistic, hard,
monocular, biased, tracker.

What a camera + pose backend does to a perfect skeleton, modelled crudely:
- jitter: temporally correlated (AR(1), rho 0.6) Gaussian noise on xyz (metres) and uv (pixels);
  extremities (wrists, fists, heels, toes) get 1.5x;
- dropouts: runs of frames where a joint is missing (NaN, conf 0), more often at extremities;
- identity jumps: short bursts where the tracker swaps left and right limbs, or (hard)
  latches onto a displaced copy of the body ("another person") for a few frames;
- confidence: high and smooth where seen, lower on extremities, 0 where dropped;
- (monocular, biased, tracker) depth noise along the camera axis, a constant per-joint
  keypoint bias, tracker lag (exponential smoothing) and single-frame flicker.
Every event is written into meta["noise"] so quality checks can be tested against it.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from tools.core.errors import InputError
from tools.core.skeleton import JOINT_INDEX, JOINTS, MIRROR_INDEX, Skeleton

EXTREMITIES = tuple(JOINT_INDEX[n] for n in JOINTS if n.split("_")[-1] in ("wrist", "hand", "heel", "toe"))


@dataclass(frozen=True)
class NoiseLevel:
    """One pose-noise model. The first eight fields are the original levels; the rest default to "off"."""

    name: str
    jitter_m: float          # sd of xyz noise, metres
    jitter_px: float         # sd of uv noise, pixels
    dropout_rate: float      # per joint per frame chance a dropout run starts
    dropout_max_frames: int
    lr_swaps: int            # left/right swap bursts per clip
    body_jumps: int          # "another person" bursts per clip
    burst_max_frames: int
    rho: float = 0.6                 # AR(1) correlation of the jitter from frame to frame
    depth_factor: float = 1.0        # jitter sd multiplier along the camera's optical axis (monocular depth)
    bias_m: float = 0.0              # sd of a constant per-joint offset for the whole clip (keypoint definitions)
    lag_frames: float = 0.0          # tracker smoothing: exponential moving average with this time constant
    flicker_rate: float = 0.0        # per joint per frame chance of a one-frame outlier
    flicker_m: float = 0.0           # size of those outliers, metres


NOISE_LEVELS: dict[str, NoiseLevel] = {
    "clean": NoiseLevel("clean", 0.0, 0.0, 0.0, 0, 0, 0, 0),
    "realistic": NoiseLevel("realistic", 0.010, 2.0, 0.004, 6, 1, 0, 3),
    "hard": NoiseLevel("hard", 0.025, 5.0, 0.015, 12, 2, 1, 4),
    # monocular lifting: depth along the camera axis is 3x noisier than across it, plus keypoint bias
    "monocular": NoiseLevel("monocular", 0.010, 2.0, 0.004, 6, 1, 0, 3, depth_factor=3.0, bias_m=0.012),
    # another pose model's keypoint definitions: each joint centre sits a few cm off, steadily
    "biased": NoiseLevel("biased", 0.008, 2.0, 0.003, 5, 0, 0, 3, bias_m=0.025),
    # a smoothing tracker (held-out style only): less jitter but lag, single-frame flicker, bias
    "tracker": NoiseLevel("tracker", 0.006, 1.5, 0.004, 8, 1, 0, 3, rho=0.3, depth_factor=2.0, bias_m=0.015,
                          lag_frames=1.5, flicker_rate=0.003, flicker_m=0.08),
}


def _ar1(rng: np.random.Generator, shape: tuple, sd: float, rho: float = 0.6) -> np.ndarray:
    """AR(1) noise along axis 0 with stationary sd `sd`."""
    e = rng.normal(0.0, sd * np.sqrt(1 - rho ** 2), size=shape)
    out = np.empty(shape)
    out[0] = rng.normal(0.0, sd, size=shape[1:])
    for t in range(1, shape[0]):
        out[t] = rho * out[t - 1] + e[t]
    return out


def _camera_axis(skeleton: Skeleton) -> np.ndarray:
    """Unit optical axis of the clip's camera in the skeleton frame (meta camera), else world z."""
    cam = skeleton.meta.get("camera") or {}
    try:
        d = np.asarray(cam["target"], float) - np.asarray(cam["position"], float)
        if np.linalg.norm(d) > 1e-6:
            return d / np.linalg.norm(d)
    except (KeyError, TypeError, ValueError):
        pass
    return np.array([0.0, 0.0, 1.0])


def _ema(xyz: np.ndarray, tau_frames: float) -> np.ndarray:
    """Causal exponential smoothing along time (a tracker's lag); NaN-free input."""
    alpha = 1.0 / (1.0 + tau_frames)
    out = xyz.copy()
    for t in range(1, xyz.shape[0]):
        out[t] = alpha * xyz[t] + (1 - alpha) * out[t - 1]
    return out


def add_noise(skeleton: Skeleton, level: str | NoiseLevel, rng: np.random.Generator) -> Skeleton:
    """A noisy copy of `skeleton` (the input is unchanged). Deterministic for the rng state."""
    if isinstance(level, str):
        if level not in NOISE_LEVELS:
            raise InputError(f"noise level must be one of {', '.join(NOISE_LEVELS)}; got {level!r}")
        level = NOISE_LEVELS[level]
    T, J = skeleton.n_frames, len(JOINTS)
    xyz = skeleton.xyz.astype(np.float64).copy()
    uv = None if skeleton.uv is None else skeleton.uv.astype(np.float64).copy()
    conf = np.ones((T, J))
    events: dict = {"level": level.name, "dropouts": [], "lr_swaps": [], "body_jumps": []}
    if level.name == "clean":
        return skeleton.replace(meta=dict(skeleton.meta, noise=events))

    weight = np.ones(J)
    weight[list(EXTREMITIES)] = 1.5
    jitter = _ar1(rng, (T, J, 3), level.jitter_m, level.rho) * weight[None, :, None]
    if level.depth_factor != 1.0:
        axis = _camera_axis(skeleton)
        along = jitter @ axis
        jitter = jitter + (level.depth_factor - 1.0) * along[..., None] * axis
    xyz += jitter
    if level.bias_m > 0:
        xyz += rng.normal(0.0, level.bias_m, size=(1, J, 3))
    if level.lag_frames > 0:
        xyz = _ema(xyz, level.lag_frames)
    if level.flicker_rate > 0:
        hits = rng.random((T, J)) < level.flicker_rate
        xyz[hits] += rng.normal(0.0, level.flicker_m / np.sqrt(3), size=(int(hits.sum()), 3))
        events["flicker"] = [[int(t), JOINTS[j]] for t, j in zip(*np.nonzero(hits))]
    if uv is not None:
        uv += _ar1(rng, (T, J, 2), level.jitter_px) * weight[None, :, None]
    conf = np.clip(0.95 - 0.1 * (weight[None, :] - 1) * 2 + _ar1(rng, (T, J), 0.04), 0.3, 1.0)

    # Identity jumps: left/right swaps, and (hard) a displaced copy of the body from another moment.
    for kind, count in (("lr_swaps", level.lr_swaps), ("body_jumps", level.body_jumps)):
        for _ in range(int(rng.integers(0, count + 1)) if count else 0):
            n = int(rng.integers(1, level.burst_max_frames + 1))
            if T <= n + 2:
                break
            start = int(rng.integers(1, T - n - 1))
            sl = slice(start, start + n)
            if kind == "lr_swaps":
                xyz[sl] = xyz[sl][:, MIRROR_INDEX]
                if uv is not None:
                    uv[sl] = uv[sl][:, MIRROR_INDEX]
            else:
                other = int(rng.integers(0, T - n))
                offset = np.array([rng.choice([-1, 1]) * rng.uniform(0.6, 1.2), 0.0, rng.uniform(-0.5, 0.5)])
                xyz[sl] = skeleton.xyz[other:other + n] + offset
                if uv is not None:
                    shift_px = np.array([rng.choice([-1, 1]) * rng.uniform(80, 200), rng.uniform(-20, 20)])
                    uv[sl] = skeleton.uv[other:other + n] + shift_px
            events[kind].append([start, start + n])

    # Dropouts: runs of NaN with conf 0, extremities twice as likely.
    starts = rng.random((T, J)) < level.dropout_rate * weight[None, :] ** 2
    for t, j in zip(*np.nonzero(starts)):
        n = int(rng.integers(1, level.dropout_max_frames + 1))
        xyz[t:t + n, j] = np.nan
        if uv is not None:
            uv[t:t + n, j] = np.nan
        conf[t:t + n, j] = 0.0
        events["dropouts"].append([int(t), int(min(t + n, T)), JOINTS[j]])
    events["params"] = asdict(level)
    return skeleton.replace(xyz=xyz.astype(np.float32), conf=conf.astype(np.float32),
                            uv=None if uv is None else uv.astype(np.float32),
                            meta=dict(skeleton.meta, noise=events))
