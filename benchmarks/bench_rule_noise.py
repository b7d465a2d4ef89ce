"""How far pose noise moves each rubric criterion's measured value: the `noise_sd` of knowledge/criteria.yaml.

For every clip of the given synthetic libraries (made by `formscout synth`, which
writes the exact skeleton to truth/ and the noisy one to skeletons/), both
skeletons go through the screening path's preparation (short dropouts filled,
Savitzky-Golay smoothed, as agent/screening/steps.prepare_skeleton does) and the
rule modules measure every criterion on each. The error of a criterion is
(noisy value - true value); its sd here is the root-mean-square error over the
clips (bias included) after dropping the largest 2 % (identity-swap bursts),
reported per criterion and per noise model, with the median error (bias) and the
robust spread around it (1.4826 x the median absolute deviation: `sd`), which is
what knowledge/criteria.yaml keeps as `noise_sd`: thresholds already sit above
the bias a max-type measure picks up from noise (criteria.yaml comments), and
gross failures (another person, a long swap) are the pose-quality checks' job.

Usage:
  .venv/bin/python benchmarks/bench_rule_noise.py DIR [DIR ...] [--json OUT] [--yaml]
  e.g. the calibration libraries of the training styles:
  formscout synth --out /tmp/calib_uneven --per-test 10 --seed 203 --style uneven --noise realistic
Figures only; nothing is asserted.
"""
from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SEX = {"male": "M", "female": "F"}


def prepared(path: Path, test: str):
    """The skeleton as a screening run prepares it (agent/screening/steps.prepare_skeleton: left/right swap
    repair, gap filling, smoothing)."""
    import tempfile
    from agent.screening.steps import prepare_skeleton
    from tools.core.skeleton import Skeleton
    with tempfile.TemporaryDirectory() as tmp:
        return Skeleton.load(prepare_skeleton(str(path), tmp, test)["skeleton_path"])


def criterion_values(skel, test: str, side: str, sex: str | None) -> dict[str, float]:
    from tools.scoring.rubric import judge_clip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        j = judge_clip(skel, test, side if side in ("L", "R") else None, sex=sex)
    return {c.id: float(c.value) for c in j.criteria if c.value is not None and np.isfinite(c.value)}


def collect(dirs: list[Path], every: int = 1) -> dict:
    errors: dict = defaultdict(lambda: defaultdict(list))      # (test, cid) -> noise -> [error]
    units: dict = {}
    n = 0
    for d in dirs:
        for k, line in enumerate((d / "truth.jsonl").read_text().splitlines()):
            t = json.loads(line)
            if t.get("pain") or k % every:
                continue
            sex = SEX.get(t["athlete"]["sex"])
            try:
                truth = criterion_values(prepared(d / t["files"]["truth"], t["test_name"]), t["test_name"], t["side"], sex)
                noisy = criterion_values(prepared(d / t["files"]["skeleton"], t["test_name"]), t["test_name"],
                                         t["side"], sex)
            except Exception as exc:   # noqa: BLE001 - a benchmark reports and goes on
                print(f"  skipped {t['clip_id']}: {exc}", file=sys.stderr)
                continue
            n += 1
            for cid, v in truth.items():
                if cid in noisy:
                    errors[(t["test_name"], cid)][t["noise"]].append(noisy[cid] - v)
    return {"errors": errors, "n_clips": n}


def robust_sd(values: list[float]) -> float:
    """1.4826 x the median absolute deviation from the median: the spread of the errors, outliers aside."""
    a = np.asarray(values, float)
    return float(1.4826 * np.median(np.abs(a - np.median(a))))


def robust_rms(values: list[float], trim: float = 0.02) -> float:
    a = np.sort(np.abs(np.asarray(values, float)))
    keep = a[: max(1, int(np.ceil((1 - trim) * len(a))))]
    return float(np.sqrt(np.mean(keep ** 2)))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dirs", nargs="+", type=Path)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--every", type=int, default=1, help="use every n-th clip (default 1: all)")
    args = ap.parse_args(argv)
    from tools.scoring.criteria import load_criteria
    criteria = load_criteria()
    got = collect(args.dirs, args.every)
    out: dict = {"n_clips": got["n_clips"], "criteria": {}}
    print(f"{got['n_clips']} clips from {', '.join(str(d) for d in args.dirs)}")
    print(f"{'test':<27} {'criterion':<24} {'unit':<12} {'rms':>8} {'bias':>8} {'sd':>8}  per noise model rms (n)")
    for (test, cid), by_noise in sorted(got["errors"].items()):
        every = [e for v in by_noise.values() for e in v]
        unit = criteria[test][cid].get("unit", "")
        row = {"unit": unit, "n": len(every), "rms": round(robust_rms(every), 4), "sd": round(robust_sd(every), 4),
               "bias": round(float(np.median(every)), 4),
               "per_noise": {k: {"n": len(v), "rms": round(robust_rms(v), 4)} for k, v in sorted(by_noise.items())}}
        out["criteria"][f"{test}.{cid}"] = row
        per = ", ".join(f"{k} {v['rms']:.3g} ({v['n']})" for k, v in row["per_noise"].items())
        print(f"{test:<27} {cid:<24} {unit:<12} {row['rms']:>8.3g} {row['bias']:>8.3g} {row['sd']:>8.3g}  {per}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
