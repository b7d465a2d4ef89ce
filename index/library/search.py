"""Searching the library: the clips nearest in motion to a query, and the rubric passages nearest in meaning.

Search never mixes embedder versions: the query is embedded by the library's
embedder and searched only in that embedder version's store. Filters (test,
side, an excluded athlete or clip) are applied inside FAISS (index.storage.vectors),
from an in-memory copy of the clip columns (loaded once per Library, dropped on
every write), so a search touches no SQL.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from index.embedders.base import Embedder
from index.library.core import LibraryCore
from index.library.labels import normalise_side, normalise_test
from index.library.results import ClipHit, PassageHit, SearchResult
from index.storage.vectors import VectorStore
from tools.core.errors import InputError
from tools.core.files import SKELETON_SUFFIXES, VIDEO_SUFFIXES
from tools.core.skeleton import Skeleton

log = logging.getLogger(__name__)

HIT_COLUMNS = ("clip_key", "clip_id", "athlete_id", "test_name", "side", "score", "pain",
               "compensation_notes", "camera_view", "date", "synthetic")


def clip_table(lib: LibraryCore) -> dict[str, np.ndarray]:
    """In-memory copy of the clip columns searches filter on and return, sorted by clip_key
    (about 0.1 s and a few tens of MB per 100k clips)."""
    if lib._filter_columns is None:
        data = lib.catalog.con.execute(
            f"SELECT {', '.join(HIT_COLUMNS)} FROM clips ORDER BY clip_key").fetchnumpy()
        table = {k: np.asarray(v) for k, v in data.items()}
        for col in ("test_name", "side", "athlete_id"):  # integer codes: fast filter masks
            table[col + "_values"], table[col + "_code"] = np.unique(table[col].astype(str), return_inverse=True)
        lib._filter_columns = table
    return lib._filter_columns


def allowed_clip_keys(lib: LibraryCore, test: str | None, side: str | None,
                      exclude_athlete: str | None) -> np.ndarray:
    """Catalog ids of the clips passing the filters."""
    cols = clip_table(lib)

    def code(col: str, value: str) -> int:
        values = cols[col + "_values"]
        i = int(np.searchsorted(values, value))
        return i if i < len(values) and values[i] == value else -1

    mask = np.ones(len(cols["clip_key"]), dtype=bool)
    if test:
        mask &= cols["test_name_code"] == code("test_name", test)
    if side:
        mask &= cols["side_code"] == code("side", side)
    if exclude_athlete:
        mask &= cols["athlete_id_code"] != code("athlete_id", exclude_athlete)
    return cols["clip_key"][mask].astype(np.int64)


def _hits(lib: LibraryCore, sims: np.ndarray, ids: np.ndarray) -> list[ClipHit]:
    cols = clip_table(lib)
    keys = cols["clip_key"]
    pos = np.searchsorted(keys, ids)
    hits = []
    for sim, key, p in zip(sims, ids, pos):
        if p >= len(keys) or keys[p] != key:
            continue  # in FAISS but not in the catalog: verify reports it
        d = cols["date"][p]
        hits.append(ClipHit(
            str(cols["clip_id"][p]), str(cols["athlete_id"][p]), str(cols["test_name"][p]),
            str(cols["side"][p]), int(cols["score"][p]), bool(cols["pain"][p]),
            str(cols["compensation_notes"][p] or ""), str(cols["camera_view"][p] or ""),
            None if d is None or (isinstance(d, float) and np.isnan(d)) else str(np.datetime64(d, "D")),
            bool(cols["synthetic"][p]), round(float(sim), 6)))
    return hits


def search_store(lib: LibraryCore, kind: str, emb: Embedder) -> VectorStore:
    """The store to search; an error naming the versions present when this embedder's is empty."""
    store = lib.store(kind, emb)
    if len(store) == 0:
        others = [f"{e} {v} ({n})" for kd, e, v, n in lib.catalog.vector_versions() if kd == kind]
        if others:
            raise InputError(f"the library's {kind}s were embedded by {', '.join(others)}, not "
                             f"{emb.name} {emb.version}; run `formscout index rebuild --reembed`")
    return store


def embed_query_clip(lib: LibraryCore, query, skeleton_from_video) -> tuple[np.ndarray, str | None]:
    """Query vector [1, dim] for a Skeleton, a .npz/video path, or a library clip id (2nd: that clip id)."""
    emb = lib.motion_embedder
    if isinstance(query, Skeleton):
        return emb.embed([query]), None
    text = str(query)
    path = Path(text).expanduser()
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix in SKELETON_SUFFIXES:
            return emb.embed([Skeleton.load(path)]), None
        if suffix in VIDEO_SUFFIXES:
            return emb.embed([skeleton_from_video(path, lib.pose_backend)]), None
        raise InputError(f"{path} is neither a skeleton (.npz) nor a video; give a clip file or a clip id")
    rec = lib.catalog.clip(text)
    if rec is None:
        raise InputError(f"{text!r} is neither a file nor a clip id in the library {lib.paths.db}")
    keys, vecs = lib.catalog.vectors("clip", emb.name, emb.version)
    hit = np.flatnonzero(keys == rec.clip_key)
    if hit.size:
        return vecs[hit[:1]], rec.clip_id
    return emb.embed([Skeleton.load(lib.paths.abs(rec.skeleton_path))]), rec.clip_id


def _filters(test: str | None, side: str | None) -> tuple[str | None, str | None]:
    try:
        test = normalise_test(test) if test else None
        if side and test:
            side = normalise_side(test, side)
        elif side:
            side = {"LEFT": "L", "RIGHT": "R", "N/A": "NA"}.get(side.strip().upper(), side.strip().upper())
            if side not in ("L", "R", "NA"):
                raise ValueError(f"side {side!r} is not L, R or NA")
    except ValueError as exc:
        raise InputError(f"search filter: {exc}") from None
    return test, side


def search_clips(lib: LibraryCore, query, *, test: str | None = None, side: str | None = None, k: int = 5,
                 exclude_clip_id: str | None = None, exclude_athlete: str | None = None,
                 skeleton_from_video=None) -> SearchResult:
    """The k library clips most similar in motion to `query`, optionally of one test and side.

    `query`: a Skeleton, a .npz or video path, a clip id in the library (that
    clip itself is excluded), or a vector already made by this library's
    motion embedder.
    """
    emb = lib.motion_embedder
    test, side = _filters(test, side)
    if isinstance(query, np.ndarray):
        qvec, self_id = np.atleast_2d(query).astype(np.float32), None
    else:
        qvec, self_id = embed_query_clip(lib, query, skeleton_from_video)
    exclude_clip_id = exclude_clip_id or self_id
    store = search_store(lib, "clip", emb)
    allowed = None
    if test or side or exclude_athlete or exclude_clip_id:
        allowed = allowed_clip_keys(lib, test, side, exclude_athlete)
        if exclude_clip_id:
            cols = clip_table(lib)
            allowed = allowed[~np.isin(allowed, cols["clip_key"][cols["clip_id"] == exclude_clip_id])]
    sims, ids = store.search(qvec, k, allowed)
    hits = _hits(lib, sims[0], ids[0])
    if len(hits) < len(ids[0]):
        log.warning("search: %d FAISS ids have no catalog row; run `formscout index verify`",
                    len(ids[0]) - len(hits))
    filters = {"test": test, "side": side, "exclude_clip_id": exclude_clip_id, "exclude_athlete": exclude_athlete}
    return SearchResult("clip", emb.name, emb.version, filters, k, hits)


def search_passages(lib: LibraryCore, text: str, *, test: str | None = None, k: int = 5) -> SearchResult:
    """Rubric passages for `text` (test-specific and general ones when `test` is set): the embedding's order
    fused with BM25 keyword matching (index.library.passage_rank); `similarity` stays the cosine similarity."""
    if not str(text).strip():
        raise InputError("--text is empty: give a question or phrase to search the rubric with")
    emb = lib.text_embedder
    store = search_store(lib, "passage", emb)
    allowed = lib.catalog.passage_keys(test) if test else None
    # every allowed passage by meaning, then fused with BM25 keyword matching (index/library/passage_rank.py)
    n_all = len(allowed) if allowed is not None else len(store)
    sims, ids = store.search(emb.embed([text]), max(k, n_all), allowed)
    recs = lib.catalog.passages_by_keys(ids[0].tolist())
    found = [(float(s), r) for s, i in zip(sims[0], ids[0]) if (r := recs.get(int(i))) is not None]
    from index.library.passage_rank import hybrid_order, passage_document
    order = hybrid_order(text, [passage_document(r.title, r.criterion, r.text, r.test) for _, r in found],
                         np.asarray([s for s, _ in found]))
    hits = [PassageHit(r.passage_id, r.test, r.criterion, r.score_level, r.title, r.text, round(s, 6))
            for s, r in (found[int(j)] for j in order[:k])]
    return SearchResult("passage", emb.name, emb.version, {"test": test}, k, hits)
