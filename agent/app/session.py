"""The Session tab's plain work: one whole screen through agent.screening.session.screen_session, shown.

`run_session` runs a staged session folder (agent.app.uploads) through the
same `screen_session` as `formscout session` (no CLI, no argparse), with its
progress events (clip k of n, and inside each clip the steps and frames) on
the page, and deletes the uploaded clips afterwards (the manifest is kept).
The scorecard is shown with provisional scores marked, and a clip whose trace
is not intact or whose movement is not the asked-for test is named with the
reason its score does not count. `athlete_history` reads the catalog's runs.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from agent.app.display import TEST_LABELS, esc, public_message
from agent.app.paths import DISCLAIMER
from agent.app.progress import PageCallback, SessionProgress
from agent.app.screening import check_athlete_id
from tools.core.errors import InputError
from tools.report.headline import NOT_INTACT, headline

SCORECARD_HEADERS = ["Test", "Left", "Right", "Score", "Counted", "Flags"]


@dataclass
class SessionOutcome:
    scorecard: dict
    folder: Path
    seconds: float


def run_session(folder: Path, *, athlete_id: str = "", sex: str = "", pdf: bool = True, db: str | None = None,
                progress: PageCallback | None = None) -> SessionOutcome:
    """Score a whole screen exactly as `formscout session` does; the uploaded clips are deleted afterwards.

    Output in <folder>/out: session.json, session_report.html (+ .pdf), runs/. With an athlete id every
    run, and the session folder, is filed in the catalog as the session goes.
    """
    from agent.screening.session import SessionOptions, screen_session
    athlete = check_athlete_id(athlete_id)
    options = SessionOptions(athlete_id=athlete, sex=sex or "", db=db or "", pdf=pdf)
    t0 = time.perf_counter()
    try:
        result = screen_session(folder / "input" / "manifest.csv", folder / "out", options,
                                progress=SessionProgress(progress) if progress is not None else None)
    finally:
        for f in (folder / "input").iterdir():      # raw clips are not kept; the manifest is
            if f.name != "manifest.csv" and f.is_file():
                f.unlink()
    return SessionOutcome(scorecard=result.scorecard, folder=folder, seconds=time.perf_counter() - t0)


def _score_cell(entry: dict | None) -> str:
    if not entry:
        return "-"
    if entry.get("score") is None:
        return "no score"
    return f"provisional {entry['score']}" if entry.get("review") else str(entry["score"])


def _withheld(scorecard: dict, test: str) -> list[tuple[dict, str]]:
    """The clips of `test` whose score does not count: trace not intact, or not the asked-for test."""
    out = []
    for c in scorecard.get("clips") or []:
        if c.get("test") != test or c.get("error"):
            continue
        h = headline({**c, "inputs": {"pain": c.get("pain")}}, intact=c.get("trace_intact"))
        if h.kind in ("not_intact", "not_the_test"):
            out.append((c, h.title))
    return out


def scorecard_rows(scorecard: dict) -> list[list]:
    """One row per test: L, R (or the single score), the score counted toward the composite, flags."""
    rows = []
    for test, t in scorecard["tests"].items():
        flags = (["asymmetry"] if t.get("asymmetry") else []) + (["review"] if t.get("review") else []) \
            + (["missing " + "/".join(t.get("missing_sides") or [])] if t.get("missing_sides") else []) \
            + (["not screened"] if t.get("counted") is None and not t.get("missing_sides") else [])
        flags += [f"line {e['line']}: {public_message(e['error'])}" for e in t.get("errors") or []]
        flags += [f"line {c['line']}: {h}" for c, h in _withheld(scorecard, test)]
        if t.get("bilateral"):
            rows.append([TEST_LABELS.get(test, test), _score_cell(t.get("L")), _score_cell(t.get("R")), "",
                         "-" if t.get("counted") is None else str(t["counted"]), "; ".join(flags)])
        else:
            rows.append([TEST_LABELS.get(test, test), "", "", _score_cell(t.get("score")),
                         "-" if t.get("counted") is None else str(t["counted"]), "; ".join(flags)])
    return rows


def scorecard_markdown(scorecard: dict, seconds: float | None = None) -> str:
    comp = scorecard["composite"]
    who = f" for {esc(scorecard['athlete_id'])}" if scorecard.get("athlete_id") else ""
    lines = [f"## Composite{who}: {esc(comp['label'])}"]
    if scorecard.get("asymmetries"):
        lines.append("**Asymmetries (left and right differ):** " + "; ".join(
            f"{TEST_LABELS.get(a['test'], a['test'])} L {a['L']} / R {a['R']}" for a in scorecard["asymmetries"]))
    else:
        lines.append("No left/right asymmetry among the bilateral tests screened.")
    pain = [c for c in scorecard.get("clearing_tests") or [] if c.get("pain")]
    for c in pain:
        lines.append(f"Pain in the {esc(c['clearing_test'])}: {TEST_LABELS.get(c['test'], c['test'])} scored 0.")
    unrecorded = [c["clearing_test"] for c in scorecard.get("clearing_tests") or [] if not c.get("recorded")]
    if unrecorded:
        lines.append("Clearing tests not recorded: " + ", ".join(esc(u) for u in unrecorded) + ".")
    if scorecard.get("missing_tests"):
        lines.append("Missing from the composite: " + ", ".join(TEST_LABELS.get(t, t)
                                                              for t in scorecard["missing_tests"]) + ".")
    if scorecard.get("review_tests"):
        lines.append("Physio review advised for: " + ", ".join(TEST_LABELS.get(t, t)
                                                              for t in scorecard["review_tests"]) + ".")
    lines += [f"- {esc(n)}" for n in scorecard.get("notes") or []]
    if seconds is not None:
        lines.append(f"Scored in {seconds:.0f} s.")
    lines.append(f"*{DISCLAIMER}*")
    return "\n\n".join(lines)


def athlete_history(athlete_id: str, db: str | None = None) -> tuple[list[str], list[list]]:
    """The athlete's scores per test and side by date, from the catalog's runs (baseline first, latest last)."""
    athlete = check_athlete_id(athlete_id)
    if not athlete:
        return [], []
    from index.storage.catalog import Catalog
    from index.storage.paths import resolve_db_path
    path = resolve_db_path(db)
    if not path.is_file():
        return [], []
    with Catalog(path, read_only=True) as cat:
        runs = cat.runs(athlete)
    by_key: dict[tuple[str, str], dict[str, str]] = {}
    dates: list[str] = []
    for r in runs:                                   # oldest first: a later run of the same day replaces
        day = str(r["created"])[:10]
        if day not in dates:
            dates.append(day)
        score = "review" if r["score"] is None else (f"provisional {r['score']}" if r["review"] else str(r["score"]))
        if _trace_broken(r.get("trace_path")):
            score = NOT_INTACT
        by_key.setdefault((r["test"], r["side"] or "NA"), {})[day] = score
    headers = ["Test", "Side"] + [f"{d} (baseline)" if i == 0 and len(dates) > 1 else
                                  (f"{d} (latest)" if i == len(dates) - 1 and len(dates) > 1 else d)
                                  for i, d in enumerate(dates)]
    rows = [[TEST_LABELS.get(t, t), "" if s == "NA" else s] + [cells.get(d, "") for d in dates]
            for (t, s), cells in sorted(by_key.items())]
    return headers, rows




def _trace_broken(trace_path: str | None) -> bool:
    """True when the run's trace file exists and fails verification (a missing file is not 'broken')."""
    if not trace_path or not Path(trace_path).is_file():
        return False
    from agent.trace.check import check_trace
    from agent.trace.record import load_trace
    try:
        return not check_trace(load_trace(trace_path)).intact
    except InputError:
        return True
