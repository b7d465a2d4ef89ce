"""In-line lunge (generated with the LEFT leg in front; R = mirror).

Set-up per protocol: both feet on the 2x6 board in line, back toes at the
start mark, front heel one tibia length (floor to tibial tuberosity) ahead;
dowel behind the back touching head, thoracic spine and sacrum, the hand
opposite the front leg on top (behind the neck), the other hand at the lower
back. The athlete lowers the back knee to the board behind the front heel and
comes back up. Knobs (at the bottom):
- back_knee_gap_m: back knee above its touching height (0 = touches the board).
- trunk_lean_deg: forward lean of the torso and dowel from vertical.
- dowel_contact_gap_m: the dowel's lower end pulled off the sacrum (rotating about the head contact).
- torso_rotation_deg: trunk axial rotation plus lateral sway.
- front_knee_drift_m: front knee's lateral distance from the hip-ankle sagittal plane.
- balance_loss: the back foot steps off the board sideways to catch the balance.
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
from tools.synth.timing import Phase, min_jerk, sway, timeline, tremor

BACK_KNEE_GAP_MAX_M = 0.03
TRUNK_LEAN_MAX_DEG = 6.0
DOWEL_CONTACT_GAP_MAX_M = 0.03
TORSO_ROTATION_MAX_DEG = 8.0
FRONT_KNEE_DRIFT_MAX_M = 0.05
KNEE_TOUCH_HEIGHT_M = 0.055      # typical knee joint centre height above the board at a touch (the knee's radius,
                                 # Athlete.knee_radius_m, which the generator uses: ~0.04-0.07 m with build and size)
BACK_FOOT_PITCH_DEG = 60.0       # back heel raised at the bottom


@dataclass(frozen=True)
class InlineLungeKnobs:
    back_knee_gap_m: float = 0.0
    trunk_lean_deg: float = 1.0
    dowel_contact_gap_m: float = 0.0
    torso_rotation_deg: float = 1.0
    front_knee_drift_m: float = 0.0
    balance_loss: bool = False
    pain: bool = False


def label(knobs: InlineLungeKnobs, athlete: Athlete | None = None) -> Label:
    k = knobs
    failed = []
    if k.dowel_contact_gap_m > DOWEL_CONTACT_GAP_MAX_M:
        failed.append("dowel_contacts")
    if abs(k.trunk_lean_deg) > TRUNK_LEAN_MAX_DEG:
        failed.append("dowel_vertical")
    if abs(k.torso_rotation_deg) > TORSO_ROTATION_MAX_DEG:
        failed.append("torso_still")
    if abs(k.front_knee_drift_m) > FRONT_KNEE_DRIFT_MAX_M:
        failed.append("sagittal_alignment")
    if k.back_knee_gap_m > BACK_KNEE_GAP_MAX_M:
        failed.append("back_knee_touch")
    if k.balance_loss:
        failed.append("balance")
    score = 1 if "balance" in failed else (2 if failed else 3)
    if k.pain:
        return Label("inline_lunge", "L", 0, tuple(failed) + (PAIN,), pain=True)
    return Label("inline_lunge", "L", score, tuple(failed))


def sample_knobs(rng: np.random.Generator, score: int, athlete: Athlete | None = None,
                 depth: float | None = None) -> InlineLungeKnobs:
    """Random knobs for a target score; depth (0-1, None = whole band) sets how far a short lunge gets down."""
    if score == 0:
        return InlineLungeKnobs(**{**sample_knobs(rng, int(rng.integers(1, 4)), depth=depth).__dict__, "pain": True})
    base = dict(back_knee_gap_m=0.0, trunk_lean_deg=rng.uniform(-1.5, 2.5), dowel_contact_gap_m=0.0,
                torso_rotation_deg=rng.uniform(0, 3), front_knee_drift_m=rng.uniform(-0.02, 0.02))
    if score == 2:
        for fault in rng.choice(["back_knee_touch", "dowel_vertical", "dowel_contacts", "torso_still",
                                 "sagittal_alignment"], size=1 + int(rng.random() < 0.3), replace=False):
            if fault == "back_knee_touch":
                base["back_knee_gap_m"] = banded(rng, 0.07, 0.15, depth, more_is_high=False)
            elif fault == "dowel_vertical":
                base["trunk_lean_deg"] = rng.uniform(11, 18)
            elif fault == "dowel_contacts":
                base["dowel_contact_gap_m"] = rng.uniform(0.07, 0.12)
            elif fault == "torso_still":
                base["torso_rotation_deg"] = rng.uniform(13, 20)
            else:
                base["front_knee_drift_m"] = float(rng.choice([-1, 1]) * rng.uniform(0.08, 0.12))
    elif score == 1:
        base.update(balance_loss=True, torso_rotation_deg=rng.uniform(13, 20), back_knee_gap_m=rng.uniform(0.07, 0.12))
    return InlineLungeKnobs(**base)


def generate(athlete: Athlete, knobs: InlineLungeKnobs, rng: np.random.Generator,
             fps: float = 30.0, speed: float = 1.0) -> rig.Motion:
    if not 0.4 <= speed <= 2.5:
        raise InputError(f"speed must be 0.4-2.5 (1 = natural), got {speed}")
    k = knobs
    level, events = timeline([
        Phase("stand", rng.uniform(0.5, 0.8), 0, 0), Phase("descent", rng.uniform(1.2, 1.7) / speed, 0, 1),
        Phase("bottom", rng.uniform(0.4, 0.8) / speed, 1, 1), Phase("ascent", rng.uniform(1.1, 1.6) / speed, 1, 0),
        Phase("finish", rng.uniform(0.4, 0.7), 0, 0),
    ], fps)
    T = len(level)
    s = level
    b = rig.BOARD_2X6_HEIGHT_M
    L = athlete.foot_m
    tibia = athlete.tibial_tuberosity_height_m
    bottom = events["bottom"]

    # Front (left) foot flat on the board; back (right) toe at the start mark.
    front = rig.foot_on_ground(np.array([0.0, b, tibia + L]), rig.Z, np.array(0.0), athlete)
    back_toe = np.broadcast_to(np.array([0.0, b, 0.0]), (T, 3)).copy()
    if k.balance_loss:   # back foot steps off the board sideways through the bottom
        step = min_jerk(np.clip((np.arange(T) - bottom + 0.2 * fps) / (0.35 * fps), 0, 1))
        back_toe[:, 0] -= 0.22 * step
        back_toe[:, 1] = b * (1 - step) + 0.04 * np.sin(np.pi * step)

    # Bottom: back knee near the board behind the front heel, back thigh nearly vertical.
    p = np.radians(BACK_FOOT_PITCH_DEG)
    ankle_b = rig.foot_on_ground(np.array([0.0, b, 0.0]), rig.Z, np.array(L * np.sin(p)), athlete)["ankle"]
    knee_y = b + athlete.knee_radius_m + k.back_knee_gap_m
    knee_b = np.array([0.0, knee_y, ankle_b[2] + np.sqrt(max(athlete.shank_m ** 2 - (knee_y - ankle_b[1]) ** 2, 0.01))])
    thigh_b = np.radians(8.0)
    hip_r_b = knee_b + athlete.thigh_m * np.array([0.0, np.cos(thigh_b), np.sin(thigh_b)])
    mid_b = hip_r_b + rig.X * athlete.hip_half_width_m
    # Standing split stance: hips between the feet, as high as both legs allow.
    back_ankle0 = rig.foot_on_ground(np.array([0.0, b, 0.0]), rig.Z, np.array(0.03), athlete)["ankle"]
    hip_z0 = 0.5 * (back_ankle0[2] + front["ankle"][2])
    reach = 0.985 * (athlete.thigh_m + athlete.shank_m)
    dz = max(abs(hip_z0 - back_ankle0[2]), abs(front["ankle"][2] - hip_z0))
    standing_hip_y = b + athlete.ankle_height_m + np.sqrt(reach ** 2 - dz ** 2 - athlete.hip_half_width_m ** 2)
    mid_0 = np.array([0.0, standing_hip_y, hip_z0])
    mid_hip = (1 - s[:, None]) * mid_0 + s[:, None] * mid_b
    # Keep the front leg within reach on the way down (hip drops a little faster if needed).
    front_d = np.linalg.norm(mid_hip + rig.X * athlete.hip_half_width_m - front["ankle"], axis=-1)
    excess = np.maximum(front_d - reach, 0)
    mid_hip[:, 1] -= excess
    sway_xyz = sway(rng, T, fps, 0.004)
    mid_hip = mid_hip + sway_xyz * np.array([1.0, 0.2, 0.5])

    # Trunk: lean, rotation and lateral sway scaled in with depth.
    lean = np.radians(k.trunk_lean_deg) * s
    rot = np.radians(k.torso_rotation_deg) * s
    trunk_dir = rig.unit(np.stack([-0.5 * np.sin(rot), np.cos(lean), np.sin(lean)], -1))
    left_dir = rig.rotate(np.broadcast_to(rig.X, (T, 3)), trunk_dir, rot)
    pelvis_left = rig.rotate(np.broadcast_to(rig.X, (T, 3)), rig.Y, 0.4 * rot)
    hip_l = mid_hip + pelvis_left * athlete.hip_half_width_m
    hip_r = mid_hip - pelvis_left * athlete.hip_half_width_m

    # Legs: back foot rolls onto its toe as the knee drops (pitch eased in with depth); knees by IK.
    pitch0 = np.arcsin(0.03 / L)
    heel_h = L * np.sin(pitch0 + (p - pitch0) * s)
    back_foot = rig.foot_on_ground(back_toe, rig.Z, heel_h, athlete)
    knee_r, ankle_r = rig.two_bone(hip_r, back_foot["ankle"], athlete.thigh_m, athlete.shank_m, rig.Z)

    def drift(track_deg: float) -> float:
        a = np.radians(track_deg)
        knee, _ = rig.two_bone(hip_l[bottom], front["ankle"], athlete.thigh_m, athlete.shank_m,
                               np.array([np.sin(a), 0.0, np.cos(a)]))
        return float(knee[0] - 0.5 * (hip_l[bottom, 0] + front["ankle"][0]))

    lo, hi = -70.0, 70.0
    for _ in range(40):
        m = 0.5 * (lo + hi)
        lo, hi = (m, hi) if drift(m) < k.front_knee_drift_m else (lo, m)
    track = np.radians(0.5 * (lo + hi)) * s
    knee_l, ankle_l = rig.two_bone(hip_l, np.broadcast_to(front["ankle"], (T, 3)), athlete.thigh_m, athlete.shank_m,
                                   np.stack([np.sin(track), np.zeros(T), np.cos(track)], -1))
    sh = rig.shoulders_from_trunk(mid_hip, trunk_dir, left_dir, athlete)
    head = rig.head_points(sh["mid_shoulder"], trunk_dir, rig.unit(np.cross(left_dir, trunk_dir)), athlete)

    # Dowel behind the back: through the sacrum contact, along the trunk; lower end pulled off by the knob.
    back = rig.unit(np.cross(trunk_dir, left_dir))
    head_contact = head["head_centre"] + back * athlete.head_radius_m
    sacrum = mid_hip + back * (0.10 * athlete.girth) - trunk_dir * 0.04
    axis = rig.unit(head_contact - sacrum)
    gap = k.dowel_contact_gap_m * s[:, None]
    lower = sacrum + back * gap
    axis = rig.unit(head_contact - lower)
    dowel_lo = lower - axis * 0.12
    dowel_hi = dowel_lo + axis * rig.DOWEL_LENGTH_M
    grip_top = head_contact - axis * (0.55 * athlete.head_radius_m + athlete.neck_m) + tremor(rng, T, fps, 0.001)
    grip_low = lower + axis * 0.06
    arm_r = rig.arm_to(sh["right_shoulder"], grip_top, rig.unit(np.array([-0.6, 1.0, 0.2])), athlete)
    arm_l = rig.arm_to(sh["left_shoulder"], grip_low, rig.unit(np.array([0.8, -0.3, -0.5])), athlete)

    front_foot = {j: np.broadcast_to(front[j], (T, 3)) for j in ("heel", "toe")}
    parts = rig.body_parts(head, sh, arm_l, arm_r, dict(front_foot, hip=hip_l, knee=knee_l, ankle=ankle_l),
                           dict(heel=back_foot["heel"], toe=back_foot["toe"], hip=hip_r, knee=knee_r, ankle=ankle_r))
    board_len = tibia + 2 * L + 0.3
    props = [Capsule("dowel", np.stack([dowel_lo, dowel_hi], axis=1), 0.0125, Capsule.dowel(np.zeros(3), rig.X).rgb),
             Box.board_2x6(centre_xz=(0.0, board_len / 2 - L - 0.15), along="z", length_m=board_len)]
    return rig.Motion(joints=rig.assemble(parts, T), spine_mid=sh["spine_mid"], fps=fps, props=props,
                      events={n: int(v) for n, v in events.items()})
