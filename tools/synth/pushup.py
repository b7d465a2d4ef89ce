"""Trunk stability push-up (one score; prone, head towards +z).

Set-up per protocol: prone, feet together with toes tucked, hands shoulder
width apart with the thumbs at the level the test asks for: men forehead
(score 3) then chin (score 2); women chin (3) then collarbone (2). The body
must rise as one unit. The clip is the deciding repetition: at the score-3
level for a 3, at the score-2 level for a 2 or a 1. Knobs:
- hand_level: "forehead", "chin" or "collarbone" (thumb line at that landmark at rest).
- lumbar_lag_deg: peak angle by which the chest leads the pelvis on the way
  up (lower back sagging: the pelvis trails the chest).
- completes: False = cannot push up: the chest lifts a little, the pelvis stays down.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tools.core.errors import InputError
from tools.synth import rig
from tools.synth.body import Athlete
from tools.synth.criteria import PAIN, Label
from tools.synth.timing import Phase, min_jerk, timeline

LEVELS = {"male": ("forehead", "chin"), "female": ("chin", "collarbone")}   # (score-3 level, score-2 level)
LUMBAR_LAG_MAX_DEG = 10.0
ARM_REACH_AT_TOP = 0.96


@dataclass(frozen=True)
class TrunkStabilityPushupKnobs:
    hand_level: str = "forehead"
    lumbar_lag_deg: float = 2.0
    completes: bool = True
    pain: bool = False             # spinal-extension clearing test positive


def label(knobs: TrunkStabilityPushupKnobs, athlete: Athlete | None = None) -> Label:
    if athlete is None:
        raise InputError("the push-up label depends on the athlete's sex: pass the athlete")
    level3, level2 = LEVELS[athlete.sex]
    k = knobs
    ok = k.completes and k.lumbar_lag_deg <= LUMBAR_LAG_MAX_DEG
    if k.hand_level == level3:
        if not ok:
            raise InputError(f"a failed push-up with the hands at the {level3} does not decide the score for a "
                             f"{athlete.sex} athlete: generate the {level2} repetition")
        score, failed = 3, []
    elif k.hand_level == level2:
        failed = ["hands_at_level_3"]
        if ok:
            score = 2
        else:
            score = 1
            failed.append("hands_at_level_2")
            if k.lumbar_lag_deg > LUMBAR_LAG_MAX_DEG:
                failed.append("body_rises_as_unit")
            if not k.completes:
                failed.append("body_lifts")
    else:
        raise InputError(f"hand_level {k.hand_level!r} is not a test position for a {athlete.sex} athlete "
                         f"(use {level3!r} or {level2!r})")
    if k.pain:
        return Label("trunk_stability_pushup", "NA", 0, tuple(failed) + (PAIN,), pain=True)
    return Label("trunk_stability_pushup", "NA", score, tuple(failed))


def sample_knobs(rng: np.random.Generator, score: int, athlete: Athlete | None = None,
                 depth: float | None = None) -> TrunkStabilityPushupKnobs:
    """Random knobs for a target score (depth is accepted for a uniform interface: the push-up's range
    of movement is fixed by the floor and the arms)."""
    if athlete is None:
        raise InputError("push-up knobs depend on the athlete's sex: pass the athlete")
    if score == 0:
        moved = sample_knobs(rng, int(rng.integers(1, 4)), athlete)
        return TrunkStabilityPushupKnobs(**{**moved.__dict__, "pain": True})
    level3, level2 = LEVELS[athlete.sex]
    if score == 3:
        return TrunkStabilityPushupKnobs(hand_level=level3, lumbar_lag_deg=float(rng.uniform(0, 4)))
    if score == 2:
        return TrunkStabilityPushupKnobs(hand_level=level2, lumbar_lag_deg=float(rng.uniform(0, 4)))
    if rng.random() < 0.5:
        return TrunkStabilityPushupKnobs(hand_level=level2, lumbar_lag_deg=float(rng.uniform(16, 26)))
    return TrunkStabilityPushupKnobs(hand_level=level2, lumbar_lag_deg=float(rng.uniform(16, 26)), completes=False)


def _plank(athlete: Athlete, legs_deg: np.ndarray, trunk_deg: np.ndarray, toe_x: float) -> dict[str, np.ndarray]:
    """Joints of a prone body pivoting on its toes: legs inclined `legs_deg`, trunk `trunk_deg` above the floor."""
    T = len(legs_deg)
    a, t = np.radians(legs_deg), np.radians(trunk_deg)
    u = np.stack([np.zeros(T), np.sin(a), np.cos(a)], -1)          # ankle -> hip direction
    n = np.stack([np.zeros(T), np.cos(a), -np.sin(a)], -1)         # the back's outward normal
    ut = np.stack([np.zeros(T), np.sin(t), np.cos(t)], -1)
    L = athlete.foot_m
    out = {}
    for side, sign in (("left", 1.0), ("right", -1.0)):
        toe = np.broadcast_to(np.array([sign * toe_x, 0.0, 0.0]), (T, 3))
        forward = rig.unit(-n - 0.35 * u)                           # heel -> toe: down and back
        sole_up = rig.unit(u - rig.dot(u, forward) * forward)
        heel = toe - forward * L
        ankle = heel + forward * (rig.HEEL_TO_ANKLE_FRACTION * L) + sole_up * athlete.ankle_height_m
        knee = ankle + u * athlete.shank_m
        hip = knee + u * athlete.thigh_m
        out.update({f"{side}_toe": toe, f"{side}_heel": heel, f"{side}_ankle": ankle,
                    f"{side}_knee": knee, f"{side}_hip": hip})
    # Feet together but hips apart: shift the hips out to the pelvis width.
    for side, sign in (("left", 1.0), ("right", -1.0)):
        out[f"{side}_hip"] = out[f"{side}_hip"] + rig.X * sign * (athlete.hip_half_width_m - toe_x)
        out[f"{side}_knee"] = out[f"{side}_knee"] + rig.X * sign * 0.5 * (athlete.hip_half_width_m - toe_x)
    mid_hip = 0.5 * (out["left_hip"] + out["right_hip"])
    out["mid_hip"] = mid_hip
    out["trunk_dir"] = ut
    return out


def generate(athlete: Athlete, knobs: TrunkStabilityPushupKnobs, rng: np.random.Generator,
             fps: float = 30.0, speed: float = 1.0) -> rig.Motion:
    if not 0.4 <= speed <= 2.5:
        raise InputError(f"speed must be 0.4-2.5 (1 = natural), got {speed}")
    k = knobs
    if k.hand_level not in ("forehead", "chin", "collarbone"):
        raise InputError(f"hand_level must be forehead, chin or collarbone, got {k.hand_level!r}")
    level, events = timeline([
        Phase("rest", rng.uniform(0.5, 0.8), 0, 0), Phase("push", rng.uniform(0.8, 1.3) / speed, 0, 1),
        Phase("top", rng.uniform(0.3, 0.6), 1, 1), Phase("lower", rng.uniform(1.0, 1.4) / speed, 1, 0),
        Phase("finish", rng.uniform(0.4, 0.6), 0, 0),
    ], fps)
    T = len(level)
    toe_x = 0.06
    r = athlete.head_radius_m
    chest_half_depth = 0.105 * athlete.girth * athlete.height_m / 1.75

    def chain(angle_deg: float) -> dict:
        return _plank(athlete, np.array([angle_deg]), np.array([angle_deg]), toe_x)

    def shoulder_y(angle_deg: float) -> float:
        c = chain(angle_deg)
        return float((c["mid_hip"] + c["trunk_dir"] * athlete.trunk_m)[0, 1])

    # Rest: chest on the floor (shoulder joint line one chest half-depth up).
    lo, hi = -20.0, 30.0
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if shoulder_y(mid) < chest_half_depth else (lo, mid)
    rest_deg = 0.5 * (lo + hi)
    rest = chain(rest_deg)
    rest_sh = rest["mid_hip"][0] + rest["trunk_dir"][0] * athlete.trunk_m
    head_c = rest_sh + rest["trunk_dir"][0] * (athlete.neck_m + 0.85 * r)
    up0 = rest["trunk_dir"][0]
    landmark_z = {"forehead": head_c[2] + 0.6 * r * up0[2], "chin": head_c[2] - 0.8 * r * up0[2],
                  "collarbone": rest_sh[2] + 0.03}[k.hand_level]
    hand_z = landmark_z + 0.1 * athlete.hand_length_m
    hand_x = athlete.shoulder_half_width_m + 0.08
    hands = {s: np.array([sign * hand_x, 0.02, hand_z]) for s, sign in (("left", 1.0), ("right", -1.0))}
    wrists = {s: h + np.array([0.0, 0.015, -0.45 * athlete.hand_length_m]) for s, h in hands.items()}

    # Top: straight body with the arms at ARM_REACH_AT_TOP of their length.
    reach = ARM_REACH_AT_TOP * (athlete.upper_arm_m + athlete.forearm_m)

    def arm_gap(angle_deg: float) -> float:
        c = chain(angle_deg)
        left_sh = c["mid_hip"][0] + c["trunk_dir"][0] * athlete.trunk_m + rig.X * athlete.shoulder_half_width_m
        return float(np.linalg.norm(left_sh - wrists["left"]) - reach)

    lo, hi = rest_deg, 60.0
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if arm_gap(mid) < 0 else (lo, mid)
    top_deg = 0.5 * (lo + hi)

    # Rise: trunk leads the legs by the lag (peaking mid-push); a failed push lifts only the chest.
    w = level
    if k.completes:
        legs = rest_deg + (top_deg - rest_deg) * w
        lag = k.lumbar_lag_deg * np.sin(np.pi * np.clip(w, 0, 1)) * (np.arange(T) < events["top"])
        lag += k.lumbar_lag_deg * np.sin(np.pi * np.clip(w, 0, 1)) * 0.3 * (np.arange(T) >= events["top"])
        trunk = legs + lag
    else:
        legs = np.full(T, rest_deg)
        trunk = rest_deg + max(k.lumbar_lag_deg, 12.0) * min_jerk(w)
    body = _plank(athlete, legs, trunk, toe_x)
    trunk_dir = body["trunk_dir"]
    mid_hip = body["mid_hip"]
    sh = rig.shoulders_from_trunk(mid_hip, trunk_dir, np.broadcast_to(rig.X, (T, 3)), athlete)
    face = rig.unit(np.cross(np.broadcast_to(rig.X, (T, 3)), trunk_dir))   # points to the floor
    head = rig.head_points(sh["mid_shoulder"], rig.unit(trunk_dir - 0.15 * face), face, athlete)
    arms = {}
    for s, sign in (("left", 1.0), ("right", -1.0)):
        pole = rig.unit(np.array([sign * 1.0, 0.8, -0.6]))
        elbow, wrist = rig.two_bone(sh[f"{s}_shoulder"], np.broadcast_to(wrists[s], (T, 3)),
                                    athlete.upper_arm_m, athlete.forearm_m, pole)
        arms[s] = {"elbow": elbow, "wrist": wrist, "hand": np.broadcast_to(hands[s], (T, 3))}
    parts = {
        **{n: v for n, v in head.items() if n != "head_centre"},
        "left_shoulder": sh["left_shoulder"], "right_shoulder": sh["right_shoulder"],
        **{f"{s}_{j}": arms[s][j] for s in ("left", "right") for j in ("elbow", "wrist", "hand")},
        **{f"{s}_{j}": body[f"{s}_{j}"] for s in ("left", "right") for j in ("hip", "knee", "ankle", "heel", "toe")},
    }
    events = {n: int(v) for n, v in events.items()}
    return rig.Motion(joints=rig.assemble(parts, T), spine_mid=sh["spine_mid"], fps=fps, props=[], events=events)
