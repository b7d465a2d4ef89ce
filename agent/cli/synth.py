"""`formscout synth`: write a synthetic FMS library (skeletons, optional videos, labels).

    formscout synth --out DIR --per-test N --seed S [--noise clean|realistic|hard|monocular|biased|tracker]
                    [--style classic|long_limbed|compact|uneven|heldout]
                    [--render [--workers N]] [--views front,side] [--tests deep_squat,...] [--size 640x480|pose]
    formscout synth --out DIR --crowd crossing_front|crossing_behind|two_athletes|athlete_leaves|bystander
                    [--seed S] [--tests deep_squat] [--views front] [--size 640x480]

Writes DIR/skeletons/*.npz (as a camera + pose backend would give them, at the
chosen noise level), DIR/truth/*.npz (exact), DIR/videos/*.mp4 with --render,
DIR/labels.csv (clip_id, athlete_id, date, test_name, side, score, pain,
compensation_notes, camera_view, consent_on_file) and DIR/truth.jsonl (knobs,
failed criterion ids, camera, events per clip). Same seed, same library.
With --crowd, one clip with other people in the frame (a passer, a second
athlete, a bystander, or the athlete walking out): DIR/clip.mp4 plus
DIR/truth.npz (where the athlete and the others are in every frame), for
testing athlete selection (tools/synth/crowd.py).
Synthetic athletes are named SYN-s<seed>-<index> (e.g. SYN-s1-0003); the labels encode FormScout's reading
of the rubric (docs/SYNTHETIC.md), not a physio's judgement.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from tools.core.errors import InputError


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("synth", help="write a synthetic, labelled FMS library (skeletons, videos, labels.csv)",
                              description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True, help="output folder (created)")
    p.add_argument("--per-test", type=int, default=4, help="trials per test; bilateral tests give L and R (default 4)")
    p.add_argument("--seed", type=int, default=0, help="random seed: same seed, same library (default 0)")
    p.add_argument("--noise", default="clean", choices=["clean", "realistic", "hard", "monocular", "biased", "tracker"],
                   help="pose-estimator noise on the written skeletons (truth/ stays exact; default clean)")
    p.add_argument("--style", default="classic",
                   help="generator style (tools/synth/style.py): classic (default), long_limbed, compact, uneven, "
                        "heldout; a style other than classic brings its own noise models")
    p.add_argument("--render", action="store_true",
                   help="also render an mp4 per clip (~22 frames per CPU second at 640x480, ~67 at --size pose)")
    p.add_argument("--workers", type=int, default=0,
                   help="--render: parallel render processes (default 0 = one per core; 1 = in this process); "
                        "the files are the same whatever the number")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.add_argument("--views", default="front,side", help="camera views, comma-separated: front, side, 45, back")
    p.add_argument("--tests", default="", help="only these tests (comma-separated; default all seven)")
    p.add_argument("--size", default="640x480",
                   help="video/uv image size WxH in pixels (default 640x480), or 'pose': 384x288, the smallest "
                        "frame that gives MediaPipe's pose model its full input detail (about 3x faster to render)")
    p.add_argument("--crowd", default="", metavar="SCENARIO",
                   help="instead of a library: one clip with other people in the frame (crossing_front, "
                        "crossing_behind, two_athletes, athlete_leaves, bystander); first of --tests / --views")
    p.set_defaults(func=run)
    return p


def _size(text: str) -> tuple[int, int]:
    if text.strip().lower() == "pose":
        from tools.synth.render import POSE_SIZE
        return POSE_SIZE
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise InputError(f"--size must look like 640x480, got {text!r}") from None
    if not (64 <= w <= 3840 and 64 <= h <= 2160):
        raise InputError(f"--size must be between 64x64 and 3840x2160, got {text!r}")
    return w, h


def run(args: argparse.Namespace) -> int:
    from tools.core.fms import TESTS
    from tools.synth.library import LibraryConfig, generate_library

    from tools.synth.style import get_style
    get_style(args.style)                      # an unknown style is one clear line (exit 2)
    tests = tuple(t.strip() for t in args.tests.split(",") if t.strip()) or TESTS
    unknown = [t for t in tests if t not in TESTS]
    if unknown:
        raise InputError(f"unknown test(s) {', '.join(unknown)}; use: {', '.join(TESTS)}")
    views = tuple(v.strip() for v in args.views.split(",") if v.strip())
    width, height = _size(args.size)
    if args.crowd:
        from tools.synth.crowd import make_crowd_clip
        summary = make_crowd_clip(Path(args.out), args.crowd, test=tests[0], seed=args.seed,
                                  view=views[0] if views else "front", size=(width, height))
        print(json.dumps(summary, indent=2, default=str))
        return 0
    if args.workers < 0:
        raise InputError(f"--workers must be 0 (one per core) or more, got {args.workers}")
    bars: dict = {}
    try:
        summary = generate_library(LibraryConfig(
            out_dir=Path(args.out), per_test=args.per_test, seed=args.seed, noise=args.noise, render=args.render,
            views=views, tests=tests, width=width, height=height, style=args.style, workers=args.workers),
            progress=None if args.no_progress else lambda stage, done, total: _tick(bars, stage, done, total))
    finally:
        for bar in bars.values():
            bar.close()
    print(json.dumps(summary, indent=2))
    return 0


def _tick(bars: dict, stage: str, done: int, total: int | None) -> None:
    """One progress bar per stage (skeletons, render; agent/cli/progress.py), moved to `done`."""
    if stage not in bars:
        from agent.cli.progress import ProgressBar

        for other in bars.values():           # the stage before is over
            other.close()
        bars[stage] = ProgressBar(stage, stage, unit="video" if stage == "render" else "clip", total=total)
    bars[stage].counts(done, total)
