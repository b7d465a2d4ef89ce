"""Active straight-leg raise (generated raising the LEFT leg; R = mirror).

Lying supine (head towards -z, feet towards +z, face up), arms at the sides,
a 2x6 board under the knees; the examiner's dowel stands upright beside the
down leg at the midpoint between the ASIS and the knee joint line. The athlete
raises the straight test leg, toes up, holds and lowers it. Knobs:
- ankle_fraction_asis_to_knee: where the raised ankle's vertical line meets the
  down leg at the top, as a fraction of the ASIS (0) -> knee joint line (1)
  distance along the body axis; < 0.5 = past the mid-thigh (score 3),
  0.5-1 = between mid-thigh and knee (2), > 1 = below the knee line (1).
- down_leg_lift_m: the down knee rises off the board (the other leg does not
  stay flat): our reading scores one level lower (never below 1).
ASIS model: hip joint centre + 0.06 m cranially (along the body axis).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tools.core.errors import InputError
from tools.synth import rig
from tools.synth.body import Athlete
from tools.synth.criteria import PAIN, Label
from tools.synth.style import banded
from tools.synth.props import Box, Capsule
from tools.synth.timing import Phase, sway, timeline

MID_THIGH_FRACTION = 0.5
KNEE_FRACTION = 1.0
DOWN_LEG_LIFT_MAX_M = 0.04
ASIS_CRANIAL_M = 0.06


@dataclass(frozen=True)
class ActiveStraightLegRaiseKnobs:
    ankle_fraction_asis_to_knee: float = 0.3
    down_leg_lift_m: float = 0.0
    pain: bool = False


def label(knobs: ActiveStraightLegRaiseKnobs, athlete: Athlete | None = None) -> Label:
    f = knobs.ankle_fraction_asis_to_knee
    failed = []
    if f >= MID_THIGH_FRACTION:
        failed.append("ankle_past_mid_thigh")
    if f >= KNEE_FRACTION:
        failed.append("ankle_past_knee")
    score = 3 - len(failed)
    if knobs.down_leg_lift_m > DOWN_LEG_LIFT_MAX_M:
        failed.append("down_leg_flat")
        score = max(1, score - 1)
    if knobs.pain:
        return Label("active_straight_leg_raise", "L", 0, tuple(failed) + (PAIN,), pain=True)
    return Label("active_straight_leg_raise", "L", score, tuple(failed))


def sample_knobs(rng: np.random.Generator, score: int, athlete: Athlete | None = None,
                 depth: float | None = None) -> ActiveStraightLegRaiseKnobs:
    """Random knobs for a target score; depth (0-1, None = whole band): 1 = the highest raise in the band."""
    if score == 0:
        return ActiveStraightLegRaiseKnobs(**{**sample_knobs(rng, int(rng.integers(1, 4)), depth=depth).__dict__,
                                              "pain": True})
    lift = 0.0
    if score < 3 and rng.random() < 0.25:   # reach one level higher, but the down leg lifts
        f = {2: (-0.2, 0.35), 1: (0.62, 0.88)}[score]
        lift = float(rng.uniform(0.07, 0.12))
    else:
        f = {3: (-0.2, 0.35), 2: (0.62, 0.88), 1: (1.15, 1.6)}[score]
    return ActiveStraightLegRaiseKnobs(ankle_fraction_asis_to_knee=banded(rng, *f, depth, more_is_high=False),
                                       down_leg_lift_m=lift)


def generate(athlete: Athlete, knobs: ActiveStraightLegRaiseKnobs, rng: np.random.Generator,
             fps: float = 30.0, speed: float = 1.0) -> rig.Motion:
    if not 0.4 <= speed <= 2.5:
        raise InputError(f"speed must be 0.4-2.5 (1 = natural), got {speed}")
    k = knobs
    level, events = timeline([
        Phase("rest", rng.uniform(0.5, 0.8), 0, 0), Phase("raise", rng.uniform(1.2, 1.8) / speed, 0, 1),
        Phase("top", rng.uniform(0.5, 0.9), 1, 1), Phase("lower", rng.uniform(1.2, 1.6) / speed, 1, 0),
        Phase("finish", rng.uniform(0.4, 0.6), 0, 0),
    ], fps)
    T = len(level)
    scale = athlete.height_m / 1.75
    hip_y = 0.10 * athlete.girth * scale
    mid_hip = np.array([0.0, hip_y, 0.0]) + sway(rng, T, fps, 0.002) * np.array([1.0, 0.2, 1.0])
    hip_l, hip_r = mid_hip + rig.X * athlete.hip_half_width_m, mid_hip - rig.X * athlete.hip_half_width_m
    shoulder_y = 0.085 * athlete.girth * scale
    trunk_dir = rig.unit(np.broadcast_to(np.array([0.0, (shoulder_y - hip_y) / athlete.trunk_m, -1.0]), (T, 3)))
    sh = rig.shoulders_from_trunk(mid_hip, trunk_dir, np.broadcast_to(rig.X, (T, 3)), athlete)
    r = athlete.head_radius_m
    sin_a = np.clip((0.95 * r - shoulder_y) / (athlete.neck_m + 0.85 * r), 0, 0.8)
    head_up = rig.unit(trunk_dir * np.sqrt(1 - sin_a ** 2) + rig.Y * sin_a)
    head = rig.head_points(sh["mid_shoulder"], head_up, np.broadcast_to(rig.Y, (T, 3)), athlete)

    # Arms along the sides on the floor.
    hand_y = 0.045 * scale
    arms = {}
    for side, sign in (("left", 1.0), ("right", -1.0)):
        shoulder = sh[f"{side}_shoulder"]
        target = shoulder + np.array([sign * 0.07, 0.0, 0.96 * athlete.arm_m])
        target[:, 1] = hand_y
        arms[side] = rig.arm_to(shoulder, target, np.array([sign * 0.3, 0.2, 0.0]), athlete)

    # Down (right) leg straight along +z, knee on the board; may lift by the knob.
    leg = athlete.thigh_m + athlete.shank_m
    ankle_y = 0.075 * scale
    lift_h = np.clip(k.down_leg_lift_m * level, 0, 0.8 * athlete.shank_m)
    reach = np.sqrt(athlete.thigh_m ** 2 - lift_h ** 2) + np.sqrt(athlete.shank_m ** 2 - lift_h ** 2)
    ankle_dir = rig.unit(np.array([0.0, ankle_y - hip_y, leg]))
    ankle_r_t = hip_r + ankle_dir * np.minimum(reach, 0.995 * leg)[:, None]
    knee_r, ankle_r = rig.two_bone(hip_r, ankle_r_t, athlete.thigh_m, athlete.shank_m, rig.Y)
    toes_up = rig.unit(np.array([0.0, 1.0, 0.25]))
    foot_r = rig.foot_from_ankle(ankle_r, np.broadcast_to(toes_up, (T, 3)), np.broadcast_to(-rig.Z, (T, 3)), athlete)

    # Raised (left) leg: straight; hip flexion solved so the ankle meets the knob's fraction at the top.
    z_asis = float(mid_hip[0, 2]) - ASIS_CRANIAL_M
    z_knee = float(np.median(knee_r[:, 2][level < 0.01])) if np.any(level < 0.01) else float(knee_r[0, 2])
    z_target = z_asis + k.ankle_fraction_asis_to_knee * (z_knee - z_asis)
    cos_top = np.clip((z_target - hip_l[:, 2]) / leg, -0.35, 0.99)
    alpha = np.arccos(cos_top) * level + np.arcsin((ankle_y - hip_y) / leg) * (1 - level)
    leg_dir = np.stack([np.zeros(T), np.sin(alpha), np.cos(alpha)], -1)
    knee_l = hip_l + leg_dir * athlete.thigh_m
    ankle_l = knee_l + leg_dir * athlete.shank_m
    foot_fwd = np.stack([np.zeros(T), np.cos(alpha), -np.sin(alpha)], -1)
    foot_fwd = rig.unit(foot_fwd + 0.25 * leg_dir)
    foot_l = rig.foot_from_ankle(ankle_l, foot_fwd, -leg_dir, athlete)

    parts = rig.body_parts(head, sh, arms["left"], arms["right"], dict(foot_l, hip=hip_l, knee=knee_l, ankle=ankle_l),
                           dict(foot_r, hip=hip_r, knee=knee_r, ankle=ankle_r))
    z_mid = z_asis + MID_THIGH_FRACTION * (z_knee - z_asis)
    dowel_x = -athlete.hip_half_width_m - 0.16
    props = [
        Box.board_2x6(centre_xz=(0.0, z_knee), along="x", length_m=0.7),
        Capsule("dowel", np.array([[dowel_x, 0.0, z_mid], [dowel_x, rig.DOWEL_LENGTH_M, z_mid]]), 0.0125,
                Capsule.dowel(np.zeros(3), rig.X).rgb),
    ]
    events = {n: int(v) for n, v in events.items()}
    return rig.Motion(joints=rig.assemble(parts, T), spine_mid=sh["spine_mid"], fps=fps, props=props, events=events)
