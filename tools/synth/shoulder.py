"""Shoulder mobility (generated with the LEFT arm on top; R = mirror).

Standing, feet together, fists made; in one motion the top fist reaches over
the shoulder down the back and the other fist comes from below up the back;
the athlete holds, then returns. Knob: fist_gap_hand_lengths, the 3D distance
between the two fist centres (canonical `hand` joints) at the hold divided by
the athlete's hand length (distal wrist crease to tip of the middle finger).
Score 3 within 1 hand length, 2 within 1.5, 1 beyond.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tools.core.errors import InputError
from tools.synth import rig
from tools.synth.body import Athlete
from tools.synth.criteria import PAIN, Label
from tools.synth.style import banded
from tools.synth.timing import Phase, min_jerk, sway, timeline, tremor

WITHIN_3_HAND_LENGTHS = 1.0
WITHIN_2_HAND_LENGTHS = 1.5
FIST_DEPTH_M = 0.05       # fist centre behind the back surface


@dataclass(frozen=True)
class ShoulderMobilityKnobs:
    fist_gap_hand_lengths: float = 0.8
    reach_height_bias: float = 0.0   # -1..1: where along the spine the fists meet (+ = higher)
    pain: bool = False               # clearing test (shoulder impingement) positive


def label(knobs: ShoulderMobilityKnobs, athlete: Athlete | None = None) -> Label:
    g = knobs.fist_gap_hand_lengths
    failed = []
    if g > WITHIN_3_HAND_LENGTHS:
        failed.append("fists_within_1_hand")
    if g > WITHIN_2_HAND_LENGTHS:
        failed.append("fists_within_1_5_hands")
    score = 3 - len(failed)
    if knobs.pain:
        return Label("shoulder_mobility", "L", 0, tuple(failed) + (PAIN,), pain=True)
    return Label("shoulder_mobility", "L", score, tuple(failed))


def sample_knobs(rng: np.random.Generator, score: int, athlete: Athlete | None = None,
                 depth: float | None = None) -> ShoulderMobilityKnobs:
    """Random knobs for a target score; depth (0-1, None = whole band): 1 = the fists come closest in the band."""
    if score == 0:
        return ShoulderMobilityKnobs(**{**sample_knobs(rng, int(rng.integers(1, 4)), depth=depth).__dict__, "pain": True})
    gap = {3: (0.3, 0.85), 2: (1.12, 1.38), 1: (1.65, 2.6)}[score]
    return ShoulderMobilityKnobs(fist_gap_hand_lengths=banded(rng, *gap, depth, more_is_high=False),
                                 reach_height_bias=float(rng.uniform(-0.5, 0.5)))


def _bezier(p0: np.ndarray, p1: np.ndarray, p2: np.ndarray, w: np.ndarray) -> np.ndarray:
    w = w[:, None]
    return (1 - w) ** 2 * p0 + 2 * (1 - w) * w * p1 + w ** 2 * p2


def generate(athlete: Athlete, knobs: ShoulderMobilityKnobs, rng: np.random.Generator,
             fps: float = 30.0, speed: float = 1.0) -> rig.Motion:
    if not 0.4 <= speed <= 2.5:
        raise InputError(f"speed must be 0.4-2.5 (1 = natural), got {speed}")
    k = knobs
    if not 0.0 < k.fist_gap_hand_lengths <= 3.2:
        raise InputError(f"fist_gap_hand_lengths must be in (0, 3.2], got {k.fist_gap_hand_lengths}")
    level, events = timeline([
        Phase("stand", rng.uniform(0.5, 0.8), 0, 0), Phase("reach", rng.uniform(0.9, 1.3) / speed, 0, 1),
        Phase("hold", rng.uniform(0.8, 1.3), 1, 1), Phase("release", rng.uniform(0.9, 1.2) / speed, 1, 0),
        Phase("finish", rng.uniform(0.4, 0.6), 0, 0),
    ], fps)
    T = len(level)
    foot_gap = 0.05
    feet = {s: rig.foot_on_ground(np.array([sign * foot_gap, 0.0, (1 - rig.HEEL_TO_ANKLE_FRACTION) * athlete.foot_m]),
                                  rig.Z, np.array(0.0), athlete) for s, sign in (("left", 1), ("right", -1))}
    leg = athlete.thigh_m + athlete.shank_m
    hip_y = athlete.ankle_height_m + np.sqrt((0.99 * leg) ** 2 - (athlete.hip_half_width_m - foot_gap) ** 2)
    mid_hip = np.array([0.0, hip_y, 0.0]) + sway(rng, T, fps, 0.004) * np.array([1.0, 0.2, 1.0])
    hip_l, hip_r = mid_hip + rig.X * athlete.hip_half_width_m, mid_hip - rig.X * athlete.hip_half_width_m
    knee_l, ankle_l = rig.two_bone(hip_l, feet["left"]["ankle"], athlete.thigh_m, athlete.shank_m, rig.Z)
    knee_r, ankle_r = rig.two_bone(hip_r, feet["right"]["ankle"], athlete.thigh_m, athlete.shank_m, rig.Z)
    trunk_dir = rig.unit(np.broadcast_to(rig.Y + 0.03 * rig.Z, (T, 3)))
    sh = rig.shoulders_from_trunk(mid_hip, trunk_dir, np.broadcast_to(rig.X, (T, 3)), athlete)
    head = rig.head_points(sh["mid_shoulder"], rig.Y, np.broadcast_to(rig.Z, (T, 3)), athlete)

    # Fist targets at the hold: on the spine line behind the back, the gap exactly the knob.
    gap = k.fist_gap_hand_lengths * athlete.hand_length_m
    dx = min(0.04, 0.5 * gap)
    dy = np.sqrt(gap ** 2 - dx ** 2)
    back_z = -(0.105 * athlete.girth * athlete.height_m / 1.75) - FIST_DEPTH_M
    shoulder_y = float(sh["mid_shoulder"][0, 1])
    mid_y = shoulder_y - 0.2 + 0.06 * k.reach_height_bias
    top_y = min(mid_y + dy / 2, shoulder_y + 0.06)
    top = np.array([dx / 2, top_y, back_z])
    bottom = np.array([-dx / 2, top_y - dy, back_z])

    # Paths: top fist up past the shoulder and down behind the neck; bottom fist out, behind, up the back.
    start_l = sh["left_shoulder"][0] + np.array([0.06, -0.97 * athlete.arm_m, 0.02])
    start_r = sh["right_shoulder"][0] + np.array([-0.06, -0.97 * athlete.arm_m, 0.02])
    via_top = sh["left_shoulder"][0] + np.array([0.12, 0.45, 0.05])
    via_bot = sh["right_shoulder"][0] + np.array([-0.15, -0.55, -0.30])
    w = min_jerk(level)
    hand_l = _bezier(start_l, 2 * via_top - 0.5 * (start_l + top), top, w) + tremor(rng, T, fps, 0.001)
    hand_r = _bezier(start_r, 2 * via_bot - 0.5 * (start_r + bottom), bottom, w) + tremor(rng, T, fps, 0.001)
    # Exact gap at the hold (tremor off while holding is not realistic; the hold uses the mean target).
    hold = level >= 0.999
    hand_l[hold], hand_r[hold] = top, bottom
    pole_top = rig.unit((1 - w)[:, None] * np.array([0.4, 0.0, -1.0]) + w[:, None] * np.array([0.3, 1.0, 0.2]))
    pole_bot = rig.unit((1 - w)[:, None] * np.array([-0.4, 0.0, -1.0]) + w[:, None] * np.array([-1.0, -0.6, -0.4]))
    arm_l = rig.arm_to(sh["left_shoulder"], hand_l, pole_top, athlete)
    arm_r = rig.arm_to(sh["right_shoulder"], hand_r, pole_bot, athlete)

    parts = rig.body_parts(head, sh, arm_l, arm_r, dict(feet["left"], hip=hip_l, knee=knee_l, ankle=ankle_l),
                           dict(feet["right"], hip=hip_r, knee=knee_r, ankle=ankle_r))
    return rig.Motion(joints=rig.assemble(parts, T), spine_mid=sh["spine_mid"], fps=fps, props=[],
                      events={n: int(v) for n, v in events.items()})
