"""Adding physio-labelled clips to the library (`formscout index add LABELS.csv --clips DIR`).

1. The whole CSV is checked first (index.library.labels.check_labels): every
   row's fate is known before anything is written. A file with invalid rows
   adds nothing (LabelsInvalid lists them) unless `skip_bad` is set, which adds
   the valid rows and lists the others.
2. Batch by batch, with the catalog released to other commands
   (LibraryCore.unlocked): each row's file is hashed; a video goes through
   pose + 3D lift (tools.pose, tools.geometry) into a skeleton, a .npz is
   copied; the raw video is copied only with keep_video. Everything lands in a
   private staging folder, and the batch is embedded (in worker processes for
   large imports).
3. Under the catalog lock, one commit (LibraryCore.commit) per batch: clip ids
   that arrived meanwhile are skipped, the staged files are renamed into the
   library's folders, and athletes, clips, vectors and the new FAISS generation
   commit together. Either all of a batch is in the library or none of it; a
   batch killed half-way leaves only stray files, which the next write sweeps.
A clip id already in the catalog with the same file is a duplicate (re-adding
is idempotent); with another file it is a conflict and is not replaced.
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from index.embedders.base import Embedder
from index.library.core import SYNTHETIC_PREFIX, LibraryCore, Progress
from index.library.labels import LabelRow, LabelsInvalid, check_labels
from index.library.results import AddSummary
from index.library.verify import sweep
from index.storage.catalog import ClipRecord, utc_now
from tools.core.errors import BackendUnavailable, InputError
from tools.core.files import file_sha256
from tools.core.skeleton import Skeleton

log = logging.getLogger(__name__)

PARALLEL_MIN_ROWS = 200  # below this, starting worker processes costs more than it saves
_WORKER_EMBEDDER: Embedder | None = None


def atomic_copy(src: Path, dst: Path) -> None:
    """Copy src to dst via a temp file and rename (never a half-written dst)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.tmp")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


def skeleton_from_video(path: Path, backend: str = "mediapipe", source_sha256: str | None = None) -> Skeleton:
    """Pose + 3D lift of a video into the canonical Skeleton (tools.pose.backends, tools.geometry.lift3d)."""
    try:
        from tools.geometry.lift3d import to_skeleton
        from tools.pose.backends import estimate_pose
    except ImportError as exc:
        raise BackendUnavailable(f"adding a video needs the pose tools (tools.pose.backends, tools.geometry.lift3d): "
                                 f"{exc}. Add the clip's skeleton (.npz) instead") from exc
    pose = estimate_pose(path, backend=backend)
    return to_skeleton(pose, {"source": path.name, "source_sha256": source_sha256, "pose_backend": backend})


# ----- parallel load + embed ----------------------------------------------------------------------
def _init_worker(embedder: Embedder) -> None:
    global _WORKER_EMBEDDER  # one per worker process, set once by the pool initializer
    _WORKER_EMBEDDER = embedder


def _load_and_embed(path: str, embedder: Embedder | None = None) -> tuple[np.ndarray, int, float] | str:
    """(vector [dim], n_frames, fps) of a stored skeleton, or the reason it cannot be loaded."""
    emb = embedder or _WORKER_EMBEDDER
    try:
        skel = Skeleton.load(path)
        return emb.embed([skel])[0], skel.n_frames, skel.fps
    except InputError as exc:
        return str(exc)


@contextmanager
def _embed_pool(embedder: Embedder, workers: int) -> Iterator["ProcessPoolExecutor | None"]:
    """A process pool holding the embedder (None when workers <= 1 or it cannot be pickled)."""
    if workers <= 1:
        yield None
        return
    try:
        pickle.dumps(embedder)
    except (pickle.PicklingError, TypeError, AttributeError):
        log.info("index add: embedder %s cannot be sent to worker processes; embedding in-process", embedder.name)
        yield None
        return
    ctx = multiprocessing.get_context("forkserver" if "forkserver" in multiprocessing.get_all_start_methods()
                                      else "spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker,
                             initargs=(embedder,)) as pool:
        yield pool


# ----- one batch ------------------------------------------------------------------------------------
@dataclass
class _Staged:
    row: LabelRow
    sha: str
    skeleton: Path               # in the staging folder
    video: Path | None           # staged copy of the raw video (keep_video), else None
    vector: np.ndarray | None = None
    n_frames: int = 0
    fps: float = 0.0


def _known_reason(known_sha: str, sha: str) -> tuple[str, str]:
    if known_sha == sha:
        return "duplicate", "already in the library (same file)"
    return "conflict", ("clip_id already in the library with a different file: erase it first or give this "
                        "clip a new clip_id")


def _stage(lib: LibraryCore, batch: Sequence[LabelRow], known: dict[str, str], keep_video: bool,
           summary: AddSummary, pool, folder: Path) -> list[_Staged]:
    """Hash, convert and embed a batch into `folder` (no catalog needed)."""
    staged: list[_Staged] = []
    for row in batch:
        sha = file_sha256(row.file)
        if row.clip_id in known:
            fate, reason = _known_reason(known[row.clip_id], sha)
            summary.skipped.append({"row": row.row, "clip_id": row.clip_id, "reason": reason})
            summary.fate(row.row, row.clip_id, fate, reason)
            continue
        skel_path = folder / f"{row.clip_id}.npz"
        video = None
        try:
            if row.source_kind == "skeleton":
                atomic_copy(row.file, skel_path)
            else:
                skeleton_from_video(row.file, lib.pose_backend, sha).save(skel_path)
                if keep_video:
                    video = folder / f"{row.clip_id}{row.file.suffix.lower()}"
                    atomic_copy(row.file, video)
        except InputError as exc:
            summary.failed.append({"row": row.row, "clip_id": row.clip_id, "reason": str(exc)})
            summary.fate(row.row, row.clip_id, "failed", str(exc))
            continue
        staged.append(_Staged(row, sha, skel_path, video))
    paths = [str(s.skeleton) for s in staged]
    results = None
    if pool is not None and not getattr(pool, "formscout_broken", False):
        try:
            results = list(pool.map(_load_and_embed, paths, chunksize=8))
        except BrokenProcessPool as exc:  # e.g. workers cannot start here: carry on in-process
            log.warning("index add: worker processes failed (%s); embedding in-process", exc)
            pool.formscout_broken = True
    if results is None:
        results = [_load_and_embed(p, lib.motion_embedder) for p in paths]
    good = []
    for s, res in zip(staged, results):
        if isinstance(res, str):       # the skeleton could not be loaded: the row fails
            summary.failed.append({"row": s.row.row, "clip_id": s.row.clip_id, "reason": res})
            summary.fate(s.row.row, s.row.clip_id, "failed", res)
            continue
        s.vector, s.n_frames, s.fps = res
        good.append(s)
    return good


def _commit_batch(lib: LibraryCore, staged: list[_Staged], known: dict[str, str], summary: AddSummary) -> None:
    """Move a staged batch into the library and commit it (under the catalog lock)."""
    emb = lib.motion_embedder
    arrived = lib.catalog.clip_sources(s.row.clip_id for s in staged)     # added by another command meanwhile
    fresh = []
    for s in staged:
        if s.row.clip_id in arrived:
            fate, reason = _known_reason(arrived[s.row.clip_id], s.sha)
            summary.skipped.append({"row": s.row.row, "clip_id": s.row.clip_id, "reason": reason})
            summary.fate(s.row.row, s.row.clip_id, fate, reason)
        else:
            fresh.append(s)
    if not fresh:
        return
    paths = lib.paths
    with lib.commit() as c:
        keys = c.catalog.next_keys(len(fresh))
        now = utc_now()
        records = []
        for key, s in zip(keys, fresh):
            row = s.row
            skel_rel = paths.skeleton_rel(row.athlete_id, row.clip_id)
            video_rel = paths.video_rel(row.athlete_id, row.clip_id, row.file.suffix) if s.video else None
            for src, rel in ((s.skeleton, skel_rel), (s.video, video_rel)):
                if src is not None:
                    paths.abs(rel).parent.mkdir(parents=True, exist_ok=True)
                    os.replace(src, paths.abs(rel))
            records.append(ClipRecord(
                clip_id=row.clip_id, athlete_id=row.athlete_id, date=row.iso_date, test_name=row.test_name,
                side=row.side, score=row.score, pain=row.pain, compensation_notes=row.compensation_notes,
                camera_view=row.camera_view, consent_on_file=True, skeleton_path=skel_rel,
                source_kind=row.source_kind, source_sha256=s.sha, embedder=emb.name, embedder_version=emb.version,
                video_path=video_rel, source_name=row.file.name, n_frames=s.n_frames, fps=s.fps,
                synthetic=row.athlete_id.startswith(SYNTHETIC_PREFIX), clip_key=key, added=now))
        for row in {s.row.athlete_id: s.row for s in fresh}.values():
            c.catalog.upsert_athlete(row.athlete_id, True, row.minor, row.guardian_consent,
                                     row.athlete_id.startswith(SYNTHETIC_PREFIX))
        c.catalog.insert_clips(records)
        vectors = np.stack([s.vector for s in fresh])
        c.catalog.insert_vectors("clip", keys, emb.name, emb.version, vectors)
        store = c.store("clip", emb)
        store.add(np.asarray(keys, dtype=np.int64), vectors)
    for rec in records:
        known[rec.clip_id] = rec.source_sha256
        summary.added.append({"clip_id": rec.clip_id, "athlete_id": rec.athlete_id,
                              "test_name": rec.test_name, "side": rec.side, "score": rec.score})
        summary.fate(next(s.row.row for s in fresh if s.row.clip_id == rec.clip_id), rec.clip_id, "added")
    log.info("index add: committed a batch of %d clips (library now %d in %s)",
             len(records), len(store), store.record.file)


# ----- the whole file ---------------------------------------------------------------------------------
def add_labels(lib: LibraryCore, labels_csv: str | Path, clips_dir: str | Path | None = None, *,
               keep_video: bool = False, batch_size: int = 128, workers: int | None = None,
               progress: Progress | None = None, skip_bad: bool = False) -> AddSummary:
    """Check a labels CSV and add its consented clips (see the module docstring).

    `workers`: processes that load and embed skeletons in parallel (default 1;
    worth it only for large imports on otherwise idle cores, as each worker
    pays about a second of start-up; below PARALLEL_MIN_ROWS new rows the work
    stays in-process). `skip_bad`: add the valid rows of a CSV that has invalid
    ones (listed in the summary) instead of adding nothing.
    """
    lib._require_writable()
    if batch_size < 1:
        raise InputError(f"batch size must be at least 1, got {batch_size}")
    t0 = time.perf_counter()
    check = check_labels(labels_csv, clips_dir)
    if check.invalid and not skip_bad:
        raise LabelsInvalid(check)
    emb = lib.motion_embedder
    summary = AddSummary(db=str(lib.paths.db), embedder=emb.name, embedder_version=emb.version,
                         refused=[r.to_dict() for r in check.refused])
    for r in check.refused:
        summary.fate(r.row, r.clip_id, "refused", r.reason)
    for line, problems in check.invalid_rows().items():
        reason = "; ".join(f"{p.field}: {p.reason}" for p in problems)
        summary.invalid.append({"row": line, "clip_id": problems[0].clip_id, "reason": reason})
        summary.fate(line, problems[0].clip_id, "invalid", reason)
    rows = check.rows
    sweep(lib)
    known = lib.catalog.clip_sources(r.clip_id for r in rows)
    workers = 1 if workers is None or len(rows) - len(known) < PARALLEL_MIN_ROWS else int(workers)
    with _embed_pool(emb, workers) as pool:
        done = 0
        for start in range(0, len(rows), batch_size):
            batch = rows[start:start + batch_size]
            with lib.unlocked():
                folder = lib.staging_folder()
                try:
                    staged = _stage(lib, batch, known, keep_video, summary, pool, folder)
                except BaseException:
                    shutil.rmtree(folder, ignore_errors=True)
                    raise
            try:
                if staged:
                    _commit_batch(lib, staged, known, summary)
            finally:
                shutil.rmtree(folder, ignore_errors=True)
            done += len(batch)
            if progress is not None:
                progress(done, len(rows))
    summary.seconds = round(time.perf_counter() - t0, 3)
    log.info("index add: %d added, %d skipped, %d refused, %d invalid, %d failed in %.1f s (%s %s, %d worker(s))",
             len(summary.added), len(summary.skipped), len(summary.refused), len(summary.invalid),
             len(summary.failed), summary.seconds, emb.name, emb.version, workers)
    return summary
