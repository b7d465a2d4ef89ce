"""`formscout screen` end to end on skeletons and video, and its bad-input behaviour."""
import json
import subprocess
import sys

import numpy as np
import pytest

from agent.cli.main import main
from agent.trace.record import load_trace, verify
from tests.skeleton_factory import squat_clip


@pytest.fixture
def squat_npz(tmp_path):
    return str(squat_clip(depth_deg=15, trunk_deg=30, tibia_deg=35).save(tmp_path / "squat.npz"))


def run_json(capsys, argv):
    rc = main(argv + ["--json"])
    out = capsys.readouterr().out
    return rc, json.loads(out)


def test_screen_skeleton_json_contract(tmp_path, squat_npz, capsys):
    rc, v = run_json(capsys, ["screen", squat_npz, "--test", "deep_squat", "--out", str(tmp_path / "run")])
    assert rc == 0
    for key in ("test", "side", "score", "review", "reasons", "criteria", "quality", "artifacts"):
        assert key in v
    assert v["test"] == "deep_squat" and v["side"] == "NA"
    assert v["score"] == 3 and v["review"] is False
    ids = [c["id"] for c in v["criteria"]]
    assert "thigh_below_horizontal" in ids and "torso_parallel_tibia" in ids
    for c in v["criteria"]:
        assert {"value", "unit", "threshold", "margin", "passed", "deciding_frame"} <= set(c)
    art = v["artifacts"]
    for key in ("verdict_json", "trace_json", "skeleton_npz", "overlay_mp4", "deciding_frame_png", "angles_csv"):
        assert art[key] and (tmp_path / "run").exists()
        assert __import__("pathlib").Path(art[key]).is_file(), key
    trace = load_trace(art["trace_json"])
    assert verify(trace) == []
    core = ["prepare_skeleton", "measure_angles", "score_rubric", "decide", "render_overlay"]
    tools = [s["tool"] for s in trace["steps"]]
    assert [t for t in tools if t in core] == core  # protocol order; optional steps (ST-GCN, retrieval) between
    assert set(tools) - set(core) <= {"segment_repetitions", "score_stgcn", "retrieve_similar_clips",
                                      "retrieve_passages"}
    assert trace["verdict"]["score"] == 3


def test_pain_gives_zero(tmp_path, squat_npz, capsys):
    rc, v = run_json(capsys, ["screen", squat_npz, "--test", "deep_squat", "--pain", "--out", str(tmp_path / "r")])
    assert rc == 0 and v["score"] == 0 and v["inputs"]["pain"] is True


def test_same_input_same_verdict(tmp_path, squat_npz, capsys):
    _, a = run_json(capsys, ["screen", squat_npz, "--test", "deep_squat", "--out", str(tmp_path / "a")])
    _, b = run_json(capsys, ["screen", squat_npz, "--test", "deep_squat", "--out", str(tmp_path / "b")])
    strip = lambda v: {k: v[k] for k in ("score", "confidence", "review", "reasons", "criteria")}
    assert strip(a) == strip(b)


@pytest.mark.parametrize("argv, needle", [
    (["screen", "/nonexistent/clip.mp4", "--test", "deep_squat"], "not found"),
    (["screen", "{npz}", "--test", "squat"], "unknown test"),
    (["screen", "{npz}", "--test", "deep_squat", "--side", "L"], "scored once"),
    (["screen", "{txt}", "--test", "deep_squat"], "{txt}"),
])
def test_bad_input_is_one_clear_line_and_exit_2(tmp_path, squat_npz, argv, needle):
    txt = tmp_path / "notes.mp4"
    txt.write_text("this is not a video")
    argv = [a.format(npz=squat_npz, txt=txt) for a in argv]
    needle = needle.format(txt=txt.name)
    proc = subprocess.run([sys.executable, "-m", "agent.cli.main"] + argv + ["--out", str(tmp_path / "o")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert needle in proc.stderr
    assert proc.stderr.strip().count("\n") == 0  # one line


def test_screen_video_end_to_end_on_real_footage(tmp_path, sports2d_clip, capsys):
    """Real footage that is not an FMS test: the path runs and it is not a confident 3."""
    rc, v = run_json(capsys, ["screen", str(sports2d_clip), "--test", "deep_squat", "--out", str(tmp_path / "s2d")])
    assert rc == 0
    q = v["quality"]
    assert 0.5 <= q["athlete_share"] <= 1.0
    assert q["n_frames"] == 230
    assert not (v["score"] == 3 and not v["review"])
    assert v["review"] and v["reasons"]
    trace = load_trace(v["artifacts"]["trace_json"])
    assert [s["tool"] for s in trace["steps"]][:3] == ["check_video", "estimate_pose", "lift_to_3d"]
    assert verify(trace) == []
    assert len(trace["input"]["sha256"]) == 64
    assert len(json.dumps(trace)) < 300_000  # the trace identifies the video by hash; it never embeds frames
    skel = np.load(v["artifacts"]["skeleton_npz"])
    assert skel["xyz"].shape == (230, 23, 3)


DEMO_CLIP = __import__("pathlib").Path(__file__).resolve().parents[2] / "tools" / "assets" / "demo_deep_squat.mp4"


@pytest.mark.parametrize("flags, needle", [
    (["--athlete-box", "10,20,30"], "give 4 numbers in pixels as x,y,w,h"),
    (["--athlete-box", "a,b,c,d"], "give 4 numbers in pixels as x,y,w,h"),
    (["--athlete-box", "10,20,0,50"], "width and height must be positive"),
    (["--athlete-box", "10,20,-5,50"], "width and height must be positive"),
    (["--athlete-box", "5000,20,100,100"], "does not fit inside the"),
    (["--athlete-point", "12"], "give 2 numbers in pixels as x,y"),
    (["--athlete-point=-3,40"], "lies outside the"),
    (["--athlete-box", "10,20,30,40", "--athlete-frame", "100000"], "--athlete-frame 100000"),
])
def test_athlete_box_and_point_are_checked_before_anything_runs(tmp_path, flags, needle):
    proc = subprocess.run([sys.executable, "-m", "agent.cli.main", "screen", str(DEMO_CLIP), "--test", "deep_squat",
                           "--out", str(tmp_path / "o")] + flags, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and needle in proc.stderr
    assert proc.stderr.strip().count("\n") == 0
    assert not (tmp_path / "o" / "trace.json").exists()


def test_athlete_box_on_a_skeleton_file_is_refused(tmp_path, squat_npz):
    proc = subprocess.run([sys.executable, "-m", "agent.cli.main", "screen", squat_npz, "--test", "deep_squat",
                           "--athlete-box", "1,2,3,4", "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "already holds one person" in proc.stderr


@pytest.mark.slow
def test_a_box_that_holds_nobody_sends_the_demo_to_review(tmp_path, capsys):
    """The bundled one-person demo with a box drawn on empty floor: review with the plain reason, no crash."""
    rc, v = run_json(capsys, ["screen", str(DEMO_CLIP), "--test", "deep_squat", "--athlete-box", "0,0,40,40",
                              "--out", str(tmp_path / "r")])
    assert rc == 0 and v["review"]
    assert any(r.startswith("athlete selection: the box you drew contains nobody; draw it around the athlete")
               for r in v["reasons"])
    trace = load_trace(v["artifacts"]["trace_json"])
    pose = next(s for s in trace["steps"] if s["tool"] == "estimate_pose")
    assert pose["arguments"]["athlete_box"] == [0.0, 0.0, 40.0, 40.0]
    assert pose["result"]["selection"]["method"] == "auto" and verify(trace) == []


def test_a_folder_that_cannot_be_made_is_one_line_not_a_traceback(tmp_path, squat_npz, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    rc = main(["screen", squat_npz, "--test", "deep_squat", "--out", str(blocker / "run")])
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err
    assert err.startswith("formscout screen: error:") and f"{blocker} is a file, not a folder" in err
    assert len(err.strip().splitlines()) == 1
    rc = main(["synth", "--out", str(blocker / "lib"), "--per-test", "1", "--tests", "deep_squat", "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err and "cannot use" in err
    assert blocker.read_text() == "not a folder"
