"""The clip library: add physio-labelled clips, search neighbours and rubric passages, record runs.

`Library` ties the catalog (index.storage.catalog), the embedders (index.embedders.registry) and the
FAISS stores (index.storage.vectors) together. Maintenance (verify, rebuild, erase) is in
index.library.maintenance and reachable from here as methods.

Adding clips (`add_labels`), batch by batch:
  1. per row: hash the source file; a clip id already in the catalog with the
     same hash is skipped (re-adding is idempotent), with another hash it is
     skipped with the reason;
  2. skeleton: a .npz is copied as it is; a video goes through tools.pose.backends +
     tools.geometry.lift3d and the skeleton is saved; the raw video is copied only with
     keep_video. Files land at their final path via temp file + rename;
  3. embed the batch with the motion embedder;
  4. one DuckDB transaction inserts athletes, clips and vectors, and points the
     store at a freshly written FAISS generation file. Either all of a batch is
     in the library or none of it; files written for a batch that never
     committed are swept by the next write.
Search never mixes embedder versions: the query is embedded by the library's
motion embedder and searched only in that embedder version's store.
"""
from __future__ import annotations

import hashlib
import logging
import multiprocessing
import os
import pickle
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from index.storage.catalog import Catalog, ClipRecord, PassageRecord, utc_now
from index.embedders.base import Embedder
from index.embedders.registry import DEFAULT_MOTION_EMBEDDER, DEFAULT_TEXT_EMBEDDER, get_embedder
from index.library.labels import LabelRow, read_labels
from tools.core.files import SKELETON_SUFFIXES, VIDEO_SUFFIXES, file_sha256
from index.storage.paths import LibraryPaths
from index.storage.vectors import VectorStore, store_name
from tools.core.errors import BackendUnavailable, InputError
from tools.core.skeleton import Skeleton

log = logging.getLogger(__name__)

SYNTHETIC_PREFIX = "SYN-"
Progress = Callable[[int, int], None]  # (rows done, rows total)


# ----- results -------------------------------------------------------------------------------
@dataclass
class AddSummary:
    """What `add_labels` did, row by row."""

    db: str
    embedder: str
    embedder_version: str
    added: list[dict] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    refused: list[dict] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        d = asdict(self)
        d["counts"] = {k: len(d[k]) for k in ("added", "skipped", "refused", "failed")}
        return d


@dataclass
class ClipHit:
    """A library clip returned by a search (labels as the physio gave them)."""

    clip_id: str
    athlete_id: str
    test_name: str
    side: str
    score: int
    pain: bool
    compensation_notes: str
    camera_view: str
    date: str | None
    synthetic: bool
    similarity: float

    @classmethod
    def from_record(cls, rec: ClipRecord, similarity: float) -> "ClipHit":
        return cls(rec.clip_id, rec.athlete_id, rec.test_name, rec.side, int(rec.score), bool(rec.pain),
                   rec.compensation_notes or "", rec.camera_view or "",
                   rec.date.isoformat() if rec.date else None, bool(rec.synthetic), round(float(similarity), 6))


@dataclass
class PassageHit:
    """A rubric passage returned by a text search (cite it by passage_id)."""

    passage_id: str
    test: str | None
    criterion: str | None
    score_level: int | None
    title: str | None
    text: str
    similarity: float


@dataclass
class SearchResult:
    kind: str                 # "clip" | "passage"
    embedder: str
    embedder_version: str
    filters: dict
    k: int
    hits: list

    def to_dict(self) -> dict:
        return {"kind": self.kind, "embedder": self.embedder, "embedder_version": self.embedder_version,
                "filters": self.filters, "k": self.k, "hits": [asdict(h) for h in self.hits]}


# ----- helpers -------------------------------------------------------------------------------
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
        raise BackendUnavailable(f"adding a video needs the pose tools (tools.pose.backends, tools.geometry.lift3d): {exc}. "
                                 "Add the clip's skeleton (.npz) instead") from exc
    pose = estimate_pose(path, backend=backend)
    return to_skeleton(pose, {"source": path.name, "source_sha256": source_sha256, "pose_backend": backend})


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
    if out["score_level"] not in (None, ""):
        out["score_level"] = int(out["score_level"])
    else:
        out["score_level"] = None
    return out


# ----- parallel load + embed ----------------------------------------------------------------------
PARALLEL_MIN_ROWS = 200  # below this, starting worker processes costs more than it saves
_WORKER_EMBEDDER: Embedder | None = None


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
        log.info("index add: embedder %s cannot be sent to worker processes; embedding in-process",
                 embedder.name)
        yield None
        return
    ctx = multiprocessing.get_context("forkserver" if "forkserver" in multiprocessing.get_all_start_methods()
                                      else "spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker,
                             initargs=(embedder,)) as pool:
        yield pool


# ----- the library ----------------------------------------------------------------------------
class Library:
    """A FormScout clip library (catalog + stores + files). Use as a context manager."""

    def __init__(self, db: str | os.PathLike | None = None, *, read_only: bool = False,
                 motion_embedder: Embedder | str = DEFAULT_MOTION_EMBEDDER,
                 text_embedder: Embedder | str = DEFAULT_TEXT_EMBEDDER,
                 pose_backend: str = "mediapipe") -> None:
        self.paths = LibraryPaths.for_db(db)
        self.catalog = Catalog(self.paths.db, read_only=read_only)
        self.read_only = read_only
        self._motion = motion_embedder
        self._text = text_embedder
        self.pose_backend = pose_backend
        self._stores: dict[str, VectorStore] = {}
        self._filter_columns: dict[str, np.ndarray] | None = None

    def close(self) -> None:
        self.catalog.close()

    def __enter__(self) -> "Library":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ----- embedders and stores ---------------------------------------------------------------
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

    def store(self, kind: str, embedder: Embedder) -> VectorStore:
        """The store of `kind` for this embedder's name and version (empty if none yet)."""
        name = store_name(kind, embedder.name, embedder.version)
        if name not in self._stores:
            rec = self.catalog.stores().get(name)
            self._stores[name] = (VectorStore.load(self.paths.faiss, rec) if rec is not None
                                  else VectorStore.empty(kind, embedder.name, embedder.version, embedder.dim))
        return self._stores[name]

    def forget_stores(self) -> None:
        """Drop cached stores and filter columns (after any write; reloaded from the catalog)."""
        self._stores.clear()
        self._filter_columns = None

    HIT_COLUMNS = ("clip_key", "clip_id", "athlete_id", "test_name", "side", "score", "pain",
                   "compensation_notes", "camera_view", "date", "synthetic")

    def _clip_table(self) -> dict[str, np.ndarray]:
        """In-memory copy of the clip columns searches filter on and return, sorted by clip_key.

        Loaded once per Library (about 0.1 s and a few tens of MB per 100k clips)
        and dropped on every write, so a search touches no SQL at all.
        """
        if self._filter_columns is None:
            data = self.catalog.con.execute(
                f"SELECT {', '.join(self.HIT_COLUMNS)} FROM clips ORDER BY clip_key").fetchnumpy()
            table = {k: np.asarray(v) for k, v in data.items()}
            for col in ("test_name", "side", "athlete_id"):  # integer codes: fast filter masks
                table[col + "_values"], table[col + "_code"] = np.unique(table[col].astype(str),
                                                                         return_inverse=True)
            self._filter_columns = table
        return self._filter_columns

    def allowed_clip_keys(self, test: str | None, side: str | None, exclude_athlete: str | None) -> np.ndarray:
        """Catalog ids of the clips passing the filters."""
        cols = self._clip_table()

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

    def _hits(self, sims: np.ndarray, ids: np.ndarray) -> list[ClipHit]:
        cols = self._clip_table()
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

    def commit_store(self, store: VectorStore) -> str | None:
        """Write a new generation of `store` and point the catalog at it (call inside a transaction).

        Returns the previous generation's file name, to delete after the commit.
        """
        old = store.record.file or None
        self.catalog.set_store(store.write(self.paths.faiss))
        return old

    def drop_old_file(self, name: str | None) -> None:
        if name:
            try:
                (self.paths.faiss / name).unlink()
            except FileNotFoundError:
                pass

    # ----- adding clips ------------------------------------------------------------------------
    def add_labels(self, labels_csv: str | Path, clips_dir: str | Path | None = None, *,
                   keep_video: bool = False, batch_size: int = 128, workers: int | None = None,
                   progress: Progress | None = None) -> AddSummary:
        """Validate a labels CSV and add its consented clips (see the module docstring).

        `workers`: processes that load and embed skeletons in parallel (default 1;
        worth it only for large imports on otherwise idle cores, as each worker
        pays about a second of start-up; below PARALLEL_MIN_ROWS new rows the
        work stays in-process).
        """
        self._require_writable()
        if batch_size < 1:
            raise InputError(f"batch size must be at least 1, got {batch_size}")
        t0 = time.perf_counter()
        rows, refused = read_labels(labels_csv, clips_dir)
        emb = self.motion_embedder
        summary = AddSummary(db=str(self.paths.db), embedder=emb.name, embedder_version=emb.version,
                             refused=[r.to_dict() for r in refused])
        from index.library.maintenance import sweep
        sweep(self)
        known = self.catalog.clip_sources(r.clip_id for r in rows)
        workers = 1 if workers is None or len(rows) - len(known) < PARALLEL_MIN_ROWS else int(workers)
        with _embed_pool(emb, workers) as pool:
            done = 0
            for start in range(0, len(rows), batch_size):
                batch = rows[start:start + batch_size]
                self._add_batch(batch, known, keep_video, summary, pool)
                done += len(batch)
                if progress is not None:
                    progress(done, len(rows))
        summary.seconds = round(time.perf_counter() - t0, 3)
        log.info("index add: %d added, %d skipped, %d refused, %d failed in %.1f s (%s %s, %d worker(s))",
                 len(summary.added), len(summary.skipped), len(summary.refused), len(summary.failed),
                 summary.seconds, emb.name, emb.version, workers)
        return summary

    def _add_batch(self, batch: Sequence[LabelRow], known: dict[str, str], keep_video: bool,
                   summary: AddSummary, pool: "ProcessPoolExecutor | None") -> None:
        emb = self.motion_embedder
        staged: list[tuple[LabelRow, str, str | None, str]] = []  # row, sha, video_rel, skel_rel
        for row in batch:
            sha = file_sha256(row.file)
            if row.clip_id in known:
                reason = ("already in the library (same file)" if known[row.clip_id] == sha else
                          "clip_id already in the library with a different file: erase it first or "
                          "give this clip a new clip_id")
                summary.skipped.append({"row": row.row, "clip_id": row.clip_id, "reason": reason})
                continue
            skel_rel = self.paths.skeleton_rel(row.athlete_id, row.clip_id)
            video_rel = None
            try:
                if row.source_kind == "skeleton":
                    atomic_copy(row.file, self.paths.abs(skel_rel))
                else:
                    skeleton_from_video(row.file, self.pose_backend, sha).save(self.paths.abs(skel_rel))
                    if keep_video:
                        video_rel = self.paths.video_rel(row.athlete_id, row.clip_id, row.file.suffix)
                        atomic_copy(row.file, self.paths.abs(video_rel))
            except InputError as exc:
                summary.failed.append({"row": row.row, "clip_id": row.clip_id, "reason": str(exc)})
                continue
            staged.append((row, sha, video_rel, skel_rel))
        # load + embed the stored skeletons (in worker processes when there is a pool)
        paths = [str(self.paths.abs(s[3])) for s in staged]
        results = None
        if pool is not None and not getattr(pool, "formscout_broken", False):
            try:
                results = list(pool.map(_load_and_embed, paths, chunksize=8))
            except BrokenProcessPool as exc:  # e.g. workers cannot start here: carry on in-process
                log.warning("index add: worker processes failed (%s); embedding in-process", exc)
                pool.formscout_broken = True
        if results is None:
            results = [_load_and_embed(p, emb) for p in paths]
        good = []
        for item, res in zip(staged, results):
            if isinstance(res, str):  # the skeleton could not be loaded: the row fails, its file goes
                summary.failed.append({"row": item[0].row, "clip_id": item[0].clip_id, "reason": res})
                for rel in (item[3], item[2]):
                    if rel:
                        self.paths.abs(rel).unlink(missing_ok=True)
                continue
            good.append((item, res))
        if not good:
            return
        vectors = np.stack([res[0] for _, res in good])
        keys = self.catalog.next_keys(len(good))
        now = utc_now()
        records = [ClipRecord(
            clip_id=row.clip_id, athlete_id=row.athlete_id, date=row.date, test_name=row.test_name,
            side=row.side, score=row.score, pain=row.pain, compensation_notes=row.compensation_notes,
            camera_view=row.camera_view, consent_on_file=True, skeleton_path=skel_rel,
            source_kind=row.source_kind, source_sha256=sha, embedder=emb.name, embedder_version=emb.version,
            video_path=video_rel, source_name=row.file.name, n_frames=n_frames, fps=fps,
            synthetic=row.athlete_id.startswith(SYNTHETIC_PREFIX), clip_key=key, added=now)
            for key, ((row, sha, video_rel, skel_rel), (_, n_frames, fps)) in zip(keys, good)]
        store = self.store("clip", emb)
        try:
            with self.catalog.transaction():
                for row in {item[0].athlete_id: item[0] for item, _ in good}.values():
                    self.catalog.upsert_athlete(row.athlete_id, True, row.minor, row.guardian_consent,
                                                row.athlete_id.startswith(SYNTHETIC_PREFIX))
                self.catalog.insert_clips(records)
                self.catalog.insert_vectors("clip", keys, emb.name, emb.version, vectors)
                store.add(np.asarray(keys, dtype=np.int64), vectors)
                old_file = self.commit_store(store)
        except BaseException:
            self.forget_stores()
            raise
        self.drop_old_file(old_file)
        self._filter_columns = None
        for rec in records:
            known[rec.clip_id] = rec.source_sha256
            summary.added.append({"clip_id": rec.clip_id, "athlete_id": rec.athlete_id,
                                  "test_name": rec.test_name, "side": rec.side, "score": rec.score})
        log.info("index add: committed a batch of %d clips (library now %d in %s)",
                 len(records), len(store), store.record.file)

    # ----- rubric passages -----------------------------------------------------------------------
    def sync_passages(self, passages: Iterable[Any]) -> dict:
        """Make the indexed passages equal to `passages` (Passage objects or dicts with id, test,
        criterion, score_level, title, text): new ones added, changed ones re-embedded, missing removed."""
        self._require_writable()
        wanted = {}
        for p in passages:
            f = passage_fields(p)
            if f["id"] in wanted:
                raise InputError(f"rubric passage id {f['id']!r} appears twice; passage ids must be unique")
            wanted[f["id"]] = f
        emb = self.text_embedder
        have = self.catalog.passages()
        sha = {pid: hashlib.sha256(f"{f['title'] or ''}\n{f['text']}".encode()).hexdigest()
               for pid, f in wanted.items()}
        remove = [rec for pid, rec in have.items() if pid not in wanted or rec.text_sha256 != sha[pid]]
        add = [pid for pid in wanted if pid not in have or have[pid].text_sha256 != sha[pid]]
        # a store of another version would not get the new passages: only the current version is kept
        unchanged = len(wanted) - len(add)
        if not add and not remove:
            return {"added": 0, "removed": 0, "unchanged": unchanged, "embedder": emb.name,
                    "embedder_version": emb.version}
        texts = [f"{wanted[pid]['title'] or ''}. {wanted[pid]['text']}".strip(". ") for pid in add]
        vectors = emb.embed(texts) if add else np.zeros((0, emb.dim), np.float32)
        keys = self.catalog.next_keys(len(add))
        store = self.store("passage", emb)
        try:
            with self.catalog.transaction():
                self.catalog.delete_passages([r.passage_key for r in remove])
                store.remove(np.asarray([r.passage_key for r in remove], dtype=np.int64))
                self.catalog.insert_passages([PassageRecord(
                    k, pid, wanted[pid]["test"], wanted[pid]["criterion"], wanted[pid]["score_level"],
                    wanted[pid]["title"], wanted[pid]["text"], sha[pid]) for k, pid in zip(keys, add)])
                self.catalog.insert_vectors("passage", keys, emb.name, emb.version, vectors)
                store.add(np.asarray(keys, dtype=np.int64), vectors)
                old_file = self.commit_store(store)
        except BaseException:
            self.forget_stores()
            raise
        self.drop_old_file(old_file)
        removed = len([r for r in remove if r.passage_id not in add])
        return {"added": len(add), "removed": removed, "unchanged": unchanged,
                "embedder": emb.name, "embedder_version": emb.version}

    def search_passages(self, text: str, *, test: str | None = None, k: int = 5) -> SearchResult:
        """Rubric passages closest in meaning to `text` (test-specific and general ones when `test` is set)."""
        if not str(text).strip():
            raise InputError("--text is empty: give a question or phrase to search the rubric with")
        emb = self.text_embedder
        store = self._search_store("passage", emb)
        allowed = self.catalog.passage_keys(test) if test else None
        sims, ids = store.search(emb.embed([text]), k, allowed)
        recs = self.catalog.passages_by_keys(ids[0].tolist())
        hits = [PassageHit(r.passage_id, r.test, r.criterion, r.score_level, r.title, r.text, round(float(s), 6))
                for s, i in zip(sims[0], ids[0]) if (r := recs.get(int(i))) is not None]
        return SearchResult("passage", emb.name, emb.version, {"test": test}, k, hits)

    # ----- clip search ------------------------------------------------------------------------------
    def _search_store(self, kind: str, emb: Embedder) -> VectorStore:
        store = self.store(kind, emb)
        if len(store) == 0:
            others = [f"{e} {v} ({n})" for kd, e, v, n in self.catalog.vector_versions() if kd == kind]
            if others:
                raise InputError(f"the library's {kind}s were embedded by {', '.join(others)}, not "
                                 f"{emb.name} {emb.version}; run `formscout index rebuild --reembed`")
        return store

    def embed_query_clip(self, query: Skeleton | str | Path) -> tuple[np.ndarray, str | None]:
        """Query vector [1, dim] for a Skeleton, a .npz/video path, or a library clip id (2nd: that clip id)."""
        emb = self.motion_embedder
        if isinstance(query, Skeleton):
            return emb.embed([query]), None
        text = str(query)
        path = Path(text).expanduser()
        if path.is_file():
            suffix = path.suffix.lower()
            if suffix in SKELETON_SUFFIXES:
                return emb.embed([Skeleton.load(path)]), None
            if suffix in VIDEO_SUFFIXES:
                return emb.embed([skeleton_from_video(path, self.pose_backend)]), None
            raise InputError(f"{path} is neither a skeleton (.npz) nor a video; give a clip file or a clip id")
        rec = self.catalog.clip(text)
        if rec is None:
            raise InputError(f"{text!r} is neither a file nor a clip id in the library {self.paths.db}")
        keys, vecs = self.catalog.vectors("clip", emb.name, emb.version)
        hit = np.flatnonzero(keys == rec.clip_key)
        if hit.size:
            return vecs[hit[:1]], rec.clip_id
        return emb.embed([Skeleton.load(self.paths.abs(rec.skeleton_path))]), rec.clip_id

    def search_clips(self, query: Skeleton | str | Path | np.ndarray, *, test: str | None = None,
                     side: str | None = None, k: int = 5, exclude_clip_id: str | None = None,
                     exclude_athlete: str | None = None) -> SearchResult:
        """The k library clips most similar in motion to `query`, optionally of one test and side.

        `query`: a Skeleton, a .npz or video path, a clip id in the library (that
        clip itself is excluded), or a vector already made by this library's
        motion embedder.
        """
        from index.library.labels import normalise_side, normalise_test
        emb = self.motion_embedder
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
        if isinstance(query, np.ndarray):
            qvec, self_id = np.atleast_2d(query).astype(np.float32), None
        else:
            qvec, self_id = self.embed_query_clip(query)
        exclude_clip_id = exclude_clip_id or self_id
        store = self._search_store("clip", emb)
        allowed = None
        if test or side or exclude_athlete or exclude_clip_id:
            allowed = self.allowed_clip_keys(test, side, exclude_athlete)
            if exclude_clip_id:
                cols = self._clip_table()
                allowed = allowed[~np.isin(allowed, cols["clip_key"][cols["clip_id"] == exclude_clip_id])]
        sims, ids = store.search(qvec, k, allowed)
        hits = self._hits(sims[0], ids[0])
        if len(hits) < len(ids[0]):
            log.warning("search: %d FAISS ids have no catalog row; run `formscout index verify`",
                        len(ids[0]) - len(hits))
        filters = {"test": test, "side": side, "exclude_clip_id": exclude_clip_id,
                   "exclude_athlete": exclude_athlete}
        return SearchResult("clip", emb.name, emb.version, filters, k, hits)

    # ----- reading ---------------------------------------------------------------------------------------
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
        out["stores"] = [{"store": r.store_name, "file": r.file, "vectors": r.n_vectors, "dim": r.dim}
                         for r in self.catalog.stores().values()]
        emb = self.motion_embedder
        out["motion_embedder"] = {"name": emb.name, "version": emb.version, "dim": emb.dim}
        return out

    # ----- runs -------------------------------------------------------------------------------------------
    def record_run(self, **run: Any) -> None:
        """Record a screening run (see index.storage.catalog.Catalog.insert_run for the fields)."""
        self._require_writable()
        with self.catalog.transaction():
            self.catalog.insert_run(**run)

    # ----- maintenance (index.library.maintenance) -----------------------------------------------------------
    def verify(self, fix_stray: bool = True):
        from index.library.maintenance import verify
        return verify(self, fix_stray=fix_stray)

    def rebuild(self, reembed: bool = False, progress: Progress | None = None) -> dict:
        from index.library.maintenance import rebuild
        return rebuild(self, reembed=reembed, progress=progress)

    def erase_athlete(self, athlete_id: str):
        from index.library.maintenance import erase_athlete
        return erase_athlete(self, athlete_id)

    def _require_writable(self) -> None:
        if self.read_only:
            raise InputError("this library was opened read-only; open it without read_only to change it")


def record_run(*, db: str | os.PathLike | None = None, run_id: str, athlete_id: str | None, test: str | None,
               side: str | None, score: int | None, review: bool, trace_path: str | os.PathLike | None,
               clip_id: str | None = None, confidence: float | None = None,
               review_reasons: Sequence[str] | None = None, artifact_paths: Sequence[str | os.PathLike] = (),
               created=None) -> None:
    """Record one screening run in the catalog at `db` (default: FORMSCOUT_DB / ~/.formscout).

    `trace_path` and `artifact_paths` (overlay video, HTML...) are the files
    `index erase --athlete` deletes with the run. A run id recorded again
    replaces the earlier row.
    """
    with Catalog(LibraryPaths.for_db(db).db) as cat, cat.transaction():
        cat.insert_run(run_id=run_id, athlete_id=athlete_id, test=test, side=side, score=score,
                       review=review, trace_path=None if trace_path is None else str(trace_path),
                       clip_id=clip_id, confidence=confidence, review_reasons=review_reasons,
                       artifact_paths=[str(p) for p in artifact_paths], created=created)
