"""Where the library lives on disk: the DuckDB catalog and the data folder beside it.

Resolution order for the catalog file:
  1. an explicit path (`--db PATH`),
  2. the environment variable FORMSCOUT_DB,
  3. FORMSCOUT_HOME/formscout.duckdb (FORMSCOUT_HOME defaults to ~/.formscout).

The data folder of a catalog `X.duckdb` is `X_files/` beside it, so two
catalogs in one folder never share files:

  X_files/skeletons/<athlete_id>/<clip_id>.npz   stored skeletons (always kept)
  X_files/videos/<athlete_id>/<clip_id>.<ext>    raw video (only with --keep-video)
  X_files/faiss/<store>.g<generation>.faiss      FAISS indexes (one per kind+embedder+version)
  X_files/staging/<pid>-<random>/                files an `index add` prepares outside the catalog
                                                 lock (moved into place when its batch commits)
  X.duckdb.lock                                  the catalog's inter-process lock (index.storage.lock)

Paths stored in the catalog are relative to the data folder, so a library can
be moved as a whole (catalog file plus its `_files` folder).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DB_ENV = "FORMSCOUT_DB"
HOME_ENV = "FORMSCOUT_HOME"
DEFAULT_DB_NAME = "formscout.duckdb"


def formscout_home() -> Path:
    """The FormScout home folder: $FORMSCOUT_HOME, else ~/.formscout."""
    home = os.environ.get(HOME_ENV)
    return Path(home).expanduser() if home else Path.home() / ".formscout"


def resolve_db_path(db: str | os.PathLike | None = None) -> Path:
    """The catalog file to use: `db`, else $FORMSCOUT_DB, else <home>/formscout.duckdb."""
    if db:
        return Path(db).expanduser().resolve()
    env = os.environ.get(DB_ENV)
    if env:
        return Path(env).expanduser().resolve()
    return (formscout_home() / DEFAULT_DB_NAME).resolve()


@dataclass(frozen=True)
class LibraryPaths:
    """The catalog file and the folders of its data."""

    db: Path
    root: Path

    @classmethod
    def for_db(cls, db: str | os.PathLike | None = None) -> "LibraryPaths":
        path = resolve_db_path(db)
        return cls(db=path, root=path.with_name(path.stem + "_files"))

    @property
    def skeletons(self) -> Path:
        return self.root / "skeletons"

    @property
    def videos(self) -> Path:
        return self.root / "videos"

    @property
    def faiss(self) -> Path:
        return self.root / "faiss"

    @property
    def staging(self) -> Path:
        return self.root / "staging"

    def skeleton_rel(self, athlete_id: str, clip_id: str) -> str:
        return f"skeletons/{athlete_id}/{clip_id}.npz"

    def video_rel(self, athlete_id: str, clip_id: str, suffix: str) -> str:
        return f"videos/{athlete_id}/{clip_id}{suffix.lower()}"

    def abs(self, rel: str) -> Path:
        """Absolute path of a catalog-relative path."""
        return self.root / rel
