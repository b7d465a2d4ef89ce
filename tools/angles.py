"""Named joint-angle and position measurements over a canonical Skeleton.

Every measurement is a time series with a clinical name and a unit in the
name (`left_knee_flexion_deg`, `left_heel_rise_m`), plus the frame of its
extreme. The table MEASUREMENTS is the one place they are defined.

Conventions (skeleton frame: metres, y up, right-handed):
- knee_flexion_deg: 180 - angle(hip, knee, ankle); 0 = straight leg, positive = flexed.
- hip_flexion_deg: 180 - angle(shoulder, hip, knee); 0 = standing tall, positive = flexed.
- ankle_dorsiflexion_deg: 90 - angle(shank ankle->knee, foot heel->toe);
  0 = shank perpendicular to the foot, positive = shank tilted over the toes.
- trunk_inclination_deg: angle of mid-hip -> mid-shoulder from vertical; 0 = upright.
- tibia_inclination_deg: angle of ankle -> knee from vertical; 0 = vertical shank.
- torso_minus_tibia_deg: trunk inclination minus the mean tibia inclination;
  <= 0 means the torso is parallel to the tibia or more upright.
- hip_below_knee_deg: angle of the thigh to horizontal, positive when the hip
  joint centre is below the knee (standing is about -90, thigh level is 0).
- heel_rise_m: heel height above the toe, minus its median over the first
  0.3 s (the standing start); positive = heel lifted.
- knee_valgus_deg: frontal-plane angle at the knee between hip->knee and
  knee->ankle (projected onto the plane of the hip line and vertical);
  positive = knee inside the hip-ankle line (valgus), negative = varus.
- hands_outside_feet_m: how far the fists (dowel grip) are in front of the
  toes or behind the heels, along the direction the feet point; 0 = over the
  base of support.
- knee_ankle_separation_ratio: knee gap / ankle gap along the hip line
  (frontal plane); 1 = knees straight over the ankles, < 1 = knees inside.
  Ankle gaps under 5 cm give NaN (feet together: the ratio means nothing).
- hands_above_head_m: height of the lower fist above the nose; > 0 = overhead.
- pelvis_obliquity_deg / shoulder_tilt_deg: hip / shoulder line from
  horizontal; positive = the athlete's left side higher.
- pelvis_rotation_deg: rotation of the hip line about vertical relative to
  the start of the clip (absolute value), i.e. trunk/pelvis twist.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from tools.skeleton import Skeleton

UP = np.array([0.0, 1.0, 0.0])


def _angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle between vectors a and b ([T,3]) in degrees; NaN where either is missing/zero."""
    na = np.linalg.norm(a, axis=-1)
    nb = np.linalg.norm(b, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = np.sum(a * b, axis=-1) / (na * nb)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def _joint_angle_deg(s: Skeleton, a: str, vertex: str, c: str) -> np.ndarray:
    v = s.joint(vertex)
    return _angle_deg(s.joint(a) - v, s.joint(c) - v)


def _mid(s: Skeleton, a: str, b: str) -> np.ndarray:
    return (s.joint(a) + s.joint(b)) / 2.0


def _horizontal(v: np.ndarray) -> np.ndarray:
    out = v.copy()
    out[..., 1] = 0.0
    return out


def _unit(v: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _nanmedian_rows(v: np.ndarray) -> np.ndarray:
    """Median direction over the clip ([T,3] -> [3]); NaN rows ignored."""
    return np.nanmedian(v, axis=0) if np.isfinite(v).any() else np.full(3, np.nan)


def _start_frames(s: Skeleton, seconds: float = 0.3) -> slice:
    return slice(0, max(1, int(round(seconds * s.fps))))


# ----- measurement functions (Skeleton -> [T]) -------------------------------
def knee_flexion(side: str) -> Callable[[Skeleton], np.ndarray]:
    return lambda s: 180.0 - _joint_angle_deg(s, f"{side}_hip", f"{side}_knee", f"{side}_ankle")


def hip_flexion(side: str) -> Callable[[Skeleton], np.ndarray]:
    return lambda s: 180.0 - _joint_angle_deg(s, f"{side}_shoulder", f"{side}_hip", f"{side}_knee")


def ankle_dorsiflexion(side: str) -> Callable[[Skeleton], np.ndarray]:
    def f(s: Skeleton) -> np.ndarray:
        shank = s.joint(f"{side}_knee") - s.joint(f"{side}_ankle")
        foot = s.joint(f"{side}_toe") - s.joint(f"{side}_heel")
        return 90.0 - _angle_deg(shank, foot)
    return f


def trunk_inclination(s: Skeleton) -> np.ndarray:
    trunk = _mid(s, "left_shoulder", "right_shoulder") - _mid(s, "left_hip", "right_hip")
    return _angle_deg(trunk, np.broadcast_to(UP, trunk.shape))


def tibia_inclination(side: str) -> Callable[[Skeleton], np.ndarray]:
    def f(s: Skeleton) -> np.ndarray:
        shank = s.joint(f"{side}_knee") - s.joint(f"{side}_ankle")
        return _angle_deg(shank, np.broadcast_to(UP, shank.shape))
    return f


def torso_minus_tibia(s: Skeleton) -> np.ndarray:
    tibia = np.nanmean(np.stack([tibia_inclination("left")(s), tibia_inclination("right")(s)]), axis=0)
    return trunk_inclination(s) - tibia


def hip_below_knee(side: str) -> Callable[[Skeleton], np.ndarray]:
    def f(s: Skeleton) -> np.ndarray:
        thigh = s.joint(f"{side}_knee") - s.joint(f"{side}_hip")
        length = np.linalg.norm(thigh, axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.degrees(np.arcsin(np.clip(thigh[:, 1] / length, -1.0, 1.0)))
    return f


def heel_rise(side: str) -> Callable[[Skeleton], np.ndarray]:
    def f(s: Skeleton) -> np.ndarray:
        height = s.joint(f"{side}_heel")[:, 1] - s.joint(f"{side}_toe")[:, 1]
        start = height[_start_frames(s)]
        baseline = np.nanmedian(start) if np.isfinite(start).any() else np.nanmin(height)
        return height - baseline
    return f


def knee_valgus(side: str) -> Callable[[Skeleton], np.ndarray]:
    def f(s: Skeleton) -> np.ndarray:
        hip, knee, ankle = (s.joint(f"{side}_{j}") for j in ("hip", "knee", "ankle"))
        # Frontal plane: spanned by the (horizontal) hip line and vertical; its normal
        # is the anteroposterior axis. Project the leg onto it.
        lateral = _unit(_horizontal(s.joint("left_hip") - s.joint("right_hip")))  # towards athlete's left
        normal = _unit(np.cross(lateral, np.broadcast_to(UP, lateral.shape)))

        def proj(p: np.ndarray) -> np.ndarray:
            return p - np.sum(p * normal, axis=-1, keepdims=True) * normal

        h, k, a = proj(hip), proj(knee), proj(ankle)
        bend = 180.0 - _angle_deg(h - k, a - k)
        # Medial = towards the midline: for the left leg that is the -lateral direction.
        medial = -lateral if side == "left" else lateral
        line = a - h
        with np.errstate(invalid="ignore", divide="ignore"):
            t = np.sum((k - h) * line, axis=-1, keepdims=True) / np.sum(line * line, axis=-1, keepdims=True)
        offset = np.sum((k - (h + t * line)) * medial, axis=-1)
        return np.sign(offset) * bend
    return f


def hands_outside_feet(s: Skeleton) -> np.ndarray:
    forward = _unit(_horizontal(_mid(s, "left_toe", "right_toe") - _mid(s, "left_heel", "right_heel")))
    forward = np.broadcast_to(_unit(_nanmedian_rows(forward)), forward.shape)
    hands = _mid(s, "left_hand", "right_hand")
    heel = np.sum(_mid(s, "left_heel", "right_heel") * forward, axis=-1)
    toe = np.sum(_mid(s, "left_toe", "right_toe") * forward, axis=-1)
    h = np.sum(hands * forward, axis=-1)
    ahead = h - np.maximum(heel, toe)
    behind = np.minimum(heel, toe) - h
    return np.clip(np.maximum(ahead, behind), 0.0, None) * np.where(np.isnan(h), np.nan, 1.0)


def knee_ankle_separation_ratio(s: Skeleton) -> np.ndarray:
    lateral = _unit(_horizontal(s.joint("left_hip") - s.joint("right_hip")))
    knee_gap = np.sum((s.joint("left_knee") - s.joint("right_knee")) * lateral, axis=-1)
    ankle_gap = np.sum((s.joint("left_ankle") - s.joint("right_ankle")) * lateral, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(np.abs(ankle_gap) > 0.05, knee_gap / ankle_gap, np.nan)


def hands_above_head(s: Skeleton) -> np.ndarray:
    top = np.fmin(s.joint("left_hand")[:, 1], s.joint("right_hand")[:, 1])
    return top - s.joint("nose")[:, 1]


def _line_tilt(left: str, right: str) -> Callable[[Skeleton], np.ndarray]:
    def f(s: Skeleton) -> np.ndarray:
        v = s.joint(left) - s.joint(right)
        horiz = np.linalg.norm(_horizontal(v), axis=-1)
        return np.degrees(np.arctan2(v[:, 1], horiz))
    return f


def pelvis_rotation(s: Skeleton) -> np.ndarray:
    v = _horizontal(s.joint("left_hip") - s.joint("right_hip"))
    start = _unit(_nanmedian_rows(v[_start_frames(s)]))
    return _angle_deg(v, np.broadcast_to(start, v.shape))


@dataclass(frozen=True)
class MeasurementSpec:
    """One row of the measurement table."""

    name: str
    unit: str            # "deg" or "m"
    joints: tuple[str, ...]
    view: str            # view that judges it best: "side", "front" or "any"
    compute: Callable[[Skeleton], np.ndarray] = field(repr=False, compare=False)


def _bilateral(fmt: str, unit: str, joints: tuple[str, ...], view: str, factory) -> list[MeasurementSpec]:
    return [MeasurementSpec(fmt.format(side=side), unit, tuple(f"{side}_{j}" for j in joints), view, factory(side))
            for side in ("left", "right")]


MEASUREMENTS: tuple[MeasurementSpec, ...] = tuple(
    _bilateral("{side}_knee_flexion_deg", "deg", ("hip", "knee", "ankle"), "side", knee_flexion)
    + _bilateral("{side}_hip_flexion_deg", "deg", ("shoulder", "hip", "knee"), "side", hip_flexion)
    + _bilateral("{side}_ankle_dorsiflexion_deg", "deg", ("knee", "ankle", "heel", "toe"), "side", ankle_dorsiflexion)
    + _bilateral("{side}_tibia_inclination_deg", "deg", ("knee", "ankle"), "side", tibia_inclination)
    + _bilateral("{side}_hip_below_knee_deg", "deg", ("hip", "knee"), "side", hip_below_knee)
    + _bilateral("{side}_heel_rise_m", "m", ("heel", "toe"), "side", heel_rise)
    + _bilateral("{side}_knee_valgus_deg", "deg", ("hip", "knee", "ankle"), "front", knee_valgus)
    + [
        MeasurementSpec("trunk_inclination_deg", "deg",
                        ("left_shoulder", "right_shoulder", "left_hip", "right_hip"), "side", trunk_inclination),
        MeasurementSpec("torso_minus_tibia_deg", "deg",
                        ("left_shoulder", "right_shoulder", "left_hip", "right_hip",
                         "left_knee", "right_knee", "left_ankle", "right_ankle"), "side", torso_minus_tibia),
        MeasurementSpec("hands_outside_feet_m", "m",
                        ("left_hand", "right_hand", "left_heel", "right_heel", "left_toe", "right_toe"),
                        "side", hands_outside_feet),
        MeasurementSpec("knee_ankle_separation_ratio", "ratio",
                        ("left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle"),
                        "front", knee_ankle_separation_ratio),
        MeasurementSpec("hands_above_head_m", "m", ("left_hand", "right_hand", "nose"), "any", hands_above_head),
        MeasurementSpec("pelvis_obliquity_deg", "deg", ("left_hip", "right_hip"), "front",
                        _line_tilt("left_hip", "right_hip")),
        MeasurementSpec("shoulder_tilt_deg", "deg", ("left_shoulder", "right_shoulder"), "front",
                        _line_tilt("left_shoulder", "right_shoulder")),
        MeasurementSpec("pelvis_rotation_deg", "deg", ("left_hip", "right_hip"), "any", pelvis_rotation),
    ]
)
SPECS: dict[str, MeasurementSpec] = {m.name: m for m in MEASUREMENTS}


@dataclass
class Measurement:
    """A measured time series with its extremes."""

    name: str
    unit: str
    view: str
    values: np.ndarray  # [T]

    def _frame(self, fn) -> int | None:
        if not np.isfinite(self.values).any():
            return None
        return int(fn(np.where(np.isfinite(self.values), self.values, np.nan)))

    @property
    def max_frame(self) -> int | None:
        return self._frame(np.nanargmax)

    @property
    def min_frame(self) -> int | None:
        return self._frame(np.nanargmin)

    def at(self, frame: int | None) -> float | None:
        if frame is None or not np.isfinite(self.values[frame]):
            return None
        return float(self.values[frame])

    def summary(self) -> dict:
        mx, mn = self.max_frame, self.min_frame
        return {"name": self.name, "unit": self.unit, "view": self.view,
                "max": self.at(mx), "max_frame": mx, "min": self.at(mn), "min_frame": mn,
                "valid_share": float(np.isfinite(self.values).mean()) if len(self.values) else 0.0}


def measure(skel: Skeleton, names: list[str] | None = None) -> dict[str, Measurement]:
    """Compute the named measurements (all of MEASUREMENTS when `names` is None)."""
    specs = MEASUREMENTS if names is None else [SPECS[n] for n in names]
    out = {}
    for spec in specs:
        # all-NaN frames (joint not seen) are expected: they give NaN, not a warning
        with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            values = np.asarray(spec.compute(skel), dtype=np.float64)
        out[spec.name] = Measurement(spec.name, spec.unit, spec.view, values)
    return out


def save_series_csv(measurements: dict[str, Measurement], fps: float, path) -> None:
    """Write all series to a CSV: time_s then one column per measurement (name carries the unit)."""
    import csv
    names = list(measurements)
    n = len(next(iter(measurements.values())).values) if measurements else 0
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["frame", "time_s"] + names)
        for t in range(n):
            w.writerow([t, f"{t / fps:.4f}"] + [
                "" if not np.isfinite(measurements[k].values[t]) else f"{measurements[k].values[t]:.4f}"
                for k in names])
