"""Physio chat: answer "why a 2 on left hurdle step?" from a run's trace, or ask back; never invent.

1. `parse_question` reads the question by rules: the test (names and
   synonyms), the side (left/right, L/R), a score it mentions ("a 2", "scored
   two"), and whether it is about the screen at all (injury prediction,
   diagnosis, treatment are not).
2. `find_run` picks the run: the trace given (`--run`), or the athlete's
   latest run of that test and side from the catalog (`--athlete`). No run,
   a test not screened, an unnamed side when both were screened, an unnamed
   test when several were: a clarifying answer that lists what there is.
3. `explain_run` builds the structured answer from the trace only: score and
   confidence (or the review reasons), the deciding criterion with its
   measured value against its threshold (units, margin, frame, time), the
   other failed criteria, the rubric passage ids it rests on (retrieved in the
   run, else looked up in knowledge.passages and marked so), the most similar
   physio-scored clips with their scores and notes (when the run retrieved
   them). A mentioned score that is not the run's is corrected ("it was a 3").
4. The text is rendered from that structure. A VLM brain may re-phrase it
   (`phrase_with_brain`), but every number in its wording must appear in the
   structured answer (`ungrounded_numbers`); otherwise the plain text stands.
A trace whose hash chain or schema does not verify is not answered from.
"""
from __future__ import annotations

import json
import logging
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from agent.trace.record import load_trace
from tools.core.errors import InputError
from tools.core.fms import BILATERAL, TESTS

log = logging.getLogger(__name__)

# phrase -> test; longer phrases are tried first
TEST_SYNONYMS: dict[str, str] = {
    "deep squat": "deep_squat", "overhead squat": "deep_squat", "squat": "deep_squat",
    "hurdle step": "hurdle_step", "hurdle": "hurdle_step",
    "in-line lunge": "inline_lunge", "in line lunge": "inline_lunge", "inline lunge": "inline_lunge",
    "lunge": "inline_lunge",
    "shoulder mobility": "shoulder_mobility", "shoulder reach": "shoulder_mobility", "shoulder": "shoulder_mobility",
    "active straight leg raise": "active_straight_leg_raise", "active straight-leg raise": "active_straight_leg_raise",
    "straight leg raise": "active_straight_leg_raise", "straight-leg raise": "active_straight_leg_raise",
    "leg raise": "active_straight_leg_raise", "aslr": "active_straight_leg_raise", "slr": "active_straight_leg_raise",
    "trunk stability push-up": "trunk_stability_pushup", "trunk stability pushup": "trunk_stability_pushup",
    "trunk stability push up": "trunk_stability_pushup", "push-up": "trunk_stability_pushup",
    "pushup": "trunk_stability_pushup", "push up": "trunk_stability_pushup", "press-up": "trunk_stability_pushup",
    "press up": "trunk_stability_pushup", "tspu": "trunk_stability_pushup",
    "rotary stability": "rotary_stability", "rotary": "rotary_stability", "quadruped": "rotary_stability",
    "bird dog": "rotary_stability",
}
for _t in TESTS:
    TEST_SYNONYMS.setdefault(_t.replace("_", " "), _t)
    TEST_SYNONYMS.setdefault(_t, _t)
NUMBER_WORDS = {"zero": 0, "one": 1, "two": 2, "three": 3}
SCORE_RE = re.compile(r"\b(?:an?|score[sd]?(?:\s+(?:of|was|is))?|scored|got|gets|get|given|gave|only|not|"
                      r"why|rated|mark(?:ed)?)\s+(?:a\s+)?([0-3]|zero|one|two|three)\b(?!\s*(?:deg|cm|m\b|%|s\b))"
                      r"|\b([0-3])\s*(?:/|out of)\s*3\b", re.I)
OUTSIDE_RE = re.compile(r"\b(injur\w*|diagnos\w*|prescri\w*|treat\w*|rehab\w*|surgery|medication|return to play|"
                        r"contract|salary|weather|diet|eat|sleep|predict\w*)\b", re.I)
ABOUT_SCREEN_RE = re.compile(r"\b(why|score\w*|criteri\w*|fail\w*|pass\w*|frame|angle|measur\w*|threshold|review|"
                             r"flag\w*|confiden\w*|similar|passage|rubric|decid\w*|what happened|explain|"
                             r"athlete|person|people|who|someone|somebody)\b", re.I)
DISCLAIMER = "Screening aid, not a diagnosis: the physio decides."
NUMBER_RE = re.compile(r"(?<![\w.\-])\d+(?:\.\d+)?(?![\w\-])")


@dataclass
class Question:
    text: str
    test: str | None = None
    side: str | None = None
    score: int | None = None
    outside: bool = False          # not about the screen (injury, diagnosis, treatment...)
    about_screen: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


def parse_question(text: str) -> Question:
    """Test, side and mentioned score of a physio's question, by rules (see the module docstring)."""
    q = Question(text=text)
    low = " " + re.sub(r"\s+", " ", text.lower()) + " "
    for phrase in sorted(TEST_SYNONYMS, key=len, reverse=True):
        if re.search(rf"(?<![a-z]){re.escape(phrase)}(?![a-z])", low):
            q.test = TEST_SYNONYMS[phrase]
            break
    if re.search(r"\bleft\b", low) or re.search(r"\bL\b", text):
        q.side = "L"
    if re.search(r"\bright\b", low) or re.search(r"\bR\b", text):
        q.side = None if q.side == "L" else "R"          # both named: ask which
    m = SCORE_RE.search(text)
    if m:
        word = (m.group(1) or m.group(2)).lower()
        q.score = NUMBER_WORDS.get(word, None) if word in NUMBER_WORDS else int(word)
    q.about_screen = bool(ABOUT_SCREEN_RE.search(text)) or q.test is not None
    q.outside = bool(OUTSIDE_RE.search(text))
    return q


# ----- the answer ------------------------------------------------------------------------------------

@dataclass
class Answer:
    """A grounded answer ("answered") or a question back ("clarify"); `text` is what the physio reads."""

    status: str                                  # answered | clarify
    question: dict
    text: str = ""
    clarify: str = ""
    options: list = field(default_factory=list)
    run: dict = field(default_factory=dict)
    score: int | None = None
    confidence: float | None = None
    review: bool | None = None
    review_reasons: list = field(default_factory=list)
    pain: bool = False
    claimed_score: int | None = None
    score_matches: bool | None = None
    deciding: dict | None = None
    failed_criteria: list = field(default_factory=list)
    passed_criteria: list = field(default_factory=list)
    unjudged_criteria: list = field(default_factory=list)
    passages: list = field(default_factory=list)
    passages_source: str = ""
    neighbours: list | None = None
    neighbours_note: str = ""
    athlete_selection: dict | None = None        # who was scored, when others were in frame (estimate_pose)
    notes: list = field(default_factory=list)
    phrased_by: str = "rules"
    phrasing_rejected: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def _fmt(v) -> str:
    """A number as stated to the physio: 3 significant figures, never scientific notation."""
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, int):
        return str(v)
    v = float(v)
    a = abs(v)
    decimals = 0 if a >= 100 else 1 if a >= 10 else 2 if a >= 1 else 3
    s = f"{v:.{decimals}f}"
    return s.rstrip("0").rstrip(".") if "." in s else s


def _criterion(c: dict) -> dict:
    return {k: c.get(k) for k in ("id", "description", "measure", "value", "unit", "threshold", "pass_if", "passed",
                                  "margin", "deciding_frame", "reason")}


def _clarify(q: Question, message: str, options: list | None = None, run: dict | None = None) -> Answer:
    return Answer(status="clarify", question=q.to_dict(), text=message, clarify=message, options=options or [],
                  run=run or {})


def _side_name(side: str | None) -> str:
    return {"L": "left", "R": "right"}.get(side or "", "")


def _title(test: str, side: str | None) -> str:
    name = test.replace("_", " ")
    return f"{_side_name(side)} {name}".strip() if side in ("L", "R") else name


def run_info(doc: dict, trace_path: str | Path | None) -> dict:
    v = doc.get("verdict", {})
    return {"run_id": doc.get("run_id"), "trace": str(trace_path) if trace_path else None,
            "athlete_id": doc.get("athlete_id"), "test": v.get("test", doc.get("test")),
            "side": v.get("side", doc.get("side")), "started_at": doc.get("started_at")}


def _step_result(doc: dict, tool: str) -> dict | None:
    for s in reversed(doc.get("steps", [])):
        if s.get("tool") == tool and s.get("error") is None and isinstance(s.get("result"), dict):
            return s["result"]
    return None


def _passages(doc: dict, test: str, score: int | None, criterion_ids: list[str]) -> tuple[list[dict], str]:
    found = _step_result(doc, "retrieve_passages")
    if found is not None:
        return [{"passage_id": p["passage_id"], "title": p.get("title")} for p in found.get("passages", [])], "trace"
    try:
        from knowledge.passages import passages_for
    except ModuleNotFoundError:
        return [], ""
    picked = [p for p in passages_for(test, score=score) if p.criterion is None] if score is not None else []
    for cid in criterion_ids:
        picked += passages_for(test, criterion=cid)
    seen, out = set(), []
    for p in picked:
        if p.id not in seen:
            seen.add(p.id)
            out.append({"passage_id": p.id, "title": p.title})
    return out, "knowledge base (looked up for this answer; the run did not retrieve passages)"


def explain_run(doc: dict, q: Question, trace_path: str | Path | None = None) -> Answer:
    """The structured, grounded answer for one run (see the module docstring)."""
    from agent.trace.check import check_trace
    info = run_info(doc, trace_path)
    check = check_trace(doc)
    if not check.intact:
        return _clarify(q, f"The trace of run {str(doc.get('run_id'))[:8]} does not verify "
                           f"({check.problems[0]}); I will not answer from an altered record. "
                           "Re-run the screen or use the original trace.", run=info)
    v = doc["verdict"]
    test = info["test"]
    criteria = [_criterion(c) for c in v.get("criteria", [])]
    deciding = next((c for c in criteria if c["id"] == v.get("deciding_criterion")), None)
    a = Answer(status="answered", question=q.to_dict(), run=info, score=v.get("score"),
               confidence=v.get("confidence"), review=bool(v.get("review")), review_reasons=list(v.get("reasons", [])),
               claimed_score=q.score, deciding=deciding, pain=bool((v.get("inputs") or {}).get("pain")),
               failed_criteria=[c for c in criteria if c["passed"] is False and c is not deciding],
               passed_criteria=[c for c in criteria if c["passed"] is True and c is not deciding],
               unjudged_criteria=[c for c in criteria if c["passed"] is None and c is not deciding])
    if deciding is not None:
        a.deciding = dict(deciding, time_s=v.get("deciding_time_s"))
    a.score_matches = None if q.score is None else q.score == a.score
    cited = ([deciding["id"]] if deciding else []) + [c["id"] for c in a.failed_criteria]
    a.passages, a.passages_source = _passages(doc, test, a.score, cited)
    hits = _step_result(doc, "retrieve_similar_clips")
    if hits is not None:
        a.neighbours = [{k: h.get(k) for k in ("clip_id", "score", "side", "similarity", "compensation_notes",
                                                "synthetic")} for h in hits.get("neighbours", [])]
    else:
        a.neighbours_note = (doc.get("optional_steps_skipped") or {}).get("retrieve_similar_clips",
                                                                         "the run did not search for similar clips")
    if q.side and test not in BILATERAL:
        a.notes.append(f"{test.replace('_', ' ')} is scored once, not per side")
    a.athlete_selection = _selection_facts(_step_result(doc, "estimate_pose"))
    a.text = render_text(a)
    return a


def _selection_facts(pose: dict | None) -> dict | None:
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


_CHOSEN_BY = {"box": "the box drawn around the athlete", "point": "the point clicked on the athlete",
              "auto": "the movement (the person doing the test)"}


def _selection_line(sel: dict) -> str:
    parts = []
    if sel["people_found"] > 1:
        cands = ", ".join(f"track {c['track_id']} {_fmt(c['score'])}" for c in sel["candidates"]
                          if c.get("score") is not None)
        who = (f"{sel['people_found']} people were in frame; the athlete (track {sel['athlete_track_id']}) was "
               f"chosen by {_CHOSEN_BY.get(sel['method'], str(sel['method']))}")
        parts.append(who + (f" (candidate scores: {cands})" if cands and sel["method"] == "auto" else ""))
        if sel["ambiguous"]:
            parts.append("two people were nearly equally likely, so the physio must confirm who was scored")
    if sel["identity_switches_detected"]:
        parts.append(f"the skeleton strayed to someone else {sel['identity_switches_detected']} time(s), "
                     f"{sel['identity_switches_repaired']} repaired; {sel['frames_blanked']} frame(s) were left out "
                     "rather than scored on the wrong body")
    for r in sel["reacquired"]:
        parts.append(f"the athlete was re-found at frame {r['frame']} after {_fmt(r['gap_s'])} s out of sight "
                     f"({r['strength']} evidence)")
    return "Who was scored: " + "; ".join(parts) + "."


def _u(c: dict) -> str:
    return str(c.get("unit") or "").replace("_", " ")


def render_text(a: Answer) -> str:
    """The deterministic wording of an answered question (every number from the structured answer)."""
    test, side = a.run["test"], a.run["side"]
    title = _title(test, side)
    lines = []
    head = f"{title[0].upper() + title[1:]} (run {str(a.run['run_id'])[:8]}): "
    if a.score is None:
        head += "no score; the clip went to physio review."
    elif a.pain and a.score == 0:
        head += ("scored 0 because the athlete reported pain (pain always gives 0; the physio assesses it). "
                 "The movement was still measured, for the record:")
    else:
        head += f"scored {a.score} with confidence {_fmt(a.confidence)}" + (
            ", flagged for physio review." if a.review else ".")
    if a.claimed_score is not None and a.score_matches is False:
        head = (f"It was not a {a.claimed_score}. " if a.score is not None
                else f"There was no {a.claimed_score}. ") + head
    lines.append(head)
    d = a.deciding
    if d:
        verb = {True: "passed", False: "failed", None: "could not be judged"}[d["passed"]]
        if d["value"] is None:
            lines.append(f"Deciding criterion: {d['id']} ({d.get('description') or ''}) {verb}: "
                         f"{d.get('reason') or 'not measured'}.")
        else:
            margin = "" if d.get("margin") is None else (
                f", {'inside' if d['margin'] >= 0 else 'outside'} it by {_fmt(abs(d['margin']))} {_u(d)}")
            when = f" at frame {d['deciding_frame']}" if d.get("deciding_frame") is not None else ""
            if when and d.get("time_s") is not None:
                when += f" ({_fmt(d['time_s'])} s)"
            lines.append(f"Deciding criterion: {d['id']} {verb}: measured {_fmt(d['value'])} {_u(d)} against "
                         f"a threshold of {d['pass_if']} {_fmt(d['threshold'])} {_u(d)}{margin}{when}.")
    for c in a.failed_criteria:
        frame = f" (frame {c['deciding_frame']})" if c.get("deciding_frame") is not None else ""
        value = "not measured" if c["value"] is None else f"{_fmt(c['value'])} {_u(c)}"
        lines.append(f"Also failed: {c['id']}: {value} against {c['pass_if']} {_fmt(c['threshold'])} "
                     f"{_u(c)}{frame}.")
    if a.passed_criteria:
        lines.append("Passed: " + ", ".join(c["id"] for c in a.passed_criteria) + ".")
    if a.unjudged_criteria:
        lines.append("Not judged: " + "; ".join(f"{c['id']} ({c.get('reason') or 'not measured'})"
                                                 for c in a.unjudged_criteria) + ".")
    if a.athlete_selection:
        lines.append(_selection_line(a.athlete_selection))
    if a.review and a.review_reasons:
        lines.append("Why review: " + "; ".join(a.review_reasons) + ".")
    if a.passages:
        src = "" if a.passages_source == "trace" else " (from the knowledge base; not retrieved in the run)"
        lines.append("Rubric passages" + src + ": " + ", ".join(f"[{p['passage_id']}]" for p in a.passages) + ".")
    if a.neighbours:
        near = "; ".join(f"{n['clip_id']} scored {n['score']}"
                         + (f" ({n['compensation_notes']})" if n.get("compensation_notes") else "")
                         + f", similarity {_fmt(n['similarity'])}" for n in a.neighbours[:3])
        lines.append(f"Most similar physio-scored clips: {near}.")
    elif a.neighbours == []:
        lines.append("No physio-scored clip of this test and side was in the library.")
    else:
        lines.append(f"No similar clips: {a.neighbours_note}.")
    lines += [f"Note: {n}." for n in a.notes]
    lines.append(DISCLAIMER)
    return "\n".join(lines)


# ----- finding the run -------------------------------------------------------------------------------

def trace_file(run: str | Path) -> Path:
    """A run folder (with trace.json) or a trace file -> the trace file."""
    p = Path(run).expanduser()
    if p.is_dir():
        p = p / "trace.json"
    if not p.is_file():
        raise InputError(f"no trace at {p}: give --run a run folder (holding trace.json) or a trace file")
    return p


def athlete_runs(athlete_id: str, db: str | None = None) -> list[dict]:
    """The athlete's runs from the catalog, oldest first, each with its loaded trace (missing files skipped)."""
    try:
        from index.storage.catalog import Catalog
        from index.storage.paths import resolve_db_path
    except ModuleNotFoundError as exc:
        raise InputError("the run catalog is not built in this install; use --run RUN_DIR") from exc
    path = resolve_db_path(db)
    if not path.is_file():
        return []
    with Catalog(path, read_only=True) as cat:
        rows = cat.runs(athlete_id)
    out = []
    for r in rows:
        tp = Path(r["trace_path"]) if r.get("trace_path") else None
        if tp is None or not tp.is_file():
            log.warning("run %s of %s: trace file %s is missing", r["run_id"], athlete_id, tp)
            continue
        out.append(dict(r, doc=load_trace(tp), trace=str(tp)))
    return out


def _latest(runs: list[dict]) -> dict[tuple[str, str], dict]:
    latest: dict[tuple[str, str], dict] = {}
    for r in runs:                                    # oldest first: later ones replace earlier ones
        v = r["doc"].get("verdict", {})
        latest[(v.get("test", r.get("test")), v.get("side", r.get("side")) or "NA")] = r
    return latest


def _score_word(doc: dict) -> str:
    s = doc.get("verdict", {}).get("score")
    return "review (no score)" if s is None else f"scored {s}"


def answer_from_runs(q: Question, runs: list[dict], who: str) -> Answer:
    """Pick the run the question is about among `runs` (each with 'doc' and 'trace') and answer, or ask back."""
    if not runs:
        return _clarify(q, f"I found no screening run for {who}. Screen a clip first "
                           f"(formscout screen CLIP --test TEST --athlete ID), or give --run RUN_DIR.")
    latest = _latest(runs)
    screened = sorted({t for t, _ in latest})
    listing = "; ".join(f"{_title(t, s)}: {_score_word(r['doc'])}" for (t, s), r in sorted(latest.items()))
    if q.test is None:
        candidates = list(latest.items())
        if q.score is not None:
            candidates = [(k, r) for k, r in candidates if r["doc"]["verdict"].get("score") == q.score]
        if q.side:
            candidates = [(k, r) for k, r in candidates if k[1] == q.side]
        if len(candidates) == 1:
            (test, side), r = candidates[0]
            a = explain_run(r["doc"], q, r["trace"])
            a.notes.append(f"you did not name the test; {_title(test, side)} is the only run that fits")
            a.text = render_text(a)
            return a
        if q.score is not None and len(candidates) > 1:
            fits = "; ".join(_title(t, s) for (t, s), _ in sorted(candidates))
            return _clarify(q, f"{len(candidates)} runs of {who} scored {q.score} ({fits}). Which test do you mean?",
                            options=[{"test": t, "side": s} for (t, s), _ in sorted(candidates)])
        return _clarify(q, f"Which test do you mean? Screened for {who}: {listing}.",
                        options=[{"test": t, "side": s} for t, s in sorted(latest)])
    if q.test not in screened:
        return _clarify(q, f"{q.test.replace('_', ' ').capitalize()} was not screened for {who}. "
                           f"Screened: {listing or 'nothing'}.", options=[{"test": t} for t in screened])
    sides = sorted(s for t, s in latest if t == q.test)
    if q.test in BILATERAL:
        if q.side is None and len(sides) > 1:
            both = "; ".join(f"{_side_name(s)}: {_score_word(latest[(q.test, s)]['doc'])}" for s in sides)
            return _clarify(q, f"{q.test.replace('_', ' ').capitalize()} was screened on both sides ({both}). "
                               "Which side do you mean, left or right?",
                            options=[{"test": q.test, "side": s} for s in sides])
        if q.side is not None and q.side not in sides:
            return _clarify(q, f"The {_side_name(q.side)} {q.test.replace('_', ' ')} was not screened for {who}; "
                               f"only the {' and '.join(_side_name(s) or s for s in sides)} side was.",
                            options=[{"test": q.test, "side": s} for s in sides])
        side = q.side or sides[0]
    else:
        side = sides[0]
    r = latest[(q.test, side)]
    a = explain_run(r["doc"], q, r["trace"])
    if q.test in BILATERAL and q.side is None:
        a.notes.append(f"only the {_side_name(side) or side} side was screened")
        a.text = render_text(a)
    return a


def ask(question: str, athlete_id: str | None = None, run: str | Path | None = None,
        db: str | None = None) -> Answer:
    """Answer one question from the structured data of a run (see the module docstring)."""
    if not question or not question.strip():
        raise InputError("the question is empty: ask e.g. \"why a 2 on left hurdle step?\"")
    q = parse_question(question)
    if q.outside:
        return _clarify(q, "That is outside what FormScout screens. It scores movement quality from video for a "
                           "physio to review; it does not predict injury, diagnose, or plan treatment. Ask about a "
                           "screened test, e.g. \"why that score on the left hurdle step?\"")
    if not q.about_screen:
        return _clarify(q, "I can only answer questions about a screening run: its score, the criteria, the deciding "
                           "frame, the rubric passages and the similar clips. Which test do you mean?")
    if run:
        path = trace_file(run)
        return answer_from_runs(q, [{"doc": load_trace(path), "trace": str(path)}], f"run {Path(run).name}")
    if athlete_id:
        return answer_from_runs(q, athlete_runs(athlete_id, db), f"athlete {athlete_id}")
    raise InputError("say which run: --athlete ID (latest run of that test and side) or --run RUN_DIR_OR_TRACE")


# ----- grounding -------------------------------------------------------------------------------------

def _numbers_in(obj, out: list[float]) -> list[float]:
    if isinstance(obj, bool) or obj is None:
        return out
    if isinstance(obj, (int, float)):
        if math.isfinite(obj):
            out.append(abs(float(obj)))
    elif isinstance(obj, str):
        out += [float(x) for x in NUMBER_RE.findall(obj)]
    elif isinstance(obj, dict):
        for k, v in obj.items():
            _numbers_in(v, out)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _numbers_in(v, out)
    return out


def _strings_in(obj, out: list[str]) -> list[str]:
    if isinstance(obj, str):
        out.append(obj)
    elif isinstance(obj, dict):
        for v in obj.values():
            _strings_in(v, out)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _strings_in(v, out)
    return out


def ungrounded_numbers(text: str, source) -> list[str]:
    """Numbers stated in `text` that no number in `source` rounds to (at the precision stated).

    Numbers inside identifiers (run ids, passage ids, clip ids) are not statements and are skipped.
    """
    known = _numbers_in(source, [])
    strings = _strings_in(source, [])
    bad = []
    for token in NUMBER_RE.findall(text):
        if len(token) >= 6 and any(token in s for s in strings):   # an id copied from the record
            continue
        decimals = len(token.split(".")[1]) if "." in token else 0
        x = float(token)
        if not any(round(k, decimals) == x or (decimals == 0 and k == x) for k in known):
            bad.append(token)
    return bad


def phrase_with_brain(answer: Answer, brain) -> Answer:
    """Let a VLM brain word the answer; keep its wording only if every number it states is in the answer."""
    if answer.status != "answered":
        return answer
    structured = {k: v for k, v in answer.to_dict().items() if k not in ("text", "phrased_by", "phrasing_rejected")}
    system = ("You explain a Functional Movement Screen result to a physiotherapist in at most 120 words. Use only "
              "the facts and numbers in the JSON; never add a number, a measurement or advice. End with: "
              f"{DISCLAIMER}")
    user = ("Question: " + answer.question["text"] + "\nFacts (JSON):\n" + json.dumps(structured, default=str)
            + "\nDraft answer:\n" + answer.text)
    try:
        wording = brain.complete(system, user).strip()
    except InputError as exc:
        answer.notes.append(f"the {type(brain).__name__} brain could not phrase the answer ({exc}); plain wording kept")
        return answer
    bad = ungrounded_numbers(wording, structured)
    if not wording or bad:
        answer.phrasing_rejected = bad or ["(empty)"]
        return answer
    answer.text, answer.phrased_by = wording, getattr(brain, "model_id", type(brain).__name__)
    return answer
