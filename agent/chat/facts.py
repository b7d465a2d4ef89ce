"""The structured answer: every fact the chat may state, read from a run's trace (and the athlete's other runs).

`explain_run(doc, q)` builds an `Answer` from one trace: the run's one name
(tools.report.vocabulary.run_label), the headline (tools.report.headline: a
trace that does not verify is "NOT intact: do not use this result" and
nothing else is read from it; a movement that is not the asked-for test has
no score), the criterion the verdict points at with its measured value,
threshold, margin and frame, the other criteria by their physio names, the
rubric passages with their text and id (retrieved in the run, else looked up
in knowledge/ and marked so), the similar physio-scored clips, test
recognition, who was scored when others were in frame, and what the run
says to film next. `add_sides` / `add_history` add the athlete's other side
and earlier screens of the same test. Nothing here measures or scores.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from tools.core.fms import BILATERAL
from tools.report.headline import NOT_INTACT, decider_label, headline
from tools.report.vocabulary import criterion_name, plain_inputs, run_label

FILM_PASSAGES = ("capture.views", "capture.camera", "capture.one_athlete")


@dataclass
class Answer:
    """A grounded answer ("answered") or a question back ("clarify"); `text` is what the physio reads."""

    status: str                                  # answered | clarify
    question: dict
    intent: str = ""
    text: str = ""
    clarify: str = ""
    options: list = field(default_factory=list)
    run: dict = field(default_factory=dict)
    run_name: str = ""                           # the one name of the run (athlete, test, side, time, run id)
    intact: bool | None = None
    headline: dict | None = None
    score: int | None = None
    confidence: float | None = None
    review: bool | None = None
    review_reasons: list = field(default_factory=list)
    pain: bool = False
    claimed_score: int | None = None
    score_matches: bool | None = None
    deciding: dict | None = None
    decider_label: str = ""
    failed_criteria: list = field(default_factory=list)
    passed_criteria: list = field(default_factory=list)
    unjudged_criteria: list = field(default_factory=list)
    passages: list = field(default_factory=list)
    passages_source: str = ""
    neighbours: list | None = None
    neighbours_note: str = ""
    recognition: dict | None = None              # is the movement the asked-for test (rubric, ST-GCN)
    athlete_selection: dict | None = None        # who was scored, when others were in frame (estimate_pose)
    film: list = field(default_factory=list)     # what to film next, each a sentence from the run's record
    sides: list | None = None                    # left / right runs of this test (left_right)
    history: list | None = None                  # earlier runs of this test and side, oldest first (change_since)
    criterion: dict | None = None                # the criterion asked about (criterion_meaning)
    repetitions: dict | None = None              # several repetitions: the one that counted (agent/chat/repetitions.py)
    notes: list = field(default_factory=list)
    phrased_by: str = "rules"
    phrasing_rejected: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def clarify(q, message: str, options: list | None = None, run: dict | None = None) -> Answer:
    return Answer(status="clarify", question=q.to_dict(), intent=q.intent, text=message, clarify=message,
                  options=options or [], run=run or {})


def run_info(doc: dict, trace_path=None) -> dict:
    v = doc.get("verdict", {}) if isinstance(doc.get("verdict"), dict) else {}
    return {"run_id": doc.get("run_id"), "trace": str(trace_path) if trace_path else None,
            "athlete_id": doc.get("athlete_id"), "test": v.get("test", doc.get("test")),
            "side": v.get("side", doc.get("side")), "started_at": doc.get("started_at")}


def name_of(info: dict) -> str:
    return run_label(info.get("test"), info.get("side"), info.get("athlete_id"), info.get("started_at"),
                     info.get("run_id"))


def step_result(doc: dict, tool: str) -> dict | None:
    for s in reversed(doc.get("steps", [])):
        if s.get("tool") == tool and s.get("error") is None and isinstance(s.get("result"), dict):
            return s["result"]
    return None


def criterion_facts(test: str, c: dict) -> dict:
    names = criterion_name(test, c.get("id"))
    out = {k: c.get(k) for k in ("id", "description", "measure", "value", "unit", "threshold", "pass_if", "passed",
                                 "margin", "deciding_frame", "reason", "view_source")}
    return dict(out, name=names.name, explanation=names.explanation)


def passage_facts(doc: dict, test: str, score: int | None, criterion_ids: list[str]) -> tuple[list[dict], str]:
    """The passages the score rests on, with text and id: retrieved in the run, else from knowledge/."""
    found = step_result(doc, "retrieve_passages")
    if found is not None and found.get("passages"):
        return [{"passage_id": p["passage_id"], "title": p.get("title"), "text": p.get("text")}
                for p in found.get("passages", [])], "trace"
    from knowledge.passages import passages_for
    picked = [p for p in passages_for(test, score=score) if p.criterion is None] if score is not None else []
    for cid in criterion_ids:
        picked += passages_for(test, criterion=cid)
    seen, out = set(), []
    for p in picked:
        if p.id not in seen:
            seen.add(p.id)
            out.append({"passage_id": p.id, "title": p.title, "text": p.text})
    return out, "knowledge base (looked up for this answer; the run did not retrieve passages)"


def explain_run(doc: dict, q, trace_path=None) -> Answer:
    """The structured, grounded answer for one run (see the module docstring)."""
    from agent.trace.check import check_trace
    info = run_info(doc, trace_path)
    check = check_trace(doc)
    a = Answer(status="answered", question=q.to_dict(), intent=q.intent, run=info, run_name=name_of(info),
               intact=check.intact, claimed_score=q.score)
    if not check.intact:
        a.headline = headline(doc.get("verdict") or {}, intact=False).to_dict()
        a.notes.append(f"{NOT_INTACT}: the trace does not verify ({check.problems[0]}); nothing is read from it. "
                       "Use the original trace, or screen the clip again")
        return a
    from agent.chat.repetitions import repetition_facts, side_of_verdict
    v = side_of_verdict(doc["verdict"], q.side)     # a clip with both sides: the side asked about
    if v.get("side") != info.get("side"):
        info["side"] = v["side"]
        a.run, a.run_name = info, name_of(info)
    a.repetitions = repetition_facts(v)
    test = info["test"]
    h = headline(v)
    a.headline = h.to_dict()
    criteria = [criterion_facts(test, c) for c in v.get("criteria", [])]
    deciding = next((c for c in criteria if c["id"] == v.get("deciding_criterion")), None)
    a.score, a.confidence, a.review = v.get("score"), v.get("confidence"), bool(v.get("review"))
    a.review_reasons = [plain_inputs(r) for r in v.get("reasons", [])]
    a.pain = bool((v.get("inputs") or {}).get("pain"))
    a.decider_label = decider_label(v)
    a.failed_criteria = [c for c in criteria if c["passed"] is False and c is not deciding]
    a.passed_criteria = [c for c in criteria if c["passed"] is True and c is not deciding]
    a.unjudged_criteria = [c for c in criteria if c["passed"] is None and c is not deciding]
    if deciding is not None:
        a.deciding = dict(deciding, time_s=v.get("deciding_time_s"))
    a.score_matches = None if q.score is None else q.score == a.score
    cited = ([deciding["id"]] if deciding else []) + [c["id"] for c in a.failed_criteria]
    a.passages, a.passages_source = passage_facts(doc, test, a.score, cited)
    hits = step_result(doc, "retrieve_similar_clips")
    if hits is not None:
        a.neighbours = [{k: h.get(k) for k in ("clip_id", "score", "side", "similarity", "compensation_notes",
                                                "synthetic")} for h in hits.get("neighbours", [])]
    else:
        a.neighbours_note = (doc.get("optional_steps_skipped") or {}).get("retrieve_similar_clips",
                                                                         "the run did not search for similar clips")
    if q.side and test not in BILATERAL:
        a.notes.append(f"{test.replace('_', ' ')} is scored once, not per side")
    a.recognition = recognition_facts(doc, v)
    a.athlete_selection = selection_facts(step_result(doc, "estimate_pose"))
    a.film = film_facts(v, a, test)
    return a


def recognition_facts(doc: dict, verdict: dict) -> dict | None:
    """Whether the movement is the asked-for test: the verdict's test_recognition (or the rubric step's record),
    and the ST-GCN's reading when it ran."""
    rec = verdict.get("test_recognition")
    if rec is None:
        rubric = (step_result(doc, "score_rubric") or {}).get("recognition") or {}
        if rubric:
            rec = {"asked": verdict.get("test"), "looks_like": rubric.get("test"),
                   "asked_score": (rubric.get("scores") or {}).get(verdict.get("test")),
                   "matches_asked": rubric.get("matches_asked"), "reason": rubric.get("reason")}
    stgcn = step_result(doc, "score_stgcn") or {}
    if rec is None and not stgcn:
        return None
    out = dict(rec or {})
    if stgcn.get("predicted_test"):
        out.update(stgcn_test=stgcn.get("predicted_test"), stgcn_test_confidence=stgcn.get("test_confidence"))
    return out


def selection_facts(pose: dict | None) -> dict | None:
    """How the athlete was told apart from other people in frame (None when nobody else ever was)."""
    sel = (pose or {}).get("selection") or {}
    switches = int(sel.get("identity_switches_detected") or 0)
    relinks = sel.get("reacquired") or []
    if int(sel.get("people_found") or 0) <= 1 and not switches and not relinks:
        return None
    return {"method": sel.get("method"), "people_found": int(sel.get("people_found") or 0),
            "athlete_track_id": sel.get("athlete_track_id"), "ambiguous": bool(sel.get("ambiguous")),
            "candidates": [{"track_id": c.get("track_id"), "score": c.get("score")}
                           for c in sel.get("candidates") or []],
            "identity_switches_detected": switches,
            "identity_switches_repaired": int(sel.get("identity_switches_repaired") or 0),
            "frames_blanked": int(sel.get("frames_blanked") or 0),
            "reacquired": [{k: r.get(k) for k in ("frame", "gap_s", "strength")} for r in relinks]}


def film_facts(v: dict, a: Answer, test: str) -> list[str]:
    """What to film next, from what the run could not judge or trust (each sentence from the run's record)."""
    out = []
    if (a.recognition or {}).get("matches_asked") is False:
        out.append(f"film the {test.replace('_', ' ')} itself (the movement did not look like it), whole body "
                   "and props in frame for the whole repetition")
    for c in a.unjudged_criteria + ([a.deciding] if a.deciding and a.deciding.get("passed") is None else []):
        out.append(f"{c['name']} could not be judged: {plain_inputs(c.get('reason') or 'not measured')}")
    for r in v.get("reasons", []):
        if r.startswith(("pose quality", "athlete selection")):
            out.append(plain_inputs(r))
    for n in v.get("notes", []):
        if "heels" in n or "hand length" in n or "sex" in n:
            out.append(plain_inputs(n))
    if v.get("view"):
        out.append(f"this clip was filmed from {'an' if str(v['view'])[:1] in 'aeiou' else 'a'} {v['view']} view")
    return out


def add_sides(a: Answer, runs: list[dict]) -> None:
    """The latest left and right runs of the answer's test (for left_right): score or headline per side."""
    test = a.run.get("test")
    sides = []
    for side in ("L", "R"):
        mine = [r for r in runs if (r["doc"].get("verdict") or {}).get("test") == test
                and (r["doc"].get("verdict") or {}).get("side") == side]
        if not mine:
            continue
        doc = mine[-1]["doc"]
        h = _headline_of(doc)
        v = doc.get("verdict") or {}
        d = next((c for c in v.get("criteria", []) if c.get("id") == v.get("deciding_criterion")), None)
        sides.append({"side": side, "run_name": name_of(run_info(doc)), "headline": h.title, "kind": h.kind,
                      "score": h.score if h.is_result else None, "provisional": h.provisional,
                      "deciding": None if d is None else criterion_facts(test, d)})
    a.sides = sides


def add_history(a: Answer, runs: list[dict]) -> None:
    """Every run of the answer's test and side, oldest first (for change_since)."""
    test, side = a.run.get("test"), a.run.get("side")
    hist = []
    for r in runs:
        v = r["doc"].get("verdict") or {}
        if v.get("test") != test or (v.get("side") or "NA") != (side or "NA"):
            continue
        h = _headline_of(r["doc"])
        d = next((c for c in v.get("criteria", []) if c.get("id") == v.get("deciding_criterion")), None)
        hist.append({"run_name": name_of(run_info(r["doc"])), "started_at": r["doc"].get("started_at"),
                     "headline": h.title, "kind": h.kind, "score": h.score if h.is_result else None,
                     "provisional": h.provisional, "deciding": None if d is None else criterion_facts(test, d)})
    a.history = hist


def _headline_of(doc: dict):
    from agent.trace.check import check_trace
    return headline(doc.get("verdict") or {}, intact=check_trace(doc).intact)


def fmt(v) -> str:
    """A number as stated to the physio: 3 significant figures, never scientific notation."""
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, int):
        return str(v)
    v = float(v)
    if not math.isfinite(v):
        return "not measured"
    a = abs(v)
    decimals = 0 if a >= 100 else 1 if a >= 10 else 2 if a >= 1 else 3
    s = f"{v:.{decimals}f}"
    return s.rstrip("0").rstrip(".") if "." in s else s
