"""Skeleton -> network input: normalisation, augmentation and the labelled-clip dataset.

Normalisation (`normalise`, all on the canonical Skeleton, metres, y up):
  1. fill dropouts of <= `fill_gap_frames` frames by linear interpolation;
  2. root-centre: subtract the clip's median mid-hip position (one offset per
     clip, so the descent of a squat or the step of a lunge is kept);
  3. scale: divide by the clip's median torso length (mid-hip to mid-shoulder),
     so coordinates are in "torso lengths" and body size drops out;
  4. optional body frame: rotate about the vertical (y) axis so the median hip
     line (right hip -> left hip) points along +x, i.e. as if the athlete faced
     the camera; the camera's azimuth then matters much less.
Network input (`to_tensor`): the normalised clip is resampled to a fixed
number of frames (time-normalised) and laid out C x T x V with C = 7:
x, y, z, vx, vy, vz (change per resampled frame), seen (1/0). Joints still
missing after gap filling are set to 0 with seen = 0 (zero + mask channel).

Augmentation (`augment`, training only, on the normalised clip):
  L<->R mirror (also swaps the side label), rotation about vertical,
  size jitter, temporal crop + monotone time warp (speed change) + jitter,
  Gaussian joint noise, and joint dropout (single samples and whole segments).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from tools.core.errors import InputError
from tools.core.labels import LabelRow
from tools.core.fms import TESTS
from tools.core.skeleton import JOINT_INDEX, MIRROR_INDEX, Skeleton
from tools.scoring.stgcn.model import SCORE_LEVELS, SIDES

log = logging.getLogger(__name__)

_L_HIP, _R_HIP = JOINT_INDEX["left_hip"], JOINT_INDEX["right_hip"]
_L_SH, _R_SH = JOINT_INDEX["left_shoulder"], JOINT_INDEX["right_shoulder"]
SWAP_SIDE = {"L": "R", "R": "L", "NA": "NA"}


@dataclass(frozen=True)
class NormalisationConfig:
    """How a skeleton becomes network input (stored in every checkpoint)."""

    n_frames: int = 32
    rotate_to_body_frame: bool = True
    fill_gap_frames: int = 5
    min_frames: int = 4


@dataclass(frozen=True)
class AugmentConfig:
    """Training augmentation; probabilities 0-1, angles in degrees, sizes in torso lengths."""

    mirror_p: float = 0.5
    rotate_deg: float = 20.0
    scale_jitter: float = 0.08
    crop_min_fraction: float = 0.85
    warp_gamma: float = 0.25          # time warp u -> u**g, g in [1/(1+w), 1+w]
    frame_jitter: float = 0.4         # +- frames
    noise_sd: float = 0.01
    dropout_p: float = 0.03
    segment_dropout_p: float = 0.3
    segment_max_fraction: float = 0.3


def normalise(skel: Skeleton, cfg: NormalisationConfig = NormalisationConfig()) -> np.ndarray:
    """[T, V, 3] float32 clip in the body frame, torso-length units, NaN where unseen."""
    if skel.n_frames < cfg.min_frames:
        raise InputError(f"clip has {skel.n_frames} frames; the ST-GCN needs at least {cfg.min_frames}")
    xyz = skel.filled(cfg.fill_gap_frames).xyz.astype(np.float64)
    mid_hip = 0.5 * (xyz[:, _L_HIP] + xyz[:, _R_HIP])
    mid_sh = 0.5 * (xyz[:, _L_SH] + xyz[:, _R_SH])
    with np.errstate(invalid="ignore"):
        torso = np.linalg.norm(mid_sh - mid_hip, axis=-1)
    if not np.isfinite(mid_hip).all(axis=-1).any() or not np.isfinite(torso).any():
        raise InputError("cannot normalise the clip for the ST-GCN: hips and shoulders are never seen "
                         "together; check the pose estimate (formscout screen --overlay)")
    root = np.nanmedian(mid_hip, axis=0)
    size = float(np.nanmedian(torso))
    if not size > 1e-3:
        raise InputError(f"cannot normalise the clip: torso length {size:.4f} m is implausible")
    out = (xyz - root) / size
    if cfg.rotate_to_body_frame:
        hip_line = np.nanmedian(xyz[:, _L_HIP] - xyz[:, _R_HIP], axis=0)
        heading = np.arctan2(hip_line[2], hip_line[0]) if np.isfinite(hip_line).all() else 0.0
        out = rotate_about_vertical(out, heading)
    return out.astype(np.float32)


def rotate_about_vertical(xyz: np.ndarray, angle_rad: float) -> np.ndarray:
    """Rotate [..., 3] points about +y by `angle_rad` (a vector at azimuth angle_rad goes to +x)."""
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    rot = np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])
    return xyz @ rot.T


def mirror(xyz: np.ndarray, side: str) -> tuple[np.ndarray, str]:
    """Body-frame L<->R mirror: swap left/right joints, negate x; a left test becomes a right one."""
    out = xyz[:, MIRROR_INDEX].copy()
    out[..., 0] *= -1
    return out, SWAP_SIDE.get(side, side)


def sample_positions(n_in: int, n_out: int) -> np.ndarray:
    """Evenly spaced fractional frame positions covering the whole clip."""
    return np.linspace(0.0, n_in - 1, n_out)


def _interp_frames(xyz: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Linear interpolation at fractional frame positions; a joint missing at one neighbour
    takes the other neighbour's value, missing at both stays NaN. [T, V, 3] -> [n, V, 3]."""
    positions = np.clip(positions, 0, xyz.shape[0] - 1)
    lo = np.floor(positions).astype(int)
    hi = np.minimum(lo + 1, xyz.shape[0] - 1)
    w = (positions - lo)[:, None, None]
    a, b = xyz[lo], xyz[hi]
    out = (1 - w) * a + w * b
    out = np.where(np.isnan(a), b, out)
    return np.where(np.isnan(b), a, out)


def to_tensor(xyz: np.ndarray, n_frames: int, positions: np.ndarray | None = None) -> np.ndarray:
    """Normalised clip [T, V, 3] -> network input [C=7, n_frames, V] float32 (see module docstring)."""
    if positions is None:
        positions = sample_positions(xyz.shape[0], n_frames)
    res = _interp_frames(xyz, positions)                              # [n, V, 3]
    seen = np.isfinite(res).all(axis=-1)                              # [n, V]
    pos = np.where(seen[..., None], res, 0.0)
    vel = np.zeros_like(pos)
    both = seen[1:] & seen[:-1]
    vel[1:] = np.where(both[..., None], pos[1:] - pos[:-1], 0.0)
    chans = np.concatenate([pos, vel, seen[..., None].astype(pos.dtype)], axis=-1)  # [n, V, 7]
    return np.ascontiguousarray(chans.transpose(2, 0, 1), dtype=np.float32)


def skeleton_to_input(skel: Skeleton, cfg: NormalisationConfig = NormalisationConfig()) -> np.ndarray:
    """Skeleton -> [7, T, V] network input, no augmentation."""
    return to_tensor(normalise(skel, cfg), cfg.n_frames)


def augment(xyz: np.ndarray, side: str, n_frames: int, rng: np.random.Generator,
            cfg: AugmentConfig = AugmentConfig()) -> tuple[np.ndarray, str]:
    """Randomly perturbed network input [7, n_frames, V] and the (possibly swapped) side."""
    x = xyz.astype(np.float64, copy=True)
    if rng.random() < cfg.mirror_p:
        x, side = mirror(x, side)
    x = rotate_about_vertical(x, np.radians(rng.uniform(-cfg.rotate_deg, cfg.rotate_deg)))
    x = x * rng.uniform(1 - cfg.scale_jitter, 1 + cfg.scale_jitter)
    t = x.shape[0]
    keep = rng.uniform(cfg.crop_min_fraction, 1.0) * (t - 1)
    start = rng.uniform(0, (t - 1) - keep)
    gamma = np.exp(rng.uniform(-np.log1p(cfg.warp_gamma), np.log1p(cfg.warp_gamma)))
    u = np.linspace(0.0, 1.0, n_frames) ** gamma
    positions = start + u * keep + rng.uniform(-cfg.frame_jitter, cfg.frame_jitter, n_frames)
    positions = np.maximum.accumulate(np.clip(positions, 0, t - 1))
    res = _interp_frames(x, positions)
    res = res + rng.normal(0.0, cfg.noise_sd, res.shape)
    drop = rng.random(res.shape[:2]) < cfg.dropout_p
    if rng.random() < cfg.segment_dropout_p:
        j = rng.integers(res.shape[1])
        length = int(rng.integers(1, max(2, int(cfg.segment_max_fraction * n_frames))))
        s = int(rng.integers(0, n_frames - length + 1))
        drop[s:s + length, j] = True
    res[drop] = np.nan
    return to_tensor(res, n_frames, positions=np.arange(n_frames, dtype=float)), side


def score_target(score: int) -> int:
    """Ordinal target index 0-2 for scores 1-3; -1 (ignored by the score loss) for 0 = pain."""
    return SCORE_LEVELS.index(score) if score in SCORE_LEVELS else -1


class ClipDataset(Dataset):
    """Labelled clips as tensors. Each item: dict(x [7, T, V], test, side, score, score_head) (targets as
    ints; score -1 for pain clips, which train test and side but not the score head, and for clips whose
    score head cannot be chosen: `heads[i]` -1, a push-up of unknown sex). `heads` None = the test's head."""

    def __init__(self, rows: list[LabelRow], clips: list[np.ndarray], n_frames: int,
                 augment_cfg: AugmentConfig | None = None, seed: int = 0, heads: list[int] | None = None):
        if len(rows) != len(clips):
            raise ValueError("rows and clips must be the same length")
        self.rows, self.clips = rows, clips
        self.heads = list(heads) if heads is not None else [TESTS.index(r.test_name) for r in rows]
        self.n_frames = n_frames
        self.augment_cfg = augment_cfg
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict:
        row, xyz = self.rows[i], self.clips[i]
        side = row.side
        if self.augment_cfg is not None:
            x, side = augment(xyz, side, self.n_frames, self.rng, self.augment_cfg)
        else:
            x = to_tensor(xyz, self.n_frames)
        head = self.heads[i]
        return {"x": torch.from_numpy(x), "test": TESTS.index(row.test_name),
                "side": SIDES.index(side), "score": score_target(row.score) if head >= 0 else -1,
                "score_head": max(head, 0)}


@dataclass
class LabelledClips:
    """Normalised clips of labelled rows: rows kept, clips [T, V, 3], each athlete's sex where the
    skeleton's meta gives it ("M"/"F"/None), and the rows left out with the reason."""

    rows: list[LabelRow]
    clips: list[np.ndarray]
    sexes: list[str | None]
    problems: list[str]


def skeleton_sex(skel: Skeleton) -> str | None:
    """"M"/"F" from a skeleton's meta (synthetic clips record their athlete; a team's clips may give `sex`)."""
    meta = skel.meta or {}
    athlete = meta.get("athlete") if isinstance(meta.get("athlete"), dict) else {}
    value = str(athlete.get("sex") or meta.get("sex") or "").strip().upper()[:1]
    return value if value in ("M", "F") else None


def load_labelled_clips(rows: list[LabelRow], cfg: NormalisationConfig) -> LabelledClips:
    """Load and normalise each row's skeleton; a clip that cannot be normalised is left out and named."""
    kept, clips, sexes, problems = [], [], [], []
    for row in rows:
        try:
            skel = Skeleton.load(row.path)
            clips.append(normalise(skel, cfg))
            sexes.append(skeleton_sex(skel))
            kept.append(row)
        except InputError as exc:
            problems.append(f"{row.clip_id}: {exc}")
    if problems:
        log.warning("left out %d clip(s) that cannot be normalised: %s", len(problems), "; ".join(problems[:5]))
    return LabelledClips(kept, clips, sexes, problems)


def load_clips(rows: list[LabelRow], cfg: NormalisationConfig) -> tuple[list[LabelRow], list[np.ndarray], list[str]]:
    """Load and normalise each row's skeleton. Returns (rows kept, clips, problems) where a
    clip that cannot be normalised is left out and named in `problems`."""
    got = load_labelled_clips(rows, cfg)
    return got.rows, got.clips, got.problems
