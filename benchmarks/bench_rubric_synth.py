"""Rules vs construction labels on the synthetic library (held-out seeds), per test.

    .venv/bin/python benchmarks/bench_rubric_synth.py [--n 60] [--noise clean,realistic] [--view 45]
                                                     [--seed-base 7000000] [--json OUT.json]

For every FMS test, draws `n` samples per side (bilateral: n left + n right,
from different seeds; one-sided: n) with tools.synth (the generator picks the
target score, 0 = pain now and then), takes the exact 3D skeleton seen from a
camera (`--view`: 45 = oblique, judges every criterion; front / side show what
the view gating leaves unjudged), optionally adds pose noise, prepares it the
way the screening run does (fill gaps <= 0.2 s, Savitzky-Golay 0.2 s), and
scores it with tools.scoring.rubric.score_test. Inputs are what a physio gives:
pain, heels on the board (deep squat), sex (push-up), measured hand length
(shoulder mobility; `--estimate-hand-length` uses the forearm estimate); the
side is NOT given (it is inferred, and the inference is checked).

Noise levels:
- clean: the exact skeleton.
- realistic: a monocular-pose error model in metres, per joint: a constant
  offset per clip (sd 1.0 cm per axis; 1.5 cm for hands and feet), slow drift
  (Gaussian-smoothed, 0.15 s, sd 0.6 cm), frame jitter (sd 0.4 cm before the
  pipeline's smoothing) and dropouts (a 1-4 frame gap in ~30% of joints).
  tools.synth's own noise model is used instead when it provides one
  (`tools.synth.noise.pose_noise`).

Prints, per test and noise level: n, exact and within-1 agreement, share sent
to review, exact agreement on the clips not sent to review, side inference
accuracy, the confusion matrix (rows = construction label, columns = rules),
and every miss that was NOT sent to review, with the criterion that decided.
Figures, not asserts: nothing here fails a build.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter1d

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.core.errors import InputError  # noqa: E402
from tools.core.fms import BILATERAL, TESTS  # noqa: E402
from tools.scoring.rubric import score_test  # noqa: E402
from tools.core.skeleton import JOINTS, Skeleton  # noqa: E402

EXTREMITIES = {j for j in JOINTS if j.split("_")[-1] in ("hand", "wrist", "heel", "toe", "ankle")}


def realistic_noise(skel: Skeleton, rng: np.random.Generator) -> Skeleton:
    """The benchmark's pose-error model (see the module docstring)."""
    try:  # prefer the synthetic library's own model when it has one
        from tools.synth.noise import pose_noise  # type: ignore
        return pose_noise(skel, "realistic", rng)
    except ImportError:
        pass
    xyz = skel.xyz.astype(np.float64).copy()
    T, J, _ = xyz.shape
    bias_sd = np.array([0.015 if j in EXTREMITIES else 0.010 for j in JOINTS])[:, None]
    xyz += rng.normal(0.0, 1.0, (1, J, 3)) * bias_sd[None]
    sigma = 0.15 * skel.fps
    drift = gaussian_filter1d(rng.normal(0.0, 1.0, (T, J, 3)), sigma, axis=0)
    drift *= 0.006 / max(float(drift.std()), 1e-9)
    xyz += drift + rng.normal(0.0, 0.004, (T, J, 3))
    conf = skel.conf.copy()
    for j in range(J):
        if rng.random() < 0.3 and T > 10:
            start = int(rng.integers(1, T - 5))
            stop = start + int(rng.integers(1, 5))
            xyz[start:stop, j] = np.nan
            conf[start:stop, j] = 0.0
    return skel.replace(xyz=xyz.astype(np.float32), conf=conf)


def prepare(skel: Skeleton) -> Skeleton:
    """As agent.screening.steps.prepare_skeleton: fill gaps up to 0.2 s, smooth with a 0.2 s window."""
    return skel.filled(max_gap_frames=max(1, int(round(0.2 * skel.fps)))).smoothed(window_s=0.2)


def physio_inputs(sample) -> dict:
    kw: dict = {"pain": bool(sample.label.pain)}
    if sample.test_name == "deep_squat":
        kw["heels_raised"] = bool(sample.knobs.heel_board)
    if sample.test_name == "trunk_stability_pushup":
        kw["sex"] = "M" if sample.athlete.sex == "male" else "F"
    if sample.test_name == "shoulder_mobility":
        kw["hand_length_m"] = float(sample.athlete.hand_length_m)
    return kw


def run_case(test: str, seed: int, side: str, noise: str, view: str, estimate_hand: bool) -> dict:
    from tools.synth.library import auto_camera, make_sample, truth_skeleton
    sample = make_sample(test, seed, side=side)
    skel = truth_skeleton(sample, auto_camera(sample, view))
    if noise == "realistic":
        skel = realistic_noise(skel, np.random.default_rng(seed + 17))
    skel = prepare(skel)
    kw = physio_inputs(sample)
    if estimate_hand:
        kw.pop("hand_length_m", None)
    out = {"test": test, "seed": seed, "side": side, "label": sample.label.score,
           "failed_truth": list(sample.label.failed)}
    try:
        r = score_test(skel, test, None, **kw)
    except InputError as exc:
        return {**out, "score": None, "review": True, "reasons": [str(exc)], "side_found": None, "error": True}
    decider = next((c for c in r.criteria if c.id == r.deciding_criterion), None)
    return {**out, "score": r.score, "review": r.review, "reasons": r.reasons, "side_found": r.side,
            "confidence": r.confidence, "failed_rules": [c.id for c in r.criteria if c.passed is False],
            "decider": None if decider is None else
            f"{decider.id}={decider.value if decider.value is None else round(decider.value, 3)} {decider.unit} "
            f"(threshold {decider.pass_if} {decider.threshold:g})", "error": False}


def summarise(rows: list[dict]) -> dict:
    n = len(rows)
    scored = [r for r in rows if r["score"] is not None]
    exact = sum(r["score"] == r["label"] for r in scored)
    within = sum(abs(r["score"] - r["label"]) <= 1 for r in scored)
    flagged = [r for r in rows if r["review"]]
    clear = [r for r in scored if not r["review"]]
    conf = [[0] * 4 for _ in range(4)]
    for r in scored:
        conf[r["label"]][r["score"]] += 1
    bilateral = [r for r in rows if r["side"] in ("L", "R")]
    return {
        "n": n, "exact": exact / n if n else None, "within_1": within / n if n else None,
        "no_score": n - len(scored), "review_share": len(flagged) / n if n else None,
        "exact_unflagged": (sum(r["score"] == r["label"] for r in clear) / len(clear)) if clear else None,
        "n_unflagged": len(clear),
        "side_correct": (sum(r["side_found"] == r["side"] for r in bilateral) / len(bilateral)) if bilateral else None,
        "confusion": conf,
        "unflagged_misses": [r for r in clear if r["score"] != r["label"]],
        "flagged_misses": sum(1 for r in flagged if r["score"] != r["label"]),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=60, help="samples per test and side")
    p.add_argument("--noise", default="clean,realistic")
    p.add_argument("--view", default="45", choices=["45", "front", "side"])
    p.add_argument("--tests", default=",".join(TESTS))
    p.add_argument("--seed-base", type=int, default=7_000_000, help="held out: rules were tuned on seeds < 10,000")
    p.add_argument("--estimate-hand-length", action="store_true", help="shoulder mobility without the measured hand length")
    p.add_argument("--json", default="", help="also write every case to this JSON file")
    args = p.parse_args(argv)
    warnings.simplefilter("ignore", RuntimeWarning)
    logging.basicConfig(level=logging.WARNING)
    all_rows = []
    print(f"rules vs construction labels, view={args.view}, n={args.n} per side, seeds from {args.seed_base}")
    print(f"{'test':27s} {'noise':9s} {'n':>4s} {'exact':>6s} {'within1':>7s} {'review':>6s} "
          f"{'exact|clear':>11s} {'side ok':>7s} {'misses(flag/clear)':>18s}")
    t0 = time.time()
    for test in args.tests.split(","):
        sides = ("L", "R") if test in BILATERAL else ("NA",)
        for noise in args.noise.split(","):
            rows = []
            for i in range(args.n):
                for k, side in enumerate(sides):
                    seed = args.seed_base + 10 * i + k
                    rows.append({**run_case(test, seed, side, noise, args.view, args.estimate_hand_length),
                                 "noise": noise})
            s = summarise(rows)
            all_rows += rows
            misses_clear = len(s["unflagged_misses"])
            pct = lambda v: "  -  " if v is None else f"{100 * v:5.1f}%"  # noqa: E731
            print(f"{test:27s} {noise:9s} {s['n']:4d} {pct(s['exact'])} {pct(s['within_1']):>7s} "
                  f"{pct(s['review_share'])} {pct(s['exact_unflagged']):>11s} {pct(s['side_correct']):>7s} "
                  f"{s['flagged_misses']:>9d}/{misses_clear:<8d}")
            print("      confusion (rows label 0-3, cols rules 0-3): " + "  ".join(str(r) for r in s["confusion"])
                  + (f"  no score: {s['no_score']}" if s["no_score"] else ""))
            for r in s["unflagged_misses"]:
                print(f"      unflagged miss: seed {r['seed']} {r['side']} label {r['label']} {r['failed_truth']} "
                      f"-> rules {r['score']} fails {r['failed_rules']}; decided by {r['decider']}")
    print(f"({time.time() - t0:.0f} s)")
    if args.json:
        Path(args.json).write_text(json.dumps(all_rows, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
