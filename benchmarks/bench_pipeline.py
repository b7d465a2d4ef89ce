"""Pipeline speed and memory: pose frames/s and end-to-end wall time for a 10 s 1080p 30 fps clip.

    .venv/bin/python benchmarks/bench_pipeline.py [--frames 300] [--skip-yolo]

Builds the clip once (the bundled demo squat, upscaled to 1920x1080 and looped
to 10 s) under benchmarks/.cache/, then measures:
  - MediaPipe pose frames/s (pose only, decode included)
  - YOLO-n pose frames/s (random-weight yolo26n-pose built from its yaml: speed only)
  - `formscout screen` end-to-end wall time and peak RSS (a fresh process, as a physio runs it)
Target: scoring at least as fast as real time (10 s clip in <= 10 s) on 2 cores, peak RSS <= 2 GB.
Prints one JSON object; docs/BENCHMARKS.md records the latest figures.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
CACHE = REPO / "benchmarks" / ".cache"


def make_clip(n_frames: int) -> Path:
    from tools.video.clip import iter_frames, write_video
    path = CACHE / f"squat_1080p_{n_frames}f.mp4"
    if path.is_file():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    src = [cv2.resize(f, (1920, 1080), interpolation=cv2.INTER_LINEAR)
           for f in iter_frames(REPO / "tools" / "assets" / "demo_deep_squat.mp4")]
    frames = (src[i % len(src)] for i in range(n_frames))
    return write_video(path, frames, fps=30.0)


def bench_mediapipe(clip: Path) -> dict:
    from tools.pose.backends import estimate_pose
    t0 = time.perf_counter()
    pose = estimate_pose(clip, backend="mediapipe")
    dt = time.perf_counter() - t0
    return {"frames": pose.n_frames, "seconds": round(dt, 2), "frames_per_s": round(pose.n_frames / dt, 1),
            "detection_share": round(pose.detection_share, 3)}


def random_yolo_n_pose(tmp_dir: Path) -> Path:
    """yolo26n-pose with random weights (nc 1, 17 keypoints), built from the yaml shipped in ultralytics."""
    from tools.pose.yolo_pose import _import_yolo
    YOLO, _ = _import_yolo()  # sets YOLO_OFFLINE and a private config dir before ultralytics loads
    import torch
    import ultralytics
    import yaml
    cfg = yaml.safe_load((Path(ultralytics.__file__).parent / "cfg/models/26/yolo26-pose.yaml").read_text())
    cfg.update(nc=1, kpt_shape=[17, 3])
    yaml_path = tmp_dir / "yolo26n-pose.yaml"  # the "n" picks the nano scale
    yaml_path.write_text(yaml.safe_dump(cfg))
    torch.manual_seed(0)
    weights = tmp_dir / "yolo26n-pose-random.pt"
    YOLO(str(yaml_path), task="pose").save(weights)
    return weights


def bench_yolo(clip: Path) -> dict:
    from tools.pose.backends import estimate_pose
    with tempfile.TemporaryDirectory() as tmp:
        weights = random_yolo_n_pose(Path(tmp))
        t0 = time.perf_counter()
        pose = estimate_pose(clip, backend="yolo", weights=weights)
        dt = time.perf_counter() - t0
    return {"frames": pose.n_frames, "seconds": round(dt, 2), "frames_per_s": round(pose.n_frames / dt, 1),
            "note": "random weights: speed only (imgsz 640)"}


def bench_screen(clip: Path) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "agent.cli.main", "screen", str(clip), "--test", "deep_squat",
                               "--out", tmp, "--json"], capture_output=True, text=True, cwd=REPO)
        dt = time.perf_counter() - t0
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if proc.returncode != 0:
        return {"error": proc.stderr.strip()[-500:]}
    verdict = json.loads(proc.stdout)
    return {"wall_s": round(dt, 2), "peak_rss_mb": round(peak_kb / 1024, 1), "score": verdict["score"],
            "review": verdict["review"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=300, help="clip length in frames at 30 fps (300 = 10 s)")
    ap.add_argument("--skip-yolo", action="store_true")
    args = ap.parse_args()
    clip = make_clip(args.frames)
    out = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
           "clip": {"path": str(clip.relative_to(REPO)), "frames": args.frames, "size": "1920x1080", "fps": 30}}
    out["screen_end_to_end"] = bench_screen(clip)
    out["pose_mediapipe"] = bench_mediapipe(clip)
    if not args.skip_yolo:
        out["pose_yolo_n"] = bench_yolo(clip)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
