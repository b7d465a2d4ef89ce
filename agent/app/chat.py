"""The Ask tab's plain work: a question answered by agent.chat.answer.ask, bound to a run of this app or an athlete.

The reply keeps the chat's text (the run by its one name first, the answer to
the question asked, passages quoted with id and text) with server paths cut
and CLI flags in form words, and the deciding frame of the run when the page
may serve it (files inside the app's data folder only). A run whose trace does
not verify is answered with "NOT intact: do not use this result" and no frame.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from agent.app.display import public_message
from agent.app.paths import AppPaths
from agent.app.screening import check_athlete_id
from tools.core.errors import InputError


@dataclass
class ChatReply:
    text: str
    status: str                   # answered | clarify
    frame_png: str | None = None  # the deciding frame of the run answered from, when the page may show it
    intent: str = ""
    run_name: str = ""


def ask_about(question: str, paths: AppPaths, *, athlete_id: str = "", run_name: str = "",
              db: str | None = None, brain=None) -> ChatReply:
    """Answer a physio's question through agent.chat.answer.ask, bound to a run of this app or to an athlete."""
    from agent.chat.answer import ask
    if not str(question or "").strip():
        raise InputError("Type a question first, e.g. \"why this score?\" or \"why a 2 on the left hurdle step?\"")
    athlete = check_athlete_id(athlete_id)
    if run_name:
        answer = ask(question, run=paths.run_dir(run_name), db=db, brain=brain)
    elif athlete:
        from index.storage.paths import resolve_db_path
        if not _has_runs(resolve_db_path(db), athlete):
            return ChatReply(f"There are no screening runs for athlete {athlete} in this library. Check the id, "
                             "or screen a clip for them on the Screen tab with their athlete id filled in.",
                             "clarify")
        answer = ask(question, athlete_id=athlete, db=db, brain=brain)
    else:
        raise InputError("Screen a clip first (the chat then talks about that run), pick a run, or type an "
                         "athlete id.")
    frame = None
    trace = (answer.run or {}).get("trace")
    if answer.status == "answered" and answer.intact is not False and trace \
            and (Path(trace).parent / "verdict.json").is_file():
        try:
            verdict = json.loads((Path(trace).parent / "verdict.json").read_text())
            png = (verdict.get("artifacts") or {}).get("deciding_frame_png")
        except (OSError, json.JSONDecodeError):
            png = None
        if png and Path(png).is_file() and paths.contains(png):   # only files the page may serve
            frame = str(png)
    return ChatReply(public_message(answer.text), answer.status, frame, intent=answer.intent,
                     run_name=answer.run_name)


def _has_runs(db_path: Path, athlete: str) -> bool:
    if not db_path.is_file():
        return False
    from index.storage.catalog import Catalog
    with Catalog(db_path, read_only=True) as cat:
        return bool(cat.runs(athlete))
