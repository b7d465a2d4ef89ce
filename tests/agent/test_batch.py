"""`formscout batch`: per-row reports, resume keys, parallel run folders, worker crashes, and Ray (slow)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from agent.cli.main import main
from agent.screening import batch as batch_module
from agent.screening.batch import BatchConfig, run_batch
from agent.screening.batch_engines import WORKER_DIED, Job, run_local
from agent.screening.batch_keys import code_version, run_key
from agent.screening.protocol import ScreenRequest
from agent.screening.run import screen
from agent.trace.check import check_trace
from agent.trace.record import load_trace
from tests.skeleton_factory import squat_clip
from tools.core.errors import InputError

FIXED_CODE = {"version": "test-code-version", "files": 0, "software": {}}


@pytest.fixture
def fixed_code(monkeypatch):
    """The tree is edited by others while tests run: pin the code version so resume is what is tested."""
    monkeypatch.setattr(batch_module, "code_version", lambda: dict(FIXED_CODE))


@pytest.fixture
def clips(tmp_path):
    a, b = tmp_path / "squat_a.npz", tmp_path / "squat_b.npz"
    squat_clip(depth_deg=15.0).save(a)
    squat_clip(depth_deg=-10.0, trunk_deg=20.0).save(b)
    return a, b


def write_manifest(tmp_path, rows: str):
    path = tmp_path / "season.csv"
    path.write_text("clip,test,side,pain,athlete,sex\n" + rows)
    return path


def test_batch_rows_runs_and_resume(tmp_path, clips, fixed_code, capsys):
    """Two clips on two workers, a bad row, a duplicate row; then the same batch again resumes every clip."""
    manifest = write_manifest(tmp_path, "squat_a.npz,deep_squat,,,A1,\n"
                                        "missing.npz,deep_squat,,,,\n"
                                        "squat_b.npz,deep_squat,,,,F\n"
                                        "squat_a.npz,deep_squat,,,A1,\n"
                                        "squat_b.npz,deep_squat,,yes,,Q\n")
    out = tmp_path / "batch"
    rc = main(["batch", str(manifest), "--workers", "2", "--out", str(out), "--json", "--no-progress"])
    assert rc == 1                                     # some rows failed
    summary = json.loads(capsys.readouterr().out)
    rows = {r["line"]: r for r in summary["rows"]}
    assert [rows[n]["status"] for n in (2, 3, 4, 5, 6)] == ["scored", "failed", "scored", "scored", "failed"]
    assert "line 3, field clip: file not found" in rows[3]["error"]
    assert "line 6, field sex" in rows[6]["error"]
    assert rows[5]["run_dir"] == rows[2]["run_dir"] and "as line 2" in rows[5]["note"]
    assert rows[2]["run_dir"] != rows[4]["run_dir"]  # parallel runs never share a folder
    assert summary["counts"] == {"rows": 5, "scored": 3, "resumed": 0, "failed": 2,
                                 "review": sum(1 for r in summary["rows"] if r["status"] != "failed" and r["review"])}
    assert summary["engine"] == {"kind": "local", "workers": 2} and summary["screened_now"] == 2
    # the same folder and trace as `formscout screen`, and the same verdict as screen() run here
    for n in (2, 4):
        run_dir = rows[n]["run_dir"]
        for name in ("verdict.json", "trace.json", "skeleton.npz", "angles.csv"):
            assert os.path.isfile(os.path.join(run_dir, name)), name
        assert check_trace(load_trace(os.path.join(run_dir, "trace.json"))).intact
    direct = screen(ScreenRequest(source=str(clips[1]), test="deep_squat", run_dir=str(tmp_path / "direct"), sex="F"))
    batch_verdict = json.loads((Path(rows[4]["run_dir"]) / "verdict.json").read_text())
    assert batch_verdict["score"] == direct["score"] and batch_verdict["review"] == direct["review"]
    assert [(c["id"], c["passed"]) for c in batch_verdict["criteria"]] == [(c["id"], c["passed"]) for c in direct["criteria"]]
    for mine, theirs in zip(batch_verdict["criteria"], direct["criteria"]):
        assert mine["value"] == pytest.approx(theirs["value"], abs=1e-6)
    assert (out / "summary.csv").read_text().count("\n") == 6 and (out / "batch.json").is_file()
    from index.library.runs import athletes_of_run          # rows naming an athlete are filed under them
    filed = json.loads((Path(rows[2]["run_dir"]) / "verdict.json").read_text())["run_id"]
    assert athletes_of_run(filed) == ["A1"]

    moved = out.rename(tmp_path / "moved")          # a batch folder can be moved and still resumes
    rc = main(["batch", str(manifest), "--workers", "2", "--out", str(moved), "--json", "--no-progress"])
    again = {r["line"]: r for r in json.loads(capsys.readouterr().out)["rows"]}
    assert [again[n]["status"] for n in (2, 4, 5)] == ["resumed"] * 3
    assert again[2]["run_dir"] == str(moved / Path(rows[2]["run_dir"]).relative_to(out))
    assert again[2]["score"] == rows[2]["score"]
    assert rc == 1 and again[3]["status"] == "failed"


def test_text_summary_and_whole_batch_errors(tmp_path, clips, fixed_code, capsys):
    manifest = write_manifest(tmp_path, "squat_a.npz,hurdle_step,X,,,\n")
    rc = main(["batch", str(manifest), "--out", str(tmp_path / "b"), "--no-progress"])
    text = capsys.readouterr().out
    assert rc == 1 and "1 failed" in text and "field side: 'X' must be L, R or blank" in text
    assert main(["batch", str(tmp_path / "nope.csv"), "--no-progress"]) == 2
    assert "manifest not found" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text("clip,test,colour\nsquat_a.npz,deep_squat,red\n")
    assert main(["batch", str(bad), "--no-progress"]) == 2
    assert "unknown column(s) ['colour']" in capsys.readouterr().err


def test_one_batch_per_folder(tmp_path, clips, fixed_code):
    from filelock import FileLock
    manifest = write_manifest(tmp_path, "squat_a.npz,deep_squat,,,,\n")
    out = tmp_path / "b"
    (out / ".batch").mkdir(parents=True)
    with FileLock(str(out / ".batch" / "lock")), pytest.raises(InputError, match="another batch is running"):
        run_batch(manifest, BatchConfig(out_dir=out, workers=1))


def test_resume_key_follows_content_not_names(tmp_path):
    req = ScreenRequest(source="a.npz", test="deep_squat", run_dir="x").to_dict()
    key = run_key("c" * 64, req, "protocol", {}, "v1", {})
    moved = dict(req, source="elsewhere/b.npz", run_dir="y")
    assert run_key("c" * 64, moved, "protocol", {}, "v1", {}) == key
    assert run_key("d" * 64, req, "protocol", {}, "v1", {}) != key                       # other clip bytes
    assert run_key("c" * 64, dict(req, pain=True), "protocol", {}, "v1", {}) != key      # other request
    assert run_key("c" * 64, req, "remote", {"url": "u"}, "v1", {}) != key               # other brain
    assert run_key("c" * 64, req, "protocol", {}, "v2", {}) != key                       # other code
    assert run_key("c" * 64, req, "protocol", {}, "v1", {"criteria_file": "e" * 64}) != key  # edited criteria
    version = code_version()
    assert len(version["version"]) == 16 and version["files"] > 50 and "numpy" in version["software"]


def crash_on_line_3(job: Job) -> dict:
    """A stand-in worker task: line 3 kills its process (as a native crash would), the others succeed."""
    Path(job.marker_dir).mkdir(parents=True, exist_ok=True)
    (Path(job.marker_dir) / f"{job.attempt}.started").touch()
    if job.line == 3:
        os._exit(1)
    return {"line": job.line, "key": job.key, "status": "scored", "verdict": {"score": 3}, "run_dir": None,
            "error": None, "seconds": 0.0, "worker": str(os.getpid())}


def test_a_clip_that_kills_its_worker_is_named_and_the_others_finish(tmp_path):
    jobs = [Job(line=n, key=f"k{n}", request={}, run_dir_prefix=str(tmp_path / f"r{n}"),
                marker_dir=str(tmp_path / "started")) for n in range(2, 7)]
    results = []
    run_local(jobs, 2, results.append, task=crash_on_line_3)
    by_line = {r["line"]: r for r in results}
    assert sorted(by_line) == [2, 3, 4, 5, 6] and len(results) == 5
    assert by_line[3]["status"] == "failed" and by_line[3]["error"] == WORKER_DIED
    assert all(by_line[n]["status"] == "scored" for n in (2, 4, 5, 6))
    assert list((tmp_path / "started").iterdir()) == []


@pytest.mark.slow
def test_batch_on_a_local_ray_instance(tmp_path, clips, fixed_code):
    pytest.importorskip("ray")
    manifest = write_manifest(tmp_path, "squat_a.npz,deep_squat,,,,\nsquat_b.npz,deep_squat,,,,\n")
    out = tmp_path / "ray_batch"
    summary = run_batch(manifest, BatchConfig(out_dir=out, workers=2, ray="local", file_runs=False))
    assert summary.engine["kind"] == "ray" and summary.engine["cpus"] == 2
    assert [r.status for r in summary.rows] == ["scored", "scored"]
    assert summary.rows[0].run_dir != summary.rows[1].run_dir
    for r in summary.rows:
        assert check_trace(load_trace(os.path.join(r.run_dir, "trace.json"))).intact
    local = run_batch(manifest, BatchConfig(out_dir=out, workers=1))   # a local batch resumes what Ray ran
    assert [r.status for r in local.rows] == ["resumed", "resumed"]
