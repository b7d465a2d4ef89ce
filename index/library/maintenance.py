"""Library maintenance: sweep stray files, verify catalog vs FAISS, rebuild stores, erase an athlete.

verify  proves the catalog and the FAISS stores agree: for every store the
        file the catalog names exists and loads, its size and dimension match
        the catalog, its ids equal the catalog's vector ids of that embedder
        version (both ways) and its vectors equal the stored ones; every clip
        has a vector of the embedder version it records and its skeleton file;
        every vector belongs to a catalog row and a store. Files left by an
        interrupted write (never committed, or superseded) are swept first and
        listed as cleaned: they are not part of the library.
rebuild recreates every FAISS store from the vectors stored in the catalog
        (no model needed), or with `reembed` re-embeds every clip from its
        stored skeleton (and every passage from its text) with the current
        embedders and drops the vectors of older versions.
erase   (GDPR) deletes an athlete's files first (skeletons, kept videos,
        traces and run artifacts), then in one transaction their rows
        (athlete, clips, vectors, runs) and their vectors in every store,
        then superseded FAISS files, then compacts the catalog file so
        deleted rows leave no bytes behind. Re-running an interrupted erase
        finishes it.
"""
from __future__ import annotations

import logging
import os
import shutil
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from index.storage.catalog import Catalog
from index.storage.vectors import StoreCorrupt, VectorStore, store_name, sweep_stray_files
from tools.core.errors import InputError
from tools.core.skeleton import Skeleton

if TYPE_CHECKING:
    from index.library.api import Library, Progress

log = logging.getLogger(__name__)
VECTOR_TOLERANCE = 1e-5


@dataclass
class VerifyReport:
    clean: bool
    problems: list[str] = field(default_factory=list)
    cleaned: list[str] = field(default_factory=list)
    checked: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class EraseReport:
    athlete_id: str
    rows: dict = field(default_factory=dict)
    vectors_removed: dict = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    missing_files: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


# ----- stray files ------------------------------------------------------------------------------------
def sweep(lib: "Library") -> list[str]:
    """Delete files the catalog does not reference (left by interrupted writes); returns their paths."""
    if lib.read_only:
        return []
    referenced_faiss = {r.file for r in lib.catalog.stores().values()}
    removed = [str(p) for p in sweep_stray_files(lib.paths.faiss, referenced_faiss)]
    rows = lib.catalog.con.execute("SELECT skeleton_path, video_path FROM clips").fetchall()
    referenced = {p for row in rows for p in row if p}
    for folder in (lib.paths.skeletons, lib.paths.videos):
        if not folder.exists():
            continue
        for path in sorted(folder.rglob("*")):
            if path.is_file() and path.relative_to(lib.paths.root).as_posix() not in referenced:
                path.unlink()
                removed.append(str(path))
        for sub in sorted((p for p in folder.rglob("*") if p.is_dir()), reverse=True):
            if not any(sub.iterdir()):
                sub.rmdir()
    if removed:
        log.info("sweep: removed %d stray file(s) from interrupted writes", len(removed))
    return removed


# ----- verify -----------------------------------------------------------------------------------------------
def verify(lib: "Library", fix_stray: bool = True) -> VerifyReport:
    cat = lib.catalog
    report = VerifyReport(clean=True)
    if fix_stray:
        report.cleaned = sweep(lib)
    problems = report.problems
    stores = cat.stores()
    versions = cat.vector_versions()
    # every vector group has a store, every store has its group
    for kind, emb, ver, n in versions:
        if store_name(kind, emb, ver) not in stores:
            problems.append(f"{n} {kind} vectors of {emb} {ver} have no FAISS store (run `formscout index rebuild`)")
    for name, rec in stores.items():
        keys, vecs = cat.vectors(rec.kind, rec.embedder, rec.embedder_version)
        try:
            store = VectorStore.load(lib.paths.faiss, rec)
        except StoreCorrupt as exc:
            problems.append(str(exc))
            continue
        ids = store.ids()
        in_faiss_only = np.setdiff1d(ids, keys)
        in_catalog_only = np.setdiff1d(keys, ids)
        if len(np.unique(ids)) != len(ids):
            problems.append(f"store {name}: duplicate ids in the FAISS file")
        if in_faiss_only.size:
            problems.append(f"store {name}: {in_faiss_only.size} FAISS ids not in the catalog "
                            f"(e.g. {in_faiss_only[:5].tolist()})")
        if in_catalog_only.size:
            problems.append(f"store {name}: {in_catalog_only.size} catalog vectors missing from FAISS "
                            f"(e.g. {in_catalog_only[:5].tolist()})")
        if len(keys) and not in_faiss_only.size and not in_catalog_only.size:
            stored = store.index.index.reconstruct_n(0, len(store))  # insertion order = ids order
            order = np.argsort(ids)
            diff = float(np.max(np.abs(stored[order] - vecs)))
            if diff > VECTOR_TOLERANCE:
                problems.append(f"store {name}: FAISS vectors differ from the catalog's (max |diff| {diff:.2g})")
        items = cat.item_keys(rec.kind)
        orphans = np.setdiff1d(keys, items)
        if orphans.size:
            problems.append(f"store {name}: {orphans.size} vectors belong to no {rec.kind} row")
        report.checked[name] = {"faiss": len(ids), "catalog": len(keys), "dim": rec.dim, "file": rec.file}
    # every clip has its vector and its skeleton
    missing_vec = cat.con.execute(
        "SELECT clip_id, embedder, embedder_version FROM clips c WHERE NOT EXISTS (SELECT 1 FROM vectors v "
        "WHERE v.kind = 'clip' AND v.item_key = c.clip_key AND v.embedder = c.embedder "
        "AND v.embedder_version = c.embedder_version)").fetchall()
    if missing_vec:
        problems.append(f"{len(missing_vec)} clips have no vector of the embedder they record "
                        f"(e.g. {missing_vec[0][0]}); run `formscout index rebuild --reembed`")
    missing_files = []
    for clip_id, skel, video in cat.con.execute("SELECT clip_id, skeleton_path, video_path FROM clips").fetchall():
        for rel in (skel, video):
            if rel and not lib.paths.abs(rel).is_file():
                missing_files.append(f"{clip_id}: {rel}")
    if missing_files:
        problems.append(f"{len(missing_files)} files named by the catalog are missing (e.g. {missing_files[0]}); "
                        "if an erase was interrupted, run it again")
    dup = cat.con.execute("SELECT clip_id FROM clips GROUP BY clip_id HAVING count(*) > 1").fetchall()
    if dup:
        problems.append(f"duplicate clip ids: {[d[0] for d in dup][:5]}")
    report.checked["clips"] = int(cat.con.execute("SELECT count(*) FROM clips").fetchone()[0])
    report.checked["passages"] = int(cat.con.execute("SELECT count(*) FROM passages").fetchone()[0])
    report.clean = not problems
    return report


# ----- rebuild ------------------------------------------------------------------------------------------------
def rebuild(lib: "Library", reembed: bool = False, progress: "Progress | None" = None) -> dict:
    """Recreate every FAISS store from the catalog (see the module docstring)."""
    lib._require_writable()
    cat = lib.catalog
    sweep(lib)
    out: dict = {"reembedded": {}, "stores": {}, "dropped_versions": []}
    if reembed:
        out["reembedded"]["clip"] = _reembed_clips(lib, progress)
        if cat.passages():
            out["reembedded"]["passage"] = _reembed_passages(lib)
    old_files = []
    with cat.transaction():
        versions = cat.vector_versions()
        present = {store_name(k, e, v) for k, e, v, _ in versions}
        for kind, emb, ver, _ in versions:
            keys, vecs = cat.vectors(kind, emb, ver)
            prev = cat.stores().get(store_name(kind, emb, ver))
            store = VectorStore.from_vectors(kind, emb, ver, keys, vecs, vecs.shape[1])
            if prev is not None:  # continue its generations, so the new file never overwrites the old
                store.record = replace(store.record, generation=prev.generation, file=prev.file)
            old_files.append(lib.commit_store(store))
            out["stores"][store.record.store_name] = {"vectors": len(store), "file": store.record.file}
        for name, rec in cat.stores().items():
            if name not in present:
                cat.con.execute("DELETE FROM stores WHERE store_name = ?", [name])
                old_files.append(rec.file)
                out["dropped_versions"].append(name)
    lib.forget_stores()
    for name in old_files:
        lib.drop_old_file(name)
    return out


def _reembed_clips(lib: "Library", progress: "Progress | None") -> dict:
    cat = lib.catalog
    emb = lib.motion_embedder
    clips = cat.all_clips()
    keys, vectors = [], []
    for i, rec in enumerate(clips):
        path = lib.paths.abs(rec.skeleton_path)
        if not path.is_file():
            raise InputError(f"cannot re-embed clip {rec.clip_id}: its skeleton {path} is missing; "
                             "run `formscout index verify`")
        keys.append(rec.clip_key)
        vectors.append(emb.embed([Skeleton.load(path)])[0])
        if progress is not None:
            progress(i + 1, len(clips))
    vecs = np.stack(vectors) if vectors else np.zeros((0, emb.dim), np.float32)
    with cat.transaction():
        cat.con.execute("DELETE FROM vectors WHERE kind = 'clip'")
        cat.insert_vectors("clip", keys, emb.name, emb.version, vecs)
        cat.con.execute("UPDATE clips SET embedder = ?, embedder_version = ?", [emb.name, emb.version])
    return {"embedder": emb.name, "version": emb.version, "count": len(keys)}


def _reembed_passages(lib: "Library") -> dict:
    cat = lib.catalog
    emb = lib.text_embedder
    recs = sorted(cat.passages().values(), key=lambda r: r.passage_key)
    texts = [f"{r.title or ''}. {r.text}".strip(". ") for r in recs]
    vecs = emb.embed(texts) if recs else np.zeros((0, emb.dim), np.float32)
    with cat.transaction():
        cat.con.execute("DELETE FROM vectors WHERE kind = 'passage'")
        cat.insert_vectors("passage", [r.passage_key for r in recs], emb.name, emb.version, vecs)
    return {"embedder": emb.name, "version": emb.version, "count": len(recs)}


# ----- erase ---------------------------------------------------------------------------------------------------
def _delete_file(path: Path, report: EraseReport) -> None:
    try:
        path.unlink()
        report.files.append(str(path))
    except FileNotFoundError:
        report.missing_files.append(str(path))


def erase_athlete(lib: "Library", athlete_id: str) -> EraseReport:
    """GDPR erasure of every row, file, vector and trace of one athlete (see the module docstring)."""
    lib._require_writable()
    cat = lib.catalog
    athlete_id = str(athlete_id).strip()
    clips = cat.clips_of_athlete(athlete_id)
    runs = cat.runs(athlete_id)
    folders = [lib.paths.skeletons / athlete_id, lib.paths.videos / athlete_id]
    if not clips and not runs and cat.athlete(athlete_id) is None and not any(f.exists() for f in folders):
        raise InputError(f"no clips, runs or files of athlete {athlete_id!r} in the library {lib.paths.db}; "
                         "check the id (`formscout index stats`)")
    report = EraseReport(athlete_id=athlete_id)
    # 1. files first: a crash after this leaves rows naming missing files, which verify reports
    for rec in clips:
        for rel in (rec.skeleton_path, rec.video_path):
            if rel:
                _delete_file(lib.paths.abs(rel), report)
    run_dirs = set()
    for run in runs:
        for p in [run.get("trace_path")] + list(run.get("artifact_paths") or []):
            if not p:
                continue
            path = Path(p)
            run_dirs.add(path.parent)
            _delete_file(path, report)
            if run.get("trace_path") and p == run["trace_path"]:
                for sibling in path.parent.glob(path.stem + ".*"):  # rendered HTML etc. of the same trace
                    if sibling.is_file():
                        _delete_file(sibling, report)
    for folder in sorted(run_dirs, key=lambda d: len(d.parts), reverse=True):
        try:  # a run folder left empty by the deletions goes too (never one with other files)
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        except OSError:
            pass
    for folder in folders:
        if folder.exists():
            report.files.extend(str(p) for p in folder.rglob("*") if p.is_file())
            shutil.rmtree(folder)
    # 2. rows and vectors, together
    keys = np.asarray([c.clip_key for c in clips], dtype=np.int64)
    old_files = []
    lib.forget_stores()
    try:
        with cat.transaction():
            for name, rec in cat.stores().items():
                if rec.kind != "clip":
                    continue
                try:
                    store = VectorStore.load(lib.paths.faiss, rec)
                except StoreCorrupt:  # rebuild it from the catalog rather than leave the athlete in it
                    vk, vv = cat.vectors(rec.kind, rec.embedder, rec.embedder_version)
                    store = VectorStore.from_vectors(rec.kind, rec.embedder, rec.embedder_version, vk, vv, rec.dim)
                    store.record = replace(store.record, generation=rec.generation, file=rec.file)
                n = store.remove(keys)
                if n:
                    report.vectors_removed[name] = n
                    old_files.append(lib.commit_store(store))
            report.rows = cat.delete_athlete_rows(athlete_id)
    finally:
        lib.forget_stores()
    for name in old_files:  # superseded FAISS files still hold the athlete's vectors
        lib.drop_old_file(name)
    # 3. compact the catalog so deleted rows leave no bytes in the file
    compact(lib)
    log.info("erase: athlete %s: rows %s, %d files, vectors %s", athlete_id, report.rows, len(report.files),
             report.vectors_removed)
    return report


def compact(lib: "Library") -> None:
    """Rewrite the catalog file from its live rows (DuckDB keeps deleted rows' bytes until then)."""
    db = lib.paths.db
    tmp = db.with_name(f".{db.name}.compact")
    for p in (tmp, Path(str(tmp) + ".wal")):
        if p.exists():
            p.unlink()
    seq = int(lib.catalog.con.execute(
        "SELECT coalesce(max(k), 0) FROM (SELECT max(clip_key) AS k FROM clips UNION ALL "
        "SELECT max(passage_key) FROM passages UNION ALL SELECT last_value FROM duckdb_sequences() "
        "WHERE sequence_name = 'item_key_seq')").fetchone()[0])
    con = lib.catalog.con
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
    lib.catalog = Catalog(db)
