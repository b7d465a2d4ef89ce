"""The DuckDB catalog: athletes (consent), physio-labelled clips, rubric passages, runs, vectors.

The catalog is the source of truth of the library. Every vector is stored here
too (with the name and version of the embedder that made it), so the FAISS
files are derived data that `formscout index rebuild` can always recreate.

Tables (schema version 2; `schema_version` records each applied migration):
  athletes  athlete_id, consent_on_file, minor, guardian_consent, synthetic, created, updated
  clips     clip_key (catalog id = FAISS id), clip_id, athlete_id, date, test_name, side,
            score 0-3, pain, compensation_notes, camera_view, consent_on_file,
            skeleton_path / video_path (relative to the data folder), source_name,
            source_kind ("video" | "skeleton"), source_sha256, n_frames, fps,
            embedder, embedder_version, synthetic, added
  passages  passage_key (FAISS id), passage_id (stable citation id), test, criterion,
            score_level, title, text, text_sha256, added
  runs      run_id, athlete_id, clip_id, test, side, score, review, confidence,
            review_reasons (JSON), trace_path, artifact_paths (JSON), created
  vectors   kind ("clip" | "passage"), item_key, embedder, embedder_version, dim, vector FLOAT[]
  stores    store_name, kind, embedder, embedder_version, dim, generation, file, n_vectors, updated,
            file_sha256 (the FAISS file each store currently points to, its generation and
            content hash; updated in the same transaction as the rows it indexes)
  outputs   athlete_id, path (absolute), kind ("run_dir" | "session_dir" | "file"), owner_id
            (the run or session), created: every folder and file FormScout wrote that names
            an athlete, so `index erase --athlete` finds them wherever they were written

Concurrency: every connection first takes the catalog's inter-process lock
(index.storage.lock: shared for read-only connections, exclusive for writers)
and holds it until `close()`, so DuckDB's one-writer rule never surfaces as an
error; a wait longer than the lock's timeout is a clear "catalog busy" InputError.

Migrations are ordered functions (index.storage.migrations); opening a catalog for writing applies the
missing ones inside one transaction each. A read-only connection reads any
catalog from schema 1 on (what version 2 added reads as empty). Times are UTC.
"""
from __future__ import annotations

import json
import logging
import os
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import date, datetime
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import duckdb
import numpy as np

from index.storage.lock import CatalogHold, acquire
from index.storage.migrations import MIGRATIONS, OUTPUT_KINDS, Migration, migrate, schema_version, utc_now
from tools.core.errors import InputError

log = logging.getLogger(__name__)


def _absolute(path: str | Path) -> str:
    """A path as the catalog stores it: absolute (made so against the current folder), symlinks kept."""
    return os.path.abspath(os.path.expanduser(str(path)))


# ----- records -----------------------------------------------------------------
@dataclass
class ClipRecord:
    """One physio-labelled clip as the catalog stores it."""

    clip_id: str
    athlete_id: str
    date: date | None
    test_name: str
    side: str
    score: int
    pain: bool
    compensation_notes: str
    camera_view: str
    consent_on_file: bool
    skeleton_path: str
    source_kind: str
    source_sha256: str
    embedder: str
    embedder_version: str
    video_path: str | None = None
    source_name: str | None = None
    n_frames: int | None = None
    fps: float | None = None
    synthetic: bool = False
    clip_key: int | None = None
    added: datetime | None = None

    def to_dict(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["date"] = self.date.isoformat() if self.date else None
        out["added"] = self.added.isoformat(timespec="seconds") + "Z" if self.added else None
        return out


CLIP_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(ClipRecord))


@dataclass
class PassageRecord:
    passage_key: int
    passage_id: str
    test: str | None
    criterion: str | None
    score_level: int | None
    title: str | None
    text: str
    text_sha256: str

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class StoreRecord:
    """Which FAISS file a store points to, and what it should hold."""

    store_name: str
    kind: str
    embedder: str
    embedder_version: str
    dim: int
    generation: int
    file: str
    n_vectors: int
    file_sha256: str | None = None


# ----- the catalog ----------------------------------------------------------------
class Catalog:
    """A DuckDB catalog file. Use as a context manager; writes go through `transaction()`."""

    def __init__(self, path: str | Path, read_only: bool = False,
                 migrations: Sequence[Migration] = MIGRATIONS, *, lock_timeout_s: float | None = None) -> None:
        self.path = Path(path)
        self.read_only = read_only
        if read_only and not self.path.exists():
            raise InputError(f"no FormScout library at {self.path}: add clips with "
                             "`formscout index add LABELS.csv --clips DIR` (or `make demo`), "
                             "or point --db / FORMSCOUT_DB at an existing library")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._hold: CatalogHold | None = acquire(self.path, "read" if read_only else "write", lock_timeout_s)
        try:
            self._connect(read_only, migrations)
        except BaseException:
            self._hold.release()
            self._hold = None
            raise

    def _connect(self, read_only: bool, migrations: Sequence[Migration]) -> None:
        try:
            self.con = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.IOException as exc:
            raise InputError(f"cannot open the library {self.path}: {exc}. If a program other than FormScout "
                             "has it open, close that program") from exc
        except duckdb.Error as exc:
            raise InputError(f"{self.path} is not a readable FormScout catalog ({exc}); "
                             "point --db at the right file") from exc
        if read_only:
            known = {r[0] for r in self.con.execute(
                "SELECT table_name FROM information_schema.tables").fetchall()}
            if "schema_version" not in known or schema_version(self.con) < 1:
                self.con.close()
                raise InputError(f"{self.path} is not a FormScout catalog (no schema); point --db at the "
                                 "right file")
            if schema_version(self.con) > migrations[-1].version:
                self.con.close()
                raise InputError(f"this catalog has schema version {schema_version(self.con)}, newer than "
                                 f"this FormScout knows ({migrations[-1].version}); upgrade FormScout to open it")
        else:
            migrate(self.con, migrations)
        self.schema = schema_version(self.con)

    # context manager / transactions
    def close(self) -> None:
        """Close the connection and release the lock (idempotent)."""
        con = getattr(self, "con", None)
        if con is not None:
            con.close()
            self.con = None
        if self._hold is not None:
            self._hold.release()
            self._hold = None

    def __enter__(self) -> "Catalog":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """All-or-nothing: everything executed inside commits together or not at all."""
        self.con.begin()
        try:
            yield self.con
            self.con.commit()
        except BaseException:
            self.con.rollback()
            raise

    def next_keys(self, n: int) -> list[int]:
        """Reserve n fresh catalog ids (shared by clips and passages)."""
        if n <= 0:
            return []
        rows = self.con.execute("SELECT nextval('item_key_seq') FROM range(?)", [n]).fetchall()
        return [int(r[0]) for r in rows]

    # ----- athletes ---------------------------------------------------------
    def upsert_athlete(self, athlete_id: str, consent_on_file: bool, minor: bool | None = None,
                       guardian_consent: bool | None = None, synthetic: bool = False) -> None:
        now = utc_now()
        self.con.execute(
            "INSERT INTO athletes VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (athlete_id) DO UPDATE SET "
            "consent_on_file = excluded.consent_on_file, "
            "minor = coalesce(excluded.minor, athletes.minor), "
            "guardian_consent = coalesce(excluded.guardian_consent, athletes.guardian_consent), "
            "synthetic = excluded.synthetic, updated = excluded.updated",
            [athlete_id, consent_on_file, minor, guardian_consent, synthetic, now, now])

    def athlete(self, athlete_id: str) -> dict | None:
        cur = self.con.execute("SELECT * FROM athletes WHERE athlete_id = ?", [athlete_id])
        row = cur.fetchone()
        return None if row is None else dict(zip([d[0] for d in cur.description], row))

    # ----- clips ---------------------------------------------------------------
    def insert_clips(self, records: Sequence[ClipRecord]) -> None:
        """Insert clip rows (clip_key and added must be set) in one statement."""
        if not records:
            return
        import pandas as pd  # local: only writes need it
        frame = pd.DataFrame({c: [getattr(r, c) for r in records] for c in CLIP_COLUMNS})
        frame["date"] = pd.to_datetime(frame["date"]).dt.date
        cols = ", ".join(CLIP_COLUMNS)
        self.con.register("_new_clips", frame)
        try:
            self.con.execute(f"INSERT INTO clips ({cols}) SELECT {cols} FROM _new_clips")
        finally:
            self.con.unregister("_new_clips")

    def _clips(self, where: str, params: list) -> list[ClipRecord]:
        cols = ", ".join(CLIP_COLUMNS)
        rows = self.con.execute(f"SELECT {cols} FROM clips {where}", params).fetchall()
        return [ClipRecord(**dict(zip(CLIP_COLUMNS, r))) for r in rows]

    def clip(self, clip_id: str) -> ClipRecord | None:
        found = self._clips("WHERE clip_id = ?", [clip_id])
        return found[0] if found else None

    def clips_by_keys(self, keys: Sequence[int]) -> dict[int, ClipRecord]:
        if len(keys) == 0:
            return {}
        # ints formatted into the SQL (never user text): a literal IN list is DuckDB's fastest point lookup
        found = self._clips(f"WHERE clip_key IN ({', '.join(str(int(k)) for k in keys)})", [])
        return {r.clip_key: r for r in found}

    def clips_of_athlete(self, athlete_id: str) -> list[ClipRecord]:
        return self._clips("WHERE athlete_id = ? ORDER BY clip_key", [athlete_id])

    def all_clips(self) -> list[ClipRecord]:
        return self._clips("ORDER BY clip_key", [])

    def clip_sources(self, clip_ids: Iterable[str]) -> dict[str, str]:
        """clip_id -> source_sha256 for the given clip ids that are in the catalog."""
        ids = list(clip_ids)
        if not ids:
            return {}
        rows = self.con.execute("SELECT clip_id, source_sha256 FROM clips "
                                "WHERE clip_id IN (SELECT unnest(?::TEXT[]))", [ids]).fetchall()
        return dict(rows)

    def clip_keys(self, test_name: str | None = None, side: str | None = None,
                  exclude_athlete: str | None = None) -> np.ndarray:
        """int64 catalog ids of the clips matching the filters."""
        where, params = [], []
        if test_name:
            where.append("test_name = ?")
            params.append(test_name)
        if side:
            where.append("side = ?")
            params.append(side)
        if exclude_athlete:
            where.append("athlete_id <> ?")
            params.append(exclude_athlete)
        sql = "SELECT clip_key FROM clips" + (" WHERE " + " AND ".join(where) if where else "")
        return np.asarray(self.con.execute(sql, params).fetchnumpy()["clip_key"], dtype=np.int64)

    # ----- passages --------------------------------------------------------------
    def passages(self) -> dict[str, PassageRecord]:
        cols = [f.name for f in fields(PassageRecord)]
        rows = self.con.execute(f"SELECT {', '.join(cols)} FROM passages").fetchall()
        return {r[1]: PassageRecord(*r) for r in rows}

    def passages_by_keys(self, keys: Sequence[int]) -> dict[int, PassageRecord]:
        if len(keys) == 0:
            return {}
        cols = [f.name for f in fields(PassageRecord)]
        rows = self.con.execute(f"SELECT {', '.join(cols)} FROM passages "
                                "WHERE passage_key IN (SELECT unnest(?::BIGINT[]))",
                                [list(map(int, keys))]).fetchall()
        return {int(r[0]): PassageRecord(*r) for r in rows}

    def insert_passages(self, records: Sequence[PassageRecord]) -> None:
        now = utc_now()
        self.con.executemany(
            "INSERT INTO passages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [[r.passage_key, r.passage_id, r.test, r.criterion, r.score_level, r.title, r.text,
              r.text_sha256, now] for r in records])

    def delete_passages(self, keys: Sequence[int]) -> None:
        if len(keys) == 0:
            return
        keys = [int(k) for k in keys]
        self.con.execute("DELETE FROM passages WHERE passage_key IN (SELECT unnest(?::BIGINT[]))", [keys])
        self.con.execute("DELETE FROM vectors WHERE kind = 'passage' AND "
                         "item_key IN (SELECT unnest(?::BIGINT[]))", [keys])

    def passage_keys(self, test: str | None = None) -> np.ndarray:
        if test:
            sql, params = "SELECT passage_key FROM passages WHERE test = ? OR test IS NULL OR test = ''", [test]
        else:
            sql, params = "SELECT passage_key FROM passages", []
        return np.asarray(self.con.execute(sql, params).fetchnumpy()["passage_key"], dtype=np.int64)

    # ----- vectors -----------------------------------------------------------------
    def insert_vectors(self, kind: str, keys: Sequence[int], embedder: str, version: str,
                       vectors: np.ndarray) -> None:
        """Store vectors ([N, dim] float32) for catalog ids `keys`."""
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or len(vectors) != len(keys):
            raise ValueError(f"vectors must be [len(keys), dim], got {vectors.shape} for {len(keys)} keys")
        if len(keys) == 0:
            return
        import pandas as pd  # local: only writes need it
        frame = pd.DataFrame({"kind": kind, "item_key": np.asarray(keys, dtype=np.int64),
                              "embedder": embedder, "embedder_version": version,
                              "dim": np.int32(vectors.shape[1]), "vector": list(vectors)})
        self.con.register("_new_vectors", frame)
        try:
            self.con.execute("INSERT INTO vectors SELECT kind, item_key, embedder, embedder_version, dim, "
                             "vector::FLOAT[] FROM _new_vectors")
        finally:
            self.con.unregister("_new_vectors")

    def vectors(self, kind: str, embedder: str, version: str) -> tuple[np.ndarray, np.ndarray]:
        """(keys int64[N], vectors float32[N, dim]) of one kind and embedder version, ordered by key."""
        data = self.con.execute(
            "SELECT item_key, vector FROM vectors WHERE kind = ? AND embedder = ? AND embedder_version = ? "
            "ORDER BY item_key", [kind, embedder, version]).fetchnumpy()
        keys = np.asarray(data["item_key"], dtype=np.int64)
        if len(keys) == 0:
            return keys, np.zeros((0, 0), dtype=np.float32)
        return keys, np.stack(list(data["vector"])).astype(np.float32)

    def vector_versions(self) -> list[tuple[str, str, str, int]]:
        """(kind, embedder, version, count) for every embedder version present."""
        return [(k, e, v, int(n)) for k, e, v, n in self.con.execute(
            "SELECT kind, embedder, embedder_version, count(*) FROM vectors "
            "GROUP BY ALL ORDER BY ALL").fetchall()]

    def item_keys(self, kind: str) -> np.ndarray:
        sql = "SELECT clip_key AS k FROM clips" if kind == "clip" else "SELECT passage_key AS k FROM passages"
        return np.asarray(self.con.execute(sql).fetchnumpy()["k"], dtype=np.int64)

    # ----- stores -------------------------------------------------------------------
    def stores(self) -> dict[str, StoreRecord]:
        cols = [f.name for f in fields(StoreRecord)]
        if self.schema < 2:
            cols.remove("file_sha256")
        rows = self.con.execute(f"SELECT {', '.join(cols)} FROM stores").fetchall()
        return {r[0]: StoreRecord(*r) for r in rows}

    def set_store(self, rec: StoreRecord) -> None:
        self.con.execute("INSERT OR REPLACE INTO stores (store_name, kind, embedder, embedder_version, dim, "
                         "generation, file, n_vectors, updated, file_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         [rec.store_name, rec.kind, rec.embedder, rec.embedder_version, rec.dim,
                          rec.generation, rec.file, rec.n_vectors, utc_now(), rec.file_sha256])

    # ----- runs ------------------------------------------------------------------------
    def insert_run(self, *, run_id: str, athlete_id: str | None, test: str | None, side: str | None,
                   score: int | None, review: bool, trace_path: str | None, clip_id: str | None = None,
                   confidence: float | None = None, review_reasons: Sequence[str] | None = None,
                   artifact_paths: Sequence[str] | None = None, created: datetime | None = None) -> None:
        """One screening run; its trace and artifact paths are stored absolute (resolved here)."""
        self.con.execute(
            "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [run_id, athlete_id, clip_id, test, side, score, bool(review), confidence,
             json.dumps(list(review_reasons or [])), None if trace_path is None else _absolute(trace_path),
             json.dumps([_absolute(p) for p in (artifact_paths or [])]), created or utc_now()])

    # ----- outputs: folders and files written per athlete -------------------------------------
    def add_output(self, athlete_id: str, path: str | Path, kind: str, owner_id: str | None = None) -> None:
        """Record that FormScout wrote `path` (absolute once stored) naming `athlete_id`."""
        if kind not in OUTPUT_KINDS:
            raise ValueError(f"output kind must be one of {OUTPUT_KINDS}, got {kind!r}")
        self.con.execute("INSERT OR REPLACE INTO outputs VALUES (?, ?, ?, ?, ?)",
                         [athlete_id, _absolute(path), kind, owner_id, utc_now()])

    def outputs(self, athlete_id: str | None = None) -> list[dict]:
        """Recorded outputs (of one athlete, or all), oldest first; empty before schema 2."""
        if self.schema < 2:
            return []
        sql = "SELECT * FROM outputs" + (" WHERE athlete_id = ?" if athlete_id else "") + " ORDER BY created, path"
        cur = self.con.execute(sql, [athlete_id] if athlete_id else [])
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]

    def owners_of_output(self, path: str | Path) -> list[str]:
        """Athletes an output path is recorded under."""
        if self.schema < 2:
            return []
        return [r[0] for r in self.con.execute("SELECT athlete_id FROM outputs WHERE path = ?",
                                               [_absolute(path)]).fetchall()]

    def runs(self, athlete_id: str | None = None) -> list[dict]:
        sql = "SELECT * FROM runs" + (" WHERE athlete_id = ?" if athlete_id else "") + " ORDER BY created"
        cur = self.con.execute(sql, [athlete_id] if athlete_id else [])
        names = [d[0] for d in cur.description]
        out = []
        for row in cur.fetchall():
            rec = dict(zip(names, row))
            rec["review_reasons"] = json.loads(rec["review_reasons"] or "[]")
            rec["artifact_paths"] = json.loads(rec["artifact_paths"] or "[]")
            out.append(rec)
        return out

    # ----- erasure -------------------------------------------------------------------------
    def delete_athlete_rows(self, athlete_id: str) -> dict[str, int]:
        """Delete every row of an athlete (clips, their vectors, runs, outputs, the athlete); returns counts
        (of clips, vectors, runs and athletes; the outputs deleted are in `last_outputs_deleted`)."""
        n_clips = self.con.execute("SELECT count(*) FROM clips WHERE athlete_id = ?", [athlete_id]).fetchone()[0]
        n_vec = self.con.execute(
            "SELECT count(*) FROM vectors WHERE kind = 'clip' AND item_key IN "
            "(SELECT clip_key FROM clips WHERE athlete_id = ?)", [athlete_id]).fetchone()[0]
        n_runs = self.con.execute("SELECT count(*) FROM runs WHERE athlete_id = ?", [athlete_id]).fetchone()[0]
        n_ath = self.con.execute("SELECT count(*) FROM athletes WHERE athlete_id = ?", [athlete_id]).fetchone()[0]
        n_out = self.con.execute("SELECT count(*) FROM outputs WHERE athlete_id = ?", [athlete_id]).fetchone()[0]
        self.con.execute("DELETE FROM outputs WHERE athlete_id = ?", [athlete_id])
        self.con.execute("DELETE FROM vectors WHERE kind = 'clip' AND item_key IN "
                         "(SELECT clip_key FROM clips WHERE athlete_id = ?)", [athlete_id])
        self.con.execute("DELETE FROM clips WHERE athlete_id = ?", [athlete_id])
        self.con.execute("DELETE FROM runs WHERE athlete_id = ?", [athlete_id])
        self.con.execute("DELETE FROM athletes WHERE athlete_id = ?", [athlete_id])
        self.last_outputs_deleted = int(n_out)
        return {"clips": int(n_clips), "vectors": int(n_vec), "runs": int(n_runs), "athletes": int(n_ath)}

    def rows_mentioning(self, athlete_id: str) -> dict[str, int]:
        """Rows in any table that still name the athlete (0 everywhere after an erasure)."""
        return {
            "athletes": self.con.execute("SELECT count(*) FROM athletes WHERE athlete_id = ?", [athlete_id]).fetchone()[0],
            "clips": self.con.execute("SELECT count(*) FROM clips WHERE athlete_id = ?", [athlete_id]).fetchone()[0],
            "runs": self.con.execute("SELECT count(*) FROM runs WHERE athlete_id = ?", [athlete_id]).fetchone()[0],
        }

    # ----- stats ------------------------------------------------------------------------
    def stats(self) -> dict:
        one = lambda sql: self.con.execute(sql).fetchone()[0]  # noqa: E731
        per_test = self.con.execute(
            "SELECT test_name, side, score, count(*) FROM clips GROUP BY ALL ORDER BY ALL").fetchall()
        tests: dict[str, dict] = {}
        for test, side, score, n in per_test:
            t = tests.setdefault(test, {"clips": 0, "by_side": {}, "by_score": {}})
            t["clips"] += int(n)
            t["by_side"][side] = t["by_side"].get(side, 0) + int(n)
            t["by_score"][str(score)] = t["by_score"].get(str(score), 0) + int(n)
        return {
            "schema_version": schema_version(self.con),
            "athletes": int(one("SELECT count(*) FROM athletes")),
            "synthetic_athletes": int(one("SELECT count(*) FROM athletes WHERE synthetic")),
            "clips": int(one("SELECT count(*) FROM clips")),
            "synthetic_clips": int(one("SELECT count(*) FROM clips WHERE synthetic")),
            "clips_with_video_kept": int(one("SELECT count(*) FROM clips WHERE video_path IS NOT NULL")),
            "passages": int(one("SELECT count(*) FROM passages")),
            "runs": int(one("SELECT count(*) FROM runs")),
            "tests": tests,
            "vectors": [{"kind": k, "embedder": e, "version": v, "count": n}
                        for k, e, v, n in self.vector_versions()],
        }
