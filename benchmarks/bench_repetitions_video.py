"""Multi-repetition clips and a whole-screen recording as rendered video, through the real pipeline (MediaPipe).

    nice -n 5 .venv/bin/python benchmarks/bench_repetitions_video.py [--per-test 2] [--seed-base 9000]
                                                                     [--recording] [--out DIR] [--json OUT.json]

Per FMS test, `--per-test` multi-repetition clips (tools/synth/repetitions.py,
random plans from held-out seeds: 1-3 repetitions per side, pauses, a failed
repetition among good ones, fallback variants, both sides now and then) are
rendered (tools.synth.render, 640x480, 30 fps, the view that judges the test:
45 deg for the standing tests, side for the floor tests) and screened as a
physio would (`formscout screen` path: pose, 3D, segment_repetitions, scoring
per repetition, best counts; side not given; heels declared only when every
repetition is on the board or none is; sex and hand length given).

Prints per test: repetitions found vs truth on the video skeleton (precision,
recall, mean start / end error in frames) and the best-of score vs the truth
per side (exact agreement; how many went to review). With `--recording`, one
whole-screen recording (tools/synth/recording.py) is rendered and split by
`formscout session --recording` with the physio's order: split point error
(s), split points between the two tests' repetitions, tests found, composite
vs truth. Rendering is slow on a shared CPU: figures, never timed asserts.
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.core.errors import InputError
from tools.core.fms import BILATERAL, TESTS

VIEWS = {"deep_squat": "45", "hurdle_step": "45", "inline_lunge": "45", "shoulder_mobility": "back",
         "active_straight_leg_raise": "side", "trunk_stability_pushup": "side", "rotary_stability": "side"}


def match(found: list[dict], truth: list, iou_min: float = 0.3) -> list[tuple[dict, object | None]]:
    """Each found repetition with the truth repetition it overlaps best (IoU > iou_min), or None."""
    pairs, used = [], set()
    for d in found:
        best, best_iou = None, 0.0
        for t in truth:
            if t.index in used:
                continue
            ov = min(d["end_frame"], t.end_frame) - max(d["start_frame"], t.start_frame)
            un = max(d["end_frame"], t.end_frame) - min(d["start_frame"], t.start_frame)
            iou = ov / un if un > 0 else 0.0
            if iou > best_iou:
                best, best_iou = t, iou
        if best is not None and best_iou > iou_min:
            used.add(best.index)
            pairs.append((d, best))
        else:
            pairs.append((d, None))
    return pairs


def _screen(request_type, screen, mp4: Path, test: str, run_dir: Path, clip) -> dict:
    """The clip screened as a physio would ask for it (side not given)."""
    return screen(request_type(source=str(mp4), test=test, run_dir=str(run_dir),
                               heels_raised=heels_input(clip) if test == "deep_squat" else "auto",
                               sex="M" if clip.athlete.sex == "male" else "F",
                               hand_length_m=clip.athlete.hand_length_m if test == "shoulder_mobility" else None,
                               athlete_selector="off", use_retrieval=False,
                               **({"overlay": "after"} if "overlay" in request_type.__dataclass_fields__ else {})))


def heels_input(clip) -> str:
    kinds = {r.variant for r in clip.reps if r.kind == "full" and r.test == "deep_squat"}
    return "yes" if kinds == {"heels_raised"} else "no" if kinds == {"flat"} else "auto"


def run_clips(args, out: Path) -> dict:
    from agent.screening.protocol import ScreenRequest
    from agent.screening.run import screen
    from tools.synth.library import auto_camera
    from tools.synth.repetitions import make_repetition_clip, render_clip
    per_test = {}
    for t_i, test in enumerate(TESTS):
        rows = []
        for k in range(args.per_test):
            seed = args.seed_base + 100 * t_i + k
            clip = make_repetition_clip(test, seed)
            cam = auto_camera(clip, VIEWS[test])
            mp4 = out / f"{test}_{seed}.mp4"
            t0 = time.perf_counter()
            if not mp4.is_file():
                render_clip(clip, cam, mp4)
            t_render = time.perf_counter() - t0
            t0 = time.perf_counter()
            run_dir = out / f"run_{test}_{seed}_{time.strftime('%H%M%S')}"
            try:
                v = _screen(ScreenRequest, screen, mp4, test, run_dir, clip)
            except InputError as exc:      # the pipeline refused the clip (e.g. no side could be told): a miss
                print(f"  {test} seed {seed}: refused: {exc}", flush=True)
                rows.append({"seed": seed, "frames": clip.motion.n_frames, "tp": 0, "fp": 0,
                             "fn": sum(r.kind == "full" for r in clip.reps), "start_err": [], "end_err": [],
                             "truth": clip.truth_scores(), "got": {s: None for s in clip.truth_scores()},
                             "review": True, "error": str(exc)[:300]})
                continue
            t_screen = time.perf_counter() - t0
            seg = json.loads(Path(v["artifacts"]["run_dir"], "repetitions.json").read_text())
            found = [r for r in seg["repetitions"] if not r.get("partial")]
            full = [r for r in clip.reps if r.kind == "full"]
            pairs = match(found, clip.reps)
            tp = [(d, t) for d, t in pairs if t is not None and t.kind == "full"]
            fp = [d for d, t in pairs if t is None or t.kind == "partial"]
            got = {v["side"]: v["score"]}
            for s, e in (v.get("sides") or {}).items():
                got[s] = e["score"]
            truth = clip.truth_scores()
            rows.append({"seed": seed, "frames": clip.motion.n_frames, "render_s": round(t_render, 1),
                         "screen_s": round(t_screen, 1), "tp": len(tp), "fp": len(fp), "fn": len(full) - len(tp),
                         "start_err": [abs(d["start_frame"] - t.start_frame) for d, t in tp],
                         "end_err": [abs(d["end_frame"] - t.end_frame) for d, t in tp],
                         "truth": truth, "got": {s: got.get(s) for s in truth}, "review": bool(v["review"]),
                         "mode": v.get("repetition_mode")})
            print(f"  {test} seed {seed}: {clip.motion.n_frames} frames, reps found {len(found)} (truth {len(full)} "
                  f"full), truth {truth} got {rows[-1]['got']} review {v['review']}  "
                  f"(render {t_render:.0f} s, screen {t_screen:.0f} s)", flush=True)
        per_test[test] = rows
    return per_test


def summarise_clips(per_test: dict) -> dict:
    out = {}
    for test, rows in per_test.items():
        tp, fp, fn = (sum(r[k] for r in rows) for k in ("tp", "fp", "fn"))
        starts = [e for r in rows for e in r["start_err"]]
        ends = [e for r in rows for e in r["end_err"]]
        sides = [(r["truth"][s], r["got"][s]) for r in rows for s in r["truth"]]
        out[test] = {"clips": len(rows), "precision": round(tp / (tp + fp), 3) if tp + fp else None,
                     "recall": round(tp / (tp + fn), 3) if tp + fn else None,
                     "start_err_frames": round(float(np.mean(starts)), 1) if starts else None,
                     "end_err_frames": round(float(np.mean(ends)), 1) if ends else None,
                     "sides": len(sides), "best_of_exact": sum(a == b for a, b in sides),
                     "review": sum(r["review"] for r in rows)}
    return out


def run_recording(args, out: Path) -> dict:
    from agent.screening.recording import screen_recording
    from agent.screening.session import SessionOptions
    from tools.synth.library import auto_camera
    from tools.synth.recording import make_screen_recording, manifest_rows
    from tools.synth.repetitions import render_clip
    rec = make_screen_recording(args.seed_base + 999)
    mp4 = out / "screen.mp4"
    t0 = time.perf_counter()
    if not mp4.is_file():
        render_clip(rec, auto_camera(rec, "45"), mp4)
    t_render = time.perf_counter() - t0
    rows = manifest_rows(rec, "M")
    order = out / "order.csv"
    with open(order, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    t0 = time.perf_counter()
    result = screen_recording(mp4, out / f"session_{time.strftime('%H%M%S')}", SessionOptions(sex="M" if rec.athlete.sex == "male" else "F",
                                                                  pdf=False), order_manifest=order)
    t_session = time.perf_counter() - t0
    sc = result.scorecard
    split = sc["recording"]
    fps = split["fps"]
    found = [s["test"] for s in split["segments"]]
    truth_tests = [t.test for t in rec.tests]
    errs, between = [], 0
    if found == truth_tests:
        for p, tp, k in zip(split["split_points"], rec.split_points(), range(len(rec.tests) - 1)):
            errs.append(abs(p["frame"] - tp) / fps)
            between += rec.tests[k].last_rep_end <= p["frame"] <= rec.tests[k + 1].first_rep_start
    truth_scores = {t.test: t.truth_scores for t in rec.tests}
    got = {t: {s: (sc["tests"][t][s] or {}).get("score") for s in ("L", "R")} if t in BILATERAL
           else (sc["tests"][t]["score"] or {}).get("score") for t in TESTS}
    res = {"frames": rec.motion.n_frames, "render_s": round(t_render, 1), "session_s": round(t_session, 1),
           "tests_found": found, "tests_right": found == truth_tests,
           "split_err_s": [round(e, 2) for e in errs], "between_reps": between, "split_points": len(rec.split_points()),
           "composite": sc["composite"]["score"], "composite_complete": sc["composite"]["complete"],
           "composite_truth": rec.composite(), "truth": truth_scores, "got": got}
    print(json.dumps(res, indent=1, default=str))
    return res


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--per-test", type=int, default=2)
    p.add_argument("--seed-base", type=int, default=9000)
    p.add_argument("--recording", action="store_true", help="also one rendered whole-screen recording")
    p.add_argument("--no-clips", action="store_true", help="only the recording")
    p.add_argument("--out", default="", help="folder for the videos and runs (default: a temporary one)")
    p.add_argument("--json", default="")
    args = p.parse_args()
    out = Path(args.out or tempfile.mkdtemp(prefix="bench_reps_video_"))
    out.mkdir(parents=True, exist_ok=True)
    report = {"seed_base": args.seed_base, "per_test": args.per_test}
    if not args.no_clips:
        clips = run_clips(args, out)
        report["clips"] = clips
        report["summary"] = summarise_clips(clips)
        print(f"\n{'test':26s} clips  P      R      start  end    best-of exact  review")
        for test, s in report["summary"].items():
            print(f"{test:26s} {s['clips']:5d}  {s['precision'] or 0:.3f}  {s['recall'] or 0:.3f}  "
                  f"{s['start_err_frames'] or 0:5.1f}  {s['end_err_frames'] or 0:5.1f}  "
                  f"{s['best_of_exact']}/{s['sides']:<11d}  {s['review']}")
        tot = sum(s["best_of_exact"] for s in report["summary"].values())
        n = sum(s["sides"] for s in report["summary"].values())
        print(f"all: best-of exact {tot}/{n} = {tot / max(n, 1):.3f}")
    if args.recording:
        report["recording"] = run_recording(args, out)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1, default=str))


if __name__ == "__main__":
    main()
