"""Motion retrieval: top-5 same-score precision within the query's test and side, on held-out athletes.

The index searches a clip's neighbours among the library clips of the same test
and side (index/library). This benchmark embeds every clip of a library and of
a query set with each motion embedder, and for every pain-free query counts the
share of its 5 nearest library clips (cosine similarity, same test and side,
never the query's own athlete) that carry the query's score; next to it the
chance rate (the share of same-score clips among those candidates).

Embedders: kinematic (joint-angle series, no weights: the index's embedder before
issue 17), stgcn (the checkpoint's raw pooled features), stgcn-metric (those
features through the checkpoint's fitted retrieval metric, tools/scoring/stgcn/metric.py).

Usage:
  .venv/bin/python benchmarks/bench_retrieval_motion.py --library DIR [DIR ...] --queries DIR [DIR ...]
      [--checkpoint PT] [--embedders kinematic,stgcn,stgcn-metric] [--json OUT]
Folders are `formscout synth` libraries (labels in truth.jsonl). Figures only.
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


def clips(dirs: list[Path]) -> list[dict]:
    out = []
    for d in dirs:
        for line in (d / "truth.jsonl").read_text().splitlines():
            t = json.loads(line)
            if not t.get("pain"):
                out.append({"path": d / t["files"]["skeleton"], "test": t["test_name"], "side": t["side"],
                            "score": int(t["score"]), "athlete": t["athlete_id"], "style": t.get("style", "classic")})
    return out


def embed_all(items: list[dict], name: str, checkpoint: str | None) -> np.ndarray:
    from tools.core.skeleton import Skeleton
    if name == "kinematic":
        from index.embedders.motion import KinematicEmbedder
        emb = KinematicEmbedder()
        return np.concatenate([emb.embed([Skeleton.load(c["path"])]) for c in items])
    from tools.scoring.stgcn.infer import STGCNScorer
    scorer = STGCNScorer.from_checkpoint(checkpoint)
    feats = []
    for i in range(0, len(items), 64):
        skels = [Skeleton.load(c["path"]) for c in items[i:i + 64]]
        feats.append(scorer._forward(skels)["features"])
    f = np.concatenate(feats)
    if name == "stgcn":
        return (f / np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-9)).astype(np.float32)
    if name == "stgcn-metric":
        if scorer.metric is None:
            raise SystemExit(f"{checkpoint or 'the committed checkpoint'} has no retrieval metric")
        return scorer.metric.transform(f)
    raise SystemExit(f"unknown embedder {name}")


def precision_at_5(lib: list[dict], lib_v: np.ndarray, qry: list[dict], qry_v: np.ndarray, k: int = 5) -> dict:
    groups: dict = defaultdict(list)
    for i, c in enumerate(lib):
        groups[(c["test"], c["side"])].append(i)
    hits, chance, n = [], [], 0
    per_test: dict = defaultdict(list)
    for q, v in zip(qry, qry_v):
        cand = [i for i in groups.get((q["test"], q["side"]), []) if lib[i]["athlete"] != q["athlete"]]
        if len(cand) < k:
            continue
        sims = lib_v[cand] @ v
        top = [cand[j] for j in np.argsort(-sims)[:k]]
        p = np.mean([lib[i]["score"] == q["score"] for i in top])
        hits.append(p)
        per_test[q["test"]].append(p)
        chance.append(np.mean([lib[i]["score"] == q["score"] for i in cand]))
        n += 1
    return {"n_queries": n, "precision_at_5": round(float(np.mean(hits)), 4) if hits else None,
            "chance": round(float(np.mean(chance)), 4) if chance else None,
            "per_test": {t: round(float(np.mean(v)), 4) for t, v in sorted(per_test.items())}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--library", nargs="+", type=Path, required=True)
    ap.add_argument("--queries", nargs="+", type=Path, required=True)
    ap.add_argument("--checkpoint", default=None)
    ap.add_argument("--embedders", default="kinematic,stgcn,stgcn-metric")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    lib, qry = clips(args.library), clips(args.queries)
    out = {"library": [str(d) for d in args.library], "queries": [str(d) for d in args.queries],
           "n_library": len(lib), "n_queries": len(qry), "embedders": {}}
    print(f"library {len(lib)} clips, queries {len(qry)} clips (pain-free); top-5 within test and side, "
          "own athlete excluded")
    for name in [e.strip() for e in args.embedders.split(",") if e.strip()]:
        res = precision_at_5(lib, embed_all(lib, name, args.checkpoint), qry, embed_all(qry, name, args.checkpoint))
        out["embedders"][name] = res
        per = ", ".join(f"{t.replace('_', ' ')} {v:.2f}" for t, v in res["per_test"].items())
        print(f"  {name:<13} same-score precision@5 {res['precision_at_5']}  (chance {res['chance']}, "
              f"{res['n_queries']} queries)  [{per}]")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
