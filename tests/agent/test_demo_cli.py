"""`formscout demo` (what `make demo` runs): the bundled clip scored end to end, and run again without a clash."""
import json
from pathlib import Path

from agent.cli.main import main
from agent.trace.check import check_trace, locate
from agent.trace.record import load_trace


def test_the_demo_scores_the_bundled_clip_and_can_be_run_again(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    folders = []
    for _ in range(2):
        assert main(["demo", "--no-library", "--json"]) == 0
        out = json.loads(capsys.readouterr().out)
        v = out["verdict"]
        run_dir = Path(v["artifacts"]["run_dir"])
        folders.append(run_dir)
        assert run_dir.parent == (tmp_path / "out" / "demo").resolve()
        assert v["test"] == "deep_squat"
        assert v["score"] in (0, 1, 2, 3) or v["review"] is True
        for key in ("verdict_json", "trace_json", "overlay_mp4", "skeleton_npz"):
            assert Path(v["artifacts"][key]).is_file(), key
        assert out["truth_check"]["measures"]["trunk_inclination_deg"]["mae"] < 10.0
        assert (run_dir / "truth_check.json").is_file()
        trace_file, folder = locate(run_dir)
        check = check_trace(load_trace(trace_file), folder)
        assert check.intact, check
    assert folders[0] != folders[1]                       # a fresh folder each time, the first run kept
    assert (folders[0] / "verdict.json").is_file()


def test_an_explicit_demo_folder_holding_a_finished_run_is_refused(tmp_path, capsys):
    run_dir = tmp_path / "done"
    run_dir.mkdir()
    (run_dir / "verdict.json").write_text("{}")
    assert main(["demo", "--no-library", "--out", str(run_dir)]) == 2
    err = capsys.readouterr().err
    assert "already exists and holds a finished run" in err and "Traceback" not in err
    assert (run_dir / "verdict.json").read_text() == "{}"
