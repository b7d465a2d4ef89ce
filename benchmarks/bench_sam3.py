"""Benchmark SAM 3 athlete selection on CPU: model build time and seconds per keyframe.

  nice -n 5 .venv/bin/python benchmarks/bench_sam3.py [--checkpoint sam3.pt] [--size 1008]
                                                      [--repeats 1] [--threads N] [--device cpu]

Without --checkpoint it builds SAM 3 with random weights (same network, same
cost; masks meaningless). The keyframe is a synthetic RGB image of --size x
--size px (SAM 3 resizes every image to 1008 px, so the backbone cost does not
depend on the input size; only the final mask upsampling does). Prints wall
and CPU seconds for the build and for each keyframe (load, then text prompt
"person" + athlete choice), the torch thread count, the 1-minute load average
before and after (the machine may be shared: CPU seconds / threads is what an
idle machine would take), and peak memory. Never asserts on time.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tools.people.sam3_mask import load_sam3, segment_athlete  # noqa: E402


def _timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--checkpoint", default=None, help="local sam3.pt; omitted = random weights")
    ap.add_argument("--size", type=int, default=1008, help="keyframe side, px (default 1008, SAM 3's native size)")
    ap.add_argument("--repeats", type=int, default=1, help="keyframes to time (default 1)")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    ap.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    args = ap.parse_args(argv)

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    load_before = os.getloadavg()[0]
    model, build_wall, build_cpu = _timed(lambda: load_sam3(args.checkpoint, device=args.device,
                                                            allow_random_weights=args.checkpoint is None))
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 255, size=(args.size, args.size, 3), dtype=np.uint8)
    s = args.size
    box = (0.3 * s, 0.1 * s, 0.6 * s, 0.95 * s)
    per_image = []
    for _ in range(args.repeats):
        chosen, wall, cpu = _timed(lambda: segment_athlete(model, frame, box_xyxy=box))
        per_image.append({"wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "people": chosen.n_candidates,
                          "chosen_by": chosen.chosen_by})
    figures = {
        "weights": "random" if args.checkpoint is None else args.checkpoint,
        "device": args.device,
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "parameters_M": round(sum(p.numel() for p in model.model.parameters()) / 1e6, 1),
        "build_wall_s": round(build_wall, 1),
        "build_cpu_s": round(build_cpu, 1),
        "keyframe_px": [args.size, args.size],
        "per_keyframe": per_image,
        "load_avg_1min_before": round(load_before, 2),
        "load_avg_1min_after": round(os.getloadavg()[0], 2),
        "peak_rss_GB": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2),
    }
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
