"""Ranking rubric passages for a question: the text embedding's scores fused with BM25 keyword matching.

The MiniLM embedding alone ranks passages by overall topic and misses the
word that matters ("heels rise in the deep squat" put the shallow-squat
passage first). BM25 (the `bm25s` package, English stop words removed,
Snowball-stemmed with PyStemmer) scores exact terms. What BM25 reads of a
passage is its title, its criterion id in words, the criterion's physio name
and plain explanation from knowledge/criterion_names.csv (so "heels rise"
meets "highest rise of either heel"), and its text.

Fusion: both score lists are scaled to 0-1 over the candidates (min-max) and
mixed, DENSE_WEIGHT x embedding + (1 - DENSE_WEIGHT) x BM25. DENSE_WEIGHT =
0.7 was chosen on the odd rows of benchmarks/data/passage_queries.csv (0.3,
0.5, 0.7 tried) and is reported on the even rows it was not chosen on
(`benchmarks/bench_passages.py`, docs/BENCHMARKS.md); reciprocal rank fusion
(`rrf_order`, k = 60, untuned) is kept for comparison.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

log = logging.getLogger(__name__)

RRF_K = 60
DENSE_WEIGHT = 0.7


@lru_cache(maxsize=1)
def _stemmer():
    try:
        import Stemmer
    except ImportError:          # PyStemmer missing: BM25 on whole words
        log.info("passage ranking: PyStemmer not installed, BM25 without stemming")
        return None
    return Stemmer.Stemmer("english")


def bm25_scores(query: str, documents: Sequence[str]) -> np.ndarray:
    """BM25 score of every document for the query (0 where no query term occurs), float [N]."""
    import logging

    import bm25s
    # bm25s sets its own logger to DEBUG at import, which prints "Building index ..." on every search
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    if not documents:
        return np.zeros(0)
    stem = _stemmer()
    corpus = bm25s.tokenize(list(documents), stopwords="en", stemmer=stem, show_progress=False)
    retriever = bm25s.BM25()
    retriever.index(corpus, show_progress=False)
    q = bm25s.tokenize([query], stopwords="en", stemmer=stem, show_progress=False, return_ids=False)[0]
    known = [t for t in q if t in corpus.vocab]
    if not known:
        return np.zeros(len(documents))
    return np.asarray(retriever.get_scores(known), dtype=float)


def rrf_order(*scores: np.ndarray, k: int = RRF_K) -> np.ndarray:
    """Indices ordered by reciprocal rank fusion of several score arrays (higher score = better in each)."""
    n = len(scores[0])
    fused = np.zeros(n)
    for s in scores:
        ranks = np.empty(n)
        ranks[np.argsort(-np.asarray(s), kind="stable")] = np.arange(1, n + 1)
        fused += 1.0 / (k + ranks)
    return np.argsort(-fused, kind="stable")


def passage_document(title: str | None, criterion: str | None, text: str, test: str | None = None) -> str:
    """What BM25 reads of a passage: title, criterion id in words, the criterion's physio name and plain
    explanation (tools.report.vocabulary, when the passage explains a criterion of a test), text."""
    named = ""
    if criterion and test:
        from tools.report.vocabulary import criterion_name
        c = criterion_name(test, criterion)
        named = f"{c.name}. {c.explanation}" if c.explanation else ""
    return " ".join(x for x in (title or "", (criterion or "").replace("_", " "), named, text) if x)


def _unit(x: np.ndarray) -> np.ndarray:
    span = float(x.max() - x.min()) if len(x) else 0.0
    return (x - x.min()) / span if span > 0 else np.zeros_like(x)


def hybrid_order(query: str, documents: Sequence[str], dense_similarity: np.ndarray,
                 dense_weight: float = DENSE_WEIGHT) -> np.ndarray:
    """Indices of `documents` best first: min-max scaled embedding and BM25 scores mixed (see the docstring)."""
    dense = np.asarray(dense_similarity, dtype=float)
    if len(dense) == 0:
        return np.zeros(0, dtype=int)
    mixed = dense_weight * _unit(dense) + (1.0 - dense_weight) * _unit(bm25_scores(query, documents))
    return np.argsort(-mixed, kind="stable")
