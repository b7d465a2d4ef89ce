"""Which run a question is about: the run given, or the athlete's latest run of the test and side it names.

No run, a test not screened, an unnamed side when both were screened, an
unnamed test when several were: a clarifying answer that lists what there is,
each run by its one name. Traces are read from the files the catalog names.
"""
from __future__ import annotations

import logging
from pathlib import Path

from agent.chat.facts import Answer, clarify, explain_run, name_of, run_info
from agent.trace.record import load_trace
from tools.core.errors import InputError
from tools.core.fms import BILATERAL

log = logging.getLogger(__name__)


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
    from index.storage.catalog import Catalog
    from index.storage.paths import resolve_db_path
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


def _title(test: str, side: str | None) -> str:
    name = test.replace("_", " ")
    return f"{ {'L': 'left', 'R': 'right'}[side] } {name}".strip() if side in ("L", "R") else name


def _latest(runs: list[dict]) -> dict[tuple[str, str], dict]:
    latest: dict[tuple[str, str], dict] = {}
    for r in runs:                                    # oldest first: later ones replace earlier ones
        v = r["doc"].get("verdict", {})
        latest[(v.get("test", r.get("test")), v.get("side", r.get("side")) or "NA")] = r
        for side in v.get("sides") or {}:             # a clip with both sides answers for either
            latest[(v.get("test", r.get("test")), side)] = r
    return latest


def _result_word(doc: dict) -> str:
    from agent.chat.facts import _headline_of
    h = _headline_of(doc)
    return {"score": f"scored {h.score}", "pain": "scored 0 (pain)", "provisional": f"provisional {h.provisional}",
            "no_score": "review (no score)", "not_the_test": "not the test (no score)",
            "not_intact": "NOT intact"}[h.kind]


def _listing(latest: dict) -> str:
    return "; ".join(f"{name_of(run_info(r['doc']))}: {_result_word(r['doc'])}" for _, r in sorted(latest.items()))


def answer_from_runs(q, runs: list[dict], who: str, need_side: bool = True) -> Answer:
    """Pick the run the question is about among `runs` (each with 'doc' and 'trace') and answer, or ask back."""
    if not runs:
        return clarify(q, f"I found no screening run for {who}. Screen a clip first with the athlete id given, "
                          "or pick a run.")
    latest = _latest(runs)
    screened = sorted({t for t, _ in latest})
    listing = _listing(latest)
    if q.test is None:
        candidates = list(latest.items())
        if q.score is not None:
            candidates = [(k, r) for k, r in candidates if r["doc"]["verdict"].get("score") == q.score]
        if q.side:
            candidates = [(k, r) for k, r in candidates if k[1] == q.side]
        if len(candidates) == 1:
            (test, side), r = candidates[0]
            a = explain_run(r["doc"], q, r["trace"])
            if len(latest) > 1:
                a.notes.append(f"you did not name the test; {_title(test, side)} is the only run that fits")
            return a
        if q.score is not None and len(candidates) > 1:
            fits = "; ".join(name_of(run_info(r["doc"])) for _, r in sorted(candidates))
            return clarify(q, f"{len(candidates)} runs of {who} scored {q.score} ({fits}). Which test do you mean?",
                           options=[{"test": t, "side": s} for (t, s), _ in sorted(candidates)])
        return clarify(q, f"Which test do you mean? Screened for {who}: {listing}.",
                       options=[{"test": t, "side": s} for t, s in sorted(latest)])
    if q.test not in screened:
        return clarify(q, f"{q.test.replace('_', ' ').capitalize()} was not screened for {who}. "
                          f"Screened: {listing or 'nothing'}.", options=[{"test": t} for t in screened])
    sides = sorted(s for t, s in latest if t == q.test)
    if q.test in BILATERAL:
        if q.side is None and len(sides) > 1 and need_side:
            both = "; ".join(f"{name_of(run_info(latest[(q.test, s)]['doc']))}: "
                             f"{_result_word(latest[(q.test, s)]['doc'])}" for s in sides)
            return clarify(q, f"{q.test.replace('_', ' ').capitalize()} was screened on both sides ({both}). "
                              "Which side do you mean, left or right?",
                           options=[{"test": q.test, "side": s} for s in sides])
        if q.side is not None and q.side not in sides:
            return clarify(q, f"The {_title(q.test, q.side)} was not screened for {who}; "
                              f"only the {' and '.join({'L': 'left', 'R': 'right'}.get(s, s) for s in sides)} "
                              "side was.", options=[{"test": q.test, "side": s} for s in sides])
        side = q.side or sides[-1]
    else:
        side = sides[0]
    r = latest[(q.test, side)]
    a = explain_run(r["doc"], q, r["trace"])
    if q.test in BILATERAL and q.side is None and need_side:
        a.notes.append(f"only the {_title(q.test, side).split()[0]} side was screened")
    return a
