"""Generator styles: named families of bodies, tempo, depth of movement, facing and pose noise.

A style is the part of the synthetic generator that is *not* the FMS label:
who moves (body proportions across the population range), how fast and how
evenly (tempo, an uneven re-timing within the repetition, still time before
and after), how far (where each knob sits inside the band its score allows:
`depth` 0 = the small-movement end, 1 = the large-movement end), which way
the athlete faces in the world frame and where they stand, and which
pose-noise model (tools/synth/noise.py) the skeleton gets. Labels never depend
on the style: the same knobs give the same score in every style.

Styles are explicit so that an evaluation can hold one out entirely (train the
ST-GCN and fit thresholds on the others, measure on it): leave-one-style-out.
`classic` is the generator as it was before styles existed, bit for bit.

Conventions: facing is an azimuth about the vertical (degrees; 0 = the athlete
faces world +z, 90 = faces world +x); offsets are metres on the floor (x, z).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import numpy as np

from tools.core.errors import InputError


@dataclass(frozen=True)
class BodyRange:
    """Body proportions of a style, as factors on Winter's stature ratios (tools/synth/body.py).

    Each athlete draws one factor per group uniformly from its range, then every
    segment gets its own small factor (sd `proportion_sd`). Population figures:
    leg length / stature varies by about +-8 % across adult populations, trunk
    (sitting height) by about +-6 %, arm span by about +-5 %.
    """

    stature_shift_sd: tuple[float, float] = (0.0, 0.0)   # stature mean moved by this many sd of its sex
    proportion_sd: float = 0.03
    leg_factor: tuple[float, float] = (1.0, 1.0)          # ankle height, shank and thigh
    trunk_factor: tuple[float, float] = (1.0, 1.0)        # trunk and neck
    arm_factor: tuple[float, float] = (1.0, 1.0)          # upper arm, forearm, hand
    width_factor: tuple[float, float] = (1.0, 1.0)        # shoulder and hip joint-centre widths
    girth: tuple[float, float] = (0.8, 1.25)              # build (limb thickness), 1 = average


@dataclass(frozen=True)
class GeneratorStyle:
    """One family of synthetic clips (see the module docstring). `None` fields keep the classic behaviour."""

    name: str
    description: str
    body: BodyRange | None = None                          # None: classic textbook bodies (sd 3 %)
    speed_range: tuple[float, float] | None = None         # None: classic choice of 0.8 / 1 / 1 / 1.25
    tempo_warp: float = 0.0                                 # 0-0.9: strength of the uneven re-timing
    lead_in_s: tuple[float, float] = (0.0, 0.0)             # extra still time before (and, halved, after)
    depth: tuple[float, float] | None = None                # None: knobs drawn over their whole band
    facing_deg: tuple[float, float] = (0.0, 0.0)
    offset_m: float = 0.0                                   # athlete placed up to this far from the origin
    noise: tuple[str, ...] | None = None                   # None: the noise level asked for; else drawn per clip

    @property
    def is_classic(self) -> bool:
        return (self.body is None and self.speed_range is None and self.tempo_warp == 0.0
                and self.lead_in_s == (0.0, 0.0) and self.depth is None and self.facing_deg == (0.0, 0.0)
                and self.offset_m == 0.0 and self.noise is None)

    def to_dict(self) -> dict:
        return asdict(self)


STYLES: dict[str, GeneratorStyle] = {s.name: s for s in (
    GeneratorStyle("classic", "the original generator: textbook proportions, natural tempo, facing +z"),
    GeneratorStyle(
        "long_limbed", "tall, long legs and arms, short trunk; slow and even; turned up to 45 deg; "
        "realistic or monocular-depth noise",
        body=BodyRange(stature_shift_sd=(0.0, 1.5), proportion_sd=0.03, leg_factor=(1.02, 1.07),
                       trunk_factor=(0.94, 0.99), arm_factor=(1.01, 1.05), width_factor=(0.95, 1.02),
                       girth=(0.8, 1.0)),
        speed_range=(0.6, 0.95), tempo_warp=0.2, lead_in_s=(0.0, 0.6), depth=(0.4, 1.0),
        facing_deg=(-45.0, 45.0), offset_m=0.5, noise=("realistic", "monocular")),
    GeneratorStyle(
        "compact", "short, short legs, long trunk, broad and heavy; quick; any facing; biased or hard noise",
        body=BodyRange(stature_shift_sd=(-1.5, 0.0), proportion_sd=0.03, leg_factor=(0.93, 0.98),
                       trunk_factor=(1.01, 1.06), arm_factor=(0.95, 0.99), width_factor=(1.0, 1.08),
                       girth=(1.05, 1.25)),
        speed_range=(1.15, 1.6), tempo_warp=0.3, lead_in_s=(0.0, 0.4), depth=(0.0, 0.6),
        facing_deg=(-180.0, 180.0), offset_m=1.0, noise=("biased", "hard")),
    GeneratorStyle(
        "uneven", "average bodies with wide spread; uneven tempo (pauses, rushes); any facing; mixed noise",
        body=BodyRange(stature_shift_sd=(-1.0, 1.0), proportion_sd=0.05, girth=(0.85, 1.2)),
        speed_range=(0.7, 1.5), tempo_warp=0.6, lead_in_s=(0.0, 1.0), depth=(0.0, 1.0),
        facing_deg=(-180.0, 180.0), offset_m=1.5, noise=("realistic", "monocular", "biased")),
    GeneratorStyle(
        "heldout", "for evaluation only: bodies at both ends of the population range (long legs with a short "
        "trunk, or the reverse), very slow to very fast, strongly uneven tempo, any facing, and the 'tracker' "
        "noise model no training style uses (smoothing lag, flicker, keypoint bias)",
        body=BodyRange(stature_shift_sd=(-2.0, 2.0), proportion_sd=0.04, leg_factor=(0.92, 1.08),
                       trunk_factor=(0.94, 1.06), arm_factor=(0.94, 1.06), width_factor=(0.92, 1.08),
                       girth=(0.8, 1.25)),
        speed_range=(0.55, 1.8), tempo_warp=0.7, lead_in_s=(0.0, 1.2), depth=(0.0, 1.0),
        facing_deg=(-180.0, 180.0), offset_m=2.0, noise=("tracker",)),
)}
TRAINING_STYLES: tuple[str, ...] = ("classic", "long_limbed", "compact", "uneven")
HELD_OUT_STYLE = "heldout"


def get_style(name: str | GeneratorStyle | None) -> GeneratorStyle:
    """A style by name (None = classic)."""
    if isinstance(name, GeneratorStyle):
        return name
    if name is None:
        return STYLES["classic"]
    if name not in STYLES:
        raise InputError(f"unknown generator style {name!r}; use one of: {', '.join(STYLES)}")
    return STYLES[name]


def banded(rng: np.random.Generator, lo: float, hi: float, depth: float | None, more_is_high: bool = True,
           width: float = 0.4) -> float:
    """A knob value in [lo, hi] whose position follows the style's depth of movement.

    depth None: rng.uniform(lo, hi), one draw, exactly the classic generator.
    Otherwise uniform over a sub-band of `width` (a share of the band) centred at
    `depth` on the movement scale: 0 = least movement, 1 = most movement, where
    "most" is the `hi` end when `more_is_high`, else the `lo` end (e.g. a smaller
    fist gap or a higher leg raise is more movement).
    """
    if depth is None:
        return float(rng.uniform(lo, hi))
    d = float(np.clip(depth, 0.0, 1.0))
    if not more_is_high:
        d = 1.0 - d
    start = float(np.clip(d - width / 2, 0.0, 1.0 - width))
    return float(rng.uniform(lo + start * (hi - lo), lo + (start + width) * (hi - lo)))


# ----- re-timing a generated motion ----------------------------------------------------------------

@dataclass(frozen=True)
class Retiming:
    """What `retime` did: the warp strength, frames of still time added before / after."""

    warp: float = 0.0
    pad_before: int = 0
    pad_after: int = 0
    coefficients: tuple[float, ...] = field(default_factory=tuple)


def monotone_warp(n_out: int, n_in: int, coefficients: np.ndarray, warp: float) -> np.ndarray:
    """Fractional source frames [n_out] for an uneven but monotone re-timing.

    w(u) = u + warp * sum_k a_k sin(pi k u) / (pi k), with sum |a_k| <= 1 and
    warp < 1, so w' = 1 + warp * sum_k a_k cos(pi k u) > 0 (never runs backwards)
    and w(0) = 0, w(1) = 1 (the whole repetition is kept).
    """
    u = np.linspace(0.0, 1.0, n_out)
    w = u.copy()
    for k, a in enumerate(coefficients, start=1):
        w += warp * a * np.sin(np.pi * k * u) / (np.pi * k)
    return np.clip(w, 0.0, 1.0) * (n_in - 1)


def _resample(values: np.ndarray, positions: np.ndarray) -> np.ndarray:
    lo = np.floor(positions).astype(int)
    hi = np.minimum(lo + 1, values.shape[0] - 1)
    w = (positions - lo).reshape((-1,) + (1,) * (values.ndim - 1))
    return (1 - w) * values[lo] + w * values[hi]


def retime(motion, rng: np.random.Generator, warp: float, lead_in_s: tuple[float, float]):
    """The motion played with an uneven tempo and extra still time before/after. Returns (motion, Retiming).

    Frames stay at the same fps; named events move with the frames they mark.
    """
    if not 0.0 <= warp < 1.0:
        raise InputError(f"tempo_warp must be in [0, 1), got {warp}")
    T, fps = motion.n_frames, motion.fps
    a = rng.uniform(-1.0, 1.0, size=3)
    a = a / max(1.0, float(np.abs(a).sum()))
    positions = monotone_warp(T, T, a, warp) if warp > 0 else np.arange(T, dtype=float)
    extra = float(rng.uniform(*lead_in_s)) if lead_in_s[1] > 0 else 0.0
    pad_before, pad_after = int(round(extra * fps)), int(round(0.5 * extra * fps))
    positions = np.concatenate([np.zeros(pad_before), positions, np.full(pad_after, T - 1.0)])
    joints = _resample(motion.joints, positions)
    spine = _resample(motion.spine_mid, positions)
    props = []
    for prop in motion.props:
        ends = getattr(prop, "ends", None)
        if ends is not None and ends.ndim == 3:
            prop = replace(prop, ends=_resample(ends, positions))
        props.append(prop)
    inverse = {name: int(np.searchsorted(positions, frame, side="left")) for name, frame in motion.events.items()}
    inverse["end"] = len(positions)
    out = replace(motion, joints=joints, spine_mid=spine, props=props, events=inverse)  # a rig.Motion, same fps
    return out, Retiming(warp=float(warp), pad_before=pad_before, pad_after=pad_after,
                         coefficients=tuple(float(v) for v in a))


# ----- placing the body-frame motion in the world ----------------------------------------------------

def yaw_matrix(facing_deg: float) -> np.ndarray:
    """Rotation about +y taking body +z (facing) to world azimuth `facing_deg` (0 = +z, 90 = +x)."""
    a = np.radians(facing_deg)
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def place(points: np.ndarray, facing_deg: float, offset_xz: tuple[float, float]) -> np.ndarray:
    """Body-frame points [..., 3] -> world: turned to `facing_deg`, moved by (x, z) metres."""
    out = np.asarray(points, dtype=np.float64) @ yaw_matrix(facing_deg).T
    out[..., 0] += offset_xz[0]
    out[..., 2] += offset_xz[1]
    return out
