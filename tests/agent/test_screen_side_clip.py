"""`formscout screen CLIP --side-clip CLIP2`: two clips of one repetition, each criterion from the view that
measures it (issue 16 item 7), end to end on skeleton clips; bad side clips get one clear line."""
from __future__ import annotations

import json

import pytest

from agent.cli.main import main
from agent.trace.record import load_trace, verify
from tools.synth.library import make_sample, truth_skeleton


@pytest.fixture
def squat_pair(tmp_path):
    """The same rendered-truth squat filmed from the front and from the side (two skeleton files)."""
    sample = make_sample("deep_squat", 8100)
    paths = {}
    for view, azimuth in (("front", 0.0), ("side", 88.0)):
        skel = truth_skeleton(sample)
        skel.meta.update(camera_view=view, view_azimuth_deg=azimuth)
        paths[view] = str(skel.save(tmp_path / f"squat_{view}.npz"))
    return paths


def _screen(capsys, argv):
    rc = main(argv + ["--json"])
    return rc, json.loads(capsys.readouterr().out)


def test_a_front_and_a_side_clip_are_screened_together(tmp_path, squat_pair, capsys):
    rc, v = _screen(capsys, ["screen", squat_pair["front"], "--test", "deep_squat", "--side-clip",
                             squat_pair["side"], "--out", str(tmp_path / "run")])
    assert rc == 0 and v["score"] is not None
    # every criterion says which clip decided it, and the verdict's inputs list it per criterion
    assert all(c.get("view_source") for c in v["criteria"])
    decided = v["inputs"]["views"]["decided_by"]
    assert set(decided) == {c["id"] for c in v["criteria"]}
    assert v["inputs"]["views"]["second"]["view"] == "side"
    assert any(n.startswith("two clips of one repetition: ") for n in v["notes"])
    trace = load_trace(v["artifacts"]["trace_json"])
    assert verify(trace) == []
    second = next(s for s in trace["steps"] if s["tool"] == "measure_second_view")
    assert second["result"]["used"] is True and second["result"]["alignment"]["same_movement"] is True
    assert abs(second["result"]["alignment"]["lag_s"]) < 0.1
    rubric = next(s for s in trace["steps"] if s["tool"] == "score_rubric")
    assert rubric["arguments"]["second_view_path"] == second["result"]["skeleton_path"]
    # the second clip's own measurement lives in the run folder, sealed by the verdict's hashes
    assert any(k.startswith("second_view/") for k in v["hashes"]["files"])
    rc = main(["trace", "verify", v["artifacts"]["trace_json"]])
    capsys.readouterr()
    assert rc == 0


def test_a_side_clip_of_another_movement_is_not_used_and_the_verdict_says_so(tmp_path, squat_pair, capsys):
    other = truth_skeleton(make_sample("active_straight_leg_raise", 8100, side="L"))
    other_path = str(other.save(tmp_path / "aslr.npz"))
    rc, v = _screen(capsys, ["screen", squat_pair["front"], "--test", "deep_squat", "--side-clip", other_path,
                             "--out", str(tmp_path / "run")])
    assert rc == 0
    assert "views" not in v["inputs"] and not any(c.get("view_source") for c in v["criteria"])
    note = next(n for n in v["notes"] if n.startswith("the side clip was not used: "))
    assert note.startswith("the side clip was not used: it does not show the same test (asked for deep squat")
    # the main clip alone is scored as it would be without a side clip
    rc, alone = _screen(capsys, ["screen", squat_pair["front"], "--test", "deep_squat", "--out", str(tmp_path / "a")])
    assert (v["score"], [c["passed"] for c in v["criteria"]]) == (alone["score"], [c["passed"] for c in alone["criteria"]])


@pytest.mark.parametrize("which", ["missing", "itself", "not_a_clip"])
def test_a_bad_side_clip_gets_one_line_and_no_run_folder(tmp_path, squat_pair, capsys, which):
    bad = {"missing": str(tmp_path / "nope.mp4"), "itself": squat_pair["front"],
           "not_a_clip": str(tmp_path / "notes.txt")}[which]
    (tmp_path / "notes.txt").write_text("not a video")
    out = tmp_path / "run"
    rc = main(["screen", squat_pair["front"], "--test", "deep_squat", "--side-clip", bad, "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert {"missing": "side clip not found", "itself": "--side-clip is the clip itself",
            "not_a_clip": "notes.txt"}[which] in err
    assert not out.exists()


def test_a_manifest_names_the_side_clip_per_row(tmp_path, squat_pair):
    from agent.screening.batch import row_request
    from tools.report.manifest import BATCH_COLUMNS, parse_manifest
    (tmp_path / "front.npz").write_bytes(open(squat_pair["front"], "rb").read())
    (tmp_path / "side.npz").write_bytes(open(squat_pair["side"], "rb").read())
    sheet = tmp_path / "screen.csv"
    sheet.write_text("clip,test,side_clip\nfront.npz,deep_squat,side.npz\nfront.npz,deep_squat,\n"
                     "front.npz,deep_squat,gone.mp4\nfront.npz,deep_squat,front.npz\n")
    rows, problems = parse_manifest(sheet, columns=BATCH_COLUMNS)
    assert [r.side_clip for r in rows] == [str(tmp_path / "side.npz"), ""]
    assert [line for line, _ in problems] == [4, 5]
    assert "field side_clip: file not found: gone.mp4" in problems[0][1]
    assert "it is the row's clip itself" in problems[1][1]
    assert row_request(rows[0], {})["side_clip"] == str(tmp_path / "side.npz")
    assert "side_clip" not in row_request(rows[1], {})


def test_the_published_page_and_the_app_say_which_clip_decided_each_criterion(tmp_path, squat_pair, capsys):
    from agent.app.display import criteria_rows
    rc, v = _screen(capsys, ["screen", squat_pair["front"], "--test", "deep_squat", "--side-clip",
                             squat_pair["side"], "--out", str(tmp_path / "run")])
    assert all("Decided by this clip (front)" in row[-1] or "Decided by side clip (side)" in row[-1]
               for row in criteria_rows(v))
    page = tmp_path / "page.html"
    assert main(["trace", "publish", v["artifacts"]["trace_json"], "--out", str(page)]) == 0
    capsys.readouterr()
    assert page.read_text().count("decided by ") >= len(v["criteria"])


def test_the_app_screens_a_second_view_and_checks_it_first(tmp_path, squat_pair):
    from agent.app.paths import AppLimits, AppPaths
    from agent.app.screening import ScreenForm, run_screening
    from tools.core.errors import InputError
    paths = AppPaths.default(tmp_path / "app").ensure()
    form = ScreenForm(clip_path=squat_pair["front"], use_demo=False, test="deep_squat", side=None, pain=False,
                      heels_raised="auto", side_clip_path=squat_pair["side"])
    out = run_screening(form, paths, AppLimits(), db=str(tmp_path / "lib.duckdb"))
    assert out.verdict["inputs"]["views"]["second"]["view"] == "side"
    assert all(c.get("view_source") for c in out.verdict["criteria"])
    (tmp_path / "notes.txt").write_text("not a clip")
    runs_before = sorted(p.name for p in paths.runs.iterdir())
    for bad, says in ((str(tmp_path / "notes.txt"), "notes.txt"), (squat_pair["front"], "the clip itself")):
        with pytest.raises(InputError, match=says):
            run_screening(ScreenForm(**{**form.__dict__, "side_clip_path": bad}), paths, AppLimits(),
                          db=str(tmp_path / "lib.duckdb"))
    assert sorted(p.name for p in paths.runs.iterdir()) == runs_before     # refused before any run folder


def test_the_chat_says_which_clip_decided_the_criterion(tmp_path, squat_pair, capsys):
    rc, v = _screen(capsys, ["screen", squat_pair["front"], "--test", "deep_squat", "--side-clip",
                             squat_pair["side"], "--out", str(tmp_path / "run")])
    assert main(["ask", "why this score?", "--run", str(tmp_path / "run")]) == 0
    answer = capsys.readouterr().out
    assert "decided by this clip (front)" in answer or "decided by side clip (side)" in answer
