"""Deep squat with the dowel overhead: knobs, the score they imply, and the movement.

Knobs describe the deepest frame (the bottom); the movement eases from
standing to that bottom, pauses, and eases back up. Conventions (body frame:
x = athlete's left, y up, z facing direction):
- thigh_below_horizontal_deg: angle of the thigh below horizontal (+ = hip below knee).
- shank_forward_deg: tibia inclination from vertical, forward positive.
- torso_minus_tibia_deg: trunk inclination (hip centre -> shoulder centre, from
  vertical) minus tibia inclination; <= 0 = torso parallel to the tibia or more upright.
- knee_separation_ratio: knee gap / ankle gap (frontal plane); < 1 = knees in (valgus).
- dowel_ahead_of_toes_m: dowel (fist centres) horizontal distance ahead of the toe tips.
- heel_rise_m: heel lift off its support (floor, or the board).
- heel_board: heels on a 2x6 board (the FMS score-2 variant).
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
from tools.synth.timing import Phase, sway, timeline, tremor


@dataclass(frozen=True)
class DeepSquatKnobs:
    thigh_below_horizontal_deg: float = 14.0
    shank_forward_deg: float = 36.0
    torso_minus_tibia_deg: float = -4.0
    knee_separation_ratio: float = 1.1
    dowel_ahead_of_toes_m: float = -0.06
    heel_rise_m: float = 0.0
    heel_board: bool = False
    toe_out_deg: float = 8.0
    stance_width_ratio: float = 1.0     # ankle gap / shoulder width
    pain: bool = False


def _sagittal_hip(ankle: np.ndarray, shank_deg: np.ndarray, thigh_from_up_deg: np.ndarray,
                  athlete: Athlete) -> np.ndarray:
    """Hip (y, z) offsets from the ankle for a planar leg: shank tilted forward, thigh rotated back."""
    s, t = np.radians(shank_deg), np.radians(thigh_from_up_deg)
    dy = athlete.shank_m * np.cos(s) + athlete.thigh_m * np.cos(t)
    dz = athlete.shank_m * np.sin(s) - athlete.thigh_m * np.sin(t)
    return np.stack([dy, dz], axis=-1)


def _knee_pole(track_deg: float) -> np.ndarray:
    """Pole for the LEFT knee: forward, turned outward (+x) by track_deg (negative = inward)."""
    a = np.radians(track_deg)
    return np.array([np.sin(a), 0.0, np.cos(a)])


def _solve_knee_track(hip: np.ndarray, ankle: np.ndarray, athlete: Athlete, target_ratio: float) -> float:
    """Knee track angle (deg, outward +) whose knee gap / ankle gap equals target_ratio at the bottom."""
    def ratio(track: float) -> float:
        knee, _ = rig.two_bone(hip, ankle, athlete.thigh_m, athlete.shank_m, _knee_pole(track))
        return float(knee[0] / ankle[0])
    lo, hi = -80.0, 80.0
    if target_ratio <= ratio(lo):
        return lo
    if target_ratio >= ratio(hi):
        return hi
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        if ratio(mid) < target_ratio:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def generate(athlete: Athlete, knobs: DeepSquatKnobs, rng: np.random.Generator,
             fps: float = 30.0, speed: float = 1.0) -> rig.Motion:
    """One deep-squat repetition (body frame) with natural timing; `speed` > 1 is faster."""
    if not 0.4 <= speed <= 2.5:
        raise InputError(f"speed must be 0.4-2.5 (1 = natural), got {speed}")
    k = knobs
    descent, hold, ascent = rng.uniform(1.3, 1.9) / speed, rng.uniform(0.5, 1.0) / speed, rng.uniform(1.2, 1.7) / speed
    level, events = timeline([
        Phase("stand", rng.uniform(0.5, 0.8), 0, 0), Phase("descent", descent, 0, 1),
        Phase("bottom", hold, 1, 1), Phase("ascent", ascent, 1, 0), Phase("finish", rng.uniform(0.4, 0.7), 0, 0),
    ], fps)
    T = len(level)

    # Feet: toes on the floor, heels on the floor or the board, pitched about the toe.
    half_stance = athlete.shoulder_half_width_m * k.stance_width_ratio
    yaw = np.radians(k.toe_out_deg)
    heading_l = np.array([np.sin(yaw), 0.0, np.cos(yaw)])
    heading_r = heading_l * np.array([-1.0, 1.0, 1.0])
    sole = (1 - rig.HEEL_TO_ANKLE_FRACTION) * athlete.foot_m
    heel_base = rig.BOARD_2X6_HEIGHT_M if k.heel_board else 0.0
    heel_h = heel_base + k.heel_rise_m * level
    toe_l = np.array([half_stance, 0.0, 0.0]) + heading_l * sole
    toe_r = np.array([-half_stance, 0.0, 0.0]) + heading_r * sole
    foot_l = rig.foot_on_ground(np.broadcast_to(toe_l, (T, 3)), heading_l, heel_h, athlete)
    foot_r = rig.foot_on_ground(np.broadcast_to(toe_r, (T, 3)), heading_r, heel_h, athlete)

    # Pelvis: planar leg geometry sets hip height and how far back it sits.
    shank_deg = k.shank_forward_deg * level
    thigh_from_up = (90.0 + k.thigh_below_horizontal_deg) * level
    yz = _sagittal_hip(foot_l["ankle"], shank_deg, thigh_from_up, athlete)
    dx = half_stance - athlete.hip_half_width_m
    max_planar = np.sqrt(((athlete.thigh_m + athlete.shank_m) * 0.995) ** 2 - dx ** 2)
    planar = np.linalg.norm(yz, axis=-1, keepdims=True)
    yz = yz * np.minimum(1.0, max_planar / planar)
    body_sway = sway(rng, T, fps, 0.004)
    mid_hip = np.stack([np.zeros(T), foot_l["ankle"][:, 1] + yz[:, 0], foot_l["ankle"][:, 2] + yz[:, 1]], -1)
    mid_hip = mid_hip + body_sway * np.array([1.0, 0.3, 1.0])
    hip_l = mid_hip + rig.X * athlete.hip_half_width_m
    hip_r = mid_hip - rig.X * athlete.hip_half_width_m

    # Knees: two-bone IK, tracking chosen so the knee gap / ankle gap hits the knob at the bottom.
    bottom = events["bottom"]
    track = _solve_knee_track(hip_l[bottom], foot_l["ankle"][bottom], athlete, k.knee_separation_ratio)
    track_t = k.toe_out_deg + (track - k.toe_out_deg) * level
    poles_l = np.stack([np.sin(np.radians(track_t)), np.zeros(T), np.cos(np.radians(track_t))], -1)
    knee_l, ankle_l = rig.two_bone(hip_l, foot_l["ankle"], athlete.thigh_m, athlete.shank_m, poles_l)
    knee_r, ankle_r = rig.two_bone(hip_r, foot_r["ankle"], athlete.thigh_m, athlete.shank_m,
                                   poles_l * np.array([-1.0, 1.0, 1.0]))

    # Trunk: inclination = the real tibia inclination + the knob (scaled in with depth) + a little standing lean.
    tibia_l, tibia_r = knee_l - ankle_l, knee_r - ankle_r
    tibia_deg = np.degrees(np.arctan2(0.5 * (tibia_l[:, 2] + tibia_r[:, 2]), 0.5 * (tibia_l[:, 1] + tibia_r[:, 1])))
    trunk_deg = tibia_deg + k.torso_minus_tibia_deg * level + 3.0 * (1 - level)
    tr = np.radians(trunk_deg)
    trunk_dir = np.stack([np.zeros(T), np.cos(tr), np.sin(tr)], -1)
    sh = rig.shoulders_from_trunk(mid_hip, trunk_dir, np.broadcast_to(rig.X, (T, 3)), athlete, shrug_m=0.025)

    # Head: looks ahead, following about half the trunk lean.
    head_up = rig.unit(trunk_dir * 0.5 + rig.Y * 0.5)
    head = rig.head_points(sh["mid_shoulder"], head_up, np.broadcast_to(rig.Z, (T, 3)), athlete)

    # Dowel: over the mid-foot standing, moving to the knob's position at the bottom.
    toe_z = max(toe_l[2], toe_r[2])
    mid_foot_z = 0.5 * (foot_l["heel"][0, 2] + toe_z)
    dowel_z = (1 - level) * mid_foot_z + level * (toe_z + k.dowel_ahead_of_toes_m)
    grip_half = athlete.shoulder_half_width_m + 0.8 * athlete.upper_arm_m
    reach = 0.97 * athlete.arm_m
    dz = dowel_z - sh["mid_shoulder"][:, 2]
    dxg = grip_half - athlete.shoulder_half_width_m
    dy = np.sqrt(np.maximum(reach ** 2 - dxg ** 2 - dz ** 2, (0.25 * reach) ** 2))
    hand_tremor = tremor(rng, T, fps, 0.0015)
    dowel_mid = np.stack([np.zeros(T), sh["left_shoulder"][:, 1] + dy, dowel_z], -1) + hand_tremor
    hand_l_t = dowel_mid + rig.X * grip_half
    hand_r_t = dowel_mid - rig.X * grip_half
    arm_pole_l = rig.unit(np.array([1.0, 0.0, -0.4]))
    arm_l = rig.arm_to(sh["left_shoulder"], hand_l_t, arm_pole_l, athlete)
    arm_r = rig.arm_to(sh["right_shoulder"], hand_r_t, arm_pole_l * np.array([-1.0, 1.0, 1.0]), athlete)

    parts = rig.body_parts(head, sh, arm_l, arm_r, dict(foot_l, hip=hip_l, knee=knee_l, ankle=ankle_l),
                           dict(foot_r, hip=hip_r, knee=knee_r, ankle=ankle_r))
    joints = rig.assemble(parts, T)
    hands_mid = 0.5 * (arm_l["hand"] + arm_r["hand"])
    dowel_axis = rig.unit(arm_l["hand"] - arm_r["hand"])
    props = [Capsule.dowel(hands_mid, dowel_axis)]
    if k.heel_board:
        heel_z = float(foot_l["heel"][0, 2])
        props.append(Box.board_2x6(centre_xz=(0.0, heel_z + 0.03), along="x"))
    return rig.Motion(joints=joints, spine_mid=sh["spine_mid"], fps=fps, props=props,
                      events={k_: int(v) for k_, v in events.items()})


# Label thresholds: our reading of the rubric as geometry (see docs/SYNTHETIC.md).
# Samplers keep every knob well clear of these so a label is never a coin toss.
THIGH_BELOW_HORIZONTAL_MIN_DEG = 0.0
TORSO_MINUS_TIBIA_MAX_DEG = 10.0
KNEE_SEPARATION_MIN_RATIO = 0.8
DOWEL_AHEAD_OF_TOES_MAX_M = 0.06
HEEL_RISE_MAX_M = 0.03


def label(knobs: DeepSquatKnobs, athlete: Athlete | None = None) -> Label:
    """Score the knobs imply. The clip is the deciding repetition: flat heels for a 3,
    the 2x6-board repetition for a 2 or 1 (a flat-heel clip that fails is not a complete test)."""
    k = knobs
    failed = []
    if k.thigh_below_horizontal_deg < THIGH_BELOW_HORIZONTAL_MIN_DEG:
        failed.append("thigh_below_horizontal")
    if k.torso_minus_tibia_deg > TORSO_MINUS_TIBIA_MAX_DEG:
        failed.append("torso_parallel_tibia")
    if k.knee_separation_ratio < KNEE_SEPARATION_MIN_RATIO:
        failed.append("knee_valgus")
    if k.dowel_ahead_of_toes_m > DOWEL_AHEAD_OF_TOES_MAX_M:
        failed.append("dowel_over_feet")
    if k.heel_rise_m > HEEL_RISE_MAX_M:
        failed.append("heels_stay_down")
    if not k.heel_board and failed:
        raise InputError(
            f"a flat-heel deep squat that fails {failed} does not decide the score: the athlete repeats it "
            "on the 2x6 board; generate that repetition (heel_board=True)")
    if k.heel_board:
        failed.insert(0, "heel_board_needed")
    score = 3 if not failed else (2 if failed == ["heel_board_needed"] else 1)
    if k.pain:
        return Label("deep_squat", "NA", 0, tuple(failed) + (PAIN,), pain=True)
    return Label("deep_squat", "NA", score, tuple(failed))


def sample_knobs(rng: np.random.Generator, score: int, athlete: Athlete | None = None,
                 depth: float | None = None) -> DeepSquatKnobs:
    """Random knobs for a target score (0 = pain on an otherwise random movement).

    depth (0-1, a generator style's depth of movement; None = the whole band): how deep the
    squat goes within its score's band (thigh below horizontal, tibia forward).
    """
    if score == 0:
        return DeepSquatKnobs(**{**sample_knobs(rng, int(rng.integers(1, 4)), depth=depth).__dict__, "pain": True})
    base = dict(
        thigh_below_horizontal_deg=banded(rng, 6, 20, depth), shank_forward_deg=banded(rng, 30, 42, depth),
        torso_minus_tibia_deg=rng.uniform(-10, 3), knee_separation_ratio=rng.uniform(0.95, 1.25),
        dowel_ahead_of_toes_m=rng.uniform(-0.12, -0.02), heel_rise_m=0.0,
        toe_out_deg=rng.uniform(0, 15), stance_width_ratio=rng.uniform(0.9, 1.15),
    )
    if score == 3:
        return DeepSquatKnobs(**base)
    base["heel_board"] = True
    if score == 2:
        return DeepSquatKnobs(**base)
    faults = ["thigh_below_horizontal", "torso_parallel_tibia", "knee_valgus", "dowel_over_feet", "heels_stay_down"]
    n = 1 + int(rng.random() < 0.35)
    for fault in rng.choice(faults, size=n, replace=False):
        if fault == "thigh_below_horizontal":
            base["thigh_below_horizontal_deg"] = banded(rng, -30, -10, depth)
        elif fault == "torso_parallel_tibia":
            base["torso_minus_tibia_deg"] = rng.uniform(20, 35)
        elif fault == "knee_valgus":
            base["knee_separation_ratio"] = rng.uniform(0.45, 0.65)
        elif fault == "dowel_over_feet":
            base["dowel_ahead_of_toes_m"] = rng.uniform(0.14, 0.25)
        else:
            base["heel_rise_m"] = rng.uniform(0.05, 0.08)
    return DeepSquatKnobs(**base)
