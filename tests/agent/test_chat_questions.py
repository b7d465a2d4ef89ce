"""The physio-chat question set (traces/question_set/questions.json), checked for intents, facts, grounding, coverage.

The set's traces are real screening runs (tests/chat_corpus.py: synthetic
skeletons of all seven tests, screened by the agent, with a demo library for
neighbours). Every question is asked again here through the catalog, exactly
as `formscout ask --athlete` does; the answer must keep its status, run and
score, and every number it states must be in the trace it rests on (or be
the number the physio asked about).
"""
import json
import re
from pathlib import Path

import pytest

from agent.chat.answer import NUMBER_RE, ungrounded_numbers
from agent.trace.check import check_trace
from agent.trace.record import load_trace
from tests.chat_corpus import QUESTIONS, ask_all, register, score_answer

# the whole set asks 55 questions through the MiniLM model (about 1-2 min here): `make test-all`;
# tests/agent/test_chat.py asks one question per intent in the default run
pytestmark = pytest.mark.slow
SET_DIR = Path(__file__).resolve().parents[2] / "traces" / "question_set"
QUESTIONS_FILE = SET_DIR / "questions.json"
BILATERAL = {"hurdle_step", "inline_lunge", "shoulder_mobility", "active_straight_leg_raise", "rotary_stability"}



@pytest.fixture(scope="module")
def recorded() -> list[dict]:
    return json.loads(QUESTIONS_FILE.read_text())


@pytest.fixture(scope="module")
def answers(tmp_path_factory) -> list[dict]:
    db = tmp_path_factory.mktemp("qset") / "runs.duckdb"
    register(SET_DIR, db)
    return ask_all(SET_DIR, db)


@pytest.fixture(scope="module")
def traces() -> dict[str, dict]:
    return {str(p.relative_to(SET_DIR)): load_trace(p) for p in sorted(SET_DIR.glob("*/trace.json"))}


def test_the_set_traces_verify(traces):
    assert len(traces) >= 12
    for name, doc in traces.items():
        assert check_trace(doc).intact, name


def test_intents_and_facts_of_the_set(answers):
    """The set's answer accuracy (docs/BENCHMARKS.md, benchmarks/bench_chat.py) does not fall below 90%."""
    results = [score_answer(q, a["answer"], SET_DIR) for q, a in zip(QUESTIONS, answers)]
    assert len(results) >= 40
    correct = sum(r["correct"] for r in results)
    assert correct >= 0.9 * len(results), [r for r in results if not r["correct"]]
    assert {q[4] for q in QUESTIONS} == {"why_score", "why_review", "is_test", "what_to_film", "left_right",
                                         "change_since", "criterion_meaning", "out_of_scope"}


def test_answers_match_the_recorded_set(answers, recorded):
    assert [a["id"] for a in answers] == [r["id"] for r in recorded] == [q[0] for q in QUESTIONS]
    for a, r in zip(answers, recorded):
        got, want = a["answer"], r["answer"]
        assert got["status"] == a["expected_status"] == want["status"], (a["question"], got["text"])
        assert got["score"] == want["score"] and got["run"].get("run_id") == want["run"].get("run_id")
        assert (got["deciding"] or {}).get("id") == (want["deciding"] or {}).get("id")
        assert got["question"]["intent"] == want["question"]["intent"], a["question"]


def _question_numbers(question: str) -> set[float]:
    return {float(x) for x in NUMBER_RE.findall(question)}


def test_every_number_is_in_the_trace(answers, traces):
    for a in answers:
        ans = a["answer"]
        if ans["status"] == "answered" and ans["question"]["intent"] in ("left_right", "change_since"):
            source = list(traces.values())      # these answers cite the athlete's other runs of the test
        elif ans["status"] == "answered" and ans["run"].get("trace"):
            source = load_trace(ans["run"]["trace"])
        else:                                   # a question back may list every run of the athlete
            source = list(traces.values())
        if ans["question"]["intent"] == "criterion_meaning":
            from tools.scoring.criteria import load_criteria
            source = [source, load_criteria(), ans.get("criterion")]   # thresholds and text from knowledge/
        asked = _question_numbers(a["question"])
        bad = [n for n in ungrounded_numbers(ans["text"], source) if float(n) not in asked]
        assert not bad, f"{a['id']} {a['question']!r}: numbers not in the trace: {bad}\n{ans['text']}"


def test_answers_state_value_threshold_frame_passages_and_neighbours(answers):
    for a in answers:
        ans = a["answer"]
        if ans["status"] != "answered" or ans["question"]["intent"] != "why_score" or ans["pain"]:
            continue
        d = ans["deciding"]
        assert d and d["id"] in ans["text"], a["question"]
        if d["value"] is not None:
            assert "against a threshold of" in ans["text"] and f"frame {d['deciding_frame']}" in ans["text"]
        assert ans["passages"] and all(f"[{p['passage_id']}]" in ans["text"] for p in ans["passages"])
        assert all(" ".join(p["text"].split())[:40] in ans["text"] for p in ans["passages"])   # quoted with text
        assert ans["run_name"] in ans["text"]                                            # the one run name
        assert ans["neighbours"], a["question"]
        first = ans["neighbours"][0]
        assert f"{first['clip_id']} scored {first['score']}" in ans["text"]


def test_coverage_of_the_set(answers):
    answered = [a["answer"] for a in answers if a["answer"]["status"] == "answered"]
    assert len(answers) >= 20
    assert {x["run"]["test"] for x in answered} == {
        "deep_squat", "hurdle_step", "inline_lunge", "shoulder_mobility", "active_straight_leg_raise",
        "trunk_stability_pushup", "rotary_stability"}
    assert {(x["run"]["test"], x["run"]["side"]) for x in answered if x["run"]["test"] in BILATERAL} == {
        (t, s) for t in BILATERAL for s in "LR"}
    assert {x["score"] for x in answered} >= {0, 1, 2, 3}
    assert sum(1 for a in answers if a["answer"]["status"] == "clarify") >= 6


def _answer(answers, qid):
    return next(a["answer"] for a in answers if a["id"] == qid)


def test_specific_answers(answers):
    corrected = _answer(answers, "q04")                     # "why a 2" on a squat scored 3
    assert corrected["score_matches"] is False and "It was not a 2." in corrected["text"]
    pain = _answer(answers, "q11")
    assert pain["score"] == 0 and pain["pain"] and "reported pain" in pain["text"]
    assert "both sides" in _answer(answers, "q18")["text"]
    assert "runs of athlete SYN-QSET-01 scored 1" in _answer(answers, "q20")["text"]
    assert "I can answer" in _answer(answers, "q23")["text"]
    assert "does not predict injury" in _answer(answers, "q21")["text"]
    assert "no screening run for athlete SYN-NOBODY" in _answer(answers, "q24")["text"]
    assert "not screened" in _answer(answers, "q25")["text"]
    only = _answer(answers, "q16")
    assert only["run"]["test"] == "trunk_stability_pushup" and any("only run that fits" in n for n in only["notes"])
    assert any("scored once" in n for n in _answer(answers, "q17")["notes"])
    for qid in ("q21", "q22", "q23"):
        assert not re.search(r"\d", _answer(answers, qid)["text"])
        assert "I can answer" in _answer(answers, qid)["text"]
    history = _answer(answers, "q46")
    assert len(history["history"]) == 2 and "Earliest:" in history["text"] and "Latest:" in history["text"]
    sides = _answer(answers, "q41")
    assert [s["side"] for s in sides["sides"]] == ["L", "R"] and "Asymmetry" in sides["text"]
