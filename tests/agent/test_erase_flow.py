"""The README's flow for one athlete: session -> ask -> erase, plus a screen and a published page.

`session --athlete A17 --out runs/a17` files its runs in the catalog like `screen --athlete` does (so
`ask --athlete A17` answers from them), the catalog stores absolute run paths (so commands run from
another folder still find them), and `index erase --athlete A17` removes every run folder, session
report and published trace of A17 wherever it was written. Afterwards a search of the whole tree
(run folders, pages, the catalog and its files) finds the athlete id nowhere, in no file and no name.
Slow (two sessions' worth of screens); tests/index/test_commit_and_repair.py covers the erasure of
recorded run and session folders in the default suite.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from agent.cli.main import main
from index.library.toy_clips import toy_clip
from tests.skeleton_factory import squat_clip

ATHLETE = "A17"


def _mentions(root: Path, needle: str) -> list[str]:
    found = []
    for p in root.rglob("*"):
        if needle in p.name:
            found.append(f"name: {p}")
        elif p.is_file() and needle.encode() in p.read_bytes():
            found.append(f"content: {p}")
    return found


@pytest.fixture
def flow(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    clips = tmp_path / "input"
    clips.mkdir()
    squat_clip(depth_deg=15, trunk_deg=30, tibia_deg=35).save(clips / "squat.npz")
    toy_clip("hurdle_step", 2, "L", np.random.default_rng(0)).save(clips / "hurdle_l.npz")
    (clips / "manifest.csv").write_text("clip,test,side\nsquat.npz,deep_squat,\nhurdle_l.npz,hurdle_step,L\n")
    other = squat_clip(depth_deg=10, trunk_deg=30, tibia_deg=35).save(clips / "other.npz")
    # the athlete's whole screen, a single screen filed under them, and one of another athlete
    assert main(["session", str(clips / "manifest.csv"), "--athlete", ATHLETE, "--out", "runs/a17", "--json"]) == 0
    assert main(["screen", str(clips / "squat.npz"), "--test", "deep_squat", "--athlete", ATHLETE, "--json"]) == 0
    single = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert main(["screen", str(other), "--test", "deep_squat", "--athlete", "B22", "--json"]) == 0
    kept = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    page = tmp_path / "pages" / "squat.html"
    assert main(["trace", "publish", single["artifacts"]["trace_json"], "--out", str(page)]) == 0
    capsys.readouterr()
    return tmp_path, single, kept, page


@pytest.mark.slow
def test_session_files_its_runs_and_erase_removes_every_trace_of_the_athlete(flow, capsys, monkeypatch):
    root, single, kept, page = flow
    assert (root / "runs" / "a17" / "session.json").is_file() and page.is_file()
    assert _mentions(root / "runs", ATHLETE) and _mentions(root / "formscout_runs", ATHLETE)

    # from another folder: the catalog's run paths are absolute
    elsewhere = root / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["trace", "list", "--athlete", ATHLETE, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert len(listed) == 3 and all(r["intact"] is True for r in listed)     # 2 session runs + 1 screen
    assert main(["ask", "why this score on the left hurdle step?", "--athlete", ATHLETE, "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["status"] == "answered" and "hurdle step" in answer["text"].lower()   # from the session's run

    assert main(["index", "erase", "--athlete", ATHLETE, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert str((root / "runs" / "a17").resolve()) in report["folders"]
    assert str(Path(single["artifacts"]["run_dir"]).resolve()) in report["folders"]
    assert str(page.resolve()) in report["files"] and not page.exists()
    assert report["rows"]["runs"] == 3 and not report["kept"]

    # nothing anywhere names the athlete: run folders, pages, the catalog file and its data folder
    assert _mentions(root, ATHLETE) == []
    assert Path(kept["artifacts"]["run_dir"]).is_dir()                      # the other athlete's run stays
    assert main(["trace", "verify", kept["artifacts"]["run_dir"]]) == 0
    capsys.readouterr()
    assert main(["ask", "why this score?", "--athlete", ATHLETE, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "clarify"
    assert main(["index", "verify"]) == 0
