"""The catalog's inter-process lock: many readers or one writer, across processes and threads.

DuckDB lets one process at a time open a catalog file for writing, and while it
does every other process is refused, readers included. So every connection to
a catalog (index.storage.catalog.Catalog) first takes this lock beside the file
(`<catalog>.lock`): a shared hold for a read-only connection, an exclusive hold
for a read-write one. It is filelock's ReadWriteLock (SQLite file locks), so:

* the operating system releases a hold when its process dies: a `kill -9`
  never leaves the catalog locked;
* a writer waiting for readers to finish stops new readers from starting, so a
  stream of searches cannot starve an `index add`;
* a wait ends after `timeout_s` (default 60 s, or $FORMSCOUT_LOCK_TIMEOUT_S)
  with CatalogBusy: "catalog busy: another FormScout command is writing to
  <path>; try again in a moment".

Holds nest within one thread: a thread that holds the write lock may open more
connections (reads or writes) without waiting for itself; a thread that holds
only a read lock cannot start writing (that would wait for itself forever), which
is a programming error and raises RuntimeError. Threads of one process wait for
each other like processes do (the app runs screenings in worker threads).
"""
from __future__ import annotations

import logging
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from filelock import ReadWriteLock, Timeout

from tools.core.errors import InputError

log = logging.getLogger(__name__)

TIMEOUT_ENV = "FORMSCOUT_LOCK_TIMEOUT_S"
DEFAULT_TIMEOUT_S = 60.0
MODES = ("read", "write")
_LOCAL = threading.local()          # .holds: {catalog path: _Hold} of this thread


class CatalogBusy(InputError):
    """The catalog lock could not be taken within the timeout (another command holds it)."""


def lock_file(db: str | os.PathLike) -> Path:
    db = Path(db)
    return db.with_name(db.name + ".lock")


def default_timeout_s() -> float:
    text = os.environ.get(TIMEOUT_ENV, "").strip()
    if not text:
        return DEFAULT_TIMEOUT_S
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"${TIMEOUT_ENV}={text!r} is not a number of seconds") from None
    if value < 0:
        raise InputError(f"${TIMEOUT_ENV} must be 0 or more seconds, got {value:g}")
    return value


@dataclass
class _Hold:
    key: str
    mode: str
    depth: int
    lock: ReadWriteLock | None        # None: no lock file could be made (read-only folder): reads go unlocked
    owner: dict


class CatalogHold:
    """One acquisition of the catalog lock; `release()` once (idempotent)."""

    def __init__(self, hold: _Hold) -> None:
        self._hold: _Hold | None = hold

    @property
    def mode(self) -> str:
        return self._hold.mode if self._hold else ""

    @property
    def nested(self) -> bool:
        """True when this thread holds the lock more than once (releasing this hold would not free it)."""
        return self._hold is not None and self._hold.depth > 1

    def release(self) -> None:
        hold, self._hold = self._hold, None
        if hold is None:
            return
        hold.depth -= 1
        if hold.depth > 0:
            return
        hold.owner.pop(hold.key, None)
        if hold.lock is not None:
            hold.lock.close()        # ends the hold whichever thread releases it


def acquire(db: str | os.PathLike, mode: str = "write", timeout_s: float | None = None) -> CatalogHold:
    """Take the lock of catalog `db` in `mode` ("read" or "write"); raises CatalogBusy after `timeout_s`."""
    if mode not in MODES:
        raise ValueError(f"lock mode must be one of {MODES}, got {mode!r}")
    db = Path(db).expanduser().resolve()
    key = str(db)
    holds = _LOCAL.__dict__.setdefault("holds", {})
    held = holds.get(key)
    if held is not None:
        if mode == "write" and held.mode == "read":
            raise RuntimeError(f"this thread holds a read lock on {db} and asked to write: close the read-only "
                               "connection first (a read lock cannot be upgraded)")
        held.depth += 1
        return CatalogHold(held)
    timeout = default_timeout_s() if timeout_s is None else float(timeout_s)
    path = lock_file(db)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = ReadWriteLock(str(path), timeout=timeout, is_singleton=False)
    except (OSError, ValueError) as exc:     # e.g. a library on a read-only medium
        if mode == "read":
            log.warning("catalog lock %s cannot be created (%s); reading without it", path, exc)
            hold = _Hold(key, mode, 1, None, holds)
            holds[key] = hold
            return CatalogHold(hold)
        raise InputError(f"cannot create the catalog lock {path} ({exc}); check that its folder is writable") \
            from None
    try:
        (lock.acquire_write if mode == "write" else lock.acquire_read)(timeout=timeout)
    except Timeout:
        lock.close()
        raise CatalogBusy(f"catalog busy: another FormScout command is writing to {db}; try again in a moment "
                          f"(waited {timeout:g} s for its lock {path.name})") from None
    hold = _Hold(key, mode, 1, lock, holds)
    holds[key] = hold
    log.debug("catalog lock %s: %s", path, mode)
    return CatalogHold(hold)


@contextmanager
def catalog_lock(db: str | os.PathLike, mode: str = "write", timeout_s: float | None = None) -> Iterator[CatalogHold]:
    """`with catalog_lock(db, "write"):` the lock held for the block (see `acquire`)."""
    hold = acquire(db, mode, timeout_s)
    try:
        yield hold
    finally:
        hold.release()


def held_mode(db: str | os.PathLike) -> str | None:
    """"read" / "write" when this thread holds the lock of `db`, else None."""
    holds = _LOCAL.__dict__.get("holds", {})
    held = holds.get(str(Path(db).expanduser().resolve()))
    return held.mode if held else None
