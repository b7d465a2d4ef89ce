"""The fit's CPU cost, float32 against float64, paired clip by clip on cached rendered clips.

    .venv/bin/python benchmarks/bench_fit_cost.py --cache benchmarks/.cache/angles [--clips 14] [--repeat 2]

Each clip of the budget set (benchmarks/angle_clips.py, posed once into --cache) is
fitted with tools.geometry.fit.FitConfig(dtype=...) for both dtypes in turn,
`--repeat` times, in one process (so load and warm-up touch both alike); prints
the median CPU seconds of each, their ratio, the share of the clip's pose CPU
(recorded when the clip was posed) and the largest joint difference between the
two fits (mm). Figures only.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from angle_clips import clip_set, ensure_clip, load_pose, select  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    from tools.geometry.fit import FitConfig, fit_pose
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cache", required=True)
    p.add_argument("--clips", type=int, default=14, help="every n-th clip of the set, this many")
    p.add_argument("--repeat", type=int, default=2)
    args = p.parse_args(argv)
    warnings.simplefilter("ignore")
    specs = select(clip_set("budget", size="pose"), "0,30,45,60,90,180", "1.2,0.6", 1)
    specs = specs[:: max(1, len(specs) // args.clips)][: args.clips]
    rows = []
    for spec in specs:
        files = ensure_clip(spec, Path(args.cache))
        pose = load_pose(files["pose"])
        pose_cpu = json.loads(files["spec"].read_text()).get("pose_cpu_s") if files["spec"].is_file() else None
        cpu = {"float64": [], "float32": []}
        joints = {}
        fit_pose(pose, config=FitConfig(dtype="float32"))         # warm-up (torch's first call)
        for _ in range(args.repeat):
            for dtype in cpu:
                c0 = time.process_time()
                skel, _ = fit_pose(pose, config=FitConfig(dtype=dtype))
                cpu[dtype].append(time.process_time() - c0)
                joints[dtype] = skel.xyz
        diff = np.nanmax(np.abs(joints["float64"] - joints["float32"])) * 1000
        row = {"clip": spec.clip_id, "float64_s": float(np.median(cpu["float64"])),
               "float32_s": float(np.median(cpu["float32"])), "pose_cpu_s": pose_cpu, "max_joint_diff_mm": float(diff)}
        rows.append(row)
        print(f"{spec.clip_id:55s} float64 {row['float64_s']:.2f} s  float32 {row['float32_s']:.2f} s  "
              f"max joint difference {diff:.1f} mm", flush=True)
    f64, f32 = np.array([r["float64_s"] for r in rows]), np.array([r["float32_s"] for r in rows])
    pose = np.array([r["pose_cpu_s"] or np.nan for r in rows], float)
    print(f"median CPU per clip: float64 {np.median(f64):.2f} s, float32 {np.median(f32):.2f} s "
          f"(ratio {np.median(f32 / f64):.2f}); share of pose CPU: {np.nanmedian(f64 / pose):.2f} -> "
          f"{np.nanmedian(f32 / pose):.2f}; joints differ by at most {max(r['max_joint_diff_mm'] for r in rows):.1f} mm")
    return 0


if __name__ == "__main__":
    sys.exit(main())
