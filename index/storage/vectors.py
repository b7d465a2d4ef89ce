"""FAISS vector stores: one exact inner-product index per kind + embedder + version.

Each store is an `IndexIDMap2(IndexFlatIP(dim))` whose ids are catalog ids
(clips.clip_key / passages.passage_key), over L2-normalised vectors, so scores
are cosine similarities in [-1, 1].

Crash safety. A store is never modified in place on disk. A write saves the
whole index as a new generation file `<store>.g<N>.faiss` (written to a
temporary name, fsynced, then `os.replace`d), and the catalog's `stores` row
is pointed at it, with its generation N and the file's sha256, in the same
DuckDB transaction as the rows it indexes. A crash before that commit leaves
the old generation (still named by the catalog) untouched and a stray new
file; a crash after it leaves a stray old file. Stray files are removed by the
next write (`sweep_stray_files`). Opening a store checks the file against the
catalog: its name carries the catalog's generation, its bytes hash to the
recorded sha256, its size and dimension agree; any mismatch is StoreCorrupt,
which `formscout index verify` reports and `formscout index repair` fixes.

Filtering (test/side, excluded athletes) passes the allowed catalog ids to
FAISS as an IDSelectorBatch, so k neighbours always come from the allowed set.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Iterator

import faiss
import numpy as np

from index.storage.catalog import StoreRecord
from tools.core.errors import InputError

log = logging.getLogger(__name__)

_FILE_RE = re.compile(r"^(?P<name>.+)\.g(?P<gen>\d+)\.faiss$")
SMALL_BATCH = 20  # faiss' own threshold: fewer queries than this run single-threaded faster
PREFILTER_SHARE = 0.5  # filters allowing at most this share of a store are searched as a subset
SUBSET_CACHE = 16      # gathered subsets kept per store (about 1/12 of the store's memory each)


class StoreCorrupt(InputError):
    """A FAISS file is missing or disagrees with the catalog (run `formscout index rebuild`)."""


def store_name(kind: str, embedder: str, version: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9_.+-]", "_", f"{kind}-{embedder}-{version}")
    return safe


@contextmanager
def _omp_threads(n: int) -> Iterator[None]:
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(n)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


class VectorStore:
    """An in-memory FAISS index plus the catalog record describing it."""

    def __init__(self, record: StoreRecord, index: faiss.Index) -> None:
        self.record = record
        self.index = index
        self._positions: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # sorted ids, rows, ids
        self._subsets: OrderedDict[bytes, tuple[np.ndarray, np.ndarray]] = OrderedDict()  # LRU of gathered rows

    # ----- construction -------------------------------------------------------------
    @classmethod
    def empty(cls, kind: str, embedder: str, version: str, dim: int) -> "VectorStore":
        rec = StoreRecord(store_name=store_name(kind, embedder, version), kind=kind, embedder=embedder,
                          embedder_version=version, dim=int(dim), generation=0, file="", n_vectors=0)
        return cls(rec, faiss.IndexIDMap2(faiss.IndexFlatIP(int(dim))))

    @classmethod
    def load(cls, folder: Path, record: StoreRecord) -> "VectorStore":
        """The store the catalog record names, checked against it (generation, sha256, size, dimension)."""
        path = folder / record.file
        fix = "run `formscout index repair`"
        match = _FILE_RE.match(record.file or "")
        if match is None or match["name"] != record.store_name or int(match["gen"]) != record.generation:
            raise StoreCorrupt(f"store {record.store_name}: the catalog names file {record.file!r} for generation "
                               f"{record.generation}; {fix}")
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise StoreCorrupt(f"FAISS file {path} named by the catalog is missing; {fix}") from None
        if record.file_sha256 and hashlib.sha256(data).hexdigest() != record.file_sha256:
            raise StoreCorrupt(f"FAISS file {path} is not the generation {record.generation} the catalog "
                               f"recorded (its sha256 differs); {fix}")
        try:
            index = faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))
        except RuntimeError as exc:
            raise StoreCorrupt(f"cannot read FAISS file {path} ({exc}); {fix}") from exc
        if index.d != record.dim or index.ntotal != record.n_vectors:
            raise StoreCorrupt(f"FAISS file {path} holds {index.ntotal} x {index.d} vectors, the catalog "
                               f"expects {record.n_vectors} x {record.dim}; {fix}")
        return cls(record, index)

    @classmethod
    def from_vectors(cls, kind: str, embedder: str, version: str, keys: np.ndarray,
                     vectors: np.ndarray, dim: int) -> "VectorStore":
        store = cls.empty(kind, embedder, version, dim)
        store.add(keys, vectors)
        return store

    # ----- facts ---------------------------------------------------------------------
    @property
    def dim(self) -> int:
        return int(self.index.d)

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def ids(self) -> np.ndarray:
        """The catalog ids held, int64[N] (insertion order)."""
        return faiss.vector_to_array(self.index.id_map).astype(np.int64)

    # ----- changes (in memory; `write` persists) ----------------------------------------
    def add(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        keys = np.ascontiguousarray(keys, dtype=np.int64)
        if len(keys) == 0:
            return
        if vectors.ndim != 2 or vectors.shape[1] != self.dim or len(vectors) != len(keys):
            raise ValueError(f"store {self.record.store_name}: expected [{len(keys)}, {self.dim}] vectors, "
                             f"got {vectors.shape}")
        self.index.add_with_ids(vectors, keys)
        self._positions = None
        self._subsets.clear()

    def remove(self, keys: np.ndarray) -> int:
        keys = np.ascontiguousarray(keys, dtype=np.int64)
        if len(keys) == 0:
            return 0
        self._positions = None
        self._subsets.clear()
        return int(self.index.remove_ids(faiss.IDSelectorBatch(keys)))

    # ----- persistence ------------------------------------------------------------------------
    def write(self, folder: Path) -> StoreRecord:
        """Save as the next generation file (temp file + fsync + os.replace); returns the new record.

        The caller commits the returned record to the catalog together with its rows.
        """
        folder.mkdir(parents=True, exist_ok=True)
        gen = self.record.generation + 1
        final = folder / f"{self.record.store_name}.g{gen}.faiss"
        tmp = folder / f".{final.name}.tmp"
        data = faiss.serialize_index(self.index).tobytes()
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, final)
        _fsync_dir(folder)
        self.record = replace(self.record, generation=gen, file=final.name, n_vectors=len(self),
                              file_sha256=hashlib.sha256(data).hexdigest())
        return self.record

    # ----- search --------------------------------------------------------------------------------
    def search(self, queries: np.ndarray, k: int,
               allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (similarities float32[nq, <=k], catalog ids int64[nq, <=k]), best first.

        `allowed`: only these catalog ids may be returned (None = all). Missing
        slots (fewer than k candidates) are dropped.
        """
        q = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        if q.shape[1] != self.dim:
            raise InputError(f"query has {q.shape[1]} dims, store {self.record.store_name} has {self.dim}: "
                             "the query was embedded by another embedder or version")
        if k < 1:
            raise InputError(f"k must be at least 1, got {k}")
        if len(self) == 0 or (allowed is not None and len(allowed) == 0):
            return np.zeros((len(q), 0), np.float32), np.zeros((len(q), 0), np.int64)
        if allowed is not None and len(allowed) <= PREFILTER_SHARE * len(self):
            return self._search_subset(q, int(k), np.asarray(allowed, dtype=np.int64))
        params = None
        if allowed is not None:
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(np.ascontiguousarray(allowed, np.int64)))
        k_eff = min(int(k), len(self) if allowed is None else min(len(self), len(allowed)))
        with _omp_threads(1 if len(q) < SMALL_BATCH else faiss.omp_get_max_threads()):
            sims, ids = self.index.search(q, k_eff, params=params)
        keep = ids[0] >= 0 if len(q) == 1 else (ids >= 0).all(axis=0)
        return sims[:, keep], ids[:, keep]

    def _search_subset(self, q: np.ndarray, k: int, allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exact inner-product top-k over only the allowed ids, read from the flat index's own rows.

        A selective filter (one test and side is about 1/12 of a library) then
        costs a matrix-vector product over that share instead of a full scan
        with a per-id membership test. The gathered rows of the last
        SUBSET_CACHE filters are kept (dropped on any change to the store).
        """
        digest = hashlib.blake2b(allowed.tobytes(), digest_size=16).digest()
        if digest in self._subsets:
            self._subsets.move_to_end(digest)
            sub_ids, sub_vecs = self._subsets[digest]
        else:
            if self._positions is None:
                ids = self.ids()                      # catalog id of each row of the flat index
                order = np.argsort(ids, kind="stable")
                self._positions = (ids[order], order, ids)
            sorted_ids, order, row_ids = self._positions
            idx = np.clip(np.searchsorted(sorted_ids, allowed), 0, len(sorted_ids) - 1)
            rows = np.sort(order[idx[sorted_ids[idx] == allowed]])      # rows of the allowed ids held
            flat = faiss.downcast_index(self.index.index)
            xb = faiss.rev_swig_ptr(flat.get_xb(), len(self) * self.dim).reshape(len(self), self.dim)
            sub_ids, sub_vecs = row_ids[rows], np.ascontiguousarray(xb[rows])
            self._subsets[digest] = (sub_ids, sub_vecs)
            while len(self._subsets) > SUBSET_CACHE:
                self._subsets.popitem(last=False)
        if len(sub_ids) == 0:
            return np.zeros((len(q), 0), np.float32), np.zeros((len(q), 0), np.int64)
        sims = q @ sub_vecs.T                                           # [nq, n_allowed]
        k_eff = min(k, sims.shape[1])
        top = np.argpartition(-sims, k_eff - 1, axis=1)[:, :k_eff]
        top_sims = np.take_along_axis(sims, top, axis=1)
        best = np.take_along_axis(top, np.argsort(-top_sims, axis=1, kind="stable"), axis=1)
        return np.take_along_axis(sims, best, axis=1).astype(np.float32), sub_ids[best].astype(np.int64)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems do not support fsync on directories
    finally:
        os.close(fd)


def sweep_stray_files(folder: Path, referenced: set[str]) -> list[Path]:
    """Delete FAISS files the catalog does not name (left by an interrupted write); returns them."""
    removed = []
    if not folder.exists():
        return removed
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.name not in referenced and (
                _FILE_RE.match(path.name) or path.name.endswith(".faiss.tmp")):
            path.unlink()
            removed.append(path)
    return removed
