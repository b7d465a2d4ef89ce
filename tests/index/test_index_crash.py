"""Crash safety: SIGKILL an `index add` mid-way; verify is clean; a re-run completes exactly."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from agent.cli.main import main
from index.library.api import Library
from index.library.toy_clips import write_toy_library

REPO = Path(__file__).resolve().parents[2]


def _add_and_kill(labels: Path, clips: Path, db: Path, kill_after_commits: int, extra_delay_s: float) -> int:
    """Start `formscout index add` and SIGKILL it after some committed batches; returns clips committed."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent.cli.main", "-v", "index", "add", str(labels), "--clips", str(clips),
         "--db", str(db), "--batch-size", "8"],
        cwd=REPO, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    seen = 0
    try:
        for line in proc.stderr:
            if "committed a batch" in line:
                seen += 1
                if seen == kill_after_commits:
                    time.sleep(extra_delay_s)  # land somewhere inside the next batch
                    break
        assert proc.poll() is None, "the import finished before it could be killed; use more clips"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    return seen


def test_sigkill_mid_add_leaves_a_consistent_library_and_rerun_completes(tmp_path, capsys):
    clips = tmp_path / "clips"
    labels = write_toy_library(clips, per_test=10, seed=11)  # 120 clips -> 15 batches of 8
    total = 120
    db = tmp_path / "lib.duckdb"
    counts = []
    for kill_after, delay in ((2, 0.0), (1, 0.05), (1, 0.11)):
        _add_and_kill(labels, clips, db, kill_after, delay)
        assert main(["index", "verify", "--db", str(db), "--json"]) == 0, capsys.readouterr().out
        report = json.loads(capsys.readouterr().out)
        assert report["clean"] and not report["problems"]
        with Library(db, read_only=True) as lib:
            n = lib.stats()["clips"]
        assert 0 < n < total and n % 8 == 0      # whole batches only
        counts.append(n)
    assert counts == sorted(counts) and counts[-1] > counts[0]  # every run kept what it committed

    assert main(["index", "add", str(labels), "--clips", str(clips), "--db", str(db), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["counts"]["added"] == total - counts[-1]
    assert summary["counts"]["skipped"] == counts[-1]
    assert main(["index", "verify", "--db", str(db)]) == 0
    capsys.readouterr()
    with Library(db) as lib:
        clip_rows = lib.catalog.all_clips()
        assert len(clip_rows) == total and len({c.clip_id for c in clip_rows}) == total
        (store,) = [lib.store("clip", lib.motion_embedder)]
        ids = store.ids()
        assert len(ids) == total and len(np.unique(ids)) == total
        assert set(ids) == {c.clip_key for c in clip_rows}
        on_disk = sorted(p.relative_to(lib.paths.root).as_posix() for p in lib.paths.skeletons.rglob("*.npz"))
        assert on_disk == sorted(c.skeleton_path for c in clip_rows)   # no orphan skeletons
        assert len(list(lib.paths.faiss.iterdir())) == 1                 # one live generation file
