"""GDPR erasure: after `index erase --athlete`, no row, file, vector or trace of the athlete remains."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import faiss
import numpy as np
import pytest

import index.library.adding as library_module
from agent.cli.main import main
from index.library.api import Library, record_run
from index.library.toy_clips import LABEL_COLUMNS, toy_clip
from tools.core.errors import InputError

VICTIM = "ATH-ERASE-ME-7731"


def _build(tmp_path: Path, monkeypatch) -> tuple[Path, dict]:
    """A library with two real-looking athletes: skeleton clips, a kept video, runs with traces."""
    from tools.video.clip import write_video
    clips = tmp_path / "clips"
    clips.mkdir()
    rng = np.random.default_rng(0)
    rows = []
    for athlete in (VICTIM, "ATH-KEEP-0001"):
        for i, (test, side) in enumerate((("deep_squat", "NA"), ("hurdle_step", "L"), ("hurdle_step", "R"))):
            cid = f"{athlete}-{i}"
            toy_clip(test, 2, side, rng).save(clips / f"{cid}.npz")
            rows.append({"clip_id": cid, "athlete_id": athlete, "date": "2025-02-0%d" % (i + 1),
                         "test_name": test, "side": side, "score": 2, "pain": "false",
                         "compensation_notes": f"notes about {athlete}", "camera_view": "side",
                         "consent_on_file": "true"})
    # one video clip of the victim, kept with --keep-video; the pose stage is replaced by a
    # canned skeleton so the test stays fast (pose itself is tested in tests/tools/pose/test_pose.py)
    frames = [np.full((64, 64, 3), 40 * (i % 5), np.uint8) for i in range(36)]
    write_video(clips / f"{VICTIM}-vid.mp4", frames, fps=30)
    rows.append({**rows[0], "clip_id": f"{VICTIM}-vid"})
    canned = toy_clip("deep_squat", 3, "NA", rng)
    monkeypatch.setattr(library_module, "skeleton_from_video", lambda path, backend, sha=None: canned)
    with open(clips / "labels.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=LABEL_COLUMNS)
        w.writeheader()
        w.writerows(rows)
    db = tmp_path / "lib.duckdb"
    traces = tmp_path / "traces"
    traces.mkdir()
    files = {}
    for athlete, run_id in ((VICTIM, "run-victim"), ("ATH-KEEP-0001", "run-keep")):
        run_dir = traces / run_id                      # one folder per run, as agent/screening/run.py writes
        (run_dir / "frames").mkdir(parents=True)
        trace = run_dir / "trace.json"
        trace.write_text(json.dumps({"athlete_id": athlete}))
        (run_dir / "trace.html").write_text(f"<html>{athlete}</html>")
        overlay = run_dir / "frames" / "overlay.mp4"
        overlay.write_bytes(b"overlay")
        files[athlete] = [trace, run_dir / "trace.html", overlay]
        record_run(db=db, run_id=run_id, athlete_id=athlete, clip_id=f"{athlete}-0", test="deep_squat",
                   side="NA", score=2, review=False, trace_path=trace, artifact_paths=[overlay])
    with Library(db) as lib:
        summary = lib.add_labels(clips / "labels.csv", clips, keep_video=True)
        assert len(summary.added) == 7, summary.failed
        assert lib.catalog.clip(f"{VICTIM}-vid").video_path is not None
    return db, files


def test_erase_removes_every_trace_of_the_athlete(tmp_path, monkeypatch, capsys):
    db, files = _build(tmp_path, monkeypatch)
    with Library(db) as lib:
        victim_keys = [c.clip_key for c in lib.catalog.clips_of_athlete(VICTIM)]
        victim_files = [lib.paths.abs(c.skeleton_path) for c in lib.catalog.clips_of_athlete(VICTIM)]
        victim_files.append(lib.paths.abs(lib.catalog.clip(f"{VICTIM}-vid").video_path))
        assert len(victim_keys) == 4 and all(p.is_file() for p in victim_files)
        query = lib.paths.abs(lib.catalog.clip(f"{VICTIM}-0").skeleton_path).read_bytes()
    query_file = tmp_path / "query.npz"
    query_file.write_bytes(query)

    assert main(["index", "erase", "--athlete", VICTIM, "--db", str(db), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["rows"] == {"clips": 4, "vectors": 4, "runs": 1, "athletes": 1}
    assert sum(report["vectors_removed"].values()) == 4
    removed = set(report["files"])
    assert {str(p) for p in victim_files + files[VICTIM]} <= removed

    # files: none of the athlete's, all of the other athlete's
    assert not any(p.exists() for p in victim_files + files[VICTIM])
    assert not (tmp_path / "traces" / "run-victim").exists()   # their run folder, now empty, is gone
    assert all(p.exists() for p in files["ATH-KEEP-0001"])
    with Library(db) as lib:
        assert not (lib.paths.skeletons / VICTIM).exists() and not (lib.paths.videos / VICTIM).exists()
        # rows: no table names the athlete; no vector of theirs
        assert lib.catalog.rows_mentioning(VICTIM) == {"athletes": 0, "clips": 0, "runs": 0}
        n_vec = lib.catalog.con.execute("SELECT count(*) FROM vectors WHERE item_key IN "
                                        "(SELECT unnest(?::BIGINT[]))", [victim_keys]).fetchone()[0]
        assert n_vec == 0
        # vectors: no FAISS file, live or stale, holds their ids
        faiss_files = list(lib.paths.faiss.iterdir())
        assert len(faiss_files) == 1
        for path in faiss_files:
            ids = faiss.vector_to_array(faiss.read_index(str(path)).id_map)
            assert not set(ids.tolist()) & set(victim_keys)
        # search: a query identical to their clip finds only other athletes
        hits = lib.search_clips(query_file, k=10).hits
        assert hits and all(h.athlete_id != VICTIM for h in hits)
        with pytest.raises(InputError):
            lib.search_clips(f"{VICTIM}-0")
        assert lib.catalog.runs(VICTIM) == [] and len(lib.catalog.runs()) == 1
        assert lib.stats()["clips"] == 3
        assert lib.verify().clean
    # bytes: the compacted catalog file no longer contains the athlete id
    for path in db.parent.glob(db.name + "*"):
        assert VICTIM.encode() not in path.read_bytes()
    # erasing again: nothing left to find
    assert main(["index", "erase", "--athlete", VICTIM, "--db", str(db)]) == 2
    assert "no clips, runs or files" in capsys.readouterr().err


def test_interrupted_erase_is_reported_and_finished_by_rerunning(tmp_path, monkeypatch):
    db, _ = _build(tmp_path, monkeypatch)
    with Library(db) as lib:
        # simulate a crash after the files were deleted but before the rows were
        for clip in lib.catalog.clips_of_athlete(VICTIM):
            lib.paths.abs(clip.skeleton_path).unlink()
        report = lib.verify()
        assert not report.clean and any("erase was interrupted" in p for p in report.problems)
        lib.erase_athlete(VICTIM)
        assert lib.verify().clean and lib.catalog.rows_mentioning(VICTIM)["clips"] == 0


def test_erase_unknown_athlete_is_an_input_error(tmp_path):
    with Library(tmp_path / "e.duckdb") as lib, pytest.raises(InputError, match="check the id"):
        lib.erase_athlete("NOBODY")
