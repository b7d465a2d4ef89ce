"""Whole-screen synthetic recordings split into the seven tests, and scored as one session (held-out seeds).

    nice -n 5 .venv/bin/python benchmarks/bench_recording.py [--n 10] [--seed-base 6000]
                         [--styles classic:realistic,heldout:tracker] [--score 3] [--json OUT.json]

Each recording (tools/synth/recording.py) is one athlete doing the seven
tests in the FMS order, both sides of the bilateral ones, 1-3 repetitions per
side (pauses, failed repetitions, fallback variants, partial repetitions),
3-7 s of getting up / lying down / setting up between tests; seen from one 45
degree camera with a pose-noise model, prepared as the pipeline prepares it.

Split (tools.scoring.recording.split_recording), with the physio's order
(`order`) and without it (`free`): tests found in the right order, split
point error |found - truth| in seconds (truth: the middle of the transition),
and the share of split points that fall between the last repetition of one
test and the first of the next (the split cuts no repetition).

`--score K`: the first K recordings per style also go through
`formscout session --recording` with the order (agent.screening.recording):
composite vs the truth composite, and per test and side the exact agreement.
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.core.fms import BILATERAL


def prepared(skel, tmp: Path):
    from agent.screening.steps import prepare_skeleton
    from tools.core.skeleton import Skeleton
    raw = skel.save(tmp / "raw.npz")
    return Skeleton.load(prepare_skeleton(str(raw), str(tmp), "deep_squat")["skeleton_path"])


def split_metrics(rec, split) -> dict:
    found = [s.test for s in split.segments]
    truth = [t.test for t in rec.tests]
    out = {"tests_right": found == truth, "found": found, "err_s": [], "between": 0, "points": len(rec.split_points())}
    if found == truth:
        for k, (p, tp) in enumerate(zip(split.split_points, rec.split_points())):
            out["err_s"].append(abs(p.frame - tp) / split.fps)
            out["between"] += rec.tests[k].last_rep_end <= p.frame <= rec.tests[k + 1].first_rep_start
    return out


def score_session(rec, skel_path: Path, out: Path) -> dict:
    from agent.screening.recording import screen_recording
    from agent.screening.session import SessionOptions
    from tools.synth.recording import manifest_rows
    rows = manifest_rows(rec, "M")
    order = out / "order.csv"
    with open(order, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    sc = screen_recording(skel_path, out / "session", SessionOptions(
        sex="M" if rec.athlete.sex == "male" else "F", pdf=False), order_manifest=order).scorecard
    right = n = 0
    for span in rec.tests:
        for side, tv in span.truth_scores.items():
            entry = sc["tests"][span.test][side] if span.test in BILATERAL else sc["tests"][span.test]["score"]
            n += 1
            right += (entry or {}).get("score") == tv
    return {"composite": sc["composite"]["score"], "complete": sc["composite"]["complete"],
            "truth": rec.composite(), "sides_right": right, "sides": n}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=10, help="recordings per style")
    p.add_argument("--seed-base", type=int, default=6000)
    p.add_argument("--styles", default="classic:realistic,heldout:tracker")
    p.add_argument("--score", type=int, default=0, help="also score the first K recordings per style as sessions")
    p.add_argument("--json", default="")
    args = p.parse_args()
    warnings.simplefilter("ignore")
    from tools.scoring.recording import order_from_rows, split_recording
    from tools.synth.library import auto_camera
    from tools.synth.recording import make_screen_recording, manifest_rows
    from tools.synth.repetitions import clip_skeleton
    report: dict = {"args": vars(args), "results": {}}
    for pair in args.styles.split(","):
        style, noise = pair.split(":")
        res = {"order": [], "free": [], "sessions": []}
        for k in range(args.n):
            seed = args.seed_base + k
            rec = make_screen_recording(seed, style=style)
            tmp = Path(tempfile.mkdtemp(prefix="bench_rec_"))
            raw = clip_skeleton(rec, auto_camera(rec, "45"), noise=noise, noise_seed=seed)
            skel = prepared(raw, tmp)
            order = order_from_rows([(r["test"], r["side"] or None) for r in manifest_rows(rec, "M")])
            t0 = time.perf_counter()
            for mode, prior in (("order", order), ("free", None)):
                m = split_metrics(rec, split_recording(skel, prior))
                res[mode].append(m)
            dt = time.perf_counter() - t0
            line = (f"  {style} seed {seed}: {rec.motion.n_frames / 30:.0f} s, order: "
                    f"{'tests right' if res['order'][-1]['tests_right'] else 'WRONG ' + str(res['order'][-1]['found'])}"
                    f" err {np.mean(res['order'][-1]['err_s'] or [np.nan]):.2f} s, free: "
                    f"{'tests right' if res['free'][-1]['tests_right'] else 'WRONG'} "
                    f"err {np.mean(res['free'][-1]['err_s'] or [np.nan]):.2f} s ({dt:.0f} s)")
            if k < args.score:
                raw_path = raw.save(tmp / "recording.npz")
                s = score_session(rec, raw_path, tmp)
                res["sessions"].append(s)
                line += f"; session composite {s['composite']} vs truth {s['truth']}, sides {s['sides_right']}/{s['sides']}"
            print(line, flush=True)
        summary = {}
        for mode in ("order", "free"):
            ms = res[mode]
            errs = [e for m in ms for e in m["err_s"]]
            summary[mode] = {"recordings": len(ms), "tests_right": sum(m["tests_right"] for m in ms),
                             "split_err_s_mean": round(float(np.mean(errs)), 2) if errs else None,
                             "split_err_s_median": round(float(np.median(errs)), 2) if errs else None,
                             "split_err_s_max": round(float(np.max(errs)), 2) if errs else None,
                             "between_reps": f"{sum(m['between'] for m in ms if m['tests_right'])}/"
                                             f"{sum(m['points'] for m in ms if m['tests_right'])}"}
        if res["sessions"]:
            ss = res["sessions"]
            summary["sessions"] = {"n": len(ss), "composite_exact": sum(s["composite"] == s["truth"] for s in ss),
                                   "composite_abs_err_mean": round(float(np.mean([abs(s["composite"] - s["truth"])
                                                                                  for s in ss])), 2),
                                   "sides_right": f"{sum(s['sides_right'] for s in ss)}/{sum(s['sides'] for s in ss)}",
                                   "pairs": [(s["composite"], s["truth"]) for s in ss]}
        report["results"][pair] = {"summary": summary, "detail": res}
        print(f"== {pair}: {json.dumps(summary)}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1, default=str))


if __name__ == "__main__":
    main()
