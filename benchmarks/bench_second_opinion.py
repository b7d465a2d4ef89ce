"""The decision on held-out synthetic clips: scored without review, accuracy, confident errors, second opinion.

For every pain-free clip of the given libraries (`formscout synth` folders: skeletons/,
labels in truth.jsonl), the screening path runs without the agent loop, exactly
as `formscout eval --scorer decision` runs it: the skeleton prepared as in a run,
the rules (given the athlete's sex and, for the deep squat, whether the heels
were on the board: what a physio tells the screen), the ST-GCN second opinion,
the decision policy. Each clip is decided with and without the second opinion.

  share scored without review, accuracy of those (with its 95 % Wilson lower
  bound), confident errors (scored without review and wrong) per 100 clips,
  confident-and-right share with vs without the ST-GCN, rule errors it caught,
  right answers it sent to review, ECE of the displayed confidence.

`--world` scores each skeleton without its camera (a world skeleton with no view,
as another generator may write it); otherwise the recorded camera's view
applies (criteria a view cannot judge go to review).

The same script runs on an older checkout (`PYTHONPATH=OLD -P`): it then uses that
tree's own steps and decision, and reports the same figures for "before".

Usage:
  .venv/bin/python benchmarks/bench_second_opinion.py DIR [DIR ...] [--world] [--json OUT] [--limit N]
                                                       [--policy POLICY.yaml]
`--policy` decides with that decision-policy file instead of knowledge/decision_policy.yaml
(current code only).
Figures only; nothing is asserted.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np


def _steps():
    try:
        from agent.screening import steps
        from agent.screening.decide import decide
        return steps, decide, "current"
    except ImportError:                        # the layout before the rooms (baseline checkout)
        from agent import steps
        from agent.decide import decide
        return steps, decide, "old layout"


POLICY: dict = {}                              # {"policy": DecisionPolicy} when --policy is given


BILATERAL = {"hurdle_step", "inline_lunge", "shoulder_mobility", "active_straight_leg_raise", "rotary_stability"}


def wilson_low(k: int, n: int, z: float = 1.96) -> float | None:
    """Lower end of the Wilson 95 % interval of k/n (here, so the script also runs on an older checkout)."""
    if n == 0:
        return None
    p = k / n
    return float((p + z * z / (2 * n) - z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))) / (1 + z * z / n))


def run_clip(t: dict, d: Path, tmp: Path, world: bool) -> dict:
    steps, decide, _ = _steps()
    try:
        from tools.core.skeleton import Skeleton
    except ImportError:                        # the layout before the rooms
        from tools.skeleton import Skeleton
    src = d / t["files"]["skeleton"]
    if world:
        sk = Skeleton.load(src)
        meta = {k: v for k, v in sk.meta.items() if k not in ("camera", "camera_view")}
        src = sk.replace(uv=None, image_size=None, meta=meta).save(tmp / "world.npz")
    test = t["test_name"]
    side = t["side"] if test in BILATERAL else ""
    sex = {"male": "M", "female": "F"}.get(t["athlete"]["sex"], "")
    heels = ("yes" if t["knobs"].get("heel_board") else "no") if test == "deep_squat" else "auto"
    prep = steps.prepare_skeleton(str(src), str(tmp), test)
    rubric = steps.score_rubric(prep["skeleton_path"], test, side, heels_raised=heels, sex=sex)
    try:
        stgcn = steps.score_stgcn(prep["skeleton_path"], test, side, False)
        stgcn_error = ""
    except Exception as exc:                   # noqa: BLE001 - the old checkout raises on unreadable clips
        stgcn, stgcn_error = None, f"{type(exc).__name__}: {exc}"
    quality = prep["quality"]
    out = {"clip_id": t["clip_id"], "test": test, "label": t["score"], "noise": t.get("noise"),
           "style": t.get("style", "classic"), "rule_score": rubric.get("score"),
           "stgcn_error": stgcn_error}
    if stgcn_error:                            # the screen fails on this clip (the old behaviour)
        out.update(score=None, review=True, confidence=0.0, reasons=[f"step score_stgcn failed: {stgcn_error}"],
                   failed=True)
    else:
        v = decide(rubric, quality, stgcn, None, **POLICY)
        out.update(score=v["score"], review=bool(v["review"]), confidence=float(v["confidence"]),
                   reasons=v["reasons"], failed=False, decided_by=v.get("decided_by"),
                   second_opinion=(v.get("second_opinion") or {}).get("status"))
    v0 = decide(rubric, quality, None, None, **POLICY)
    out["without"] = {"score": v0["score"], "review": bool(v0["review"]), "confidence": float(v0["confidence"])}
    return out


def figures(rows: list[dict]) -> dict:
    n = len(rows)
    if n == 0:
        return {"n": 0}

    def block(get) -> dict:
        auto = [r for r in rows if get(r)["score"] is not None and not get(r)["review"]]
        right = sum(get(r)["score"] == r["label"] for r in auto)
        return {"scored_without_review": round(len(auto) / n, 4), "n_unflagged": len(auto),
                "accuracy_unflagged": round(right / len(auto), 4) if auto else None,
                "accuracy_wilson_low": round(wilson_low(right, len(auto)), 4) if auto else None,
                "confident_errors": len(auto) - right,
                "confident_errors_per_100": round(100 * (len(auto) - right) / n, 2),
                "confident_correct_share": round(right / n, 4)}
    with_so = block(lambda r: r)
    without = block(lambda r: r["without"])
    caught = sum(not r["without"]["review"] and r["without"]["score"] != r["label"] and r["review"] for r in rows)
    vetoed = sum(not r["without"]["review"] and r["without"]["score"] == r["label"] and r["review"] for r in rows)
    scored = [r for r in rows if r["score"] is not None]
    ece = _ece([r["confidence"] for r in scored], [r["score"] == r["label"] for r in scored])
    rule_exact = np.mean([r["rule_score"] == r["label"] for r in rows])
    status: dict = {}
    for r in rows:
        s = r.get("second_opinion") or ("screen failed" if r.get("failed") else "none")
        status[s] = status.get(s, 0) + 1
    return {"n": n, "rule_exact": round(float(rule_exact), 4), "with_second_opinion": with_so,
            "without_second_opinion": without,
            "second_opinion_change_points": round(100 * (with_so["confident_correct_share"]
                                                         - without["confident_correct_share"]), 2),
            "rule_errors_caught": caught, "right_answers_sent_to_review": vetoed,
            "screens_failed": sum(bool(r.get("failed")) for r in rows), "second_opinion_status": status,
            "ece_displayed_confidence": ece}


def _ece(conf: list[float], ok: list[bool], n_bins: int = 10) -> float | None:
    c, y = np.asarray(conf, float), np.asarray(ok, float)
    if len(c) == 0:
        return None
    b = np.clip((c * n_bins).astype(int), 0, n_bins - 1)
    return round(float(sum((b == k).mean() * abs(y[b == k].mean() - c[b == k].mean()) for k in range(n_bins)
                           if (b == k).any())), 4)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dirs", nargs="+", type=Path)
    ap.add_argument("--world", action="store_true", help="score skeletons without their camera")
    ap.add_argument("--json", type=Path, help="write per-clip rows and figures here")
    ap.add_argument("--limit", type=int, default=0, help="at most this many clips per folder (0 = all)")
    ap.add_argument("--policy", type=Path, help="decision policy YAML (default: the shipped one)")
    args = ap.parse_args(argv)
    if args.policy:
        from agent.screening.decide import load_policy
        POLICY["policy"] = load_policy(args.policy)
    warnings.simplefilter("ignore")
    import logging
    logging.disable(logging.WARNING)
    _, _, layout = _steps()
    t0 = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for d in args.dirs:
            lines = [json.loads(x) for x in (d / "truth.jsonl").read_text().splitlines() if x.strip()]
            lines = [t for t in lines if not t.get("pain")]
            if args.limit:
                lines = lines[: args.limit]
            for t in lines:
                rows.append(run_clip(t, d, Path(tmp), args.world))
    out = {"code": layout, "world": args.world, "policy": str(args.policy or "shipped"), "dirs": [str(d) for d in args.dirs], "overall": figures(rows),
           "per_test": {test: figures([r for r in rows if r["test"] == test]) for test in sorted({r["test"] for r in rows})},
           "per_noise": {k: figures([r for r in rows if r["noise"] == k]) for k in sorted({str(r["noise"]) for r in rows})},
           "seconds": round(time.perf_counter() - t0, 1)}
    f = out["overall"]
    print(f"{layout} code, {f['n']} pain-free clips ({'world skeletons, no camera' if args.world else 'with camera'}) "
          f"from {', '.join(str(d) for d in args.dirs)}; rules alone exact {f['rule_exact']:.3f}")
    for name in ("with_second_opinion", "without_second_opinion"):
        b = f[name]
        print(f"  {name:<23} scored without review {100 * b['scored_without_review']:5.1f}%  accuracy "
              f"{b['accuracy_unflagged']}  (95% low {b['accuracy_wilson_low']})  confident errors "
              f"{b['confident_errors']} ({b['confident_errors_per_100']:.2f}/100)  confident+right "
              f"{100 * b['confident_correct_share']:.1f}%")
    print(f"  second opinion: {f['second_opinion_change_points']:+.2f} points of confident+right, rule errors caught "
          f"{f['rule_errors_caught']}, right answers sent to review {f['right_answers_sent_to_review']}, "
          f"screens failed {f['screens_failed']}, status {f['second_opinion_status']}")
    print(f"  ECE of the displayed confidence: {f['ece_displayed_confidence']}")
    for test, g in out["per_test"].items():
        b = g["with_second_opinion"]
        print(f"    {test:<27} n={g['n']:<4} rules {g['rule_exact']:.2f}  unflagged {100 * b['scored_without_review']:5.1f}%"
              f"  acc {b['accuracy_unflagged']}  conf.err {b['confident_errors']}")
    for noise, g in out["per_noise"].items():
        b = g["with_second_opinion"]
        print(f"    noise {noise:<21} n={g['n']:<4} rules {g['rule_exact']:.2f}  unflagged "
              f"{100 * b['scored_without_review']:5.1f}%  acc {b['accuracy_unflagged']}  conf.err {b['confident_errors']}")
    if args.json:
        args.json.write_text(json.dumps({**out, "rows": rows}, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
