"""Benchmark the ST-GCN on CPU: size, inference ms/clip, training seconds per epoch.

  .venv/bin/python benchmarks/bench_stgcn.py [--data DIR_OR_CSV] [--checkpoint PATH] [--threads 2]
                                             [--epochs 2] [--clips 50]
                                             [--heldout LABELS.csv --heldout-clips DIR]

Prints figures (never asserts on time). Without --data it times inference on
toy clips (tests/tools/scoring/test_stgcn_toydata.py) and skips the training timing.
With --heldout it also scores those clips with the ST-GCN and with the rules
and prints, per test, test recognition, exact agreement and quadratic kappa of
each next to the other, and how often each is right when they disagree.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tools.core.skeleton import Skeleton  # noqa: E402
from tools.scoring.stgcn.data import skeleton_to_input  # noqa: E402
from tools.scoring.stgcn.infer import DEFAULT_CHECKPOINT, STGCNScorer  # noqa: E402
from tools.scoring.stgcn.model import count_parameters  # noqa: E402


def _skeletons(data: str | None, n: int) -> tuple[list[Skeleton], list]:
    if data:
        from agent.cli.train import find_label_files, load_rows
        rows = load_rows(find_label_files(data), None, skip_missing=True)
        rng = np.random.default_rng(0)
        pick = rng.choice(len(rows), size=min(n, len(rows)), replace=False)
        return [Skeleton.load(rows[i].path) for i in pick], rows
    from tests.test_stgcn_toydata import toy_clip
    rng = np.random.default_rng(0)
    return [toy_clip("deep_squat", 2, "NA", rng, n_frames=120) for _ in range(n)], []


def compare_with_rules(labels: str, clips: str | None, checkpoint: str) -> dict:
    """Per test: ST-GCN and rules side by side on the same held-out clips, and their disagreements."""
    from tools.study.cv import cross_validate
    from tools.core.labels import read_labels, resolve_clips
    from tools.study.scorers import RulesScorer, STGCNEvalScorer
    from tools.core.stats import agreement
    from tools.core.fms import TESTS
    rows = resolve_clips(read_labels(labels), clips or Path(labels).parent, labels, on_missing="skip")
    st = cross_validate(rows, STGCNEvalScorer(checkpoint=checkpoint), "athlete").predictions
    ru = cross_validate(rows, RulesScorer(), "athlete").predictions
    out = {}
    header = (f"{'test':<26} {'n':>4} {'recog':>6} | {'stgcn exact':>11} {'kappa_q':>7} | "
              f"{'rules exact':>11} {'kappa_q':>7} {'no score':>8} | {'disagree':>8} {'stgcn right':>11} "
              f"{'rules right':>11} {'neither':>7}")
    print(header)
    for test in TESTS + ("all",):
        pairs = [(a, b) for a, b in zip(st, ru) if (test == "all" or a.test_name == test) and not a.pain]
        if not pairs:
            continue
        both = [(a, b) for a, b in pairs if a.tool_score is not None and b.tool_score is not None]
        sa = agreement([a.physio_score for a, _ in pairs], [a.tool_score for a, _ in pairs])
        rb = [(a, b) for a, b in pairs if b.tool_score is not None]
        ra = agreement([b.physio_score for _, b in rb], [b.tool_score for _, b in rb])
        dis = [(a, b) for a, b in both if a.tool_score != b.tool_score]
        row = {"n": len(pairs),
               "test_recognition": round(float(np.mean([a.predicted_test == a.test_name for a, _ in pairs])), 4),
               "stgcn_exact": sa["exact"], "stgcn_kappa_quadratic": sa["kappa_quadratic"],
               "rules_exact": ra["exact"], "rules_kappa_quadratic": ra["kappa_quadratic"],
               "rules_no_score": len(pairs) - len(rb), "disagree": len(dis),
               "disagree_stgcn_right": sum(a.tool_score == a.physio_score for a, _ in dis),
               "disagree_rules_right": sum(b.tool_score == b.physio_score for _, b in dis)}
        row["disagree_neither_right"] = row["disagree"] - row["disagree_stgcn_right"] - row["disagree_rules_right"]
        out[test] = row
        f = lambda v: "  –  " if v is None else f"{v:.2f}"   # noqa: E731
        print(f"{test:<26} {row['n']:>4} {f(row['test_recognition']):>6} | {f(row['stgcn_exact']):>11} "
              f"{f(row['stgcn_kappa_quadratic']):>7} | {f(row['rules_exact']):>11} {f(row['rules_kappa_quadratic']):>7} "
              f"{row['rules_no_score']:>8} | {row['disagree']:>8} {row['disagree_stgcn_right']:>11} "
              f"{row['disagree_rules_right']:>11} {row['disagree_neither_right']:>7}")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", help="labelled library (folder of labels.csv or one CSV)")
    ap.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=2, help="epochs for the training timing")
    ap.add_argument("--clips", type=int, default=50, help="clips for the inference timing")
    ap.add_argument("--heldout", help="labels CSV of held-out athletes: compare ST-GCN and rules on them")
    ap.add_argument("--heldout-clips", help="skeleton folder of --heldout (default: beside the CSV)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    scorer = STGCNScorer.from_checkpoint(args.checkpoint)
    ck = Path(args.checkpoint)
    skels, rows = _skeletons(args.data, args.clips)
    frames = [s.n_frames for s in skels]
    for s in skels[:3]:
        scorer.predict(s, "deep_squat")            # warm-up
    t_norm, t_total = [], []
    for s in skels:
        t0 = time.perf_counter()
        skeleton_to_input(s, scorer.norm_cfg)
        t1 = time.perf_counter()
        scorer.predict(s)
        t2 = time.perf_counter()
        t_norm.append((t1 - t0) * 1000)
        t_total.append((t2 - t1) * 1000)
    figures = {
        "threads": args.threads, "checkpoint": str(ck), "checkpoint_kb": round(ck.stat().st_size / 1024, 1),
        "parameters": count_parameters(scorer.model), "embedding_dim": scorer.model.embedding_dim,
        "clips_timed": len(skels), "frames_per_clip_median": int(statistics.median(frames)),
        "normalise_ms_median": round(statistics.median(t_norm), 2),
        "predict_ms_per_clip_median": round(statistics.median(t_total), 2),
        "predict_ms_per_clip_p90": round(float(np.percentile(t_total, 90)), 2),
        "recorded_train_seconds": scorer.meta.get("train_seconds"),
        "recorded_train_clips": scorer.meta.get("n_train"),
    }
    if rows:
        from tools.scoring.stgcn.train import TrainConfig, pretrain
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            res = pretrain(rows, Path(tmp) / "bench.pt", TrainConfig(epochs=args.epochs, threads=args.threads))
            took = time.perf_counter() - t0
        figures.update(train_clips=res.n_train, train_epochs=args.epochs, train_seconds=round(took, 1),
                       train_seconds_per_epoch=round(took / args.epochs, 1),
                       train_ms_per_clip_epoch=round(1000 * took / (args.epochs * max(res.n_train, 1)), 1))
    if args.heldout:
        figures["heldout"] = compare_with_rules(args.heldout, args.heldout_clips, args.checkpoint)
    width = max(len(k) for k in figures)
    for k, v in figures.items():
        print(f"{k:<{width}}  {v}")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
