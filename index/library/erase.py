"""GDPR erasure of one athlete (`formscout index erase --athlete ID`), and compacting the catalog file.

Files first, then rows, so a crash part-way leaves rows that name missing
files (verify reports them) and re-running the erase finishes the job:
  1. the athlete's stored skeletons and kept videos;
  2. every run folder and session folder the catalog knows FormScout wrote for
     them (the `outputs` table: screen, session, the app), wherever they are:
     a folder FormScout claimed (tools.core.files.claim_folder, marker file with
     its run or session id) is removed whole, with every trace, overlay, HTML
     and PDF in it; every file recorded for the athlete (a published page, a
     run's trace and artifacts) is deleted; a folder FormScout did not claim is
     left in place once emptied of those files, and listed in `kept` if it is
     not empty;
  3. in one commit: the athlete's rows (athlete, clips, vectors, runs,
     outputs) and their vectors in every FAISS store, then the superseded FAISS
     files (they still hold the vectors);
  4. the catalog file rewritten from its live rows (DuckDB keeps deleted rows'
     bytes until then), under the same lock.
The report lists every file and folder removed.
"""
from __future__ import annotations

import logging
import os
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np

from index.library.core import LibraryCore
from index.library.results import EraseReport
from index.storage.catalog import Catalog
from index.storage.lock import catalog_lock
from index.storage.vectors import StoreCorrupt, VectorStore
from tools.core.errors import InputError
from tools.core.files import folder_owner

log = logging.getLogger(__name__)


def _delete_file(path: Path, report: EraseReport) -> None:
    try:
        path.unlink()
        report.files.append(str(path))
    except FileNotFoundError:
        report.missing_files.append(str(path))
    except IsADirectoryError:
        _delete_folder(path, report, owner_id=None)


def _delete_folder(folder: Path, report: EraseReport, owner_id: str | None) -> bool:
    """Remove a folder FormScout claimed (its marker names `owner_id`, or any id when None); True if removed."""
    if not folder.exists():
        return False
    if folder.is_symlink() or not folder.is_dir():
        report.kept.append(f"{folder}: not a folder FormScout made")
        return False
    marker = folder_owner(folder)
    if marker is None or (owner_id is not None and marker.get("id") != owner_id):
        return False
    files = sorted(str(p) for p in folder.rglob("*") if p.is_file() or p.is_symlink())
    shutil.rmtree(folder)
    report.files.extend(files)
    report.folders.append(str(folder))
    return True


def _remove_run_files(lib: LibraryCore, runs: list[dict], outputs: list[dict], report: EraseReport) -> None:
    emptied: set[Path] = set()        # folders that held deleted files: removed when nothing is left in them
    run_folders: set[Path] = set()    # of those, the ones a run or session was written to (reported if kept)
    for out in outputs:
        path = Path(out["path"])
        if out["kind"] in ("run_dir", "session_dir"):
            if not _delete_folder(path, report, out.get("owner_id")) and path.is_dir():
                run_folders.add(path)
        elif path.exists() or path.is_symlink():
            _delete_file(path, report)
            emptied.add(path.parent)
    for run in runs:
        trace = run.get("trace_path")
        if trace and Path(trace).parent.is_dir() and _delete_folder(Path(trace).parent, report, run["run_id"]):
            continue                   # its whole claimed run folder went
        for p in ([trace] if trace else []) + list(run.get("artifact_paths") or []):
            path = Path(p)
            if str(path) not in report.files:
                _delete_file(path, report)
            emptied.add(path.parent)
        if trace:
            t = Path(trace)
            run_folders.add(t.parent)
            for sibling in (t.parent.glob(t.stem + ".*") if t.parent.is_dir() else []):
                if sibling.is_file():          # the trace rendered as HTML etc.
                    _delete_file(sibling, report)
    for folder in sorted(emptied | run_folders, key=lambda d: len(d.parts), reverse=True):
        if not folder.is_dir():
            continue
        if folder in run_folders:              # a run's own sub-folders left empty (frames/ ...)
            for sub in sorted((d for d in folder.rglob("*") if d.is_dir()), key=lambda d: len(d.parts),
                              reverse=True):
                if not any(sub.iterdir()):
                    sub.rmdir()
        if not any(folder.iterdir()):
            folder.rmdir()
            report.folders.append(str(folder))
        elif folder in run_folders:
            report.kept.append(f"{folder}: holds files FormScout did not record for this athlete")


def erase_athlete(lib: LibraryCore, athlete_id: str) -> EraseReport:
    """Erase every row, file, vector, run folder and trace of one athlete (see the module docstring)."""
    lib._require_writable()
    cat = lib.catalog
    athlete_id = str(athlete_id).strip()
    clips = cat.clips_of_athlete(athlete_id)
    runs = cat.runs(athlete_id)
    outputs = cat.outputs(athlete_id)
    folders = [lib.paths.skeletons / athlete_id, lib.paths.videos / athlete_id]
    if not (clips or runs or outputs) and cat.athlete(athlete_id) is None and not any(f.exists() for f in folders):
        raise InputError(f"no clips, runs or files of athlete {athlete_id!r} in the library {lib.paths.db}; "
                         "check the id (`formscout index stats`)")
    report = EraseReport(athlete_id=athlete_id)
    # 1-2. files first: a crash after this leaves rows naming missing files, which verify reports
    for rec in clips:
        for rel in (rec.skeleton_path, rec.video_path):
            if rel:
                _delete_file(lib.paths.abs(rel), report)
    _remove_run_files(lib, runs, outputs, report)
    for folder in folders:
        if folder.exists():
            report.files.extend(str(p) for p in folder.rglob("*") if p.is_file())
            shutil.rmtree(folder)
    # 3. rows and vectors, together
    keys = np.asarray([c.clip_key for c in clips], dtype=np.int64)
    lib.forget_stores()
    with lib.commit() as c:
        for name, rec in c.catalog.stores().items():
            if rec.kind != "clip":
                continue
            try:
                store = c.store(rec.kind, _EmbedderName(rec.embedder, rec.embedder_version, rec.dim))
            except StoreCorrupt:  # rebuild it from the catalog rather than leave the athlete in it
                vk, vv = c.catalog.vectors(rec.kind, rec.embedder, rec.embedder_version)
                store = VectorStore.from_vectors(rec.kind, rec.embedder, rec.embedder_version, vk, vv, rec.dim)
                store.record = replace(store.record, generation=rec.generation, file=rec.file)
                c.put_store(store)
            n = store.remove(keys)
            if n:
                report.vectors_removed[name] = n
            else:
                c.changed.pop(name, None)       # untouched: no new generation
        report.rows = c.catalog.delete_athlete_rows(athlete_id)
        report.outputs_forgotten = c.catalog.last_outputs_deleted
    lib.forget_stores()
    # 4. compact the catalog so deleted rows leave no bytes in the file
    compact(lib)
    log.info("erase: athlete %s: rows %s, %d files, %d folders, vectors %s", athlete_id, report.rows,
             len(report.files), len(report.folders), report.vectors_removed)
    return report


class _EmbedderName:
    """Just what LibraryCore.store needs to name a store (no model is loaded to erase)."""

    def __init__(self, name: str, version: str, dim: int) -> None:
        self.name, self.version, self.dim = name, version, dim


def compact(lib: LibraryCore) -> None:
    """Rewrite the catalog file from its live rows (DuckDB keeps deleted rows' bytes until then).

    The write lock is held throughout: the file is replaced while no other command can open it.
    """
    db = lib.paths.db
    tmp = db.with_name(f".{db.name}.compact")
    with catalog_lock(db, "write", lib.lock_timeout_s):
        for p in (tmp, Path(str(tmp) + ".wal")):
            if p.exists():
                p.unlink()
        con = lib.catalog.con
        seq = int(con.execute(
            "SELECT coalesce(max(k), 0) FROM (SELECT max(clip_key) AS k FROM clips UNION ALL "
            "SELECT max(passage_key) FROM passages UNION ALL SELECT last_value FROM duckdb_sequences() "
            "WHERE sequence_name = 'item_key_seq')").fetchone()[0])
        con.execute("CHECKPOINT")
        src_alias = con.execute("SELECT current_database()").fetchone()[0]
        quoted = tmp.as_posix().replace("'", "''")
        src_ident = '"' + src_alias.replace('"', '""') + '"'
        con.execute(f"ATTACH '{quoted}' AS compacted")
        try:
            con.execute(f"COPY FROM DATABASE {src_ident} TO compacted")
            # keep catalog ids unique after the copy: restart the sequence past every id ever handed out
            con.execute("DROP SEQUENCE IF EXISTS compacted.item_key_seq")
            con.execute(f"CREATE SEQUENCE compacted.item_key_seq START {seq + 1}")
        finally:
            con.execute("DETACH compacted")
        lib.catalog.close()
        os.replace(tmp, db)
        lib.catalog = Catalog(db, lock_timeout_s=lib.lock_timeout_s)
