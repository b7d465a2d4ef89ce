"""Each FMS test's own movement signal: the one number per frame that rises and falls once per repetition.

Conventions (canonical skeleton frame: metres, y up against gravity):
- deep squat: mid-hip height (m); rest = standing, high; a repetition = the hips going down and up.
- hurdle step: distance between the ankles (m); rest = feet side by side, low; a repetition = the
  stepping foot going up, over and back (it stays away from the stance foot while it touches down
  in front, so the signal does not dip there). Side hint: each foot's sole height (the stepping foot
  lifts).
- in-line lunge: height of the lower knee (m); rest = standing, high; a repetition = the back knee
  going down to the board and up. Side hint: each knee's drop; the front leg (the test's side) is
  the one whose knee drops less.
- shoulder mobility: height of the higher fist (m); rest = arms hanging, low; one reach per side.
  Side hint: each fist's rise (the arm on top rises most).
- active straight-leg raise: the higher leg's elevation (hip -> ankle above the floor plane, deg);
  rest = both legs on the floor. Side hint: each leg's elevation.
- trunk stability push-up: chest (mid-shoulder) height (m); rest = lying prone, low. Not the hips: a
  push-up that fails ("cannot push up") lifts only the chest, and must still be found.
- rotary stability: limb travel (m): the moving fist's travel relative to its own shoulder plus the
  moving foot's relative to its own hip, each from where it rests on the floor; rest = all fours.
  Both limbs, because when elbow and knee draw in to touch, the fist alone comes back close to its
  rest place. Side hint: each fist's travel (the moving arm is the test's side).

`activity` is the signal turned so that 0 is rest and a repetition is a positive excursion (metres or
degrees). `in_posture` marks the frames whose posture fits the test (standing tests: not lying; floor tests:
not standing, i.e. not a leg vertical under its hip with the trunk upright), so that standing up between floor
repetitions, or lying down before the next test, is never taken for a repetition.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from tools.core.errors import InputError
from tools.core.skeleton import Skeleton

STANDING_TESTS = ("deep_squat", "hurdle_step", "inline_lunge", "shoulder_mobility")
FLOOR_TESTS = ("active_straight_leg_raise", "trunk_stability_pushup", "rotary_stability")
DEFAULT_LEG_M = 0.85


@dataclass(frozen=True)
class SignalSpec:
    """What one test's movement signal is (one row of SIGNALS)."""

    test: str
    name: str                   # the series, with its unit in the name
    description: str
    unit: str                   # m or deg
    rest: str                   # "high" or "low": where the signal sits between repetitions
    min_amplitude: float        # smallest excursion that is a movement: leg lengths (unit m) or degrees
    sided: bool                 # bilateral test: the side hint names the test's side
    side_is_other: bool = False  # the side hint moves most on the OTHER side (in-line lunge: the back knee)
    partial_below: float | None = 0.5   # a repetition under this share of the clip's largest is partial
                                        # (None: the test's amplitude is its score, e.g. a low leg raise is a 1)


SIGNALS: dict[str, SignalSpec] = {s.test: s for s in (
    SignalSpec("deep_squat", "mid_hip_height_m", "hips going down and back up", "m", "high", 0.18, False,
               partial_below=0.35),
    SignalSpec("hurdle_step", "ankle_separation_m", "the stepping foot going over the cord and back", "m", "low",
               0.20, True),
    SignalSpec("inline_lunge", "lower_knee_height_m", "the back knee going down to the board and up", "m", "high",
               0.18, True, side_is_other=True),
    SignalSpec("shoulder_mobility", "higher_fist_height_m", "the fists reaching behind the back", "m", "low",
               0.22, True, partial_below=0.7),
    SignalSpec("active_straight_leg_raise", "leg_elevation_deg", "the straight leg raised and lowered", "deg", "low",
               15.0, True, partial_below=None),
    SignalSpec("trunk_stability_pushup", "chest_height_m", "the chest pushed up from the floor", "m", "low", 0.08,
               False, partial_below=None),
    SignalSpec("rotary_stability", "limb_travel_m", "the arm and leg reaching out and drawing in", "m", "low", 0.30,
               True),
)}


@dataclass
class MovementSignal:
    """A test's movement signal over one clip. Shapes: [T] each; `sides` L/R hints [T] (bilateral tests)."""

    spec: SignalSpec
    raw: np.ndarray                    # the series itself (unit of the spec)
    activity: np.ndarray               # 0 at rest, > 0 during a repetition (same unit)
    in_posture: np.ndarray             # bool: the posture fits the test
    leg_length_m: float
    sides: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def min_amplitude(self) -> float:
        """The smallest excursion that is a movement, in the signal's unit."""
        scale = self.leg_length_m if self.spec.unit == "m" else 1.0
        return self.spec.min_amplitude * scale


def interpolate_gaps(values: np.ndarray) -> np.ndarray:
    """NaNs filled by linear interpolation (held at the ends); all-NaN stays NaN."""
    v = np.asarray(values, dtype=float).copy()
    ok = np.isfinite(v)
    if ok.all() or not ok.any():
        return v
    idx = np.arange(len(v))
    v[~ok] = np.interp(idx[~ok], idx[ok], v[ok])
    return v


def leg_length_m(skel: Skeleton) -> float:
    """Median hip-knee + knee-ankle length over the clip, both legs (DEFAULT_LEG_M when unseen)."""
    lengths = []
    for side in ("left", "right"):
        hip, knee, ankle = skel.joint(f"{side}_hip"), skel.joint(f"{side}_knee"), skel.joint(f"{side}_ankle")
        lengths.append(np.linalg.norm(hip - knee, axis=-1) + np.linalg.norm(knee - ankle, axis=-1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        value = float(np.nanmedian(np.concatenate(lengths)))
    return value if np.isfinite(value) and 0.3 < value < 1.5 else DEFAULT_LEG_M


def leg_verticality(skel: Skeleton) -> np.ndarray:
    """[T] the more vertical leg: |vertical component| of hip -> ankle over its length (1 = standing leg)."""
    out = []
    for side in ("left", "right"):
        v = skel.joint(f"{side}_ankle") - skel.joint(f"{side}_hip")
        with np.errstate(invalid="ignore", divide="ignore"):
            out.append(-v[:, 1] / np.linalg.norm(v, axis=-1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return interpolate_gaps(np.nanmax(np.stack(out), axis=0))


def trunk_uprightness(skel: Skeleton) -> np.ndarray:
    """[T] vertical component of the unit mid-hip -> mid-shoulder vector (1 upright, 0 lying or on all fours)."""
    v = _mid(skel, "left_shoulder", "right_shoulder") - _mid(skel, "left_hip", "right_hip")
    with np.errstate(invalid="ignore", divide="ignore"):
        return interpolate_gaps(v[:, 1] / np.linalg.norm(v, axis=-1))


def posture_mask(skel: Skeleton, test: str, min_run_s: float = 0.3) -> np.ndarray:
    """[T] bool: frames whose posture fits the test (see the module docstring).

    Standing tests exclude lying (no leg under its hip and the trunk near horizontal); floor tests
    exclude standing (a leg vertical under its hip and the trunk upright). Runs shorter than
    `min_run_s` are not posture changes (a knee drawn under the body on all fours, a glitch).
    """
    vert, upright = leg_verticality(skel), trunk_uprightness(skel)
    if not (np.isfinite(vert).any() and np.isfinite(upright).any()):
        return np.ones(skel.n_frames, bool)
    if test in STANDING_TESTS:
        wrong = (vert < 0.5) & (upright < 0.35)
    else:
        wrong = (vert > 0.85) & (upright > 0.6)
    n = max(1, int(round(min_run_s * skel.fps)))
    padded = np.concatenate([[False], wrong, [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    for a, b in zip(edges[::2], edges[1::2]):
        if b - a < n:
            wrong[a:b] = False
    return ~wrong


def _mid(skel: Skeleton, a: str, b: str) -> np.ndarray:
    return (skel.joint(a) + skel.joint(b)) / 2.0


def _elevation_deg(skel: Skeleton, side: str) -> np.ndarray:
    v = skel.joint(f"{side}_ankle") - skel.joint(f"{side}_hip")
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.degrees(np.arcsin(np.clip(v[:, 1] / np.linalg.norm(v, axis=-1), -1.0, 1.0)))


def _rest_level(values: np.ndarray, mask: np.ndarray, rest: str) -> float:
    v = values[mask & np.isfinite(values)]
    if v.size == 0:
        v = values[np.isfinite(values)]
    if v.size == 0:
        return float("nan")
    return float(np.percentile(v, 90 if rest == "high" else 10))


def _rise(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """A 'rest low' series relative to its rest level (0 at rest, + while moving)."""
    return values - _rest_level(values, mask, "low")


def _travel_from_rest(skel: Skeleton, end: str, root: str, mask: np.ndarray) -> np.ndarray:
    """|end - root - that vector at rest|: the rest vector is its median over the 10 % of frames the end
    joint is lowest (a fist or an ankle on the floor)."""
    rel = skel.joint(end) - skel.joint(root)
    height = skel.joint(end)[:, 1]
    ok = mask & np.isfinite(height) & np.isfinite(rel).all(axis=1)
    if not ok.any():
        return np.full(skel.n_frames, np.nan)
    low = ok & (height <= np.percentile(height[ok], 10))
    rest = np.median(rel[low], axis=0)
    return np.linalg.norm(rel - rest, axis=-1)


def movement_signal(skel: Skeleton, test: str) -> MovementSignal:
    """The test's movement signal over the clip (see the module docstring)."""
    if test not in SIGNALS:
        raise InputError(f"no repetition signal for {test!r}; use one of {', '.join(SIGNALS)}")
    spec = SIGNALS[test]
    # gaps up to 1 s bridged per joint first, so a joint that drops out never fakes a return to rest
    skel = skel.filled(max_gap_frames=max(1, int(round(skel.fps))))
    posture = posture_mask(skel, test)
    sides: dict[str, np.ndarray] = {}
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if test == "deep_squat":
            raw = _mid(skel, "left_hip", "right_hip")[:, 1]
        elif test == "trunk_stability_pushup":
            raw = _mid(skel, "left_shoulder", "right_shoulder")[:, 1]
        elif test == "hurdle_step":
            raw = np.linalg.norm(skel.joint("left_ankle") - skel.joint("right_ankle"), axis=-1)
            for s, n in (("L", "left"), ("R", "right")):
                sole = np.fmin(skel.joint(f"{n}_heel")[:, 1], skel.joint(f"{n}_toe")[:, 1])
                sides[s] = _rise(interpolate_gaps(sole), posture)
        elif test == "inline_lunge":
            knees = {s: skel.joint(f"{n}_knee")[:, 1] for s, n in (("L", "left"), ("R", "right"))}
            raw = np.fmin(knees["L"], knees["R"])
            for s, y in knees.items():
                y = interpolate_gaps(y)
                sides[s] = _rest_level(y, posture, "high") - y
        elif test == "shoulder_mobility":
            hands = {s: interpolate_gaps(skel.joint(f"{n}_hand")[:, 1]) for s, n in (("L", "left"), ("R", "right"))}
            raw = np.fmax(hands["L"], hands["R"])
            sides = {s: _rise(y, posture) for s, y in hands.items()}
        elif test == "active_straight_leg_raise":
            legs = {s: interpolate_gaps(_elevation_deg(skel, n)) for s, n in (("L", "left"), ("R", "right"))}
            raw = np.fmax(legs["L"], legs["R"])
            sides = {s: _rise(y, posture) for s, y in legs.items()}
        else:  # rotary_stability
            sides = {s: interpolate_gaps(_travel_from_rest(skel, f"{n}_hand", f"{n}_shoulder", posture))
                     for s, n in (("L", "left"), ("R", "right"))}
            feet = [interpolate_gaps(_travel_from_rest(skel, f"{n}_ankle", f"{n}_hip", posture))
                    for n in ("left", "right")]
            raw = np.fmax(sides["L"], sides["R"]) + np.fmax(feet[0], feet[1])
    raw = interpolate_gaps(np.asarray(raw, dtype=float))
    rest = _rest_level(raw, posture, spec.rest)
    activity = (rest - raw) if spec.rest == "high" else (raw - rest)
    activity = np.where(posture, np.maximum(activity, 0.0), 0.0)
    activity = np.nan_to_num(activity, nan=0.0)
    return MovementSignal(spec=spec, raw=raw, activity=activity, in_posture=posture,
                          leg_length_m=leg_length_m(skel), sides=sides)
