"""Rules vs construction labels on RENDERED synthetic video: the whole screening run (MediaPipe pose -> 3D -> rules).

    .venv/bin/python benchmarks/bench_rubric_video.py [--n 2] [--tests ...] [--view 45] [--out DIR]

For each test, renders `n` synthetic clips (tools.synth.render_video, held-out
seeds, bilateral tests alternate L/R), runs `agent.screening.run.screen` on the
mp4 (pose backend MediaPipe, as `formscout screen` does) with the inputs a
physio gives (pain, heels on the board, sex, hand length; side NOT given), and
compares the verdict with the construction label. Prints per test: n, exact,
within-1, share sent to review, exact on the clips not sent to review, and
every clip with its label, score, review flag and first reason.
Slow (rendering + pose at ~10-40 s per clip on a laptop CPU); figures only.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.screening.protocol import ScreenRequest  # noqa: E402
from agent.screening.run import screen  # noqa: E402
from tools.core.errors import InputError  # noqa: E402
from tools.core.fms import BILATERAL, TESTS  # noqa: E402

VIEWS = {"active_straight_leg_raise": "side", "trunk_stability_pushup": "side"}


def run_clip(test: str, seed: int, side: str, view: str, out: Path, size: tuple[int, int] = (960, 720)) -> dict:
    from tools.synth.library import auto_camera, make_sample, render_video
    sample = make_sample(test, seed, side=side)
    view = VIEWS.get(test, view)
    cam = auto_camera(sample, view, width=size[0], height=size[1])
    video = render_video(sample, cam, out / f"{test}_{seed}_{side}_{view}.mp4")
    kw = {"pain": bool(sample.label.pain)}
    if test == "deep_squat":
        kw["heels_raised"] = "yes" if sample.knobs.heel_board else "no"
    row = {"test": test, "seed": seed, "side": side, "label": sample.label.score, "failed_truth": list(sample.label.failed)}
    try:
        v = screen(ScreenRequest(source=str(video), test=test, run_dir=str(out / f"run_{test}_{seed}_{side}_{view}"), **kw))
    except InputError as exc:
        return {**row, "score": None, "review": True, "reasons": [str(exc)], "side_found": None}
    return {**row, "view": view, "score": v["score"], "review": v["review"], "reasons": v["reasons"],
            "side_found": v["side"],
            "failed_rules": [c["id"] for c in v["criteria"] if c["passed"] is False]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=2, help="clips per test")
    p.add_argument("--tests", default=",".join(TESTS))
    p.add_argument("--view", default="45", choices=["45", "front", "side", "back"],
                   help="camera view (ASLR and push-up always side; 'back' films shoulder mobility from behind, the "
                        "other tests from the back too)")
    p.add_argument("--size", default="960x720", help="WxH, or 'pose' (384x288: MediaPipe's full input detail)")
    p.add_argument("--seed-base", type=int, default=8_000_000)
    p.add_argument("--out", default="bench_video_runs")
    p.add_argument("--json", default="")
    args = p.parse_args(argv)
    warnings.simplefilter("ignore")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from tools.synth.render import POSE_SIZE
    size = POSE_SIZE if args.size == "pose" else tuple(int(v) for v in args.size.lower().split("x"))
    rows = []
    t0 = time.time()
    print(f"rendered-video screening runs, view {args.view} (ASLR and push-up: side), n={args.n} per test")
    for test in args.tests.split(","):
        sides = ("L", "R") if test in BILATERAL else ("NA",)
        got = [run_clip(test, args.seed_base + 10 * i, sides[i % len(sides)], args.view, out, size)
               for i in range(args.n)]
        rows += got
        scored = [r for r in got if r["score"] is not None]
        clear = [r for r in scored if not r["review"]]
        pct = lambda a, b: "  -  " if not b else f"{100 * a / b:5.1f}%"  # noqa: E731
        confident = sum(r["score"] is not None and not r["review"] and r["score"] != r["label"] for r in got)
        flagged_or_exact = sum(r["review"] or r["score"] == r["label"] for r in got)
        print(f"{test:27s} n={len(got):2d} exact-or-flagged {pct(flagged_or_exact, len(got))} "
              f"confident errors {confident} exact {pct(sum(r['score'] == r['label'] for r in scored), len(got))} "
              f"within1 {pct(sum(abs(r['score'] - r['label']) <= 1 for r in scored), len(got))} "
              f"review {pct(sum(r['review'] for r in got), len(got))} "
              f"exact|clear {pct(sum(r['score'] == r['label'] for r in clear), len(clear))}")
        for r in got:
            print(f"    seed {r['seed']} {r['side']}: label {r['label']} {r['failed_truth']} -> {r['score']}"
                  f"{' REVIEW' if r['review'] else ''} fails {r.get('failed_rules')} side {r['side_found']}"
                  f"{': ' + r['reasons'][0][:150] if r['reasons'] else ''}")
    print(f"({time.time() - t0:.0f} s)")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
