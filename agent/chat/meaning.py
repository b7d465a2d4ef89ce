"""Which criterion a "what does ... mean" question is about, and what the knowledge base says of it.

The candidates are the criteria of the run's test (every test's when no run
is bound), each described by its display name, id words and plain
explanation (knowledge/criterion_names.csv); the question is matched to them
with the same offline MiniLM embedding as the intents, a word of the
criterion's id or name in the question counting extra. The answer quotes the
criterion's explanation, its threshold (criteria.yaml, or the run's own when a
run is bound) and the rubric passage that explains it, with its id.
"""
from __future__ import annotations

import re

import numpy as np

from tools.report.vocabulary import criterion_names

WORD_BONUS = 0.15


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z]+", text.lower()) if len(w) > 3}


def find_criterion(question: str, test: str | None = None) -> tuple[str, str] | None:
    """(test, criterion id) the question is most likely about, or None when there is no criterion to match."""
    from agent.chat.intents import _embedder
    rows = [r for (t, _), r in criterion_names().items() if test is None or t == test]
    if not rows:
        return None
    texts = [f"{r.name}. {r.criterion.replace('_', ' ')}. {r.explanation}" for r in rows]
    emb = _embedder()
    sims = emb.embed(texts) @ emb.embed([question])[0]
    asked = _words(question)
    bonus = np.array([WORD_BONUS * len(asked & (_words(r.name) | _words(r.criterion.replace("_", " "))))
                      for r in rows])
    best = rows[int(np.argmax(sims + bonus))]
    return best.test, best.criterion


def criterion_facts_for(test: str, criterion: str, run_criteria: list[dict] | None = None) -> dict:
    """The criterion's name, explanation, threshold (the run's when given) and its explaining passage."""
    from knowledge.passages import passages_for
    from tools.report.vocabulary import criterion_name
    from tools.scoring.criteria import load_criteria
    names = criterion_name(test, criterion)
    spec = dict((load_criteria().get(test) or {}).get(criterion) or {})
    ran = next((c for c in run_criteria or [] if c.get("id") == criterion), None)
    if ran is not None:
        spec.update({k: ran.get(k) for k in ("threshold", "pass_if", "unit", "value", "passed")})
    passages = [p for p in passages_for(test, criterion=criterion) if p.score_level is None] or \
        passages_for(test, criterion=criterion)
    return {"test": test, "id": criterion, "name": names.name, "explanation": names.explanation,
            "threshold": spec.get("threshold"), "pass_if": spec.get("pass_if"), "unit": spec.get("unit"),
            "value": (ran or {}).get("value"), "passed": (ran or {}).get("passed"), "from_run": ran is not None,
            "passage": None if not passages else {"passage_id": passages[0].id, "title": passages[0].title,
                                                  "text": passages[0].text}}
