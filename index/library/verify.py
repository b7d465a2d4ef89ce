"""Proving the library is consistent: sweep stray files, then check catalog vs FAISS vs files.

sweep   deletes what an interrupted write left behind and no catalog row names:
        FAISS generation files and temp files, skeleton/video files of batches
        that never committed, and staging folders of `index add` processes that
        are no longer alive.
verify  checks, for every store, that the file the catalog names exists, is
        the generation it records (file name, sha256), loads, has the size and
        dimension recorded, holds exactly the catalog's vector ids of that
        embedder version (both ways) and the same vectors; that every clip has a
        vector of the embedder version it records and its skeleton (and kept
        video) file; that every vector belongs to a row and a store; that no
        clip id repeats. Each mismatch is one line in `problems` saying how to
        fix it (`formscout index repair` fixes all of them that can be fixed).
"""
from __future__ import annotations

import logging
import os
import shutil

import numpy as np

from index.library.core import LibraryCore
from index.library.results import VerifyReport
from index.storage.vectors import StoreCorrupt, VectorStore, store_name, sweep_stray_files

log = logging.getLogger(__name__)
VECTOR_TOLERANCE = 1e-5


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:       # alive, owned by someone else
        return True
    return True


def sweep(lib: LibraryCore) -> list[str]:
    """Delete files no catalog row names (left by interrupted writes); returns their paths. Needs the write lock."""
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
    if lib.paths.staging.is_dir():
        for sub in sorted(lib.paths.staging.iterdir()):
            pid = sub.name.split("-", 1)[0]
            if sub.is_dir() and pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
                removed += [str(p) for p in sub.rglob("*") if p.is_file()] or [str(sub)]
                shutil.rmtree(sub, ignore_errors=True)
    if removed:
        log.info("sweep: removed %d stray file(s) from interrupted writes", len(removed))
    return removed


def verify(lib: LibraryCore, fix_stray: bool = True) -> VerifyReport:
    """Check the catalog, the FAISS stores and the files against each other (see the module docstring)."""
    cat = lib.catalog
    report = VerifyReport(clean=True)
    if fix_stray:
        report.cleaned = sweep(lib)
    problems = report.problems
    stores = cat.stores()
    # every vector group has a store, every store has its group
    for kind, emb, ver, n in cat.vector_versions():
        if store_name(kind, emb, ver) not in stores:
            problems.append(f"{n} {kind} vectors of {emb} {ver} have no FAISS store (run `formscout index repair`)")
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
            problems.append(f"store {name}: duplicate ids in the FAISS file (run `formscout index repair`)")
        if in_faiss_only.size:
            problems.append(f"store {name}: {in_faiss_only.size} FAISS ids not in the catalog "
                            f"(e.g. {in_faiss_only[:5].tolist()}); run `formscout index repair`")
        if in_catalog_only.size:
            problems.append(f"store {name}: {in_catalog_only.size} catalog vectors missing from FAISS "
                            f"(e.g. {in_catalog_only[:5].tolist()}); run `formscout index repair`")
        if len(keys) and not in_faiss_only.size and not in_catalog_only.size:
            stored = store.index.index.reconstruct_n(0, len(store))  # insertion order = ids order
            order = np.argsort(ids)
            diff = float(np.max(np.abs(stored[order] - vecs)))
            if diff > VECTOR_TOLERANCE:
                problems.append(f"store {name}: FAISS vectors differ from the catalog's (max |diff| {diff:.2g}); "
                                "run `formscout index repair`")
        orphans = np.setdiff1d(keys, cat.item_keys(rec.kind))
        if orphans.size:
            problems.append(f"store {name}: {orphans.size} vectors belong to no {rec.kind} row; "
                            "run `formscout index repair`")
        report.checked[name] = {"faiss": len(ids), "catalog": len(keys), "dim": rec.dim, "file": rec.file,
                                "generation": rec.generation}
    # every clip has its vector and its files
    missing_vec = cat.con.execute(
        "SELECT clip_id, embedder, embedder_version FROM clips c WHERE NOT EXISTS (SELECT 1 FROM vectors v "
        "WHERE v.kind = 'clip' AND v.item_key = c.clip_key AND v.embedder = c.embedder "
        "AND v.embedder_version = c.embedder_version)").fetchall()
    if missing_vec:
        problems.append(f"{len(missing_vec)} clips have no vector of the embedder they record "
                        f"(e.g. {missing_vec[0][0]}); run `formscout index repair`")
    missing_files = []
    for clip_id, skel, video in cat.con.execute("SELECT clip_id, skeleton_path, video_path FROM clips").fetchall():
        for rel in (skel, video):
            if rel and not lib.paths.abs(rel).is_file():
                missing_files.append(f"{clip_id}: {rel}")
    if missing_files:
        problems.append(f"{len(missing_files)} files named by the catalog are missing (e.g. {missing_files[0]}); "
                        "if an erase was interrupted, run it again, else `formscout index repair` drops "
                        "the clips whose skeleton is gone")
    dup = cat.con.execute("SELECT clip_id FROM clips GROUP BY clip_id HAVING count(*) > 1").fetchall()
    if dup:
        problems.append(f"duplicate clip ids: {[d[0] for d in dup][:5]}")
    report.checked["clips"] = int(cat.con.execute("SELECT count(*) FROM clips").fetchone()[0])
    report.checked["passages"] = int(cat.con.execute("SELECT count(*) FROM passages").fetchone()[0])
    report.checked["runs"] = len(cat.runs())
    report.clean = not problems
    return report
