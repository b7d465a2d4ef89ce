"""Tiny procedural FMS skeleton clips: a fallback source of labelled synthetic clips.

The real synthetic library is tools.synth (`formscout synth`). This module is a
small, dependency-free stand-in used by the index tests and benchmarks, and by
`seed_demo_library` when tools.synth is not installed: a sagittal-plane rig
driven by a minimum-jerk movement level, one recipe per test, with the score
setting how far the athlete gets (depth, leg height, trunk lag...). Athletes
vary in size; every sample gets millimetre noise. Synthetic athlete ids start
with "SYN-".

Body frame: x = athlete's left, y = up, z = facing direction; metres.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tools.core.fms import BILATERAL, TESTS
from tools.core.skeleton import JOINT_INDEX, JOINTS, Skeleton

LABEL_COLUMNS: tuple[str, ...] = ("clip_id", "athlete_id", "date", "test_name", "side", "score", "pain",
                                  "compensation_notes", "camera_view", "consent_on_file")


def _down(phi_deg: np.ndarray) -> np.ndarray:
    """Unit direction of a limb hanging down, pitched forward by phi (deg): [T, 3]."""
    p = np.radians(phi_deg)
    return np.stack([np.zeros_like(p), -np.cos(p), np.sin(p)], axis=-1)


def _rot_x(xyz: np.ndarray, deg: float) -> np.ndarray:
    a = np.radians(deg)
    out = xyz.copy()
    out[..., 1] = xyz[..., 1] * np.cos(a) - xyz[..., 2] * np.sin(a)
    out[..., 2] = xyz[..., 1] * np.sin(a) + xyz[..., 2] * np.cos(a)
    return out


@dataclass
class _Pose:
    """Joint angles over time (deg), per side: hip flexion, knee flexion, shoulder elevation, elbow flexion."""

    T: int
    trunk_lean: np.ndarray
    trunk_roll: np.ndarray

    def __post_init__(self) -> None:
        z = np.zeros(self.T)
        self.hip = {"left": z.copy(), "right": z.copy()}
        self.knee = {"left": z.copy(), "right": z.copy()}
        self.shoulder = {"left": z.copy(), "right": z.copy()}
        self.elbow = {"left": z.copy(), "right": z.copy()}
        self.heel_lift = {"left": z.copy(), "right": z.copy()}


def _build(p: _Pose, size: float) -> np.ndarray:
    """Joint positions float64[T, 23, 3] from a _Pose (pelvis at the origin)."""
    T = p.T
    xyz = np.zeros((T, len(JOINTS), 3))
    thigh, shank, trunk, upper, fore = 0.245 * size, 0.246 * size, 0.29 * size, 0.186 * size, 0.146 * size
    lean = np.radians(p.trunk_lean)
    roll = np.radians(p.trunk_roll)
    up = np.stack([np.sin(roll), np.cos(lean) * np.cos(roll), np.sin(lean) * np.cos(roll)], axis=-1)
    mid_sh = up * trunk
    for side, sx in (("left", 1.0), ("right", -1.0)):
        hip = np.array([sx * 0.05 * size, 0.0, 0.0]) + np.zeros((T, 3))
        knee = hip + thigh * _down(p.hip[side])
        ankle = knee + shank * _down(p.hip[side] - p.knee[side])
        heel = ankle + np.array([0.0, -0.04, -0.05]) * size
        toe = ankle + np.array([0.0, -0.05, 0.14]) * size
        heel[:, 1] += p.heel_lift[side]
        ankle[:, 1] += p.heel_lift[side] * 0.7
        shoulder = mid_sh + np.array([sx * 0.11 * size, 0.0, 0.0])
        elbow = shoulder + upper * _down(p.shoulder[side])
        wrist = elbow + fore * _down(p.shoulder[side] + p.elbow[side])
        hand = wrist + 0.05 * size * _down(p.shoulder[side] + p.elbow[side])
        for name, val in (("hip", hip), ("knee", knee), ("ankle", ankle), ("heel", heel), ("toe", toe),
                          ("shoulder", shoulder), ("elbow", elbow), ("wrist", wrist), ("hand", hand)):
            xyz[:, JOINT_INDEX[f"{side}_{name}"]] = val
        xyz[:, JOINT_INDEX[f"{side}_eye"]] = mid_sh + up * 0.12 * size + np.array([sx * 0.03, 0, 0.08]) * size
        xyz[:, JOINT_INDEX[f"{side}_ear"]] = mid_sh + up * 0.11 * size + np.array([sx * 0.07, 0, 0.0]) * size
    xyz[:, JOINT_INDEX["nose"]] = mid_sh + up * 0.10 * size + np.array([0, 0, 0.10]) * size
    return xyz


def toy_clip(test: str, score: int, side: str, rng: np.random.Generator, fps: float = 30.0,
             size: float | None = None) -> Skeleton:
    """One synthetic clip of `test` performed at FMS `score` (1-3; 0 = pain, moves like 1)."""
    if test not in TESTS:
        raise ValueError(f"unknown test {test!r}")
    T = int(round(fps * rng.uniform(2.0, 3.0)))
    t = np.linspace(0.0, 1.0, T)
    level = np.clip(np.sin(np.pi * np.clip((t - 0.1) / 0.8, 0, 1)), 0, 1) ** 1.5
    size = size if size is not None else rng.uniform(1.55, 1.95)
    q = max(1, int(score))
    j = rng.normal(0.0, 1.0, 8)  # per-clip variation
    s = side_name = {"L": "left", "R": "right"}.get(side, "left")
    o = "right" if s == "left" else "left"
    p = _Pose(T, trunk_lean=np.zeros(T), trunk_roll=np.zeros(T))
    body_pitch = 0.0  # whole-body rotation about x: 90 = prone, -90 = supine
    if test == "deep_squat":
        depth = {3: 118, 2: 100, 1: 72}[q] + 4 * j[0]
        for sd in ("left", "right"):
            p.hip[sd] = level * (depth - 8)
            p.knee[sd] = level * depth
            p.shoulder[sd] = np.full(T, 170.0 - (3 - q) * 12)
            p.heel_lift[sd] = level * (0.035 if q == 2 else 0.0)
        p.trunk_lean = level * ({3: 30, 2: 42, 1: 55}[q] + 3 * j[1])
    elif test == "hurdle_step":
        p.hip[s] = level * ({3: 95, 2: 85, 1: 60}[q] + 4 * j[0])
        p.knee[s] = level * ({3: 100, 2: 90, 1: 60}[q] + 4 * j[1])
        p.trunk_roll = level * ({3: 2, 2: 9, 1: 15}[q] + 2 * j[2]) * (1 if s == "left" else -1)
        p.trunk_lean = level * ({3: 3, 2: 12, 1: 20}[q] + 2 * j[3])
        for sd in ("left", "right"):
            p.shoulder[sd] = np.full(T, 90.0)
            p.elbow[sd] = np.full(T, 100.0)
    elif test == "inline_lunge":
        p.hip[s] = 30 + level * ({3: 60, 2: 50, 1: 35}[q] + 3 * j[0])
        p.knee[s] = level * ({3: 95, 2: 85, 1: 60}[q] + 3 * j[1])
        p.hip[o] = -25 + level * 10
        p.knee[o] = level * ({3: 100, 2: 90, 1: 65}[q] + 3 * j[2])
        p.trunk_lean = level * ({3: 2, 2: 14, 1: 24}[q] + 2 * j[3])
        p.trunk_roll = level * ({3: 1, 2: 5, 1: 12}[q] + 2 * j[4])
    elif test == "shoulder_mobility":
        gap = {3: 0.0, 2: 25.0, 1: 50.0}[q] + 4 * j[0]
        p.shoulder[s] = level * (175 - gap * 0.5)
        p.elbow[s] = level * 150
        p.shoulder[o] = -level * (45 - gap * 0.4)
        p.elbow[o] = -level * (120 - gap)
    elif test == "active_straight_leg_raise":
        body_pitch = -90.0
        p.hip[s] = level * ({3: 85, 2: 65, 1: 40}[q] + 4 * j[0])
        p.hip[o] = level * ({3: 0, 2: 6, 1: 14}[q])
        for sd in ("left", "right"):
            p.shoulder[sd] = np.full(T, 10.0)
    elif test == "trunk_stability_pushup":
        body_pitch = 90.0 - level * ({3: 25, 2: 22, 1: 12}[q] + 2 * j[0])
        lag = {3: 0, 2: 12, 1: 25}[q] + 2 * j[1]
        for sd in ("left", "right"):
            p.hip[sd] = -level * lag
            p.shoulder[sd] = np.full(T, 150.0) - level * 60
            p.elbow[sd] = np.full(T, 110.0) * (1 - level)
    elif test == "rotary_stability":
        body_pitch = 90.0
        reach = {3: 1.0, 2: 0.75, 1: 0.45}[q] + 0.05 * j[0]
        arm, leg = (s, s) if q == 3 else (s, o)
        for sd in ("left", "right"):
            p.hip[sd] = np.full(T, 90.0)
            p.knee[sd] = np.full(T, 90.0)
            p.shoulder[sd] = np.full(T, 90.0)
        p.shoulder[arm] = 90.0 + level * 90 * reach
        p.hip[leg] = 90.0 - level * 95 * reach
        p.knee[leg] = 90.0 - level * 90 * reach
        p.trunk_roll = level * ({3: 2, 2: 6, 1: 14}[q] + 2 * j[1])
    xyz = _build(p, size)
    if np.any(np.asarray(body_pitch) != 0):
        pitch = np.broadcast_to(body_pitch, (T,))
        xyz = np.stack([_rot_x(xyz[i], float(pitch[i])) for i in range(T)])
    # stand on the floor; keep the feet (standing tests) or the pelvis (floor tests) in place horizontally
    xyz[..., 1] -= np.nanmin(xyz[..., 1])
    anchor = ["left_ankle", "right_ankle"] if test in ("deep_squat", "shoulder_mobility") else (
        [f"{o}_ankle"] if test == "hurdle_step" else [f"{s}_ankle"] if test == "inline_lunge" else ["left_hip", "right_hip"])
    centre = np.mean([xyz[:, JOINT_INDEX[a]] for a in anchor], axis=0)
    xyz[..., 0] -= centre[:, None, 0]
    xyz[..., 2] -= centre[:, None, 2]
    xyz += rng.normal(0.0, 0.004, xyz.shape)
    conf = np.full(xyz.shape[:2], 0.95, dtype=np.float32)
    return Skeleton(xyz=xyz, conf=conf, fps=fps,
                    meta={"source": "index.library.toy_clips", "test": test, "score": int(score), "side": side,
                          "synthetic": True, "side_moving": side_name if test in BILATERAL else None})


def write_toy_library(out: str | Path, per_test: int, seed: int = 0, n_athletes: int | None = None,
                      consent: bool = True) -> Path:
    """Write `per_test` clips per test (per side for bilateral tests) as .npz + labels.csv; returns the CSV."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n_athletes = n_athletes or max(2, per_test)
    sizes = rng.uniform(1.55, 1.95, n_athletes)
    rows = []
    for test in TESTS:
        for side in (("L", "R") if test in BILATERAL else ("NA",)):
            for i in range(per_test):
                score = int(rng.integers(1, 4))
                a = int(rng.integers(0, n_athletes))
                clip_id = f"SYN-{test}-{side}-{seed}-{i:04d}"
                skel = toy_clip(test, score, side, rng, size=float(sizes[a]))
                skel.save(out / f"{clip_id}.npz")
                rows.append({"clip_id": clip_id, "athlete_id": f"SYN-A{seed:02d}{a:03d}",
                             "date": f"2025-0{1 + i % 9}-1{i % 10}", "test_name": test, "side": side,
                             "score": score, "pain": "false", "compensation_notes": "synthetic toy clip",
                             "camera_view": "side", "consent_on_file": "true" if consent else "false"})
    path = out / "labels.csv"
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=LABEL_COLUMNS)
        w.writeheader()
        w.writerows(rows)
    return path
