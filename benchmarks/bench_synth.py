"""Synthetic FMS library figures: generation speed, render speed, and the video path against truth.

    .venv/bin/python benchmarks/bench_synth.py [--quick] [--views front,side,45] [--size 640x480]

Prints (never asserts); speeds are given per wall second and per CPU second
(the latter is robust to other load on the machine; the generator is single-threaded,
so on 2 cores two processes give about twice the per-CPU-second figure):
1. skeleton samples/s (all seven tests, clean truth, no rendering);
2. rendered frames/s (numpy ray-casting renderer) at the chosen size and at the pose size (384x288);
2b. a small library rendered to mp4 by `generate_library` with 1 worker and with one per core
   (tools.synth.parallel): wall seconds, videos/min, speed-up, and whether the files are byte-identical;
3. per test and view, on a rendered clip: MediaPipe detection rate (share of
   frames where the athlete was found), median 2D keypoint error vs the
   projected truth (px, and % of the figure's height), and key-angle MAE
   (knee/hip flexion, trunk inclination) of the video skeleton
   (tools.pose.backends + tools.geometry.lift3d) against the truth (tools.study.truth.compare).
Everything runs on CPU; MediaPipe model_complexity=1 (shipped in the wheel).
"""
from __future__ import annotations

import argparse
import warnings
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.core.skeleton import JOINT_INDEX  # noqa: E402
from tools.core.fms import BILATERAL, TESTS  # noqa: E402
from tools.synth.library import auto_camera, make_sample, render_video, truth_skeleton  # noqa: E402
from tools.synth.render import Renderer  # noqa: E402

# joints MediaPipe reports that have the same meaning as ours (eyes/ears/hands differ slightly)
COMPARED = ("left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
            "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle")


def bench_generation(n_per_test: int) -> dict:
    t0, c0 = time.perf_counter(), time.process_time()
    n = 0
    for test in TESTS:
        for seed in range(n_per_test):
            make_sample(test, seed=seed, side="L" if test in BILATERAL else "NA")
            n += 1
    dt, dc = time.perf_counter() - t0, time.process_time() - c0
    return {"samples": n, "seconds": round(dt, 2), "samples_per_s": round(n / dt, 1),
            "samples_per_cpu_s": round(n / dc, 1)}


def bench_render(size: tuple[int, int], n_frames: int) -> dict:
    sample = make_sample("deep_squat", seed=1, score=3)
    camera = auto_camera(sample, "45", width=size[0], height=size[1])
    renderer = Renderer(camera, sample.athlete, sample.motion)
    idx = np.linspace(0, sample.motion.n_frames - 1, n_frames).astype(int)
    t0, c0 = time.perf_counter(), time.process_time()
    for i in idx:
        renderer.frame(int(i))
    dt, dc = time.perf_counter() - t0, time.process_time() - c0
    return {"size": f"{size[0]}x{size[1]}", "frames": n_frames, "frames_per_s": round(n_frames / dt, 1),
            "frames_per_cpu_s": round(n_frames / dc, 1)}


def bench_library_render(size: tuple[int, int], per_test: int, workers: list[int]) -> list[dict]:
    """The same small library rendered with each worker count; files compared byte for byte to the first."""
    import hashlib

    from tools.synth.library import LibraryConfig, generate_library
    rows, first = [], None
    with tempfile.TemporaryDirectory() as tmp:
        for w in workers:
            out = Path(tmp) / f"w{w}"
            t0 = time.perf_counter()
            s = generate_library(LibraryConfig(out_dir=out, per_test=per_test, seed=3, render=True, views=("side",),
                                               tests=("deep_squat", "hurdle_step", "inline_lunge"),
                                               width=size[0], height=size[1], workers=w))
            dt = time.perf_counter() - t0
            files = {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
                     for p in sorted(out.rglob("*")) if p.is_file()}
            first = first or files
            n = sum(1 for k in files if k.startswith("videos/"))
            rows.append({"size": f"{size[0]}x{size[1]}", "workers": s["render_workers"], "videos": n,
                         "wall_s": round(dt, 1), "videos_per_min": round(60 * n / dt, 1),
                         "identical_to_first": files == first})
    for r in rows:
        r["speedup"] = round(r["videos_per_min"] / rows[0]["videos_per_min"], 2)
    return rows


def bench_video_path(test: str, view: str, size: tuple[int, int], seed: int) -> dict:
    from tools.geometry.lift3d import to_skeleton
    from tools.people.athlete_pose import estimate_pose
    from tools.study.truth import compare

    sample = make_sample(test, seed=seed, side="L" if test in BILATERAL else "NA")
    camera = auto_camera(sample, view, width=size[0], height=size[1])
    truth = truth_skeleton(sample, camera)
    with tempfile.TemporaryDirectory() as tmp:
        video = render_video(sample, camera, Path(tmp) / "clip.mp4")
        pose = estimate_pose(video)
    found = (pose.conf > 0).mean(axis=1) > 0.5
    idx = [JOINT_INDEX[n] for n in COMPARED]
    err = np.linalg.norm(pose.uv[:, idx] - truth.uv[:, idx], axis=-1)[found]
    fig_h = np.nanmax(truth.uv[..., 1]) - np.nanmin(truth.uv[..., 1])
    measured = to_skeleton(pose)
    cmp = compare(measured, truth)
    maes = {k: (round(v["mae"], 1) if v["mae"] is not None else None) for k, v in cmp["measures"].items()}
    med = float(np.nanmedian(err)) if err.size else float("nan")
    return {"test": test, "view": view, "score": sample.label.score, "frames": int(pose.n_frames),
            "detection_rate": round(float(found.mean()), 3),
            "kp_err_px_median": round(med, 1), "kp_err_pct_of_figure": round(100 * med / fig_h, 1),
            "angle_mae_deg": maes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples, one seed, side view only")
    parser.add_argument("--views", default="front,side,45")
    parser.add_argument("--size", default="640x480")
    parser.add_argument("--seed", type=int, default=100)
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=UserWarning, module="google.protobuf")
    size = tuple(int(v) for v in args.size.split("x"))
    views = ["side"] if args.quick else args.views.split(",")
    out = {"generation": bench_generation(3 if args.quick else 20)}
    print("skeleton generation:", out["generation"], flush=True)
    out["render"] = bench_render(size, 10 if args.quick else 40)
    print("rendering:", out["render"], flush=True)
    from tools.synth.parallel import available_cores
    from tools.synth.render import POSE_SIZE
    out["render_pose_size"] = bench_render(POSE_SIZE, 10 if args.quick else 40)
    print("rendering at the pose size:", out["render_pose_size"], flush=True)
    out["library_render"] = bench_library_render(size, 1 if args.quick else 2, sorted({1, available_cores()}))
    for r in out["library_render"]:
        print("library render:", r, flush=True)
    rows = []
    print(f"{'test':28s} {'view':5s} {'det':>5s} {'kp px':>6s} {'kp %':>5s}  angle MAE (deg)", flush=True)
    for test in TESTS:
        # shoulder mobility's fists meet behind the back: add the view that sees them
        test_views = views + ["back"] if test == "shoulder_mobility" and "back" not in views else views
        for view in test_views:
            r = bench_video_path(test, view, size, args.seed)
            rows.append(r)
            angles = " ".join(f"{k.replace('_deg', '')}={v}" for k, v in r["angle_mae_deg"].items())
            print(f"{test:28s} {view:5s} {r['detection_rate']:5.2f} {r['kp_err_px_median']:6.1f} "
                  f"{r['kp_err_pct_of_figure']:5.1f}  {angles}", flush=True)
    out["video_path"] = rows
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
