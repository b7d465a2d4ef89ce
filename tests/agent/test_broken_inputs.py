"""Every broken clip (tests/broken_videos.py) is refused by `formscout screen`, `index add` and `session`
with one line on stderr and exit code 2, and nothing is half-written: no run folder, no temp file."""
from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from agent.cli.main import main
from tests.broken_videos import awkward_corpus, broken_corpus
from tools.video.clip import probe_video

REPO = Path(__file__).resolve().parents[2]
NAMES = ("zero_bytes", "truncated_half", "truncated_moov_at_end", "text_named_mp4", "png_named_mp4",
         "video_named_npz", "zip_named_npz", "npz_named_mp4", "audio_only", "one_frame", "4k_10_minutes",
         "4k_10_minutes_4gb", "variable_frame_rate", "rotated_45", "tiny_16x16")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return broken_corpus(tmp_path_factory.mktemp("broken"))


def _leftovers(folder: Path) -> list[str]:
    return sorted(str(p) for p in folder.rglob("*") if ".tmp" in p.name or p.name.startswith(".formscout"))


def test_the_corpus_is_complete(corpus):
    assert sorted(corpus) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_screen_refuses_each_broken_clip_in_one_line_and_writes_nothing(corpus, name, tmp_path, capsys,
                                                                        monkeypatch):
    path, needle = corpus[name]
    monkeypatch.chdir(tmp_path)                      # the default run root would be ./formscout_runs
    assert main(["screen", str(path), "--test", "deep_squat"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("formscout screen: error: ") and "Traceback" not in err
    assert needle in err.replace(str(path), "<clip>"), err
    assert not (tmp_path / "formscout_runs").exists() and not _leftovers(tmp_path)
    assert main(["screen", str(path), "--test", "deep_squat", "--out", str(tmp_path / "run")]) == 2
    capsys.readouterr()
    assert not (tmp_path / "run").exists()


def test_index_add_of_broken_clips_adds_nothing_and_names_every_row(corpus, tmp_path, capsys):
    labels = tmp_path / "labels.csv"
    with open(labels, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["clip_id", "athlete_id", "date", "test_name", "side", "score", "pain", "compensation_notes",
                    "camera_view", "consent_on_file", "path"])
        for name in NAMES:
            w.writerow([name, "A1", "2025-01-01", "deep_squat", "NA", "2", "false", "", "side", "true",
                        str(corpus[name][0])])
    db = tmp_path / "lib.duckdb"
    assert main(["index", "add", str(labels), "--db", str(db), "--json"]) == 2
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and "nothing was added" in err and "Traceback" not in err
    fates = json.loads(out)["fates"]
    assert [f["fate"] for f in fates] == ["invalid"] * len(NAMES)     # every row's fate, in one pass
    assert main(["index", "stats", "--db", str(db), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["clips"] == 0
    assert not list((tmp_path / "lib_files").rglob("*.npz")) if (tmp_path / "lib_files").exists() else True


@pytest.mark.slow
def test_session_scores_the_good_rows_and_reports_each_broken_one(corpus, tmp_path, capsys):
    from tests.skeleton_factory import squat_clip
    good = squat_clip(depth_deg=15, trunk_deg=30, tibia_deg=35).save(tmp_path / "good.npz")
    manifest = tmp_path / "m.csv"
    manifest.write_text("clip,test\n" + f"{good},deep_squat\n" +
                        "".join(f"{corpus[n][0]},deep_squat\n" for n in ("zero_bytes", "rotated_45", "audio_only")))
    out = tmp_path / "session"
    assert main(["session", str(manifest), "--out", str(out), "--no-pdf", "--json"]) == 0
    sc = json.loads(capsys.readouterr().out)
    errors = sc["tests"]["deep_squat"].get("errors", [])
    assert len(errors) == 3 and all("\n" not in e["error"] for e in errors)
    runs = sorted(p.name for p in (out / "runs").iterdir())
    assert len(runs) == 1 and (out / "runs" / runs[0] / "verdict.json").is_file()   # no folder for a refused clip


def test_awkward_but_valid_clips_are_accepted_with_the_right_facts(tmp_path):
    for name, (path, facts) in awkward_corpus(tmp_path).items():
        info = probe_video(path)
        assert {k: getattr(info, k) for k in facts} == facts, name


def test_the_real_cli_prints_one_line_for_a_broken_clip(corpus, tmp_path):
    for name in ("truncated_half", "variable_frame_rate"):
        proc = subprocess.run([sys.executable, "-m", "agent.cli.main", "screen", str(corpus[name][0]), "--test",
                               "deep_squat", "--out", str(tmp_path / name)], capture_output=True, text=True,
                              timeout=120, cwd=REPO)
        assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr
        assert not (tmp_path / name).exists()
