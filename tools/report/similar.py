"""How the most similar physio-scored clips are shown: as context for the physio, never as a vote.

The neighbours come from the run (retrieve_similar_clips) or the library; this
module only summarises what was retrieved, so a page can say honestly what the
list is and is not: clips whose *motion* is nearest (same test and side), with
their physio scores. Motion similarity does not reliably separate scores (the
retrieval benchmark in docs/BENCHMARKS.md gives the measured same-score
precision), so the summary states the spread of the similarities and of the
neighbours' scores, and says when the similarities are too close together to
tell the clips apart.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

FLAT_SIMILARITY = 0.01     # neighbours whose similarities span less than this are not told apart by the embedding
CAVEAT = ("Nearest in motion, not a score: their physio scores are context for the physio and do not decide "
          "this clip's score.")


def similar_summary(hits: Sequence[dict]) -> str:
    """One or two sentences about a neighbour list: how many, their scores, how far apart their similarities are."""
    hits = [h for h in hits or [] if isinstance(h, dict)]
    if not hits:
        return ""
    scores = Counter(h.get("score") for h in hits if h.get("score") is not None)
    score_text = ", ".join(f"{n} scored {s}" for s, n in sorted(scores.items(), key=lambda kv: -kv[1]))
    sims = [float(h["similarity"]) for h in hits if isinstance(h.get("similarity"), (int, float))]
    parts = [f"{len(hits)} nearest physio-scored clips" + (f": {score_text}." if score_text else ".")]
    if len(sims) >= 2:
        lo, hi = min(sims), max(sims)
        spread = f"Similarity {lo:.3f} to {hi:.3f}"
        if hi - lo < FLAT_SIMILARITY:
            spread += " (so close together that the motion embedding barely tells these clips apart)"
        parts.append(spread + ".")
    if any(h.get("synthetic") for h in hits):
        parts.append("Synthetic clips are marked [synthetic].")
    parts.append(CAVEAT)
    return " ".join(parts)
