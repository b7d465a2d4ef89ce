"""Filing screening runs and what they wrote under an athlete, so the chat, history and erasure find them.

`record_run` stores one run (trace and artifact paths absolute); `record_output`
stores a folder or file FormScout wrote that names the athlete (a run folder,
a session folder with its report, a published trace page), which
`formscout index erase --athlete` then removes wherever it is. Both open the
catalog for one short write under its inter-process lock.
"""
from __future__ import annotations

import os
from typing import Sequence

from index.storage.catalog import Catalog
from index.storage.paths import LibraryPaths


def record_run(*, db: str | os.PathLike | None = None, run_id: str, athlete_id: str | None, test: str | None,
               side: str | None, score: int | None, review: bool, trace_path: str | os.PathLike | None,
               clip_id: str | None = None, confidence: float | None = None,
               review_reasons: Sequence[str] | None = None, artifact_paths: Sequence[str | os.PathLike] = (),
               created=None, run_dir: str | os.PathLike | None = None) -> None:
    """Record one screening run in the catalog at `db` (default: FORMSCOUT_DB / ~/.formscout).

    `trace_path` and `artifact_paths` (overlay video, HTML...) are the files
    `index erase --athlete` deletes with the run; `run_dir`, the run's own folder,
    is removed whole. A run id recorded again replaces the earlier row.
    """
    with Catalog(LibraryPaths.for_db(db).db) as cat, cat.transaction():
        cat.insert_run(run_id=run_id, athlete_id=athlete_id, test=test, side=side, score=score,
                       review=review, trace_path=None if trace_path is None else str(trace_path),
                       clip_id=clip_id, confidence=confidence, review_reasons=review_reasons,
                       artifact_paths=[str(p) for p in artifact_paths], created=created)
        if run_dir is not None and athlete_id:
            cat.add_output(athlete_id, run_dir, "run_dir", run_id)


def record_output(*, db: str | os.PathLike | None = None, athlete_id: str, path: str | os.PathLike, kind: str,
                  owner_id: str | None = None) -> None:
    """Record that FormScout wrote `path` (a run_dir, session_dir or file) naming `athlete_id`."""
    with Catalog(LibraryPaths.for_db(db).db) as cat, cat.transaction():
        cat.add_output(athlete_id, path, kind, owner_id)


def athletes_of_run(run_id: str, db: str | os.PathLike | None = None) -> list[str]:
    """Athletes a run id is filed under (empty when there is no catalog or no such run)."""
    path = LibraryPaths.for_db(db).db
    if not path.is_file():
        return []
    with Catalog(path, read_only=True) as cat:
        return [r[0] for r in cat.con.execute("SELECT athlete_id FROM runs WHERE run_id = ? AND athlete_id IS NOT "
                                              "NULL", [run_id]).fetchall()]
