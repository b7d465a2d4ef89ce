"""The app's finished runs: the pickers' list (integrity first), verifying and publishing one run's trace.

Each run is named the one way a physio recognises it everywhere in the app
(tools.report.vocabulary.run_label: athlete, test and side, time, run id).
Every listed trace is verified (agent.trace.check) when the list is built: a
trace edited after its run is listed as "NOT intact: do not use this result"
with no score.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from agent.app.paths import RUN_NAME_RE, AppPaths
from tools.report.headline import NOT_INTACT, headline
from tools.report.vocabulary import run_label


@dataclass
class RunInfo:
    name: str                 # the run folder's name (what the browser sends back)
    run_id: str
    test: str
    side: str
    score: int | None
    review: bool
    athlete_id: str
    started_at: str
    intact: bool = True
    verdict: dict | None = None

    @property
    def title(self) -> str:
        """The one run name: athlete, test, side, time (run id)."""
        return run_label(self.test, self.side, self.athlete_id, self.started_at, self.run_id)

    def label(self) -> str:
        """The picker's line: the run name, then its result as the headline reads it (no score if not intact)."""
        if not self.intact:
            return f"{self.title}: {NOT_INTACT}"
        h = headline(self.verdict or {"test": self.test, "side": self.side, "score": self.score,
                                      "review": self.review})
        result = {"score": f"score {h.score}", "pain": "0 (pain)", "provisional": f"provisional {h.provisional}",
                  "no_score": "no score, physio review", "not_the_test": "not this test: no score"}[h.kind]
        return f"{self.title}: {result}"


def read_run(folder: Path) -> RunInfo | None:
    """The run in `folder` (None when it has no readable trace)."""
    from agent.trace.check import check_trace
    try:
        doc = json.loads((folder / "trace.json").read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    if not isinstance(doc, dict):
        return None
    verdict = doc.get("verdict") if isinstance(doc.get("verdict"), dict) else {}
    return RunInfo(name=folder.name, run_id=str(doc.get("run_id", "")), test=str(doc.get("test", "")),
                   side=str(verdict.get("side") or doc.get("side") or "NA"), score=verdict.get("score"),
                   review=bool(verdict.get("review", True)), athlete_id=str(doc.get("athlete_id") or ""),
                   started_at=str(doc.get("started_at", "")), intact=check_trace(doc).intact, verdict=verdict)


def list_runs(paths: AppPaths) -> list[RunInfo]:
    """Finished runs in the app's data folder (those with a trace), newest first, each verified."""
    if not paths.runs.is_dir():
        return []
    out = []
    for folder in sorted(paths.runs.iterdir(), reverse=True):
        if folder.is_dir() and RUN_NAME_RE.match(folder.name) and (folder / "trace.json").is_file():
            info = read_run(folder)
            if info is not None:
                out.append(info)
    return out


def verify_run(paths: AppPaths, run_name: str) -> list[str]:
    """Problems found in a run's trace: schema and hash chain (agent.trace.check; empty = intact)."""
    from agent.trace.check import check_trace
    from agent.trace.record import load_trace
    return list(check_trace(load_trace(paths.run_dir(run_name) / "trace.json")).problems)


def publish_run(paths: AppPaths, run_name: str) -> Path:
    """The run's trace as one self-contained page, trace.html beside trace.json (agent.trace.publish)."""
    from agent.trace.publish import publish
    folder = paths.run_dir(run_name)
    return publish(folder / "trace.json", folder / "trace.html")
