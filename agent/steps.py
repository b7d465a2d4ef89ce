"""The screening steps the agent can call, as JSON-in / JSON-out functions over files.

Each step calls one capability in tools/ (never re-implements a measurement),
writes big arrays to files in the run folder and returns a JSON-serialisable
dict with values, units, frames and provenance. agent/toolbox.py wraps each
as a smolagents Tool; the protocol brain calls them in FMS protocol order.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from knowledge.loader import load_criteria
from tools.angles import measure, save_series_csv
from tools.errors import InputError
from tools.skeleton import JOINT_INDEX, Skeleton

log = logging.getLogger(__name__)

POSE_FILE = "pose_2d.npz"
RAW_SKELETON_FILE = "skeleton_raw.npz"
SKELETON_FILE = "skeleton.npz"


def check_video(video_path: str, max_duration_s: float = 120.0, max_size_mb: float = 500.0) -> dict:
    """Open and validate a clip: container, stream, fps, rotation, duration and size limits."""
    from tools.video import probe_video
    info = probe_video(video_path, max_duration_s=max_duration_s, max_size_mb=max_size_mb)
    return info.to_dict()


def estimate_pose(video_path: str, run_dir: str, backend: str = "mediapipe", weights: str = "") -> dict:
    """2D keypoints per frame (+ the backend's own 3D world landmarks when it has them)."""
    from tools.pose import estimate_pose as run_pose
    pose = run_pose(video_path, backend=backend, weights=weights or None)
    path = Path(run_dir) / POSE_FILE
    arrays = dict(uv=pose.uv, conf=pose.conf, fps=np.float64(pose.fps),
                  image_size=np.asarray(pose.image_size), meta=np.asarray(json.dumps(pose.meta, default=str)))
    if pose.world_xyz is not None:
        arrays["world_xyz"] = pose.world_xyz
    np.savez_compressed(path, **arrays)
    return {"pose_path": str(path), "backend": pose.meta.get("backend", backend),
            "n_frames": pose.n_frames, "detection_share": round(pose.detection_share, 4),
            "has_world_3d": pose.world_xyz is not None, "image_size": list(pose.image_size),
            "model": {k: pose.meta[k] for k in ("model_file", "model_sha256", "version") if k in pose.meta}}


def lift_to_3d(pose_path: str, run_dir: str, source_sha256: str = "") -> dict:
    """Metric 3D canonical skeleton (metres, y up) from the pose result."""
    from tools.lift3d import to_skeleton
    from tools.pose import PoseResult
    with np.load(pose_path, allow_pickle=False) as d:
        pose = PoseResult(uv=d["uv"], conf=d["conf"], world_xyz=d["world_xyz"] if "world_xyz" in d.files else None,
                          image_size=tuple(int(v) for v in d["image_size"]), fps=float(d["fps"]),
                          meta=json.loads(str(d["meta"])))
    skel = to_skeleton(pose, {"source_sha256": source_sha256})
    path = skel.save(Path(run_dir) / RAW_SKELETON_FILE)
    return {"skeleton_path": str(path), "n_frames": skel.n_frames, "fps": skel.fps,
            "measurement_plane": skel.meta.get("measurement_plane", "3d")}


def prepare_skeleton(skeleton_path: str, run_dir: str, test: str, max_gap_s: float = 0.2,
                     smooth_window_s: float = 0.2) -> dict:
    """Fill short dropouts, smooth, and report pose quality for the joints this test needs."""
    from tools.quality import assess_quality
    skel = Skeleton.load(skeleton_path)
    spec = load_criteria().get(test, {})
    required = spec.get("required_joints")
    quality = assess_quality(skel, required_joints=required)
    clean = skel.filled(max_gap_frames=max(1, int(round(max_gap_s * skel.fps)))).smoothed(window_s=smooth_window_s)
    clean.meta.update(filled_max_gap_s=max_gap_s, smoothing="savitzky-golay", smooth_window_s=smooth_window_s)
    path = clean.save(Path(run_dir) / SKELETON_FILE)
    return {"skeleton_path": str(path), "quality": quality.to_dict()}


def measure_angles(skeleton_path: str, run_dir: str) -> dict:
    """Every named angle/position series (CSV in the run folder) with its extremes."""
    skel = Skeleton.load(skeleton_path)
    series = measure(skel)
    csv_path = Path(run_dir) / "angles.csv"
    save_series_csv(series, skel.fps, csv_path)
    return {"angles_csv": str(csv_path), "fps": skel.fps,
            "summaries": {name: _round(m.summary()) for name, m in series.items()}}


def score_rubric(skeleton_path: str, test: str, side: str = "", pain: bool = False,
                 heels_raised: str = "auto", criteria_file: str = "") -> dict:
    """The deterministic FMS rubric: score 0-3, each criterion with value, threshold, margin, frame."""
    from tools.rubric import score_test
    skel = Skeleton.load(skeleton_path)
    heels = {"auto": None, "yes": True, "no": False}.get(str(heels_raised).lower())
    if heels is None and str(heels_raised).lower() != "auto":
        raise InputError(f"heels_raised must be auto, yes or no (got {heels_raised!r})")
    result = score_test(skel, test, side or None, pain=pain, heels_raised=heels,
                        criteria_file=criteria_file or None)
    return result.to_dict()


def render_overlay(skeleton_path: str, run_dir: str, test: str, deciding_criterion: str = "",
                   deciding_frame: int = -1, value: float | None = None, unit: str = "deg",
                   passed: str = "", video_path: str = "") -> dict:
    """Skeleton overlay video (H.264) with the deciding angle drawn on the deciding frame, plus that frame as PNG."""
    from tools.overlay import Highlight, write_overlay
    skel = Skeleton.load(skeleton_path)
    highlight = None
    if deciding_criterion and deciding_frame >= 0:
        spec = load_criteria()[test][deciding_criterion]
        side = _nearer_side(skel, deciding_frame)
        joints = tuple(f"{side}_{j}" if f"{side}_{j}" in JOINT_INDEX else j for j in spec["draw"])
        highlight = Highlight(frame=int(deciding_frame), joints=joints,
                              label=deciding_criterion.replace("_", " "),
                              value=float("nan") if value is None else float(value), unit=unit,
                              passed={"true": True, "false": False}.get(str(passed).lower()))
    return write_overlay(skel, run_dir, video_path=video_path or None, highlight=highlight)


def _nearer_side(skel: Skeleton, frame: int) -> str:
    """The side the camera sees better on that frame (higher mean joint confidence)."""
    conf = skel.conf[frame]
    left = np.mean([conf[i] for n, i in JOINT_INDEX.items() if n.startswith("left_")])
    right = np.mean([conf[i] for n, i in JOINT_INDEX.items() if n.startswith("right_")])
    return "left" if left >= right else "right"


def _round(d: dict) -> dict:
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in d.items()}


def decide_verdict(rubric_json: dict, quality_json: dict, stgcn_json: dict | None = None,
                   neighbours_json: list | None = None) -> dict:
    """Final score with confidence, or physio review with every reason (agent/decide.py)."""
    from agent.decide import decide
    return decide(rubric_json, quality_json or None, stgcn_json or None, neighbours_json or None)


# tool name -> function; the protocol and every brain call steps by these names
STEP_FUNCTIONS = {
    "check_video": check_video,
    "estimate_pose": estimate_pose,
    "lift_to_3d": lift_to_3d,
    "prepare_skeleton": prepare_skeleton,
    "measure_angles": measure_angles,
    "score_rubric": score_rubric,
    "decide": decide_verdict,
    "render_overlay": render_overlay,
}
