"""The measurement stage on one real video: camera, floor and residual, with an overlay frame.

    .venv/bin/python benchmarks/bench_fit_real.py VIDEO [--overlay docs/fit_overlay.png] [--frame -1] [--json OUT]

Poses the clip (MediaPipe, athlete selection on, as `formscout screen` does),
fits the skeleton (tools.geometry.fit.fit_pose with the clip's container
metadata) and prints: the fit's CPU time and its share of the pose's, the
reprojection residual (median / p90 px), the focal length (estimated, prior and
its source), camera pitch, roll and lens height above the fitted floor, the
view azimuth and the fit's problems. `--overlay` writes one frame (default: the
frame of median residual) with the 2D keypoints (white), the fitted skeleton
reprojected (green), a 1 m floor grid at the fitted floor (blue) and those
figures printed on it.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BONES = [("left_shoulder", "right_shoulder"), ("left_hip", "right_hip"), ("left_shoulder", "left_hip"),
         ("right_shoulder", "right_hip"), ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
         ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"), ("left_hip", "left_knee"),
         ("left_knee", "left_ankle"), ("right_hip", "right_knee"), ("right_knee", "right_ankle"),
         ("left_ankle", "left_heel"), ("left_heel", "left_toe"), ("left_ankle", "left_toe"),
         ("right_ankle", "right_heel"), ("right_heel", "right_toe"), ("right_ankle", "right_toe")]


def project_world(points: np.ndarray, report) -> np.ndarray:
    """Pixels [..., 2] of points in the fitted skeleton's world frame (origin below the median hip centre)."""
    from tools.geometry.camera import rotation_world_to_camera
    cam = np.asarray(report.floor["camera_position_m"], float)
    rot = rotation_world_to_camera(math.radians(report.pitch_deg), math.radians(report.roll_deg))
    pc = (points - cam) @ rot.T
    f, cx, cy = report.intrinsics["focal_px"], report.intrinsics["width"] / 2, report.intrinsics["height"] / 2
    z = np.where(pc[..., 2] > 0.05, pc[..., 2], np.nan)
    return np.stack([f * pc[..., 0] / z + cx, f * pc[..., 1] / z + cy], -1)


def draw_overlay(video: Path, frame: int, skel, pose, report, out: Path, lines: list[str]) -> None:
    from PIL import Image, ImageDraw

    from tools.core.skeleton import JOINT_INDEX as JI
    from tools.video.clip import read_frame
    img = Image.fromarray(read_frame(video, frame)).convert("RGB")
    d = ImageDraw.Draw(img)
    w = max(1, img.width // 400)
    # floor grid, 1 m cells, 4 m around the athlete
    for k in np.arange(-2.0, 2.01, 0.5):
        for a, b in (([k, 0, -2], [k, 0, 2]), ([-2, 0, k], [2, 0, k])):
            seg = project_world(np.linspace(a, b, 40), report)
            pts = [tuple(p) for p in seg if np.isfinite(p).all()]
            if len(pts) > 1:
                d.line(pts, fill=(60, 120, 255), width=w)
    uv = pose.uv[frame]
    px = project_world(skel.xyz[frame], report)
    for a, b in BONES:
        for arr, col in ((uv, (255, 255, 255)), (px, (40, 220, 40))):
            p, q = arr[JI[a]], arr[JI[b]]
            if np.isfinite(p).all() and np.isfinite(q).all():
                d.line([tuple(p), tuple(q)], fill=col, width=w + (1 if col[1] == 220 else 0))
    y = 4
    for text in lines:
        d.rectangle([2, y - 1, 8 + 6 * len(text) * max(1, img.width // 640), y + 11], fill=(0, 0, 0))
        d.text((5, y), text, fill=(255, 255, 0))
        y += 14
    out.parent.mkdir(parents=True, exist_ok=True)
    img.save(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("video")
    p.add_argument("--overlay", default="")
    p.add_argument("--frame", type=int, default=-1, help="frame for the overlay (default: median residual)")
    p.add_argument("--json", default="")
    args = p.parse_args(argv)
    warnings.simplefilter("ignore")
    import logging
    logging.basicConfig(level=logging.WARNING)
    from tools.geometry.fit import fit_pose
    from tools.people.athlete_pose import estimate_pose
    from tools.video.clip import camera_metadata, probe_video
    video = Path(args.video)
    info = probe_video(video)
    metadata = camera_metadata(video)
    c0, t0 = time.process_time(), time.perf_counter()
    pose = estimate_pose(video)
    pose_cpu, pose_wall = time.process_time() - c0, time.perf_counter() - t0
    c1, t1 = time.process_time(), time.perf_counter()
    skel, report = fit_pose(pose, metadata=metadata)
    fit_cpu, fit_wall = time.process_time() - c1, time.perf_counter() - t1
    res = np.array([np.nan if v is None else v for v in report.residual_px_per_frame], float)
    out = {
        "video": video.name, "frames": info.n_frames, "size": [info.width, info.height], "fps": info.fps,
        "pose_cpu_s": round(pose_cpu, 2), "pose_wall_s": round(pose_wall, 2),
        "fit_cpu_s": round(fit_cpu, 2), "fit_wall_s": round(fit_wall, 2),
        "fit_share_of_pose_cpu": round(fit_cpu / pose_cpu, 3) if pose_cpu else None,
        "residual_px_median": report.residual_px_median, "residual_px_p90": report.residual_px_p90,
        "focal_px": report.intrinsics["focal_px"], "prior_focal_px": report.intrinsics["prior_focal_px"],
        "focal_source": report.intrinsics["source"], "hfov_deg": report.intrinsics.get("hfov_deg"),
        "pitch_deg": report.pitch_deg, "roll_deg": report.roll_deg, "lens_height_m": report.camera_height_m,
        "floor_normal_in_camera": report.floor["normal_in_camera"], "view_azimuth_deg": report.view_azimuth_deg,
        "frames_fitted": report.frames_fitted, "standing_frames": report.standing_frames,
        "contacts": report.contacts, "problems": report.problems, "notes": report.notes, "metadata": metadata,
    }
    print(json.dumps(out, indent=1, default=str))
    if args.overlay:
        frame = args.frame
        if frame < 0:
            ok = np.flatnonzero(np.isfinite(res))
            frame = int(ok[np.argsort(res[ok])[len(ok) // 2]])
        lines = [f"FormScout fit, frame {frame}: residual {res[frame]:.1f} px (clip median "
                 f"{report.residual_px_median} px, p90 {report.residual_px_p90} px)",
                 f"focal {report.intrinsics['focal_px']:.0f} px ({report.intrinsics['source']}; prior "
                 f"{report.intrinsics['prior_focal_px']:.0f} px)",
                 f"camera pitch {report.pitch_deg:+.1f} deg, roll {report.roll_deg:+.1f} deg, lens "
                 f"{report.camera_height_m:.2f} m above the fitted floor (blue grid, 0.5 m)",
                 f"view azimuth {report.view_azimuth_deg} deg; white: 2D keypoints, green: fitted skeleton"]
        draw_overlay(video, frame, skel, pose, report, Path(args.overlay), lines)
        print(f"overlay written to {args.overlay} (frame {frame})")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
