"""Rules vs construction labels on RENDERED synthetic video: the whole screening run (MediaPipe pose -> 3D -> rules).

    .venv/bin/python benchmarks/bench_rubric_video.py [--n 2] [--tests ...] [--view 45] [--out DIR]
    .venv/bin/python benchmarks/bench_rubric_video.py --view front --side-view side ...   # two clips per repetition

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


def run_clip(test: str, seed: int, side: str, view: str, out: Path, size: tuple[int, int] = (960, 720),
             side_view: str = "") -> dict:
    """One rendered clip screened (with `side_view`: the same repetition also filmed from that view and
    passed as --side-clip; the verdict then judges each criterion from the view that measures it)."""
    from tools.synth.library import auto_camera, make_sample, render_video
    sample = make_sample(test, seed, side=side)
    view = VIEWS.get(test, view)
    cam = auto_camera(sample, view, width=size[0], height=size[1])
    video = render_video(sample, cam, out / f"{test}_{seed}_{side}_{view}.mp4")
    side_clip = ""
    if side_view and side_view != view:
        cam2 = auto_camera(sample, side_view, width=size[0], height=size[1])
        side_clip = str(render_video(sample, cam2, out / f"{test}_{seed}_{side}_{side_view}.mp4"))
        view = f"{view}+{side_view}"
    kw = {"pain": bool(sample.label.pain)}
    if test == "deep_squat":
        kw["heels_raised"] = "yes" if sample.knobs.heel_board else "no"
    row = {"test": test, "seed": seed, "side": side, "label": sample.label.score, "failed_truth": list(sample.label.failed)}
    try:
        v = screen(ScreenRequest(source=str(video), test=test, run_dir=str(out / f"run_{test}_{seed}_{side}_{view}"),
                                 side_clip=side_clip, **kw))
    except InputError as exc:
        return {**row, "score": None, "review": True, "reasons": [str(exc)], "side_found": None}
    alone = _each_view_alone(Path(v["artifacts"]["run_dir"]), test, v, kw) if side_clip else {}
    return {**row, "view": view, "score": v["score"], "review": v["review"], "reasons": v["reasons"],
            "side_found": v["side"], "alone": alone,
            "failed_rules": [c["id"] for c in v["criteria"] if c["passed"] is False],
            "judged": [c["id"] for c in v["criteria"] if c["passed"] is not None],
            "criteria": [{k: c.get(k) for k in ("id", "passed", "value", "view_source")} for c in v["criteria"]],
            "side_clip_not_used": next((n for n in v.get("notes", []) if n.startswith("the side clip was not used")),
                                       "")}


def _each_view_alone(run_dir: Path, test: str, verdict: dict, kw: dict) -> dict:
    """The rubric on each clip of a pair by itself (the run's own prepared skeletons): what each view judges alone."""
    from tools.core.skeleton import Skeleton
    from tools.scoring.rubric import score_test
    heels = {"yes": True, "no": False}.get(kw.get("heels_raised", ""))
    side = verdict["side"] if verdict["side"] in ("L", "R") else None
    out = {}
    for name, path in (("main", run_dir / "skeleton.npz"), ("side", run_dir / "second_view" / "skeleton.npz")):
        if not path.is_file():
            continue
        r = score_test(Skeleton.load(path), test, side, pain=kw["pain"], heels_raised=heels)
        out[name] = {"score": r.score, "review": r.review,
                     "judged": [c.id for c in r.criteria if c.passed is not None],
                     "failed": [c.id for c in r.criteria if c.passed is False]}
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=2, help="clips per test")
    p.add_argument("--tests", default=",".join(TESTS))
    p.add_argument("--view", default="45", choices=["45", "front", "side", "back"],
                   help="camera view (ASLR and push-up always side; 'back' films shoulder mobility from behind, the "
                        "other tests from the back too)")
    p.add_argument("--side-view", default="", choices=["", "45", "front", "side", "back"],
                   help="also film each repetition from this view and screen the pair (--side-clip); tests always "
                        "filmed from the side (ASLR, push-up) are then screened from the side alone")
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
        got = [run_clip(test, args.seed_base + 10 * i, sides[i % len(sides)], args.view, out, size, args.side_view)
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
        if args.side_view:
            judged = lambda rs: sum(len(x) for x in rs) / max(1, len(rs))  # noqa: E731
            print(f"    criteria judged per clip: {args.view} alone "
                  f"{judged([r.get('alone', {}).get('main', {}).get('judged', []) for r in got]):.1f}, "
                  f"{args.side_view} alone {judged([r.get('alone', {}).get('side', {}).get('judged', []) for r in got]):.1f}, "
                  f"both {judged([r.get('judged', []) for r in got]):.1f}; side clip not used in "
                  f"{sum(bool(r.get('side_clip_not_used')) for r in got)} of {len(got)}")
        for r in got:
            print(f"    seed {r['seed']} {r['side']}: label {r['label']} {r['failed_truth']} -> {r['score']}"
                  f"{' REVIEW' if r['review'] else ''} fails {r.get('failed_rules')} side {r['side_found']}"
                  f"{': ' + r['reasons'][0][:150] if r['reasons'] else ''}")
            if r.get("criteria") and args.side_view:
                print("      judged: " + (", ".join(f"{c['id']} ({c['view_source'] or '-'})" for c in r["criteria"]
                                                   if c["passed"] is not None) or "none"))
                for name, a in (r.get("alone") or {}).items():
                    print(f"      {name} clip alone: score {a['score']}{' review' if a['review'] else ''}, "
                          f"judged {len(a['judged'])} ({', '.join(a['judged']) or 'none'})")
            if r.get("side_clip_not_used"):
                print(f"      {r['side_clip_not_used'][:200]}")
    print(f"({time.time() - t0:.0f} s)")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
