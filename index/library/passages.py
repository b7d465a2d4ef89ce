"""Indexing the rubric passages of knowledge/ (`formscout index add --passages`): one sync, one commit."""
from __future__ import annotations

import hashlib
from typing import Any, Iterable

import numpy as np

from index.library.core import LibraryCore
from index.storage.catalog import PassageRecord
from tools.core.errors import InputError


def passage_fields(p: Any) -> dict:
    """The fields of a knowledge Passage (object with attributes, or a dict)."""
    keys = ("id", "test", "criterion", "score_level", "title", "text")
    if isinstance(p, dict):
        missing = [k for k in ("id", "text") if not p.get(k)]
        out = {k: p.get(k) for k in keys}
    else:
        missing = [k for k in ("id", "text") if not getattr(p, k, None)]
        out = {k: getattr(p, k, None) for k in keys}
    if missing:
        raise InputError(f"rubric passage {out.get('id')!r} lacks {', '.join(missing)}")
    out["score_level"] = int(out["score_level"]) if out["score_level"] not in (None, "") else None
    return out


def sync_passages(lib: LibraryCore, passages: Iterable[Any]) -> dict:
    """Make the indexed passages equal to `passages` (Passage objects or dicts with id, test, criterion,
    score_level, title, text): new ones added, changed ones re-embedded, missing ones removed."""
    lib._require_writable()
    wanted = {}
    for p in passages:
        f = passage_fields(p)
        if f["id"] in wanted:
            raise InputError(f"rubric passage id {f['id']!r} appears twice; passage ids must be unique")
        wanted[f["id"]] = f
    emb = lib.text_embedder
    have = lib.catalog.passages()
    sha = {pid: hashlib.sha256(f"{f['title'] or ''}\n{f['text']}".encode()).hexdigest() for pid, f in wanted.items()}
    remove = [rec for pid, rec in have.items() if pid not in wanted or rec.text_sha256 != sha[pid]]
    add = [pid for pid in wanted if pid not in have or have[pid].text_sha256 != sha[pid]]
    # a store of another version would not get the new passages: only the current version is kept
    unchanged = len(wanted) - len(add)
    summary = {"added": 0, "removed": 0, "unchanged": unchanged, "embedder": emb.name, "embedder_version": emb.version}
    if not add and not remove:
        return summary
    texts = [f"{wanted[pid]['title'] or ''}. {wanted[pid]['text']}".strip(". ") for pid in add]
    vectors = emb.embed(texts) if add else np.zeros((0, emb.dim), np.float32)
    with lib.commit() as c:
        keys = c.catalog.next_keys(len(add))
        store = c.store("passage", emb)
        c.catalog.delete_passages([r.passage_key for r in remove])
        store.remove(np.asarray([r.passage_key for r in remove], dtype=np.int64))
        c.catalog.insert_passages([PassageRecord(
            k, pid, wanted[pid]["test"], wanted[pid]["criterion"], wanted[pid]["score_level"],
            wanted[pid]["title"], wanted[pid]["text"], sha[pid]) for k, pid in zip(keys, add)])
        c.catalog.insert_vectors("passage", keys, emb.name, emb.version, vectors)
        store.add(np.asarray(keys, dtype=np.int64), vectors)
    summary.update(added=len(add), removed=len([r for r in remove if r.passage_id not in add]))
    return summary
