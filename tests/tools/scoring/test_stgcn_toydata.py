"""Tiny hand-made skeleton clips for the ST-GCN and evaluation tests (no tools.synth needed).

Each toy test has its own posture and its own moving limb; the score sets how
far the limb moves (3 = full range), the side which limb moves. The clips are
not FMS-realistic: they only give the network something learnable and the
harness something to count. Other test modules import `write_toy_library`.
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from tools.core.fms import BILATERAL, TESTS
from tools.core.skeleton import JOINT_INDEX, JOINTS, Skeleton

J = JOINT_INDEX
_STAND = {
    "nose": (0, 1.62, 0.08), "left_eye": (0.03, 1.65, 0.07), "right_eye": (-0.03, 1.65, 0.07),
    "left_ear": (0.07, 1.63, 0.0), "right_ear": (-0.07, 1.63, 0.0),
    "left_shoulder": (0.19, 1.42, 0), "right_shoulder": (-0.19, 1.42, 0),
    "left_elbow": (0.22, 1.13, 0), "right_elbow": (-0.22, 1.13, 0),
    "left_wrist": (0.23, 0.87, 0), "right_wrist": (-0.23, 0.87, 0),
    "left_hip": (0.1, 0.92, 0), "right_hip": (-0.1, 0.92, 0),
    "left_knee": (0.1, 0.5, 0), "right_knee": (-0.1, 0.5, 0),
    "left_ankle": (0.1, 0.08, 0), "right_ankle": (-0.1, 0.08, 0),
    "left_heel": (0.1, 0.02, -0.05), "right_heel": (-0.1, 0.02, -0.05),
    "left_toe": (0.1, 0.02, 0.15), "right_toe": (-0.1, 0.02, 0.15),
    "left_hand": (0.23, 0.8, 0.02), "right_hand": (-0.23, 0.8, 0.02),
}
STAND = np.array([_STAND[j] for j in JOINTS], dtype=float)
# toy test -> (posture: rotation about x in degrees, moving joints on the LEFT side, motion direction)
_TOY = {
    "deep_squat": (0, ("hip", "knee"), (0, -0.45, 0.1)),
    "hurdle_step": (0, ("knee", "ankle", "heel", "toe"), (0, 0.4, 0.3)),
    "inline_lunge": (0, ("knee", "ankle", "heel", "toe"), (0, -0.2, 0.5)),
    "shoulder_mobility": (0, ("elbow", "wrist", "hand"), (-0.1, 0.6, -0.2)),
    "active_straight_leg_raise": (-90, ("knee", "ankle", "heel", "toe"), (0, 0.1, 0.6)),
    "trunk_stability_pushup": (90, ("shoulder", "elbow"), (0, 0.1, 0.3)),
    "rotary_stability": (70, ("wrist", "hand", "ankle", "toe"), (0, 0.2, 0.4)),
}


def _rot_x(deg: float) -> np.ndarray:
    a = np.radians(deg)
    return np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])


def toy_clip(test: str, score: int, side: str, rng: np.random.Generator, n_frames: int = 40,
             yaw_deg: float = 0.0) -> Skeleton:
    """One toy clip: posture of `test`, the `side` limb moving by an amount set by `score`."""
    posture, parts, direction = _TOY[test]
    amp = {0: 0.5, 1: 0.35, 2: 0.7, 3: 1.0}[score] * rng.uniform(0.9, 1.1)
    size = rng.uniform(0.9, 1.1)
    t = np.linspace(0, np.pi, n_frames)
    bump = np.sin(t)[:, None]
    xyz = np.repeat(STAND[None] * size, n_frames, axis=0)
    limb = "right" if side == "R" else "left"
    idx = [J[f"{limb}_{p}"] for p in parts]
    if test == "deep_squat":   # both sides move: a symmetric descent
        idx += [J[f"right_{p}"] for p in parts]
    xyz[:, idx] += amp * bump[:, :, None] * np.asarray(direction)[None, None, :] * size
    rot = _rot_x(posture)
    centre = xyz[0, [J["left_hip"], J["right_hip"]]].mean(0)
    xyz = (xyz - centre) @ rot.T + centre
    yaw = np.radians(yaw_deg)
    ry = np.array([[np.cos(yaw), 0, np.sin(yaw)], [0, 1, 0], [-np.sin(yaw), 0, np.cos(yaw)]])
    xyz = xyz @ ry.T + rng.normal(0, 0.004, xyz.shape)
    return Skeleton(xyz=xyz, conf=np.ones(xyz.shape[:2]), fps=30.0, meta={"source": "toy"})


def write_toy_library(out_dir: Path, n_athletes: int = 6, tests: tuple[str, ...] = TESTS,
                      seed: int = 0, scores: tuple[int, ...] = (1, 2, 3), with_pain: bool = False,
                      n_frames: int = 40) -> Path:
    """Write clips + labels.csv (one clip per athlete x test x side); returns the CSV path."""
    rng = np.random.default_rng(seed)
    out_dir = Path(out_dir)
    clips = out_dir / "clips"
    clips.mkdir(parents=True, exist_ok=True)
    rows = []
    for a in range(n_athletes):
        athlete = f"TOY-{seed:02d}-{a:03d}"
        for test in tests:
            for side in (("L", "R") if test in BILATERAL else ("NA",)):
                score = int(scores[rng.integers(len(scores))])
                pain = with_pain and rng.random() < 0.05
                clip_id = f"{athlete}-{test}-{side}"
                toy_clip(test, score, side, rng, n_frames=n_frames,
                         yaw_deg=float(rng.uniform(-30, 30))).save(clips / f"{clip_id}.npz")
                rows.append({"clip_id": clip_id, "athlete_id": athlete, "date": "2026-01-10",
                             "test_name": test, "side": side, "score": 0 if pain else score,
                             "pain": str(bool(pain)).lower(), "compensation_notes": "",
                             "camera_view": "front", "consent_on_file": "true"})
    csv_path = out_dir / "labels.csv"
    with open(csv_path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return csv_path


def test_toy_library_is_valid(tmp_path):
    from tools.core.labels import read_labels, resolve_clips
    csv_path = write_toy_library(tmp_path, n_athletes=2, tests=("deep_squat", "hurdle_step"))
    rows = resolve_clips(read_labels(csv_path), tmp_path / "clips", csv_path)
    assert len(rows) == 2 * (1 + 2)
    skel = Skeleton.load(rows[0].path)
    assert skel.xyz.shape[1:] == (23, 3) and np.isfinite(skel.xyz).all()
