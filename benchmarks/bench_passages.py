"""Passage retrieval on a labelled query set: MRR and hits@k of the embedding alone and of the BM25 hybrid.

    .venv/bin/python benchmarks/bench_passages.py [--queries benchmarks/data/passage_queries.csv] [--json OUT]

The knowledge base's passages (knowledge/rubric/*.md) are indexed in a
scratch library exactly as `formscout index add` does (Library.sync_passages,
MiniLM embeddings). Each query of the CSV (query, relevant passage ids
separated by ';', and the test it is about, as the screening run's
retrieve_passages step passes it) is searched twice over the same index:
"dense", the text embedding's own order (the search as it was before issue
19), and "hybrid", Library.search_passages as shipped (the embedding fused
with BM25, index/library/passage_rank.py, whose one weight was chosen on the
odd rows: "_even" lines report the even rows it was not chosen on). MRR
counts the rank of the first relevant passage (1/rank, 0 past rank 20).
Reported with and without the test filter. Figures, not asserts.
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DEFAULT_QUERIES = Path(__file__).resolve().parent / "data" / "passage_queries.csv"
DEPTH = 20


def read_queries(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return [{"query": r["query"], "relevant": [x for x in r["relevant"].split(";") if x],
                 "test": r.get("test") or None} for r in csv.DictReader(fh)]


def dense_ids(lib, text: str, test: str | None, k: int) -> list[str]:
    """The embedding-only order (the search before the BM25 fusion)."""
    from index.library.search import search_store
    emb = lib.text_embedder
    store = search_store(lib, "passage", emb)
    allowed = lib.catalog.passage_keys(test) if test else None
    sims, ids = store.search(emb.embed([text]), k, allowed)
    recs = lib.catalog.passages_by_keys(ids[0].tolist())
    return [recs[int(i)].passage_id for i in ids[0] if int(i) in recs]


def rank_of(ids: list[str], relevant: list[str]) -> int | None:
    return next((i + 1 for i, pid in enumerate(ids) if pid in relevant), None)


def summarise(ranks: list[int | None]) -> dict:
    rr = [1.0 / r if r else 0.0 for r in ranks]
    return {"mrr": round(float(np.mean(rr)), 3), "hit@1": round(float(np.mean([r == 1 for r in ranks])), 3),
            "hit@3": round(float(np.mean([bool(r) and r <= 3 for r in ranks])), 3),
            "hit@5": round(float(np.mean([bool(r) and r <= 5 for r in ranks])), 3)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--queries", default=str(DEFAULT_QUERIES))
    p.add_argument("--json", default="")
    args = p.parse_args(argv)
    from index.library.api import Library
    from knowledge.passages import load_passages
    queries = read_queries(Path(args.queries))
    out: dict = {"n_queries": len(queries)}
    with tempfile.TemporaryDirectory() as tmp:
        with Library(Path(tmp) / "lib.duckdb") as lib:
            lib.sync_passages(load_passages())
            for filtered in (True, False):
                ranks = {"dense": [], "hybrid": []}
                rows = []
                for q in queries:
                    test = q["test"] if filtered else None
                    d = dense_ids(lib, q["query"], test, DEPTH)
                    h = [x.passage_id for x in lib.search_passages(q["query"], test=test, k=DEPTH).hits]
                    ranks["dense"].append(rank_of(d, q["relevant"]))
                    ranks["hybrid"].append(rank_of(h, q["relevant"]))
                    rows.append({"query": q["query"], "dense_rank": ranks["dense"][-1], "hybrid_rank": ranks["hybrid"][-1],
                                 "dense_top": d[0] if d else None, "hybrid_top": h[0] if h else None})
                key = "with_test_filter" if filtered else "no_filter"
                out[key] = {m: summarise(r) for m, r in ranks.items()} | {"queries": rows}
                for half, name in ((1, "even rows (weight not chosen on them)"),):
                    for m in ("dense", "hybrid"):
                        out[key][f"{m}_even"] = summarise(ranks[m][half::2])
                print(f"\n{key} ({len(queries)} queries):")
                for m in ("dense", "hybrid", "dense_even", "hybrid_even"):
                    s = out[key][m]
                    print(f"  {m:<12} MRR {s['mrr']:.3f}  hit@1 {s['hit@1']:.3f}  hit@3 {s['hit@3']:.3f}  "
                          f"hit@5 {s['hit@5']:.3f}")
                heels = next((r for r in rows if r["query"] == "heels rise in the deep squat"), None)
                if heels:
                    print(f"  'heels rise in the deep squat': dense first {heels['dense_top']}, "
                          f"hybrid first {heels['hybrid_top']}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
