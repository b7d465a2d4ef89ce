"""Run folders that never collide (agent.screening.run_folder) and `trace verify` checking a run folder's
files against the hashes its verdict sealed, so a verdict can never point at another clip's files."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from agent.cli.main import main
from agent.screening.protocol import ScreenRequest
from agent.screening.run import screen
from agent.screening.run_folder import claim_run_folder, create_run_folder, run_id_of
from tests.skeleton_factory import squat_clip
from tools.core.errors import InputError
from tools.core.files import file_sha256

REPO = Path(__file__).resolve().parents[2]
MAKE = "import sys; from agent.screening.run_folder import create_run_folder as c; print(c(sys.argv[1], 'deep_squat')[0])"


def test_many_processes_in_one_second_get_different_folders(tmp_path):
    procs = [subprocess.Popen([sys.executable, "-c", MAKE, str(tmp_path / "runs")], cwd=REPO, text=True,
                              stdout=subprocess.PIPE) for _ in range(12)]
    folders = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert len(set(folders)) == 12 and len(list((tmp_path / "runs").iterdir())) == 12
    assert len({run_id_of(f) for f in folders}) == 12


def test_a_folder_is_made_new_or_claimed_empty_and_never_reused(tmp_path):
    folder, run_id = create_run_folder(tmp_path, "hurdle_step")
    assert folder.name.startswith(tuple("0123456789")) and folder.name.endswith(f"_hurdle_step_{run_id[:8]}")
    with pytest.raises(InputError, match="already exists and is not empty"):
        claim_run_folder(folder, "another")                     # its owner marker alone is enough
    (tmp_path / "empty").mkdir()
    assert run_id_of(claim_run_folder(tmp_path / "empty", "me")) == "me"
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "clip.mp4").write_bytes(b"the physio's clip")
    with pytest.raises(InputError, match="not empty"):
        claim_run_folder(tmp_path / "full", "me")
    (tmp_path / "afile").write_text("x")
    with pytest.raises(InputError):
        claim_run_folder(tmp_path / "afile", "me")


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("runs")
    a = squat_clip(depth_deg=15, trunk_deg=30, tibia_deg=35).save(tmp / "a.npz")
    b = squat_clip(depth_deg=-20, trunk_deg=45, tibia_deg=30).save(tmp / "b.npz")
    va = screen(ScreenRequest(source=str(a), test="deep_squat", run_dir=str(tmp / "run_a")))
    here = os.getcwd()
    os.chdir(tmp)                                   # "" = a new folder under ./formscout_runs
    try:
        vb = screen(ScreenRequest(source=str(b), test="deep_squat", run_dir=""))
    finally:
        os.chdir(here)
    return tmp, (a, va), (b, vb)


def test_the_verdict_records_its_clip_skeleton_and_files(two_runs):
    _, (a, va), (_, vb) = two_runs
    run_a = Path(va["artifacts"]["run_dir"])
    assert run_a.is_absolute() and Path(vb["artifacts"]["run_dir"]).parent.name == "formscout_runs"
    h = json.loads((run_a / "verdict.json").read_text())["hashes"]
    assert h["clip_sha256"] == file_sha256(a) and h["skeleton_sha256"] == file_sha256(run_a / "skeleton.npz")
    assert {"skeleton.npz", "angles.csv"} <= set(h["files"])
    assert all(file_sha256(run_a / n) == s for n, s in h["files"].items())
    assert run_id_of(run_a) == va["run_id"]


def test_trace_verify_checks_the_folder_against_the_verdict(two_runs, tmp_path, capsys):
    _, (a, va), (b, vb) = two_runs
    run_a, run_b = Path(va["artifacts"]["run_dir"]), Path(vb["artifacts"]["run_dir"])
    assert main(["trace", "verify", str(run_a), "--clip", str(a)]) == 0
    assert "run files match the verdict's hashes" in capsys.readouterr().out
    assert main(["trace", "verify", str(run_a / "trace.json"), "--json"]) == 0    # the file finds its folder
    assert json.loads(capsys.readouterr().out)["files_checked"] >= 2

    def broken(change) -> list[str]:
        copy = tmp_path / f"copy{len(list(tmp_path.iterdir()))}"
        shutil.copytree(run_a, copy)
        change(copy)
        assert main(["trace", "verify", str(copy), "--json"]) == 1
        return json.loads(capsys.readouterr().out)["artifact_problems"]

    swapped = broken(lambda d: shutil.copy(run_b / "skeleton.npz", d / "skeleton.npz"))
    assert any("skeleton.npz" in p and "sha256 differs" in p for p in swapped)
    verdict = broken(lambda d: shutil.copy(run_b / "verdict.json", d / "verdict.json"))
    assert any(f"it is run {vb['run_id']}'s" in p for p in verdict)
    unfinished = broken(lambda d: (d / "verdict.json").unlink())
    assert any("did not finish" in p for p in unfinished)
    assert main(["trace", "verify", str(run_a), "--clip", str(b)]) == 1
    assert "is not the clip this run scored" in capsys.readouterr().out


def test_screen_never_writes_into_a_used_folder(two_runs, capsys):
    tmp, (a, va), _ = two_runs
    before = (Path(va["artifacts"]["run_dir"]) / "verdict.json").read_bytes()
    assert main(["screen", str(a), "--test", "deep_squat", "--out", va["artifacts"]["run_dir"]]) == 2
    err = capsys.readouterr().err
    assert "already exists and holds a finished run" in err and err.count("\n") == 1
    assert (Path(va["artifacts"]["run_dir"]) / "verdict.json").read_bytes() == before
