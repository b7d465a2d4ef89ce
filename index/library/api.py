"""The clip library as one object: add physio-labelled clips, search, read, maintain, erase.

`Library` is LibraryCore (index.library.core: the catalog under its
inter-process lock, the FAISS stores, the one commit) with each job's module
behind a method:

  add_labels      index.library.adding    labels CSV -> skeletons, vectors, rows (batch commits)
  sync_passages   index.library.passages  the rubric passages of knowledge/
  search_clips    index.library.search    nearest clips in motion (same embedder version only)
  search_passages index.library.search    nearest rubric passages in meaning
  verify          index.library.verify    catalog vs FAISS vs files
  rebuild/repair  index.library.repair    FAISS stores from the catalog; fix what verify finds
  erase_athlete   index.library.erase     GDPR erasure of rows, files, vectors, run folders

`record_run` / `record_output` (index.library.runs) file screening runs and
what they wrote under an athlete without opening a whole Library.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import numpy as np

from index.library import adding, erase, passages, repair, search, verify
from index.library.core import SYNTHETIC_PREFIX, LibraryCore, Progress
from index.library.results import (AddSummary, ClipHit, EraseReport, PassageHit, RepairReport, SearchResult,
                                   VerifyReport)
from index.library.runs import record_output, record_run
from tools.core.errors import InputError
from tools.core.skeleton import Skeleton

__all__ = ["Library", "record_run", "record_output", "AddSummary", "ClipHit", "PassageHit", "SearchResult",
           "VerifyReport", "RepairReport", "EraseReport", "Progress", "SYNTHETIC_PREFIX"]


class Library(LibraryCore):
    """A FormScout clip library (catalog + stores + files). Use as a context manager.

    Opening it takes the catalog lock (shared with `read_only=True`, else exclusive) until `close()`.
    """

    # ----- adding ---------------------------------------------------------------------------------
    def add_labels(self, labels_csv: str | Path, clips_dir: str | Path | None = None, *, keep_video: bool = False,
                   batch_size: int = 128, workers: int | None = None, progress: Progress | None = None,
                   skip_bad: bool = False) -> AddSummary:
        """Check a labels CSV and add its consented clips (index.library.adding)."""
        return adding.add_labels(self, labels_csv, clips_dir, keep_video=keep_video, batch_size=batch_size,
                                 workers=workers, progress=progress, skip_bad=skip_bad)

    def sync_passages(self, items: Iterable[Any]) -> dict:
        """Make the indexed rubric passages equal to `items` (index.library.passages)."""
        return passages.sync_passages(self, items)

    # ----- search ---------------------------------------------------------------------------------
    def search_clips(self, query: Skeleton | str | Path | np.ndarray, *, test: str | None = None,
                     side: str | None = None, k: int = 5, exclude_clip_id: str | None = None,
                     exclude_athlete: str | None = None) -> SearchResult:
        """The k clips most similar in motion to `query` (a Skeleton, .npz/video path, clip id or vector)."""
        return search.search_clips(self, query, test=test, side=side, k=k, exclude_clip_id=exclude_clip_id,
                                   exclude_athlete=exclude_athlete, skeleton_from_video=adding.skeleton_from_video)

    def search_passages(self, text: str, *, test: str | None = None, k: int = 5) -> SearchResult:
        return search.search_passages(self, text, test=test, k=k)

    def allowed_clip_keys(self, test: str | None, side: str | None, exclude_athlete: str | None) -> np.ndarray:
        return search.allowed_clip_keys(self, test, side, exclude_athlete)

    # ----- reading ----------------------------------------------------------------------------------
    def show(self, clip_id: str) -> dict:
        rec = self.catalog.clip(clip_id)
        if rec is None:
            raise InputError(f"no clip {clip_id!r} in the library {self.paths.db}; "
                             "`formscout index stats` lists what is there")
        out = rec.to_dict()
        out["skeleton_file"] = str(self.paths.abs(rec.skeleton_path))
        out["skeleton_file_exists"] = self.paths.abs(rec.skeleton_path).exists()
        if rec.video_path:
            out["video_file"] = str(self.paths.abs(rec.video_path))
        out["athlete"] = self.catalog.athlete(rec.athlete_id)
        for key in ("created", "updated"):
            if out["athlete"] and out["athlete"].get(key) is not None:
                out["athlete"][key] = out["athlete"][key].isoformat(timespec="seconds") + "Z"
        out["vectors"] = [{"embedder": e, "version": v} for kd, e, v, _ in self.catalog.vector_versions()
                          if kd == "clip" and self._has_vector(rec.clip_key, e, v)]
        return out

    def _has_vector(self, key: int, embedder: str, version: str) -> bool:
        return self.catalog.con.execute(
            "SELECT count(*) FROM vectors WHERE kind = 'clip' AND item_key = ? AND embedder = ? "
            "AND embedder_version = ?", [key, embedder, version]).fetchone()[0] > 0

    def stats(self) -> dict:
        out = self.catalog.stats()
        out["db"] = str(self.paths.db)
        out["data_folder"] = str(self.paths.root)
        out["stores"] = [{"store": r.store_name, "file": r.file, "vectors": r.n_vectors, "dim": r.dim,
                          "generation": r.generation} for r in self.catalog.stores().values()]
        emb = self.motion_embedder
        out["motion_embedder"] = {"name": emb.name, "version": emb.version, "dim": emb.dim}
        return out

    # ----- runs -------------------------------------------------------------------------------------
    def record_run(self, **run: Any) -> None:
        """Record a screening run (fields of index.storage.catalog.Catalog.insert_run)."""
        self._require_writable()
        with self.catalog.transaction():
            self.catalog.insert_run(**run)

    # ----- maintenance ----------------------------------------------------------------------------------
    def verify(self, fix_stray: bool = True) -> VerifyReport:
        return verify.verify(self, fix_stray=fix_stray)

    def rebuild(self, reembed: bool = False, progress: Progress | None = None) -> dict:
        return repair.rebuild(self, reembed=reembed, progress=progress)

    def repair(self) -> RepairReport:
        return repair.repair(self)

    def erase_athlete(self, athlete_id: str) -> EraseReport:
        return erase.erase_athlete(self, athlete_id)
