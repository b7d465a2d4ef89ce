"""The physio chat on its question set: intent recognition and answer accuracy (issue 19).

    .venv/bin/python benchmarks/bench_chat.py [--json OUT.json]

Asks every question of tests/chat_corpus.py (QUESTIONS: the 55-question set
used while building the chat; HOLDOUT: 16 questions written after the
intents' examples, first measured before they were revised on its misses;
HOLDOUT2: 16 questions written after that revision, measured as they stand)
against the traces in traces/question_set, filed under their athlete in a
scratch catalog, exactly as `formscout ask --athlete` does. An answer is
correct when its intent, its status (answered / asked back) and the run it is
about are the expected ones and it states every expected fact (the run's
name, its headline, the deciding criterion's value, the passages quoted with
id and text, both sides, the history, the criterion's explanation...).
Prints per set and per intent: n, intent accuracy, answer accuracy, and every
miss. Figures, not asserts.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.chat_corpus import (  # noqa: E402
    HOLDOUT,
    HOLDOUT2,
    QUESTIONS,
    ask_all,
    register,
    score_answer,
)

SET_DIR = Path(__file__).resolve().parents[1] / "traces" / "question_set"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", default="", help="write the per-question results here")
    args = p.parse_args(argv)
    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "runs.duckdb"
        register(SET_DIR, db)
        for name, questions in (("main", QUESTIONS), ("holdout", HOLDOUT), ("holdout2", HOLDOUT2)):
            t0 = time.perf_counter()
            answers = ask_all(SET_DIR, db, questions)
            seconds = time.perf_counter() - t0
            rows = [dict(score_answer(q, a["answer"], SET_DIR), question=q[1]) for q, a in zip(questions, answers)]
            out[name] = rows
            n = len(rows)
            print(f"\n{name}: {n} questions, intent {sum(r['intent_ok'] for r in rows)}/{n}, "
                  f"answers {sum(r['correct'] for r in rows)}/{n} ({100 * sum(r['correct'] for r in rows) / n:.0f}%), "
                  f"{seconds:.1f} s")
            per = defaultdict(list)
            for r in rows:
                per[r["expected_intent"]].append(r)
            for intent, rs in sorted(per.items()):
                print(f"  {intent:<18} n={len(rs):>2}  intent {sum(r['intent_ok'] for r in rs)}/{len(rs)}  "
                      f"answers {sum(r['correct'] for r in rs)}/{len(rs)}")
            for r in rows:
                if not r["correct"]:
                    print(f"  miss {r['id']}: {r['question']!r}: intent {r['intent']} (want {r['expected_intent']}), "
                          f"missing {r['missing']}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
