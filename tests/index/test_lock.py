"""The catalog's inter-process lock (index.storage.lock): readers share, one writer excludes everyone,
a wait ends in a clear "catalog busy", a killed holder frees it at once, holds nest within a thread."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from agent.cli.main import main
from index.storage.catalog import Catalog
from index.storage.lock import CatalogBusy, acquire, catalog_lock, held_mode, lock_file

REPO = Path(__file__).resolve().parents[2]
HOLD = """
import sys, time
from index.storage.lock import acquire
hold = acquire(sys.argv[1], sys.argv[2], timeout_s=30)
print("held", flush=True)
time.sleep(float(sys.argv[3]))
hold.release()
"""


def _holder(db: Path, mode: str, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(db), mode, str(seconds)], cwd=REPO,
                            stdout=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_writer_elsewhere_makes_readers_and_writers_wait_then_busy(tmp_path):
    db = tmp_path / "c.duckdb"
    Catalog(db).close()
    proc = _holder(db, "write", 30)
    try:
        for read_only in (False, True):
            t0 = time.perf_counter()
            with pytest.raises(CatalogBusy, match=r"catalog busy: another FormScout command is writing to .*c\.duckdb; "
                                                  "try again in a moment"):
                Catalog(db, read_only=read_only, lock_timeout_s=0.4)
            assert 0.3 < time.perf_counter() - t0 < 5
    finally:
        proc.kill()
        proc.wait()


def test_readers_share_and_a_killed_holder_frees_the_lock_at_once(tmp_path):
    db = tmp_path / "c.duckdb"
    Catalog(db).close()
    reader = _holder(db, "read", 30)
    try:
        with Catalog(db, read_only=True, lock_timeout_s=2) as cat:        # a second reader is not held up
            assert cat.stats()["clips"] == 0
        with pytest.raises(CatalogBusy):
            Catalog(db, lock_timeout_s=0.3)                                # a writer waits for the reader
        os.kill(reader.pid, signal.SIGKILL)
        reader.wait()
        t0 = time.perf_counter()
        Catalog(db, lock_timeout_s=5).close()                              # kill -9 left no lock behind
        assert time.perf_counter() - t0 < 2
    finally:
        reader.kill()
        reader.wait()
    assert lock_file(db).is_file()


def test_holds_nest_within_a_thread_and_threads_wait_for_each_other(tmp_path):
    db = tmp_path / "c.duckdb"
    with catalog_lock(db, "write"):
        assert held_mode(db) == "write"
        with Catalog(db) as a, Catalog(db) as b:            # nested writers in one thread do not wait for themselves
            assert a.stats() == b.stats()
        assert held_mode(db) == "write"
    assert held_mode(db) is None
    with catalog_lock(db, "read"), pytest.raises(RuntimeError, match="cannot be upgraded"):
        acquire(db, "write")
    got = []
    hold = acquire(db, "read")

    def writer():
        with catalog_lock(db, "write", timeout_s=10):
            got.append(time.perf_counter())

    t = threading.Thread(target=writer)
    released = time.perf_counter() + 0.5
    t.start()
    time.sleep(0.5)
    assert not got                                          # the other thread waits while this one reads
    hold.release()
    t.join(10)
    assert got and got[0] >= released


def test_the_cli_says_catalog_busy_in_one_line(tmp_path):
    db = tmp_path / "c.duckdb"
    Catalog(db).close()
    proc = _holder(db, "write", 30)
    try:
        env = dict(os.environ, PYTHONPATH=str(REPO), FORMSCOUT_LOCK_TIMEOUT_S="0.5")
        out = subprocess.run([sys.executable, "-m", "agent.cli.main", "index", "stats", "--db", str(db)],
                             cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
        assert out.returncode == 2 and out.stderr.strip().count("\n") == 0
        assert "catalog busy: another FormScout command is writing to" in out.stderr
    finally:
        proc.kill()
        proc.wait()


def test_a_bad_timeout_setting_is_an_input_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FORMSCOUT_LOCK_TIMEOUT_S", "soon")
    assert main(["index", "verify", "--db", str(tmp_path / "x.duckdb")]) == 2
    assert "FORMSCOUT_LOCK_TIMEOUT_S" in capsys.readouterr().err
