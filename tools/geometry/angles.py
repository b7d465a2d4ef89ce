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

FMS rows for tests 2-7. "Start" = median over the first 0.3 s; the athlete's
axes (left, facing) come from the summed shoulder and hip lines at the start;
the floor is the mean of the three lowest joints at the start; "outward" is
away from the midline (+ for the athlete's left limb along left, for the right
limb along right).
- trunk_excursion_deg: angle between the trunk (mid-hip -> mid-shoulder) and
  its start direction, any direction; 0 = as at the start.
- hands_line_tilt_deg: fist-to-fist line from horizontal; + = left fist higher.
- {side}_foot_lift_m: lowest of heel/toe above its start height; + = lifted.
- {side}_toe_shift_m: 3D distance of the toe from its start position.
- {side}_knee_out_of_plane_m: knee minus the hip/ankle midpoint, along the
  athlete's left-right axis; + = outward (0 = hip, knee, ankle in line).
- {side}_hurdle_clearance_m: height of that foot's sole line (heel to toe)
  above the hurdle cord where it crosses the cord line (NaN elsewhere). Cord
  by protocol: 0.93 shank lengths above the standing ankle (tibial
  tuberosity), 4 cm ahead of the standing toes.
- {side}_knee_height_m / {side}_hand_height_m: joint height above the floor.
- {side}_knee_rise_m: knee height minus its start height.
- {side}_toe_ahead_m: toe minus the other toe along the facing direction.
- {side}_knee_drift_from_line_m: like knee_out_of_plane, but across the
  toe-to-toe line (in-line lunge: the board line); + = outward.
- shoulder_rotation_deg: shoulder line's turn about vertical from the start.
- trunk_roll_deg: mean tilt of the shoulder and hip lines minus its start
  value; + = the athlete's left side rolled up.
- trunk_forward_lean_deg / hands_line_forward_lean_deg: trunk / lower-to-upper
  fist line from vertical in the sagittal plane; + = top forward.
- dowel_off_trunk_deg: fist line lean minus trunk lean, minus its start value
  (0 = the dowel stays along the spine as at the start).
- fist_gap_m: distance between the fist centres; fist_gap_hand_lengths: the
  same over the estimated hand length (0.74 x median forearm length).
- {side}_aslr_ankle_fraction: that (raised) ankle along the other (down) leg,
  on the body's long axis: 0 = ASIS (6 cm cranial of the hip centre),
  0.5 = mid-thigh, 1 = the down knee's joint line; smaller = higher raise.
- pushup_hand_level: thumb line at rest on a landmark scale 0 = collarbone,
  1 = chin, 2 = forehead (linear between landmarks, extrapolated outside).
- pushup_lumbar_lag_deg: trunk elevation minus leg elevation (sagittal),
  relative to rest; + = the chest rises ahead of the pelvis.
- pelvis_rise_m: mid-hip height above its start.
- {side}_arm_elevation_deg / {side}_thigh_elevation_deg: shoulder->fist /
  hip->knee from straight down; 0 = hanging, 90 = level, 180 = straight up.
- {side}_elbow_to_same_knee_m / _opposite_knee_m: elbow-knee distances.
- chest_facing_up_cos: cosine of the chest normal with vertical; +1 supine,
  -1 prone or on all fours, 0 upright.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from tools.core.skeleton import Skeleton

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


# ----- body axes and the floor, fixed over the clip from the start position ------------
# Protocol geometry the skeleton has no joint for (FMS kit set-up, see knowledge/rubric/):
HURDLE_CORD_AHEAD_OF_TOES_M = 0.04      # cord plane just ahead of the toes, which touch the hurdle base
TIBIAL_TUBEROSITY_SHANK_FRACTION = 0.93  # cord height: tibial tuberosity, ~7% of the shank below the knee joint
FOOT_LIFTED_M = 0.05                     # a foot whose lowest point is this far above its start is in the air


def _lateral0(s: Skeleton) -> np.ndarray:
    """The athlete's left, horizontal unit [3], from the shoulder and hip lines at the start (median).

    The two lines are summed (the longer shoulder line weighs more), which halves the
    direction error a single hip line has from pose noise.
    """
    v = _horizontal((s.joint("left_hip") - s.joint("right_hip")) + (s.joint("left_shoulder") - s.joint("right_shoulder")))
    start = _nanmedian_rows(v[_start_frames(s)])
    if not np.isfinite(start).all():
        start = _nanmedian_rows(v)
    return _unit(start)


def _forward0(s: Skeleton) -> np.ndarray:
    """The direction the athlete faces at the start, horizontal unit [3] (left x up)."""
    return _unit(np.cross(_lateral0(s), UP))


def _start_median(values: np.ndarray, s: Skeleton) -> np.ndarray:
    """Median of a [T] or [T,3] series over the start frames (whole clip if the start is unseen)."""
    start = values[_start_frames(s)]
    ok = np.isfinite(start) if start.ndim == 1 else np.isfinite(start).all(axis=-1)
    pool = start if ok.any() else values
    return np.nanmedian(pool, axis=0)


def _floor_y(s: Skeleton) -> float:
    """Floor height: mean of the three lowest joints at the start (median over the start frames).

    Standing those are heels and toes; lying or kneeling hands, heels or knees. Joint
    centres sit a centimetre or two above the surface they rest on.
    """
    y = np.where(np.isfinite(s.xyz[:, :, 1]), s.xyz[:, :, 1], np.inf)
    lowest = np.sort(y, axis=1)[:, :3]
    low = np.where(np.isfinite(lowest).all(axis=1), lowest.mean(axis=1), np.nan)
    return float(_start_median(low, s))


def _outward(side: str) -> float:
    """+1 when the athlete's left (+lateral) is outward for this side's limb, -1 for the right."""
    return 1.0 if side == "left" else -1.0


def trunk_excursion(s: Skeleton) -> np.ndarray:
    trunk = _mid(s, "left_shoulder", "right_shoulder") - _mid(s, "left_hip", "right_hip")
    start = _unit(_start_median(trunk, s))
    return _angle_deg(trunk, np.broadcast_to(start, trunk.shape))


def foot_low_point(s: Skeleton, side: str) -> np.ndarray:
    """[T] height of the lowest of heel and toe (the sole) of one foot."""
    return np.fmin(s.joint(f"{side}_heel")[:, 1], s.joint(f"{side}_toe")[:, 1])


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


def hurdle_cord(s: Skeleton) -> tuple[float, float]:
    """(cord height y, cord plane position along the facing direction) by protocol, from the start pose."""
    fwd = _forward0(s)
    toes = np.stack([np.sum(s.joint(f"{side}_toe") * fwd, axis=-1) for side in ("left", "right")], axis=1)
    plane = float(np.nanmax(_start_median(toes, s))) + HURDLE_CORD_AHEAD_OF_TOES_M
    shank = np.nanmedian(np.concatenate([
        np.linalg.norm(s.joint(f"{side}_knee") - s.joint(f"{side}_ankle"), axis=-1) for side in ("left", "right")]))
    ankle_y = np.concatenate([s.joint(f"{side}_ankle")[:, 1][_start_frames(s)] for side in ("left", "right")])
    ankle_stand = np.nanmedian(ankle_y) if np.isfinite(ankle_y).any() else np.nan
    return float(ankle_stand + TIBIAL_TUBEROSITY_SHANK_FRACTION * shank), plane


def hurdle_clearance(side: str) -> Callable[[Skeleton], np.ndarray]:
    def f(s: Skeleton) -> np.ndarray:
        cord_y, plane = hurdle_cord(s)
        fwd = _forward0(s)
        heel, toe = s.joint(f"{side}_heel"), s.joint(f"{side}_toe")
        hf, tf = np.sum(heel * fwd, axis=-1) - plane, np.sum(toe * fwd, axis=-1) - plane
        crossing = (hf * tf <= 0) & (foot_lift(side)(s) > FOOT_LIFTED_M)
        span = tf - hf
        w = np.clip(-hf / np.where(np.abs(span) < 1e-9, 1e-9, span), 0.0, 1.0)
        sole_y = heel[:, 1] + w * (toe[:, 1] - heel[:, 1])
        return np.where(crossing, sole_y - cord_y, np.nan)
    return f


def shoulder_rotation(s: Skeleton) -> np.ndarray:
    v = _horizontal(s.joint("left_shoulder") - s.joint("right_shoulder"))
    start = _unit(_start_median(v, s))
    return _angle_deg(v, np.broadcast_to(start, v.shape))


def trunk_roll(s: Skeleton) -> np.ndarray:
    tilt = (_line_tilt("left_shoulder", "right_shoulder")(s) + _line_tilt("left_hip", "right_hip")(s)) / 2.0
    return tilt - _start_median(tilt, s)


def _sagittal_lean_deg(v: np.ndarray, fwd: np.ndarray) -> np.ndarray:
    """Angle of v from vertical within the sagittal plane (forward component vs up); + = top forward."""
    return np.degrees(np.arctan2(np.sum(v * fwd, axis=-1), v[:, 1]))


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


# Hand length from the forearm: hand (wrist crease to middle fingertip) / forearm (elbow to wrist)
# = 0.108 / 0.146 of stature in the Drillis & Contini segment table (Winter), i.e. 0.74.
HAND_TO_FOREARM_RATIO = 0.74


def estimated_hand_length_m(s: Skeleton) -> float:
    """Hand length estimated as 0.74 x the median forearm length of both arms (NaN if unseen)."""
    fore = np.concatenate([np.linalg.norm(s.joint(f"{side}_wrist") - s.joint(f"{side}_elbow"), axis=-1)
                           for side in ("left", "right")])
    fore = fore[np.isfinite(fore)]
    return float(HAND_TO_FOREARM_RATIO * np.median(fore)) if fore.size else float("nan")


def fist_gap(s: Skeleton) -> np.ndarray:
    return np.linalg.norm(s.joint("left_hand") - s.joint("right_hand"), axis=-1)


def fist_gap_hand_lengths(s: Skeleton) -> np.ndarray:
    return fist_gap(s) / estimated_hand_length_m(s)


# ASLR landmarks: the ASIS sits ~6 cm cranial of the hip joint centre along the body axis.
ASIS_CRANIAL_OF_HIP_M = 0.06


def _body_axis0(s: Skeleton) -> np.ndarray:
    """Caudal long axis of a lying body at the start: mid-shoulder -> mid-hip, horizontal unit [3]."""
    v = _horizontal(_mid(s, "left_hip", "right_hip") - _mid(s, "left_shoulder", "right_shoulder"))
    return _unit(_start_median(v, s))


def aslr_ankle_fraction(side: str) -> Callable[[Skeleton], np.ndarray]:
    """Raised ankle along the down leg: 0 = ASIS, 0.5 = mid-thigh, 1 = knee joint line (body axis)."""
    other = "right" if side == "left" else "left"

    def f(s: Skeleton) -> np.ndarray:
        axis = _body_axis0(s)
        hip = _start_median(_mid(s, "left_hip", "right_hip"), s)
        asis = float(np.dot(hip, axis)) - ASIS_CRANIAL_OF_HIP_M
        knee = float(np.dot(_start_median(s.joint(f"{other}_knee"), s), axis))
        ankle = np.sum(s.joint(f"{side}_ankle") * axis, axis=-1)
        return (ankle - asis) / (knee - asis)
    return f


# Push-up hand levels along the body's long axis, from the face and shoulders at rest. Head model
# (same as the canonical head: centre between the ears, radius = ear gap / 1.84): forehead top
# 0.6 r cranial of the head centre, chin 0.8 r caudal of it, collarbone 3 cm cranial of the
# shoulder joint line. The fist ('hand') joint lies ~2 cm cranial of the thumb line of a flat hand.
FOREHEAD_ABOVE_HEAD_CENTRE_R = 0.6
CHIN_BELOW_HEAD_CENTRE_R = 0.8
EAR_GAP_TO_HEAD_RADIUS = 1.84
COLLARBONE_ABOVE_SHOULDER_M = 0.03
THUMB_LINE_BEHIND_KNUCKLES_M = 0.02


def pushup_landmarks(s: Skeleton) -> dict[str, float]:
    """Positions (m) along the cranial body axis at rest: collarbone, chin, forehead, thumb line."""
    cranial = -_body_axis0(s)
    shoulder = float(np.dot(_start_median(_mid(s, "left_shoulder", "right_shoulder"), s), cranial))
    ears_l, ears_r = _start_median(s.joint("left_ear"), s), _start_median(s.joint("right_ear"), s)
    centre = float(np.dot((ears_l + ears_r) / 2, cranial))
    r = float(np.linalg.norm(ears_l - ears_r)) / EAR_GAP_TO_HEAD_RADIUS
    hands = float(np.dot(_start_median(_mid(s, "left_hand", "right_hand"), s), cranial))
    return {"collarbone": shoulder + COLLARBONE_ABOVE_SHOULDER_M, "chin": centre - CHIN_BELOW_HEAD_CENTRE_R * r,
            "forehead": centre + FOREHEAD_ABOVE_HEAD_CENTRE_R * r, "thumbs": hands - THUMB_LINE_BEHIND_KNUCKLES_M}


def pushup_hand_level(s: Skeleton) -> np.ndarray:
    """Thumb line on the landmark scale 0 = collarbone, 1 = chin, 2 = forehead (linear between, extrapolated)."""
    lm = pushup_landmarks(s)
    x, c0, c1, c2 = lm["thumbs"], lm["collarbone"], lm["chin"], lm["forehead"]
    if x <= c1:
        level = (x - c0) / (c1 - c0)
    else:
        level = 1.0 + (x - c1) / (c2 - c1)
    return np.full(s.n_frames, level)


def pushup_lumbar_lag(s: Skeleton) -> np.ndarray:
    """Trunk elevation minus leg elevation (sagittal), relative to rest: + = chest leads the pelvis."""
    cranial = -_body_axis0(s)
    trunk = _mid(s, "left_shoulder", "right_shoulder") - _mid(s, "left_hip", "right_hip")
    legs = _mid(s, "left_hip", "right_hip") - _mid(s, "left_ankle", "right_ankle")
    lag = (np.degrees(np.arctan2(trunk[:, 1], np.sum(trunk * cranial, axis=-1)))
           - np.degrees(np.arctan2(legs[:, 1], np.sum(legs * cranial, axis=-1))))
    return lag - _start_median(lag, s)


def pelvis_rise(s: Skeleton) -> np.ndarray:
    y = _mid(s, "left_hip", "right_hip")[:, 1]
    return y - _start_median(y, s)


def arm_elevation(side: str) -> Callable[[Skeleton], np.ndarray]:
    def f(s: Skeleton) -> np.ndarray:
        arm = s.joint(f"{side}_hand") - s.joint(f"{side}_shoulder")
        return _angle_deg(arm, np.broadcast_to(-UP, arm.shape))
    return f


def thigh_elevation(side: str) -> Callable[[Skeleton], np.ndarray]:
    def f(s: Skeleton) -> np.ndarray:
        thigh = s.joint(f"{side}_knee") - s.joint(f"{side}_hip")
        return _angle_deg(thigh, np.broadcast_to(-UP, thigh.shape))
    return f


def elbow_to_knee(side: str, same: bool) -> Callable[[Skeleton], np.ndarray]:
    knee_side = side if same else ("right" if side == "left" else "left")
    return lambda s: np.linalg.norm(s.joint(f"{side}_elbow") - s.joint(f"{knee_side}_knee"), axis=-1)


def chest_facing_up(s: Skeleton) -> np.ndarray:
    """Cosine of the chest normal with vertical: +1 lying on the back, -1 face down, 0 upright."""
    lateral = (s.joint("left_shoulder") - s.joint("right_shoulder")) + (s.joint("left_hip") - s.joint("right_hip"))
    trunk = _mid(s, "left_shoulder", "right_shoulder") - _mid(s, "left_hip", "right_hip")
    return _unit(np.cross(lateral, trunk))[:, 1]


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
        MeasurementSpec("trunk_excursion_deg", "deg",
                        ("left_shoulder", "right_shoulder", "left_hip", "right_hip"), "any", trunk_excursion),
        MeasurementSpec("hands_line_tilt_deg", "deg", ("left_hand", "right_hand"), "front",
                        _line_tilt("left_hand", "right_hand")),
    ]
    + _bilateral("{side}_foot_lift_m", "m", ("heel", "toe"), "any", foot_lift)
    + _bilateral("{side}_toe_shift_m", "m", ("toe",), "any", toe_shift)
    + _bilateral("{side}_knee_out_of_plane_m", "m", ("hip", "knee", "ankle"), "front", knee_out_of_plane)
    + _bilateral("{side}_hurdle_clearance_m", "m", ("heel", "toe", "knee", "ankle"), "side", hurdle_clearance)
    + _bilateral("{side}_knee_height_m", "m", ("knee",), "side", knee_height)
    + _bilateral("{side}_knee_rise_m", "m", ("knee",), "side", knee_rise)
    + _bilateral("{side}_hand_height_m", "m", ("hand",), "side", hand_height)
    + _bilateral("{side}_toe_ahead_m", "m", ("toe",), "side", toe_ahead)
    + _bilateral("{side}_knee_drift_from_line_m", "m", ("knee", "toe"), "front", knee_drift_from_line)
    + _bilateral("{side}_aslr_ankle_fraction", "fraction", ("ankle", "knee", "hip", "shoulder"), "side",
                 aslr_ankle_fraction)
    + _bilateral("{side}_arm_elevation_deg", "deg", ("shoulder", "hand"), "side", arm_elevation)
    + _bilateral("{side}_thigh_elevation_deg", "deg", ("hip", "knee"), "side", thigh_elevation)
    + _bilateral("{side}_elbow_to_same_knee_m", "m", ("elbow", "knee"), "side", lambda side: elbow_to_knee(side, True))
    + _bilateral("{side}_elbow_to_opposite_knee_m", "m", ("elbow", "knee"), "side",
                 lambda side: elbow_to_knee(side, False))
    + [
        MeasurementSpec("shoulder_rotation_deg", "deg", ("left_shoulder", "right_shoulder"), "any", shoulder_rotation),
        MeasurementSpec("trunk_roll_deg", "deg", ("left_shoulder", "right_shoulder", "left_hip", "right_hip"), "front",
                        trunk_roll),
        MeasurementSpec("trunk_forward_lean_deg", "deg",
                        ("left_shoulder", "right_shoulder", "left_hip", "right_hip"), "side", trunk_forward_lean),
        MeasurementSpec("hands_line_forward_lean_deg", "deg", ("left_hand", "right_hand"), "side",
                        hands_line_forward_lean),
        MeasurementSpec("dowel_off_trunk_deg", "deg",
                        ("left_hand", "right_hand", "left_shoulder", "right_shoulder", "left_hip", "right_hip"),
                        "side", dowel_off_trunk),
        MeasurementSpec("fist_gap_m", "m", ("left_hand", "right_hand"), "any", fist_gap),
        MeasurementSpec("fist_gap_hand_lengths", "hand_lengths",
                        ("left_hand", "right_hand", "left_elbow", "right_elbow", "left_wrist", "right_wrist"),
                        "any", fist_gap_hand_lengths),
        MeasurementSpec("pushup_hand_level", "level",
                        ("left_hand", "right_hand", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
                         "left_hip", "right_hip"), "side", pushup_hand_level),
        MeasurementSpec("pushup_lumbar_lag_deg", "deg",
                        ("left_shoulder", "right_shoulder", "left_hip", "right_hip", "left_ankle", "right_ankle"),
                        "side", pushup_lumbar_lag),
        MeasurementSpec("pelvis_rise_m", "m", ("left_hip", "right_hip"), "side", pelvis_rise),
        MeasurementSpec("chest_facing_up_cos", "cos",
                        ("left_shoulder", "right_shoulder", "left_hip", "right_hip"), "any", chest_facing_up),
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
