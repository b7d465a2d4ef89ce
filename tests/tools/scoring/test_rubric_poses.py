"""Hand-built FMS poses with known geometry, for the rubric and angle tests (not a data generator).

World frame: x = the athlete's left, y up, z the way the athlete faces,
metres, floor at y = 0. Each builder returns a Skeleton whose joints move only
where the test needs them to, with closed-form values for every measurement
the rules read. Named `test_*` so pytest collects the small self-checks at the
bottom; the builders are imported by tests/test_rubric_*.py and
tests/tools/geometry/test_angles_more.py.
"""
from __future__ import annotations

import numpy as np

from tools.core.skeleton import JOINT_INDEX, JOINTS, Skeleton

FPS = 30.0
SHANK, THIGH, TRUNK = 0.42, 0.44, 0.50
HIP_HALF, SHOULDER_HALF = 0.09, 0.19
UPPER_ARM, FOREARM = 0.30, 0.27      # forearm 0.27 -> estimated hand length 0.74 x 0.27 = 0.1998 m
ANKLE_H = 0.07


def profile(n: int, hold: float = 0.4, still: int = 10) -> np.ndarray:
    """0 for `still` frames (the start position), then 0 -> 1 -> 0 with a hold at 1 (share `hold`)."""
    m = n - still
    ramp_n = max(2, int(m * (1 - hold) / 2))
    up = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, ramp_n))
    flat = np.ones(m - 2 * ramp_n)
    return np.concatenate([np.zeros(still), up, flat, up[::-1]])


def _skel(xyz: np.ndarray, **meta) -> Skeleton:
    xyz = np.asarray(xyz, np.float32)
    return Skeleton(xyz=xyz, conf=np.ones(xyz.shape[:2], np.float32), fps=FPS, meta={"source": "test", **meta})


def standing(n: int = 60, feet_half: float = 0.05) -> np.ndarray:
    """[n, 23, 3] a tall standing pose, arms down, feet `feet_half` either side of the midline."""
    p = np.zeros((len(JOINTS), 3))
    for side, sx in (("left", 1.0), ("right", -1.0)):
        ankle = np.array([sx * feet_half, ANKLE_H, 0.0])
        p[JOINT_INDEX[f"{side}_ankle"]] = ankle
        p[JOINT_INDEX[f"{side}_heel"]] = [sx * feet_half, 0.0, -0.06]
        p[JOINT_INDEX[f"{side}_toe"]] = [sx * feet_half, 0.0, 0.18]
        knee = ankle + [sx * 0.02, SHANK, 0.0]
        p[JOINT_INDEX[f"{side}_knee"]] = knee
        hip = np.array([sx * HIP_HALF, ANKLE_H + SHANK + THIGH, 0.0])
        p[JOINT_INDEX[f"{side}_hip"]] = hip
        sh = np.array([sx * SHOULDER_HALF, hip[1] + TRUNK, 0.0])
        p[JOINT_INDEX[f"{side}_shoulder"]] = sh
        p[JOINT_INDEX[f"{side}_elbow"]] = sh + [0.0, -UPPER_ARM, 0.0]
        p[JOINT_INDEX[f"{side}_wrist"]] = sh + [0.0, -UPPER_ARM - FOREARM, 0.0]
        p[JOINT_INDEX[f"{side}_hand"]] = sh + [0.0, -UPPER_ARM - FOREARM - 0.08, 0.0]
        p[JOINT_INDEX[f"{side}_ear"]] = [sx * 0.09, sh[1] + 0.22, -0.01]
        p[JOINT_INDEX[f"{side}_eye"]] = [sx * 0.035, sh[1] + 0.25, 0.09]
    p[JOINT_INDEX["nose"]] = [0.0, p[JOINT_INDEX["left_shoulder"]][1] + 0.22, 0.11]
    # knee straight under the hip: put it on the hip-ankle line
    for side in ("left", "right"):
        hip, ankle = p[JOINT_INDEX[f"{side}_hip"]], p[JOINT_INDEX[f"{side}_ankle"]]
        p[JOINT_INDEX[f"{side}_knee"]] = ankle + (hip - ankle) * SHANK / (SHANK + THIGH)
    return np.repeat(p[None], n, axis=0)


def set_joint(xyz: np.ndarray, name: str, value) -> None:
    xyz[:, JOINT_INDEX[name]] = value


def move(xyz: np.ndarray, name: str, delta: np.ndarray) -> None:
    """Add a per-frame displacement ([n, 3] or [3]) to one joint."""
    xyz[:, JOINT_INDEX[name]] = xyz[:, JOINT_INDEX[name]] + delta


def hurdle_clip(clearance_m: float = 0.08, knee_out_m: float = 0.0, trunk_sway_deg: float = 0.0,
                dowel_tilt_deg: float = 0.0, hop_m: float = 0.0, side: str = "left", n: int = 90,
                **meta) -> Skeleton:
    """A hurdle step with the `side` leg: the foot rises over a cord at the protocol height.

    The stepping foot sits flat (heel and toe at the same height) while it crosses the cord
    line, with its sole `clearance_m` above the cord; the knee moves `knee_out_m` outward;
    the trunk tilts sideways by `trunk_sway_deg`; the dowel (fists at the shoulders) tilts by
    `dowel_tilt_deg`; the stance toe hops sideways by `hop_m`. Magnitudes follow profile().
    """
    xyz = standing(n)
    # arms: fists out at the shoulders holding a dowel behind the neck
    for s, sx in (("left", 1.0), ("right", -1.0)):
        sh = xyz[0, JOINT_INDEX[f"{s}_shoulder"]]
        set_joint(xyz, f"{s}_elbow", sh + [sx * 0.2, -0.15, -0.05])
        set_joint(xyz, f"{s}_wrist", sh + [sx * 0.3, 0.0, -0.08])
        set_joint(xyz, f"{s}_hand", sh + [sx * 0.33, 0.03, -0.08])
    k = profile(n)
    stance = "right" if side == "left" else "left"
    shank = float(np.linalg.norm(xyz[0, JOINT_INDEX[f"{side}_knee"]] - xyz[0, JOINT_INDEX[f"{side}_ankle"]]))
    cord_y = ANKLE_H + 0.93 * shank
    cord_z = 0.18 + 0.04
    # stepping foot: forward so its sole spans the cord line at the top, and up to the cord + clearance
    lift = (cord_y + clearance_m) * np.clip(k / 0.5, 0, 1)      # rise first ...
    fwd = np.clip((k - 0.5) / 0.5, 0, 1) * (cord_z - 0.06)      # ... then travel: the sole spans the cord line
    for j, dz in (("heel", -0.06), ("toe", 0.18), ("ankle", 0.0)):
        base = xyz[0, JOINT_INDEX[f"{side}_{j}"]].copy()
        y0 = base[1]
        xyz[:, JOINT_INDEX[f"{side}_{j}"], 1] = y0 + lift
        xyz[:, JOINT_INDEX[f"{side}_{j}"], 2] = base[2] + fwd
    # knee: lifted with the thigh forward, plus the outward offset
    hip = xyz[0, JOINT_INDEX[f"{side}_hip"]]
    sx = 1.0 if side == "left" else -1.0
    for t in range(n):
        ankle = xyz[t, JOINT_INDEX[f"{side}_ankle"]]
        mid = (hip + ankle) / 2
        xyz[t, JOINT_INDEX[f"{side}_knee"]] = mid + [sx * knee_out_m * k[t], 0.0, 0.25 * k[t]]
    # trunk sway: shoulders, head and fists rotate sideways about the hip centre
    a = np.radians(trunk_sway_deg) * k
    centre = (xyz[0, JOINT_INDEX["left_hip"]] + xyz[0, JOINT_INDEX["right_hip"]]) / 2
    upper = [j for j in JOINTS if j.split("_")[-1] in ("shoulder", "elbow", "wrist", "hand", "ear", "eye") or j == "nose"]
    for t in range(n):
        c, s_ = np.cos(a[t]), np.sin(a[t])
        rot = np.array([[c, -s_, 0], [s_, c, 0], [0, 0, 1.0]])   # about z: tilts the trunk sideways
        for j in upper:
            xyz[t, JOINT_INDEX[j]] = centre + rot @ (xyz[t, JOINT_INDEX[j]] - centre)
    # dowel tilt: left fist up, right fist down by the same amount, on top of the sway
    if dowel_tilt_deg:
        half = 0.5 * np.linalg.norm(xyz[0, JOINT_INDEX["left_hand"]] - xyz[0, JOINT_INDEX["right_hand"]])
        dy = half * np.tan(np.radians(dowel_tilt_deg)) * k
        move(xyz, "left_hand", np.stack([np.zeros(n), dy, np.zeros(n)], -1))
        move(xyz, "right_hand", np.stack([np.zeros(n), -dy, np.zeros(n)], -1))
    if hop_m:
        sxs = 1.0 if stance == "left" else -1.0
        for j in ("heel", "toe", "ankle"):
            move(xyz, f"{stance}_{j}", np.stack([sxs * hop_m * k, np.zeros(n), np.zeros(n)], -1))
    return _skel(xyz, **meta)


def test_builders_give_canonical_skeletons():
    for skel in (_skel(standing()), hurdle_clip()):
        assert skel.xyz.shape[1:] == (23, 3) and np.isfinite(skel.xyz).all()
    k = profile(90)
    assert k[0] == 0 and k.max() == 1 and len(k) == 90 and not k[:10].any()
