"""Physio chat: answer the question asked, from a run's trace, or ask back; never invent.

1. `parse_question` (agent.chat.question) reads the test, side and score the
   question names; `intents.classify` recognises what it asks (why this
   score, why review, is this the test, what to film next, left vs right,
   change since the last screen, what a criterion means) from its meaning
   with the offline MiniLM model, or with the VLM brain when one is given.
   Out of scope (injury, diagnosis, anything else): the "I can answer ..." list.
2. `answer_from_runs` (agent.chat.runs) binds the question to a run: the run
   given, or the athlete's latest run of the named test and side; otherwise a
   clarifying answer listing what there is.
3. `explain_run` (agent.chat.facts) gathers the facts from the trace only
   (plus the athlete's other side / earlier screens for left_right and
   change_since); a trace that does not verify gives "NOT intact: do not use
   this result" and nothing else.
4. `render_text` (agent.chat.render) words it; a VLM brain may re-word it
   (`phrase_with_brain`), kept only if every number it states is in the answer.
"""
from __future__ import annotations

from pathlib import Path

from agent.chat.facts import Answer, clarify, explain_run
from agent.chat.grounding import NUMBER_RE, phrase_with_brain, ungrounded_numbers
from agent.chat.intents import can_answer, classify
from agent.chat.question import Question, parse_question
from agent.chat.render import DISCLAIMER, render_text
from agent.chat.runs import answer_from_runs, athlete_runs, trace_file
from agent.trace.record import load_trace
from tools.core.errors import InputError

__all__ = ["Answer", "Question", "ask", "explain_run", "parse_question", "phrase_with_brain", "ungrounded_numbers",
           "NUMBER_RE", "DISCLAIMER", "trace_file", "athlete_runs"]

OUTSIDE = ("That is outside what FormScout screens. It scores movement quality from video for a physio to review; "
           "it does not predict injury, diagnose, or plan treatment. ")


def ask(question: str, athlete_id: str | None = None, run: str | Path | None = None,
        db: str | None = None, brain=None) -> Answer:
    """Answer one question from the structured data of a run (see the module docstring)."""
    if not question or not question.strip():
        raise InputError("the question is empty: ask e.g. \"why a 2 on left hurdle step?\"")
    q = parse_question(question)
    q.intent, q.intent_similarity, q.intent_by = classify(question, q.outside, brain)
    if q.intent == "out_of_scope":
        return clarify(q, (OUTSIDE if q.outside else "I cannot answer that from a screening run. ") + can_answer())
    if run:
        path = trace_file(run)
        runs, who = [{"doc": load_trace(path), "trace": str(path)}], f"run {Path(run).name}"
    elif athlete_id:
        runs, who = athlete_runs(athlete_id, db), f"athlete {athlete_id}"
    elif q.intent == "criterion_meaning":
        runs, who = [], ""
    else:
        raise InputError("say which run: --athlete ID (latest run of that test and side) or --run RUN_DIR_OR_TRACE")
    if q.intent == "criterion_meaning":
        return _meaning(q, runs, who)
    a = answer_from_runs(q, runs, who, need_side=q.intent not in ("left_right",))
    if a.status == "answered" and a.intact is not False:
        from agent.chat.facts import add_history, add_sides
        from tools.core.fms import BILATERAL
        if q.intent == "left_right":
            if a.run.get("test") in BILATERAL:
                add_sides(a, runs)
        elif q.intent == "change_since":
            add_history(a, runs)
    if a.status == "answered":
        a.text = render_text(a)
    return a


def _meaning(q: Question, runs: list[dict], who: str) -> Answer:
    """What a criterion means: from the knowledge base, with the bound run's own threshold and value if any."""
    from agent.chat.meaning import criterion_facts_for, find_criterion
    tests = {(r["doc"].get("verdict") or {}).get("test") for r in runs}
    test = q.test or (next(iter(tests)) if len(tests) == 1 else None)
    found = find_criterion(q.text, test)
    if found is None:
        return clarify(q, "Which criterion do you mean? Name it (e.g. knee valgus, heel rise, dowel over the feet).")
    test, criterion = found
    mine = [r for r in runs if (r["doc"].get("verdict") or {}).get("test") == test]
    if mine:
        q.test = test
        a = answer_from_runs(q, mine, who, need_side=False)
        if a.status != "answered" or a.intact is False:
            a.text = render_text(a) if a.status == "answered" else a.text
            return a
        run_criteria = (mine[-1]["doc"].get("verdict") or {}).get("criteria") if len(mine) == 1 else \
            next((r["doc"]["verdict"].get("criteria") for r in mine if r["doc"].get("run_id") == a.run.get("run_id")),
                 None)
    else:
        a = Answer(status="answered", question=q.to_dict(), intent=q.intent,
                   run_name="no run: from the knowledge base")
        run_criteria = None
    a.criterion = criterion_facts_for(test, criterion, run_criteria)
    a.text = render_text(a) if mine else "\n".join(_knowledge_only(a))
    return a


def _knowledge_only(a: Answer) -> list[str]:
    from agent.chat.render import _criterion_meaning
    return _criterion_meaning(a) + [DISCLAIMER]
