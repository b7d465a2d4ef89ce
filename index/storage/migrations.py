"""The catalog's schema as ordered migrations: each one applied once, in order, in its own transaction.

Version 1: athletes, clips, passages, runs, vectors, stores. Version 2: the FAISS
file hash in stores (file_sha256) and the outputs table (folders and files
written per athlete, for erasure). index.storage.catalog documents the tables.
Opening a catalog for writing applies the missing migrations; a catalog newer
than this FormScout knows is refused.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Sequence

import duckdb

from tools.core.errors import InputError

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _migration_1(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SEQUENCE IF NOT EXISTS item_key_seq START 1")
    con.execute("""
        CREATE TABLE athletes (
            athlete_id TEXT PRIMARY KEY,
            consent_on_file BOOLEAN NOT NULL,
            minor BOOLEAN,
            guardian_consent BOOLEAN,
            synthetic BOOLEAN NOT NULL DEFAULT FALSE,
            created TIMESTAMP NOT NULL,
            updated TIMESTAMP NOT NULL)""")
    con.execute("""
        CREATE TABLE clips (
            clip_key BIGINT PRIMARY KEY,
            clip_id TEXT NOT NULL UNIQUE,
            athlete_id TEXT NOT NULL,
            date DATE,
            test_name TEXT NOT NULL,
            side TEXT NOT NULL,
            score INTEGER NOT NULL,
            pain BOOLEAN NOT NULL,
            compensation_notes TEXT,
            camera_view TEXT,
            consent_on_file BOOLEAN NOT NULL,
            skeleton_path TEXT NOT NULL,
            video_path TEXT,
            source_name TEXT,
            source_kind TEXT NOT NULL,
            source_sha256 TEXT NOT NULL,
            n_frames INTEGER,
            fps DOUBLE,
            embedder TEXT NOT NULL,
            embedder_version TEXT NOT NULL,
            synthetic BOOLEAN NOT NULL DEFAULT FALSE,
            added TIMESTAMP NOT NULL)""")
    con.execute("""
        CREATE TABLE passages (
            passage_key BIGINT PRIMARY KEY,
            passage_id TEXT NOT NULL UNIQUE,
            test TEXT,
            criterion TEXT,
            score_level INTEGER,
            title TEXT,
            text TEXT NOT NULL,
            text_sha256 TEXT NOT NULL,
            added TIMESTAMP NOT NULL)""")
    con.execute("""
        CREATE TABLE runs (
            run_id TEXT PRIMARY KEY,
            athlete_id TEXT,
            clip_id TEXT,
            test TEXT,
            side TEXT,
            score INTEGER,
            review BOOLEAN NOT NULL,
            confidence DOUBLE,
            review_reasons TEXT,
            trace_path TEXT,
            artifact_paths TEXT,
            created TIMESTAMP NOT NULL)""")
    con.execute("""
        CREATE TABLE vectors (
            kind TEXT NOT NULL,
            item_key BIGINT NOT NULL,
            embedder TEXT NOT NULL,
            embedder_version TEXT NOT NULL,
            dim INTEGER NOT NULL,
            vector FLOAT[] NOT NULL,
            PRIMARY KEY (kind, item_key, embedder, embedder_version))""")
    con.execute("""
        CREATE TABLE stores (
            store_name TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            embedder TEXT NOT NULL,
            embedder_version TEXT NOT NULL,
            dim INTEGER NOT NULL,
            generation BIGINT NOT NULL,
            file TEXT NOT NULL,
            n_vectors BIGINT NOT NULL,
            updated TIMESTAMP NOT NULL)""")


def _migration_2(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("ALTER TABLE stores ADD COLUMN file_sha256 TEXT")
    con.execute("""
        CREATE TABLE outputs (
            athlete_id TEXT NOT NULL,
            path TEXT NOT NULL,
            kind TEXT NOT NULL,
            owner_id TEXT,
            created TIMESTAMP NOT NULL,
            PRIMARY KEY (athlete_id, path))""")


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[duckdb.DuckDBPyConnection], None]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "athletes, clips, passages, runs, vectors, stores", _migration_1),
    Migration(2, "FAISS file hashes; outputs (folders and files written per athlete)", _migration_2),
)
OUTPUT_KINDS: tuple[str, ...] = ("run_dir", "session_dir", "file")


def migrate(con: duckdb.DuckDBPyConnection, migrations: Sequence[Migration] = MIGRATIONS) -> list[int]:
    """Apply the migrations newer than the catalog's version, in order; returns those applied."""
    versions = [m.version for m in migrations]
    if versions != sorted(set(versions)):
        raise ValueError(f"migrations must have increasing unique versions, got {versions}")
    con.execute("CREATE TABLE IF NOT EXISTS schema_version ("
                "version INTEGER PRIMARY KEY, description TEXT, applied TIMESTAMP)")
    current = schema_version(con)
    if versions and current > versions[-1]:
        raise InputError(f"this catalog has schema version {current}, newer than this FormScout "
                         f"knows ({versions[-1]}); upgrade FormScout to open it")
    applied = []
    for m in migrations:
        if m.version <= current:
            continue
        con.begin()
        try:
            m.apply(con)
            con.execute("INSERT INTO schema_version VALUES (?, ?, ?)", [m.version, m.description, utc_now()])
            con.commit()
        except BaseException:
            con.rollback()
            raise
        log.info("catalog: applied migration %d (%s)", m.version, m.description)
        applied.append(m.version)
    return applied


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    row = con.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0]) if row and row[0] is not None else 0
