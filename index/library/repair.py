"""Rebuilding the FAISS stores, and repairing whatever `verify` finds.

rebuild  recreates every FAISS store from the vectors stored in the catalog (no
         model needed), or with `reembed` re-embeds every clip from its stored
         skeleton (and every passage from its text) with the current embedders
         and drops the vectors of older versions.
repair   fixes each kind of mismatch verify reports, in one commit, and lists
         what it did: stray files swept; vectors that belong to no row deleted;
         clips whose stored skeleton is gone dropped (their labels cannot be
         searched without it; add the clip again); a kept video that is gone
         forgotten (the clip stays); clips without a vector of the embedder
         they record re-embedded from their skeleton; every store rewritten as
         a new generation from the catalog's vectors (a missing, corrupt,
         stale or mismatched FAISS file). The catalog is the source of truth;
         FAISS files are derived from it.
"""
from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np

from index.library.core import LibraryCore, Progress
from index.library.results import RepairReport
from index.library.verify import sweep, verify
from index.storage.vectors import VectorStore, store_name
from tools.core.errors import InputError
from tools.core.skeleton import Skeleton

log = logging.getLogger(__name__)


def _stores_from_catalog(lib: LibraryCore, commit) -> dict:
    """Every store rebuilt from the catalog's vectors inside `commit`; stores without vectors are dropped."""
    cat = lib.catalog
    out: dict = {"stores": {}, "dropped_versions": []}
    versions = cat.vector_versions()
    present = {store_name(k, e, v) for k, e, v, _ in versions}
    previous = cat.stores()
    for kind, emb, ver, _ in versions:
        keys, vecs = cat.vectors(kind, emb, ver)
        store = VectorStore.from_vectors(kind, emb, ver, keys, vecs, vecs.shape[1])
        prev = previous.get(store.record.store_name)
        if prev is not None:     # continue its generations, so the new file never overwrites the old
            store.record = replace(store.record, generation=prev.generation, file=prev.file,
                                   file_sha256=prev.file_sha256)
        commit.put_store(store)
        out["stores"][store.record.store_name] = {"vectors": len(store)}
    for name in previous:
        if name not in present:
            commit.drop_store(name)
            out["dropped_versions"].append(name)
    return out


def rebuild(lib: LibraryCore, reembed: bool = False, progress: Progress | None = None) -> dict:
    """Recreate every FAISS store from the catalog, re-embedding first with `reembed` (one commit)."""
    lib._require_writable()
    sweep(lib)
    clips = _embed_clips(lib, progress) if reembed else None
    passages = _embed_passages(lib) if reembed and lib.catalog.passages() else None
    reembedded: dict = {}
    with lib.commit() as c:
        con = c.catalog.con
        if clips is not None:
            emb, keys, vecs = clips
            con.execute("DELETE FROM vectors WHERE kind = 'clip'")
            c.catalog.insert_vectors("clip", keys, emb.name, emb.version, vecs)
            con.execute("UPDATE clips SET embedder = ?, embedder_version = ?", [emb.name, emb.version])
            reembedded["clip"] = {"embedder": emb.name, "version": emb.version, "count": len(keys)}
        if passages is not None:
            emb, keys, vecs = passages
            con.execute("DELETE FROM vectors WHERE kind = 'passage'")
            c.catalog.insert_vectors("passage", keys, emb.name, emb.version, vecs)
            reembedded["passage"] = {"embedder": emb.name, "version": emb.version, "count": len(keys)}
        out = _stores_from_catalog(lib, c)
    for name, s in out["stores"].items():
        s["file"] = lib.catalog.stores()[name].file
    out["reembedded"] = reembedded
    lib.forget_stores()
    return out


def _embed_clips(lib: LibraryCore, progress: Progress | None):
    """(embedder, keys, vectors [N, dim]) of every clip, from its stored skeleton."""
    emb = lib.motion_embedder
    clips = lib.catalog.all_clips()
    keys, vectors = [], []
    for i, rec in enumerate(clips):
        path = lib.paths.abs(rec.skeleton_path)
        if not path.is_file():
            raise InputError(f"cannot re-embed clip {rec.clip_id}: its skeleton {path} is missing; "
                             "run `formscout index repair`")
        keys.append(rec.clip_key)
        vectors.append(emb.embed([Skeleton.load(path)])[0])
        if progress is not None:
            progress(i + 1, len(clips))
    return emb, keys, (np.stack(vectors) if vectors else np.zeros((0, emb.dim), np.float32))


def _embed_passages(lib: LibraryCore):
    emb = lib.text_embedder
    recs = sorted(lib.catalog.passages().values(), key=lambda r: r.passage_key)
    texts = [f"{r.title or ''}. {r.text}".strip(". ") for r in recs]
    vecs = emb.embed(texts) if recs else np.zeros((0, emb.dim), np.float32)
    return emb, [r.passage_key for r in recs], vecs


def repair(lib: LibraryCore) -> RepairReport:
    """Fix every mismatch `verify` can find (see the module docstring); returns what was done."""
    lib._require_writable()
    report = RepairReport(cleaned=sweep(lib))
    cat = lib.catalog
    fixed = report.fixed
    lib.forget_stores()
    with lib.commit() as c:
        con = c.catalog.con
        n = con.execute("SELECT count(*) FROM vectors v WHERE (v.kind = 'clip' AND v.item_key NOT IN "
                        "(SELECT clip_key FROM clips)) OR (v.kind = 'passage' AND v.item_key NOT IN "
                        "(SELECT passage_key FROM passages))").fetchone()[0]
        if n:
            con.execute("DELETE FROM vectors WHERE (kind = 'clip' AND item_key NOT IN (SELECT clip_key FROM clips)) "
                        "OR (kind = 'passage' AND item_key NOT IN (SELECT passage_key FROM passages))")
            fixed.append(f"deleted {n} vectors that belonged to no clip or passage")
        for rec in cat.all_clips():
            if not lib.paths.abs(rec.skeleton_path).is_file():
                con.execute("DELETE FROM vectors WHERE kind = 'clip' AND item_key = ?", [rec.clip_key])
                con.execute("DELETE FROM clips WHERE clip_key = ?", [rec.clip_key])
                fixed.append(f"dropped clip {rec.clip_id} ({rec.athlete_id}): its skeleton {rec.skeleton_path} "
                             "is gone; add the clip again")
            elif rec.video_path and not lib.paths.abs(rec.video_path).is_file():
                con.execute("UPDATE clips SET video_path = NULL WHERE clip_key = ?", [rec.clip_key])
                fixed.append(f"clip {rec.clip_id}: its kept video {rec.video_path} is gone; the clip stays")
        missing_vec = con.execute(
            "SELECT clip_key FROM clips c WHERE NOT EXISTS (SELECT 1 FROM vectors v WHERE v.kind = 'clip' "
            "AND v.item_key = c.clip_key AND v.embedder = c.embedder AND v.embedder_version = c.embedder_version)"
        ).fetchall()
        if missing_vec:
            emb = lib.motion_embedder
            recs = [r for r in cat.all_clips() if r.clip_key in {k for (k,) in missing_vec}]
            same = [r for r in recs if (r.embedder, r.embedder_version) == (emb.name, emb.version)]
            if same:
                vecs = emb.embed([Skeleton.load(lib.paths.abs(r.skeleton_path)) for r in same])
                c.catalog.insert_vectors("clip", [r.clip_key for r in same], emb.name, emb.version, vecs)
                fixed.append(f"re-embedded {len(same)} clips that had no vector ({emb.name} {emb.version})")
            if len(same) < len(recs):
                fixed.append(f"{len(recs) - len(same)} clips record another embedder than {emb.name} "
                             f"{emb.version}: run `formscout index rebuild --reembed`")
        out = _stores_from_catalog(lib, c)
        fixed.append(f"rewrote {len(out['stores'])} FAISS store(s) from the catalog's vectors"
                     + (f"; dropped {', '.join(out['dropped_versions'])}" if out["dropped_versions"] else ""))
    lib.forget_stores()
    report.after = verify(lib)
    log.info("repair: %s", "; ".join(fixed))
    return report
