"""The library's state and its one way to write: catalog + FAISS stores + files, behind the catalog lock.

`LibraryCore` opens the catalog (index.storage.catalog.Catalog, which holds the
inter-process lock: shared when read-only, exclusive otherwise) and caches the
FAISS stores it names. Every change goes through `commit()`:

    with lib.commit() as c:
        c.catalog.insert_clips(...)                 # rows, in one DuckDB transaction
        c.store("clip", embedder).add(keys, vecs)   # the store's new vectors, in memory
    # on leaving the block: each changed store is written as its next generation
    # file (temp + fsync + rename), the catalog row pointed at it, everything
    # committed together; then the superseded FAISS files are deleted.

A failure anywhere inside rolls the transaction back and drops the cached
stores (a new generation file already written is a stray that the next write
sweeps). A store is only written on top of the generation the catalog still
names; a stale cached store (another command wrote since) is an error, never
an overwrite. `unlocked()` lets a long write (index add posing and embedding a
batch) release the catalog to other commands while it works without it.
The add / search / maintenance modules are functions over a LibraryCore;
index.library.api.Library puts them together as methods.
"""
from __future__ import annotations

import logging
import os
import secrets
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from index.embedders.base import Embedder
from index.embedders.registry import DEFAULT_MOTION_EMBEDDER, DEFAULT_TEXT_EMBEDDER, get_embedder
from index.storage.catalog import Catalog
from index.storage.paths import LibraryPaths
from index.storage.vectors import VectorStore, store_name
from tools.core.errors import InputError

log = logging.getLogger(__name__)

SYNTHETIC_PREFIX = "SYN-"
Progress = Callable[[int, int], None]  # (rows done, rows total)


@dataclass
class Commit:
    """The pending write inside `LibraryCore.commit()`: the catalog (inside its transaction) and the stores."""

    lib: "LibraryCore"
    changed: dict[str, VectorStore] = field(default_factory=dict)
    dropped: dict[str, str] = field(default_factory=dict)   # store name -> its file, for stores removed

    @property
    def catalog(self) -> Catalog:
        return self.lib.catalog

    def store(self, kind: str, embedder: Embedder) -> VectorStore:
        """The store of `kind` for `embedder` (cached or loaded), to be written when the commit ends."""
        s = self.lib.store(kind, embedder)
        self.changed[s.record.store_name] = s
        return s

    def put_store(self, store: VectorStore) -> None:
        """Write `store` (built from scratch, e.g. from the catalog's vectors) when the commit ends."""
        self.changed[store.record.store_name] = store

    def drop_store(self, name: str) -> None:
        """Remove store `name` from the catalog; its file is deleted after the commit."""
        rec = self.catalog.stores().get(name)
        if rec is not None:
            self.catalog.con.execute("DELETE FROM stores WHERE store_name = ?", [name])
            self.dropped[name] = rec.file
        self.changed.pop(name, None)


class LibraryCore:
    """A FormScout clip library (catalog + stores + files), opened under the catalog lock. A context manager."""

    def __init__(self, db=None, *, read_only: bool = False,
                 motion_embedder: Embedder | str = DEFAULT_MOTION_EMBEDDER,
                 text_embedder: Embedder | str = DEFAULT_TEXT_EMBEDDER,
                 pose_backend: str = "mediapipe", lock_timeout_s: float | None = None) -> None:
        self.paths = LibraryPaths.for_db(db)
        self.read_only = read_only
        self.lock_timeout_s = lock_timeout_s
        self.catalog = Catalog(self.paths.db, read_only=read_only, lock_timeout_s=lock_timeout_s)
        self._motion = motion_embedder
        self._text = text_embedder
        self.pose_backend = pose_backend
        self._stores: dict[str, VectorStore] = {}
        self._filter_columns: dict[str, np.ndarray] | None = None

    def close(self) -> None:
        self.catalog.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _require_writable(self) -> None:
        if self.read_only:
            raise InputError("this library was opened read-only; open it without read_only to change it")

    # ----- embedders -----------------------------------------------------------------------------
    @property
    def motion_embedder(self) -> Embedder:
        if isinstance(self._motion, str):
            emb = get_embedder(self._motion)
            if emb.modality != "motion":
                raise InputError(f"{self._motion!r} is a {emb.modality} embedder; clips need a motion "
                                 "embedder (kinematic or stgcn)")
            self._motion = emb
        return self._motion

    @property
    def text_embedder(self) -> Embedder:
        if isinstance(self._text, str):
            emb = get_embedder(self._text)
            if emb.modality != "text":
                raise InputError(f"{self._text!r} is a {emb.modality} embedder; passages need a text embedder")
            self._text = emb
        return self._text

    # ----- stores ----------------------------------------------------------------------------------
    def store(self, kind: str, embedder: Embedder) -> VectorStore:
        """The store of `kind` for this embedder's name and version (empty if none yet), checked at load."""
        name = store_name(kind, embedder.name, embedder.version)
        if name not in self._stores:
            rec = self.catalog.stores().get(name)
            self._stores[name] = (VectorStore.load(self.paths.faiss, rec) if rec is not None
                                  else VectorStore.empty(kind, embedder.name, embedder.version, embedder.dim))
        return self._stores[name]

    def forget_stores(self) -> None:
        """Drop cached stores and filter columns (reloaded from the catalog on next use)."""
        self._stores.clear()
        self._filter_columns = None

    def drop_file(self, name: str | None) -> None:
        """Delete a superseded FAISS file (after the commit that stopped naming it)."""
        if name:
            try:
                (self.paths.faiss / name).unlink()
            except FileNotFoundError:
                pass

    # ----- writing -----------------------------------------------------------------------------------
    @contextmanager
    def commit(self) -> Iterator[Commit]:
        """One all-or-nothing write of rows and stores (see the module docstring)."""
        self._require_writable()
        pending = Commit(self)
        old_files: list[str] = []
        try:
            with self.catalog.transaction():
                yield pending
                current = self.catalog.stores()
                for name, s in pending.changed.items():
                    rec = current.get(name)
                    if (rec.generation if rec else 0) != s.record.generation:
                        raise RuntimeError(f"store {name}: the catalog is at generation "
                                           f"{rec.generation if rec else 0}, this copy at {s.record.generation}; "
                                           "reopen the library and try again")
                    if rec is not None and rec.file:
                        old_files.append(rec.file)
                    self.catalog.set_store(s.write(self.paths.faiss))
                old_files += list(pending.dropped.values())
        except BaseException:
            self.forget_stores()
            raise
        self._filter_columns = None
        for name in pending.dropped:
            self._stores.pop(name, None)
        for f in old_files:
            self.drop_file(f)

    @contextmanager
    def unlocked(self) -> Iterator[None]:
        """Release the catalog (connection and lock) for the block, so other commands can read and write
        while this one works on files only; reopened (stores reloaded) afterwards. A no-op when the thread
        holds the catalog more than once (an outer Library would lose its connection) or reads only."""
        hold = self.catalog._hold
        if self.read_only or hold is None or hold.nested:
            yield
            return
        self.catalog.close()
        self.forget_stores()
        try:
            yield
        finally:
            self.catalog = Catalog(self.paths.db, read_only=False, lock_timeout_s=self.lock_timeout_s)

    def staging_folder(self) -> Path:
        """A fresh folder for files being prepared outside the lock (never swept while this process lives)."""
        folder = self.paths.staging / f"{os.getpid()}-{secrets.token_hex(4)}"
        folder.mkdir(parents=True, exist_ok=False)
        return folder
