"""Hurdle step and in-line lunge family: foot lift and travel, knee alignment, hurdle clearance, trunk and
dowel movement from the start, heights above the floor (conventions: tools.geometry.angles)."""
from __future__ import annotations

import warnings
from typing import Callable

import numpy as np

from tools.core.skeleton import Skeleton
from tools.geometry.angles.base import UP, _angle_deg, _floor_y, _forward0, _horizontal, _lateral0, _line_tilt, _mid, _outward, _sagittal_lean_deg, _start_frames, _start_median, _unit, foot_low_point


# ----- body axes and the floor, fixed over the clip from the start position ------------
# Protocol geometry the skeleton has no joint for (FMS kit set-up, see knowledge/rubric/):
HURDLE_CORD_AHEAD_OF_TOES_M = 0.04      # cord plane just ahead of the toes, which touch the hurdle base
TIBIAL_TUBEROSITY_SHANK_FRACTION = 0.93  # cord height: tibial tuberosity, ~7% of the shank below the knee joint
FOOT_LIFTED_M = 0.05                     # a foot whose lowest point is this far above its start is in the air
# Which part of the sole is read at the cord line (0 = heel keypoint, 1 = toe keypoint): the middle third. Near
# its ends the sole's height at the cord line hangs on where the heel and toe keypoints sit along the foot
# (a pose model's keypoint definition and bias move them 1.5-2.5 cm), and the foot lands with its toes 4 cm
# behind the cord, dropping steeply there: a 3 cm error along the foot read the toe 10-25 cm "below" the
# cord on clean steps (docs/BENCHMARKS.md, issue 17). A touch by the last few cm of toe or heel alone is
# beyond what such a skeleton resolves.
HURDLE_SOLE_READ = (1.0 / 3.0, 2.0 / 3.0)
HURDLE_SOLE_POINTS = 11                  # sole points read in that span


def trunk_excursion(s: Skeleton) -> np.ndarray:
    trunk = _mid(s, "left_shoulder", "right_shoulder") - _mid(s, "left_hip", "right_hip")
    start = _unit(_start_median(trunk, s))
    return _angle_deg(trunk, np.broadcast_to(start, trunk.shape))


def foot_lift(side: str) -> Callable[[Skeleton], np.ndarray]:
    def f(s: Skeleton) -> np.ndarray:
        low = foot_low_point(s, side)
        return low - _start_median(low, s)
    return f


def toe_shift(side: str) -> Callable[[Skeleton], np.ndarray]:
    def f(s: Skeleton) -> np.ndarray:
        toe = s.joint(f"{side}_toe")
        return np.linalg.norm(toe - _start_median(toe, s), axis=-1)
    return f


def knee_out_of_plane(side: str) -> Callable[[Skeleton], np.ndarray]:
    def f(s: Skeleton) -> np.ndarray:
        middle = (s.joint(f"{side}_hip") + s.joint(f"{side}_ankle")) / 2.0
        return np.sum((s.joint(f"{side}_knee") - middle) * _lateral0(s), axis=-1) * _outward(side)
    return f


def standing_frames(s: Skeleton) -> slice:
    """The standing start: from the first frame until just before either foot first rises (its lowest point
    more than FOOT_LIFTED_M / 2 above its start height for two frames running); never shorter than the start
    frames (tools.geometry.angles.base._start_frames), the whole clip if no foot rises."""
    first = None
    for side in ("left", "right"):
        low = foot_low_point(s, side)
        with np.errstate(invalid="ignore"):
            up = (low - _start_median(low, s)) > FOOT_LIFTED_M / 2
        runs = np.flatnonzero(up[:-1] & up[1:])
        if len(runs):
            first = int(runs[0]) if first is None else min(first, int(runs[0]))
    if first is None:
        return slice(0, s.n_frames)
    return slice(0, min(s.n_frames, max(first - 2, _start_frames(s).stop)))


def hurdle_cord(s: Skeleton) -> tuple[float, float]:
    """(cord height y, cord plane position along the facing direction) by protocol, from the standing start.

    Plane: HURDLE_CORD_AHEAD_OF_TOES_M ahead of the foremost toe (the toes touch the hurdle base), each toe's
    position the median over the standing frames. Height: the tibial tuberosity, the median standing ankle
    height of both feet plus TIBIAL_TUBEROSITY_SHANK_FRACTION of the athlete's own shank (knee to ankle,
    median over the clip and both legs). Medians over all the standing frames, not a few start frames,
    so a one-frame outlier (tracker flicker) or a dropout does not move the cord.
    """
    fwd = _forward0(s)
    still = standing_frames(s)
    toes = np.stack([np.sum(s.joint(f"{side}_toe") * fwd, axis=-1) for side in ("left", "right")], axis=1)[still]
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        toe_at = np.nanmedian(toes, axis=0) if np.isfinite(toes).any() else np.full(2, np.nan)
        plane = float(np.nanmax(toe_at)) + HURDLE_CORD_AHEAD_OF_TOES_M if np.isfinite(toe_at).any() else np.nan
        shank = np.nanmedian(np.concatenate([
            np.linalg.norm(s.joint(f"{side}_knee") - s.joint(f"{side}_ankle"), axis=-1) for side in ("left", "right")]))
        ankle_y = np.concatenate([s.joint(f"{side}_ankle")[:, 1][still] for side in ("left", "right")])
        ankle_stand = np.nanmedian(ankle_y) if np.isfinite(ankle_y).any() else np.nan
    return float(ankle_stand + TIBIAL_TUBEROSITY_SHANK_FRACTION * shank), plane


def hurdle_clearance(side: str) -> Callable[[Skeleton], np.ndarray]:
    """[T] lowest height above the cord at which a point of the middle of the sole (HURDLE_SOLE_READ of the
    heel-to-toe line) passes the cord line, while the foot is lifted; NaN where none passes.

    Each sole point's pass is found between frames (linear interpolation in time), so a fast foot that
    is on one side of the line in one frame and on the other in the next is still read, at the moment
    it passes; the reading goes to the nearer of the two frames.
    """
    def f(s: Skeleton) -> np.ndarray:
        cord_y, plane = hurdle_cord(s)
        fwd = _forward0(s)
        heel, toe = s.joint(f"{side}_heel"), s.joint(f"{side}_toe")
        w = np.linspace(HURDLE_SOLE_READ[0], HURDLE_SOLE_READ[1], HURDLE_SOLE_POINTS)
        points = heel[:, None, :] + w[None, :, None] * (toe - heel)[:, None, :]          # [T, W, 3]
        ahead = np.sum(points * fwd, axis=-1) - plane                                   # [T, W]
        height = points[..., 1] - cord_y
        lifted = foot_lift(side)(s) > FOOT_LIFTED_M
        a, b = ahead[:-1], ahead[1:]
        with np.errstate(all="ignore"):
            passes = (np.isfinite(a) & np.isfinite(b) & (a * b <= 0) & lifted[:-1, None] & lifted[1:, None])
            u = np.where(a == b, 0.0, a / np.where(a == b, 1.0, a - b))
            at = height[:-1] + u * (height[1:] - height[:-1])
        out = np.full(s.n_frames, np.inf)
        rows, cols = np.nonzero(passes & np.isfinite(at))
        np.minimum.at(out, rows + (u[rows, cols] >= 0.5), at[rows, cols])
        return np.where(np.isfinite(out), out, np.nan)
    return f


def shoulder_rotation(s: Skeleton) -> np.ndarray:
    v = _horizontal(s.joint("left_shoulder") - s.joint("right_shoulder"))
    start = _unit(_start_median(v, s))
    return _angle_deg(v, np.broadcast_to(start, v.shape))


def trunk_roll(s: Skeleton) -> np.ndarray:
    tilt = (_line_tilt("left_shoulder", "right_shoulder")(s) + _line_tilt("left_hip", "right_hip")(s)) / 2.0
    return tilt - _start_median(tilt, s)


def trunk_forward_lean(s: Skeleton) -> np.ndarray:
    trunk = _mid(s, "left_shoulder", "right_shoulder") - _mid(s, "left_hip", "right_hip")
    return _sagittal_lean_deg(trunk, _forward0(s))


def _upper_minus_lower_hand(s: Skeleton) -> np.ndarray:
    """Vector from the lower fist to the higher fist, per frame (the dowel held along the spine)."""
    lh, rh = s.joint("left_hand"), s.joint("right_hand")
    left_higher = (lh[:, 1] >= rh[:, 1])[:, None]
    return np.where(left_higher, lh - rh, rh - lh)


def hands_line_forward_lean(s: Skeleton) -> np.ndarray:
    return _sagittal_lean_deg(_upper_minus_lower_hand(s), _forward0(s))


def dowel_off_trunk(s: Skeleton) -> np.ndarray:
    diff = hands_line_forward_lean(s) - trunk_forward_lean(s)
    return diff - _start_median(diff, s)


def knee_height(side: str) -> Callable[[Skeleton], np.ndarray]:
    return lambda s: s.joint(f"{side}_knee")[:, 1] - _floor_y(s)


def knee_rise(side: str) -> Callable[[Skeleton], np.ndarray]:
    def f(s: Skeleton) -> np.ndarray:
        y = s.joint(f"{side}_knee")[:, 1]
        return y - _start_median(y, s)
    return f


def hand_height(side: str) -> Callable[[Skeleton], np.ndarray]:
    return lambda s: s.joint(f"{side}_hand")[:, 1] - _floor_y(s)


def knee_drift_from_line(side: str) -> Callable[[Skeleton], np.ndarray]:
    """Knee's sideways distance from its hip-ankle midpoint, perpendicular to the toe-to-toe line
    (in-line lunge: the feet stand on one line, whose normal is a steadier sideways axis than the
    hip line); + = outward."""
    def f(s: Skeleton) -> np.ndarray:
        line = _unit(_horizontal(_start_median(s.joint("left_toe") - s.joint("right_toe"), s)))
        normal = _unit(np.cross(UP, line))
        if np.dot(normal, _lateral0(s)) < 0:   # point it to the athlete's left
            normal = -normal
        middle = (s.joint(f"{side}_hip") + s.joint(f"{side}_ankle")) / 2.0
        return np.sum((s.joint(f"{side}_knee") - middle) * normal, axis=-1) * _outward(side)
    return f


def toe_ahead(side: str) -> Callable[[Skeleton], np.ndarray]:
    other = "right" if side == "left" else "left"

    def f(s: Skeleton) -> np.ndarray:
        return np.sum((s.joint(f"{side}_toe") - s.joint(f"{other}_toe")) * _forward0(s), axis=-1)
    return f
