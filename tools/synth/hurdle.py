"""Hurdle step (generated as a LEFT step: the left leg steps over; R = mirror).

Set-up per protocol: feet together, toes at the hurdle base, hurdle cord at the
athlete's tibial-tuberosity height, dowel across the shoulders behind the neck.
The stepping leg lifts, clears the cord, touches the heel down in front, and
returns the same way. Knobs (peak values during the step):
- foot_clearance_m: lowest point of the sole above the cord as the foot crosses
  it (<= 0 = the foot touches the hurdle).
- knee_out_of_plane_m: lateral distance of the stepping knee from the
  hip-ankle sagittal plane at the highest lift.
- trunk_sway_deg: trunk angular excursion (lateral lean plus forward flexion).
- dowel_tilt_deg: dowel tilt from horizontal in the frontal plane.
- balance_loss: the stance foot hops sideways to catch the balance.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tools.core.errors import InputError
from tools.synth import rig
from tools.synth.body import Athlete
from tools.synth.criteria import PAIN, Label
from tools.synth.style import banded
from tools.synth.props import Capsule, hurdle
from tools.synth.timing import Phase, min_jerk, sway, timeline, tremor

# Label thresholds (our reading of the rubric as geometry; samplers stay well clear).
CLEARANCE_MIN_M = 0.0
KNEE_OUT_OF_PLANE_MAX_M = 0.05
TRUNK_SWAY_MAX_DEG = 8.0
DOWEL_TILT_MAX_DEG = 6.0
FOOT_GAP_M = 0.05           # half the ankle-centre gap with the feet together
HURDLE_GAP_M = 0.04         # cord plane in front of the toe tips
DORSIFLEXION_DEG = 15.0     # stepping foot toe-up while it swings


@dataclass(frozen=True)
class HurdleStepKnobs:
    foot_clearance_m: float = 0.08
    knee_out_of_plane_m: float = 0.0
    trunk_sway_deg: float = 2.0
    dowel_tilt_deg: float = 1.0
    balance_loss: bool = False
    step_length_m: float = 0.30     # heel touch-down distance in front of the cord
    pain: bool = False


def label(knobs: HurdleStepKnobs, athlete: Athlete | None = None) -> Label:
    k = knobs
    failed = []
    if abs(k.knee_out_of_plane_m) > KNEE_OUT_OF_PLANE_MAX_M:
        failed.append("sagittal_alignment")
    if k.trunk_sway_deg > TRUNK_SWAY_MAX_DEG:
        failed.append("lumbar_stability")
    if abs(k.dowel_tilt_deg) > DOWEL_TILT_MAX_DEG:
        failed.append("dowel_parallel")
    if k.foot_clearance_m <= CLEARANCE_MIN_M:
        failed.append("hurdle_clearance")
    if k.balance_loss:
        failed.append("balance")
    if "hurdle_clearance" in failed or "balance" in failed:
        score = 1
    else:
        score = 2 if failed else 3
    if k.pain:
        return Label("hurdle_step", "L", 0, tuple(failed) + (PAIN,), pain=True)
    return Label("hurdle_step", "L", score, tuple(failed))


def sample_knobs(rng: np.random.Generator, score: int, athlete: Athlete | None = None,
                 depth: float | None = None) -> HurdleStepKnobs:
    """Random knobs for a target score; depth (0-1, None = whole band) sets how high the foot clears the cord."""
    if score == 0:
        return HurdleStepKnobs(**{**sample_knobs(rng, int(rng.integers(1, 4)), depth=depth).__dict__, "pain": True})
    base = dict(foot_clearance_m=banded(rng, 0.05, 0.14, depth), knee_out_of_plane_m=rng.uniform(-0.02, 0.02),
                trunk_sway_deg=rng.uniform(0.5, 3.5), dowel_tilt_deg=rng.uniform(-2.0, 2.0),
                step_length_m=rng.uniform(0.25, 0.38))
    if score == 2:
        faults = rng.choice(["sagittal_alignment", "lumbar_stability", "dowel_parallel"],
                            size=1 + int(rng.random() < 0.3), replace=False)
        if "sagittal_alignment" in faults:
            base["knee_out_of_plane_m"] = rng.uniform(0.09, 0.16)
        if "lumbar_stability" in faults:
            base["trunk_sway_deg"] = rng.uniform(13, 22)
        if "dowel_parallel" in faults:
            base["dowel_tilt_deg"] = float(rng.choice([-1, 1]) * rng.uniform(10, 18))
    elif score == 1:
        if rng.random() < 0.6:
            base["foot_clearance_m"] = rng.uniform(-0.02, -0.005)
        else:
            base.update(balance_loss=True, trunk_sway_deg=rng.uniform(14, 22),
                        dowel_tilt_deg=float(rng.choice([-1, 1]) * rng.uniform(10, 18)))
    return HurdleStepKnobs(**base)


def _sole_clearance(heel: np.ndarray, toe: np.ndarray, plane_z: float, cord_y: float) -> float:
    """Lowest height of the heel-toe sole line above the cord where it crosses the cord plane."""
    crossing = (heel[:, 2] - plane_z) * (toe[:, 2] - plane_z) <= 0
    if not crossing.any():
        return np.inf
    h, t = heel[crossing], toe[crossing]
    w = np.clip((plane_z - h[:, 2]) / np.where(np.abs(t[:, 2] - h[:, 2]) < 1e-9, 1e-9, t[:, 2] - h[:, 2]), 0, 1)
    y = h[:, 1] + w * (t[:, 1] - h[:, 1])
    return float(y.min() - cord_y)


def generate(athlete: Athlete, knobs: HurdleStepKnobs, rng: np.random.Generator,
             fps: float = 30.0, speed: float = 1.0) -> rig.Motion:
    if not 0.4 <= speed <= 2.5:
        raise InputError(f"speed must be 0.4-2.5 (1 = natural), got {speed}")
    k = knobs
    out_s, hold_s, back_s = rng.uniform(1.1, 1.5) / speed, rng.uniform(0.3, 0.6) / speed, rng.uniform(1.1, 1.5) / speed
    level, events = timeline([
        Phase("stand", rng.uniform(0.5, 0.8), 0, 0), Phase("step_over", out_s, 0, 1),
        Phase("touch_down", hold_s, 1, 1), Phase("step_back", back_s, 1, 2),
        Phase("finish", rng.uniform(0.4, 0.7), 2, 2),
    ], fps)
    T = len(level)
    # u: 0 -> 1 going out, then back 1 -> 0 on the return (the same path reversed).
    u = np.where(level <= 1, level, 2 - level)
    lift = min_jerk(np.clip(u / 0.35, 0, 1))   # how far into single-leg stance

    L = athlete.foot_m
    sole = (1 - rig.HEEL_TO_ANKLE_FRACTION) * L
    toe_z = sole
    cord_z = toe_z + HURDLE_GAP_M
    cord_y = athlete.tibial_tuberosity_height_m
    flat = np.array([0.0, 0.0, 1.0])

    # Stance (right) foot: flat; hops sideways on a balance loss.
    toe_r = np.broadcast_to(np.array([-FOOT_GAP_M, 0.0, toe_z]), (T, 3)).copy()
    if k.balance_loss:
        start, stop = events["touch_down"], events["step_back"] + int(0.2 * fps)
        hop = np.zeros(T)
        hop[start:stop] = np.sin(np.linspace(0, np.pi, stop - start))
        hop_side = np.zeros(T)
        hop_side[start:] = min_jerk(np.linspace(0, 1, stop - start)).tolist() + [1.0] * (T - stop)
        toe_r[:, 0] -= 0.09 * hop_side
        toe_r[:, 1] += 0.05 * hop
    foot_r = rig.foot_on_ground(toe_r, flat, np.zeros(T), athlete)

    # Pelvis shifts over the stance foot as weight comes off the stepping leg.
    body_sway = sway(rng, T, fps, 0.004)
    leg_len = athlete.thigh_m + athlete.shank_m
    hip_y = athlete.ankle_height_m + np.sqrt((0.99 * leg_len) ** 2 - (athlete.hip_half_width_m - FOOT_GAP_M) ** 2)
    shift = -0.055 * lift + (foot_r["ankle"][:, 0] + FOOT_GAP_M) * 0.8
    mid_hip = np.stack([shift, np.full(T, hip_y), np.full(T, -0.01)], -1) + body_sway * np.array([1.0, 0.3, 1.0])
    hip_l = mid_hip + rig.X * athlete.hip_half_width_m
    hip_r = mid_hip - rig.X * athlete.hip_half_width_m
    knee_r, ankle_r = rig.two_bone(hip_r, foot_r["ankle"], athlete.thigh_m, athlete.shank_m, np.array([0.0, 0.0, 1.0]))

    # Stepping (left) foot: rise, travel over the cord, heel touch in front (path solved for the clearance knob).
    pitch = np.radians(DORSIFLEXION_DEG)
    swing_fwd = np.array([0.0, np.sin(pitch), np.cos(pitch)])
    swing_up = np.array([0.0, np.cos(pitch), -np.sin(pitch)])
    ankle0 = rig.foot_on_ground(np.array([FOOT_GAP_M, 0.0, toe_z]), flat, np.array(0.0), athlete)["ankle"]
    heel_land = np.array([FOOT_GAP_M, 0.0, cord_z + k.step_length_m])
    ankle2 = heel_land + swing_fwd * (rig.HEEL_TO_ANKLE_FRACTION * L) + swing_up * athlete.ankle_height_m
    rise = min_jerk(np.clip(u / 0.5, 0, 1))
    travel = min_jerk(np.clip((u - 0.3) / 0.55, 0, 1))
    lower = min_jerk(np.clip((u - 0.75) / 0.25, 0, 1))
    orient = min_jerk(np.clip(u / 0.3, 0, 1))[:, None]
    fwd_t = rig.unit((1 - orient) * flat + orient * swing_fwd)
    up_t = rig.unit((1 - orient) * rig.Y + orient * swing_up)

    def swing(peak_y: float) -> tuple[np.ndarray, dict]:
        ankle = np.stack([
            np.full(T, FOOT_GAP_M),
            ankle0[1] + (peak_y - ankle0[1]) * rise + (ankle2[1] - peak_y) * lower,
            ankle0[2] + (ankle2[2] - ankle0[2]) * travel,
        ], -1)
        return ankle, rig.foot_from_ankle(ankle, fwd_t, up_t, athlete)

    peak = cord_y + athlete.ankle_height_m + 0.1
    for _ in range(6):   # secant-free fixed point: clearance is ~linear in the peak height
        ankle_l, foot_l = swing(peak)
        err = _sole_clearance(foot_l["heel"], foot_l["toe"], cord_z, cord_y) - k.foot_clearance_m
        if abs(err) < 1e-4:
            break
        peak -= err
    # Knee out of the sagittal plane: pole turned outward, solved at the highest lift.
    top = int(np.argmax(ankle_l[:, 1]))

    def knee_offset(track_deg: float) -> float:
        a = np.radians(track_deg)
        knee, _ = rig.two_bone(hip_l[top], ankle_l[top], athlete.thigh_m, athlete.shank_m,
                               np.array([np.sin(a), 0.0, np.cos(a)]))
        return float(knee[0] - 0.5 * (hip_l[top, 0] + ankle_l[top, 0]))

    lo, hi = -70.0, 70.0
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        if knee_offset(mid) < k.knee_out_of_plane_m:
            lo = mid
        else:
            hi = mid
    track = np.radians(0.5 * (lo + hi)) * lift
    poles = np.stack([np.sin(track), np.zeros(T), np.cos(track)], -1)
    knee_l, ankle_l = rig.two_bone(hip_l, ankle_l, athlete.thigh_m, athlete.shank_m, poles)

    # Trunk: lateral lean towards the stance side plus a little flexion, scaled by the lift.
    sway_rad = np.radians(k.trunk_sway_deg) * lift
    lateral, flexion = sway_rad * 0.8, sway_rad * 0.6
    trunk_dir = rig.unit(np.stack([-np.sin(lateral), np.cos(lateral) * np.cos(flexion), np.sin(flexion)], -1))
    sh = rig.shoulders_from_trunk(mid_hip, trunk_dir, np.broadcast_to(rig.X, (T, 3)), athlete)
    head = rig.head_points(sh["mid_shoulder"], rig.unit(trunk_dir + rig.Y), np.broadcast_to(rig.Z, (T, 3)), athlete)

    # Dowel across the shoulders behind the neck, tilted in the frontal plane by the knob.
    back = rig.unit(np.cross(trunk_dir, np.broadcast_to(rig.X, (T, 3))))
    centre = sh["mid_shoulder"] + back * 0.07 + trunk_dir * 0.03 + tremor(rng, T, fps, 0.001)
    tilt = np.radians(k.dowel_tilt_deg) * lift
    axis = rig.unit(np.stack([np.cos(tilt), np.sin(tilt), np.zeros(T)], -1))
    grip = athlete.shoulder_half_width_m + 0.24
    arm_l = rig.arm_to(sh["left_shoulder"], centre + axis * grip, np.array([0.3, -1.0, -0.3]), athlete)
    arm_r = rig.arm_to(sh["right_shoulder"], centre - axis * grip, np.array([-0.3, -1.0, -0.3]), athlete)

    parts = rig.body_parts(head, sh, arm_l, arm_r, dict(foot_l, hip=hip_l, knee=knee_l, ankle=ankle_l),
                           dict(foot_r, hip=hip_r, knee=knee_r, ankle=ankle_r))
    events = {n: int(v) for n, v in events.items()}
    events["highest_lift"] = top
    props = [Capsule.dowel(0.5 * (arm_l["hand"] + arm_r["hand"]), rig.unit(arm_l["hand"] - arm_r["hand"]))]
    props += hurdle(cord_z, cord_y)
    return rig.Motion(joints=rig.assemble(parts, T), spine_mid=sh["spine_mid"], fps=fps, props=props, events=events)
