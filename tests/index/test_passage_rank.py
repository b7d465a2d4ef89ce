"""Passage ranking (index/library/passage_rank.py): BM25 keyword scores fused with the embedding's."""
from __future__ import annotations

import numpy as np

from index.library.passage_rank import bm25_scores, hybrid_order, passage_document, rrf_order


def test_bm25_scores_exact_terms_with_stems():
    docs = ["The heels come off the floor to let the knees travel forward.",
            "The athlete stops with the thighs above horizontal: a shallow squat.",
            "Feet shoulder-width apart, dowel overhead."]
    s = bm25_scores("heel lifts off the floor", docs)
    assert s.argmax() == 0 and s[2] == 0.0
    assert (bm25_scores("zebra", docs) == 0).all() and len(bm25_scores("x", [])) == 0


def test_the_hybrid_lifts_the_passage_that_names_the_words_asked():
    docs = ["Compensation: shallow squat. The squat stays above horizontal.",
            "Compensation: heels lift. The heels come off the floor during the squat.",
            "Consent: written consent before a clip is stored.", "Composite score: the sum of seven tests."]
    dense = np.array([0.62, 0.61, 0.30, 0.20])        # the embedding prefers the wrong one, narrowly
    assert list(hybrid_order("heels come off the floor", docs, dense))[:2] == [1, 0]
    assert list(hybrid_order("heels come off the floor", docs, dense, dense_weight=1.0))[:2] == [0, 1]


def test_rrf_and_the_document_text():
    assert list(rrf_order(np.array([3.0, 2.0, 1.0]), np.array([0.0, 0.0, 5.0]))) == [0, 2, 1]
    doc = passage_document("Heels stay down", "heels_stay_down", "FormScout measures the heel.", "deep_squat")
    assert "heels stay down" in doc and "Highest rise of either heel" in doc
