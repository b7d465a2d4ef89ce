"""Rotary stability, original (pre-2023) quadruped version (generated moving the LEFT arm; R = mirror).

Quadruped, hands under the shoulders, knees under the hips (head towards +z).
The athlete reaches the moving arm forward while extending a leg back, then
draws elbow and knee together under the body, extends again and returns.
Unilateral pattern = same-side arm and leg (score 3 when done correctly);
diagonal = the moving arm with the opposite leg (score 2 when done
correctly, 1 when not). Side convention: side = the moving ARM's side.
Knobs:
- pattern: "unilateral" or "diagonal".
- elbow_knee_gap_m: gap left between the skin of the elbow and of the knee at the touch
  (0 = they touch); the joint centres then stay the two limbs' radii apart
  (Athlete.elbow_radius_m + knee_radius_m, about 0.07-0.10 m), as real joints do.
- trunk_roll_deg: trunk roll about its long axis while moving.
- balance_loss: the moving hand touches down to catch the balance.
The clip is the deciding repetition: a unilateral clip is always a correct one
(a failed unilateral is followed by the diagonal, which decides 2 or 1).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tools.core.errors import InputError
from tools.synth import rig
from tools.synth.body import Athlete
from tools.synth.criteria import PAIN, Label
from tools.synth.timing import Phase, sway, timeline

ELBOW_KNEE_GAP_MAX_M = 0.05
TRUNK_ROLL_MAX_DEG = 10.0
KNEE_ON_FLOOR_Y = 0.055
RULE_VERSION = "FMS original (pre-2023) rotary stability"


@dataclass(frozen=True)
class RotaryStabilityKnobs:
    pattern: str = "unilateral"
    elbow_knee_gap_m: float = 0.0
    trunk_roll_deg: float = 3.0
    balance_loss: bool = False
    pain: bool = False           # spinal-flexion clearing test positive


def _correct(k: RotaryStabilityKnobs) -> bool:
    return k.elbow_knee_gap_m <= ELBOW_KNEE_GAP_MAX_M and abs(k.trunk_roll_deg) <= TRUNK_ROLL_MAX_DEG \
        and not k.balance_loss


def label(knobs: RotaryStabilityKnobs, athlete: Athlete | None = None) -> Label:
    k = knobs
    if k.pattern not in ("unilateral", "diagonal"):
        raise InputError(f"rotary stability pattern must be 'unilateral' or 'diagonal', got {k.pattern!r}")
    if k.pattern == "unilateral":
        if not _correct(k):
            raise InputError("a failed unilateral repetition does not decide the score: generate the diagonal one")
        score, failed = 3, []
    else:
        failed = ["unilateral_pattern"]
        if _correct(k):
            score = 2
        else:
            score = 1
            failed.append("diagonal_pattern")
            if k.elbow_knee_gap_m > ELBOW_KNEE_GAP_MAX_M:
                failed.append("elbow_knee_touch")
            if abs(k.trunk_roll_deg) > TRUNK_ROLL_MAX_DEG:
                failed.append("trunk_level")
            if k.balance_loss:
                failed.append("balance")
    notes = (RULE_VERSION,)
    if k.pain:
        return Label("rotary_stability", "L", 0, tuple(failed) + (PAIN,), pain=True, notes=notes)
    return Label("rotary_stability", "L", score, tuple(failed), notes=notes)


def sample_knobs(rng: np.random.Generator, score: int, athlete: Athlete | None = None,
                 depth: float | None = None) -> RotaryStabilityKnobs:
    """Random knobs for a target score (depth is accepted for a uniform interface; the reach is to level)."""
    if score == 0:
        return RotaryStabilityKnobs(**{**sample_knobs(rng, int(rng.integers(1, 4))).__dict__, "pain": True})
    base = dict(pattern="unilateral" if score == 3 else "diagonal",
                elbow_knee_gap_m=float(rng.uniform(0.0, 0.015)), trunk_roll_deg=float(rng.uniform(0, 5)))
    if score == 1:
        fault = rng.choice(["gap", "roll", "balance"])
        if fault == "gap":
            base["elbow_knee_gap_m"] = float(rng.uniform(0.10, 0.2))
        elif fault == "roll":
            base["trunk_roll_deg"] = float(rng.uniform(16, 24))
        else:
            base.update(balance_loss=True, trunk_roll_deg=float(rng.uniform(16, 24)))
    return RotaryStabilityKnobs(**base)


def _meet_point(s: np.ndarray, h: np.ndarray, x: float, r_s: float, r_h: float) -> np.ndarray:
    """Point at x below the trunk that is r_s from s and r_h from h (circle intersection in the y-z plane)."""
    rs = np.sqrt(max(r_s ** 2 - (x - s[0]) ** 2, 1e-6))
    rh = np.sqrt(max(r_h ** 2 - (x - h[0]) ** 2, 1e-6))
    p0, p1 = s[1:], h[1:]
    d = float(np.linalg.norm(p1 - p0))
    a = (rs ** 2 - rh ** 2 + d ** 2) / (2 * d)
    hgt = np.sqrt(max(rs ** 2 - a ** 2, 0.0))
    base = p0 + a * (p1 - p0) / d
    perp = np.array([-(p1 - p0)[1], (p1 - p0)[0]]) / d
    c1, c2 = base + hgt * perp, base - hgt * perp
    yz = c1 if c1[0] < c2[0] else c2
    return np.array([x, yz[0], yz[1]])


def generate(athlete: Athlete, knobs: RotaryStabilityKnobs, rng: np.random.Generator,
             fps: float = 30.0, speed: float = 1.0) -> rig.Motion:
    if not 0.4 <= speed <= 2.5:
        raise InputError(f"speed must be 0.4-2.5 (1 = natural), got {speed}")
    k = knobs
    if k.pattern not in ("unilateral", "diagonal"):
        raise InputError(f"rotary stability pattern must be 'unilateral' or 'diagonal', got {k.pattern!r}")
    level, events = timeline([
        Phase("quadruped", rng.uniform(0.5, 0.8), 0, 0), Phase("extend", rng.uniform(1.0, 1.4) / speed, 0, 1),
        Phase("reach_hold", rng.uniform(0.3, 0.5), 1, 1), Phase("flex", rng.uniform(0.9, 1.2) / speed, 1, 2),
        Phase("touch", rng.uniform(0.3, 0.5), 2, 2), Phase("extend_again", rng.uniform(0.8, 1.1) / speed, 2, 1),
        Phase("return", rng.uniform(1.0, 1.3) / speed, 1, 0), Phase("finish", rng.uniform(0.4, 0.6), 0, 0),
    ], fps)
    T = len(level)
    moving = np.clip(level, 0, 1)
    leg_side = "left" if k.pattern == "unilateral" else "right"
    leg_sign = 1.0 if leg_side == "left" else -1.0

    # Static quadruped frame.
    arm_len = athlete.upper_arm_m + athlete.forearm_m
    wrist_y = 0.035
    hip_y = KNEE_ON_FLOOR_Y + athlete.thigh_m
    sh_y = wrist_y + 0.99 * arm_len
    rise = min(sh_y - hip_y, 0.9 * athlete.trunk_m)
    trunk0 = np.array([0.0, rise, np.sqrt(athlete.trunk_m ** 2 - rise ** 2)]) / athlete.trunk_m
    roll = np.radians(k.trunk_roll_deg) * moving
    shift = (0.03 * moving)[:, None] * rig.X * (-1.0)   # weight shifts to the support (right) side
    mid_hip = np.array([0.0, hip_y, 0.0]) + shift + sway(rng, T, fps, 0.003) * np.array([1.0, 0.3, 1.0])
    trunk_dir = np.broadcast_to(trunk0, (T, 3)).copy()
    left = rig.rotate(np.broadcast_to(rig.X, (T, 3)), trunk_dir, -roll)
    sh = rig.shoulders_from_trunk(mid_hip, trunk_dir, left, athlete)
    face = rig.unit(np.cross(left, trunk_dir))   # down
    head = rig.head_points(sh["mid_shoulder"], rig.unit(trunk_dir - 0.1 * face), face, athlete)
    hip = {"left": mid_hip + left * athlete.hip_half_width_m, "right": mid_hip - left * athlete.hip_half_width_m}

    # Support contacts (fixed on the floor).
    neck0 = np.array([0.0, hip_y, 0.0]) + trunk0 * athlete.trunk_m
    shoulder0 = {s: neck0 + rig.X * sg * athlete.shoulder_half_width_m for s, sg in (("left", 1.0), ("right", -1.0))}
    hand_floor = {s: np.array([v[0], 0.02, v[2] + 0.45 * athlete.hand_length_m]) for s, v in shoulder0.items()}
    wrist_floor = {s: np.array([v[0], wrist_y, v[2]]) for s, v in shoulder0.items()}
    knee_floor = {s: np.array([sg * athlete.hip_half_width_m, KNEE_ON_FLOOR_Y, 0.0])
                  for s, sg in (("left", 1.0), ("right", -1.0))}
    ankle_floor = {s: v + np.array([0.0, 0.005, -athlete.shank_m]) for s, v in knee_floor.items()}

    # Key poses of the moving limbs: P1 extended, P2 elbow meets knee under the body.
    s_l = shoulder0["left"]
    h_m = np.array([leg_sign * athlete.hip_half_width_m, hip_y, 0.0])
    meet_x = 0.5 * (s_l[0] + h_m[0]) if k.pattern == "unilateral" else 0.0
    meet = _meet_point(s_l, h_m, meet_x, athlete.upper_arm_m, athlete.thigh_m)
    axis = rig.unit(h_m - s_l)
    centre_gap = k.elbow_knee_gap_m + athlete.elbow_radius_m + athlete.knee_radius_m
    sep = centre_gap
    for _ in range(8):   # pulling apart along the body axis shrinks on projection: rescale to hit the gap
        elbow2 = s_l + athlete.upper_arm_m * rig.unit(meet - axis * sep / 2 - s_l)
        knee2 = h_m + athlete.thigh_m * rig.unit(meet + axis * sep / 2 - h_m)
        got = float(np.linalg.norm(knee2 - elbow2))
        if abs(got - centre_gap) < 1e-4:
            break
        sep *= centre_gap / max(got, 1e-4)
    hand2 = elbow2 + rig.unit(np.array([0.0, -0.6, 0.8])) * (athlete.forearm_m + athlete.fist_offset_m)
    if k.balance_loss:
        hand2 = hand_floor["left"] + np.array([0.12, 0.0, -0.05])
    ankle2 = knee2 + rig.unit(np.array([0.0, 0.35, -1.0])) * athlete.shank_m
    hand1 = s_l + np.array([0.0, 0.02, 0.97 * athlete.arm_m])
    ankle1 = h_m + np.array([0.0, 0.0, -0.985 * (athlete.thigh_m + athlete.shank_m)])

    def key(p0: np.ndarray, p1: np.ndarray, p2: np.ndarray) -> np.ndarray:
        a = np.clip(level, 0, 1)[:, None]
        b = np.clip(level - 1, 0, 1)[:, None]
        return np.where(level[:, None] <= 1, (1 - a) * p0 + a * p1, (1 - b) * p1 + b * p2)

    def with_trunk(point: np.ndarray, base0: np.ndarray, base_t: np.ndarray) -> np.ndarray:
        """A point fixed to the moving trunk: follows its shift, sway and roll."""
        return base_t + rig.rotate(np.broadcast_to(point - base0, (T, 3)), trunk_dir, -roll)

    s_t = sh["left_shoulder"]
    h_t = hip[leg_side]
    touch_hand = np.broadcast_to(hand2, (T, 3)) if k.balance_loss else with_trunk(hand2, s_l, s_t)  # floor stays put
    hand_t = key(hand_floor["left"], with_trunk(hand1, s_l, s_t), touch_hand)
    elbow_dir2 = elbow2 - s_l if not k.balance_loss else np.array([0.3, -0.3, -1.0])
    arm_pole = key(np.array([0.3, 0.0, -1.0]), np.array([0.0, 1.0, 0.0]),
                   rig.rotate(np.broadcast_to(elbow_dir2, (T, 3)), trunk_dir, -roll))
    arm_pole = rig.unit(arm_pole + np.array([0.0, 0.0, 0.01]))
    arms = {"left": rig.arm_to(sh["left_shoulder"], hand_t, arm_pole, athlete)}
    still = level < 1e-3   # quadruped frames: moving hand flat on the floor like the support hand
    # Support arm: wrist and hand fixed on the floor.
    elbow_r, wrist_r = rig.two_bone(sh["right_shoulder"], np.broadcast_to(wrist_floor["right"], (T, 3)),
                                    athlete.upper_arm_m, athlete.forearm_m, np.array([-0.3, 0.0, -1.0]))
    arms["right"] = {"elbow": elbow_r, "wrist": wrist_r, "hand": np.broadcast_to(hand_floor["right"], (T, 3))}
    elbow_l0, wrist_l0 = rig.two_bone(sh["left_shoulder"], np.broadcast_to(wrist_floor["left"], (T, 3)),
                                      athlete.upper_arm_m, athlete.forearm_m, np.array([0.3, 0.0, -1.0]))
    for j, v in (("elbow", elbow_l0), ("wrist", wrist_l0)):
        arms["left"][j] = np.where(still[:, None], v, arms["left"][j])
    arms["left"]["hand"] = np.where(still[:, None], hand_floor["left"], arms["left"]["hand"])

    legs = {}
    ankle_t = key(ankle_floor[leg_side], with_trunk(ankle1, h_m, h_t), with_trunk(ankle2, h_m, h_t))
    leg_pole = key(np.array([0.0, -1.0, 0.1]), np.array([0.0, -1.0, 0.0]),
                   rig.rotate(np.broadcast_to(knee2 - h_m, (T, 3)), trunk_dir, -roll))
    knee_m, ankle_m = rig.two_bone(hip[leg_side], ankle_t, athlete.thigh_m, athlete.shank_m, rig.unit(leg_pole))
    legs[leg_side] = (knee_m, ankle_m)
    other = "right" if leg_side == "left" else "left"
    legs[other] = rig.two_bone(hip[other], np.broadcast_to(ankle_floor[other], (T, 3)), athlete.thigh_m,
                               athlete.shank_m, np.array([0.0, -1.0, 0.1]))
    feet = {}
    for s in ("left", "right"):
        knee, ankle = legs[s]
        shin = rig.unit(ankle - knee)
        feet[s] = rig.foot_from_ankle(ankle, rig.unit(shin + np.array([0.0, -0.25, 0.0])),
                                      np.broadcast_to(-rig.Y, (T, 3)), athlete)
    parts = {
        **{n: v for n, v in head.items() if n != "head_centre"},
        "left_shoulder": sh["left_shoulder"], "right_shoulder": sh["right_shoulder"],
        **{f"{s}_{j}": arms[s][j] for s in ("left", "right") for j in ("elbow", "wrist", "hand")},
        "left_hip": hip["left"], "right_hip": hip["right"],
        "left_knee": legs["left"][0], "right_knee": legs["right"][0],
        "left_ankle": legs["left"][1], "right_ankle": legs["right"][1],
        **{f"{s}_{j}": feet[s][j] for s in ("left", "right") for j in ("heel", "toe")},
    }
    events = {n: int(v) for n, v in events.items()}
    return rig.Motion(joints=rig.assemble(parts, T), spine_mid=sh["spine_mid"], fps=fps, props=[], events=events)
