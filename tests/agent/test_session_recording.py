"""`formscout session --recording`: one take of the whole screen split into tests, scored, reported."""
import csv
import json

import pytest

from agent.cli.main import main
from agent.screening.recording import analyse_recording, apply_corrections, read_order
from tools.core.errors import InputError
from tools.synth.recording import make_screen_recording, manifest_rows
from tools.synth.repetitions import RepPlan, clip_skeleton

ORDER = ("deep_squat", "hurdle_step", "active_straight_leg_raise")


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    folder = tmp_path_factory.mktemp("recording")
    plans = {"deep_squat": [RepPlan(3), RepPlan(2, pause_before_s=1.0)],
             "hurdle_step": [RepPlan(2, side="L"), RepPlan(3, side="R")],
             "active_straight_leg_raise": [RepPlan(3, side="L"), RepPlan(3, side="R")]}
    rec = make_screen_recording(4, order=ORDER, plans=plans)
    path = clip_skeleton(rec, noise="realistic").save(folder / "screen.npz")
    rows = manifest_rows(rec, "M")
    order = folder / "order.csv"
    with open(order, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return rec, path, order


def test_the_order_manifest_is_read_and_checked(tmp_path, recording):
    _, _, order = recording
    rows = read_order(order)
    assert [(r.test, r.side) for r in rows] == [("deep_squat", None), ("hurdle_step", "L"), ("hurdle_step", "R"),
                                                ("active_straight_leg_raise", "L"), ("active_straight_leg_raise", "R")]
    bad = tmp_path / "bad.csv"
    bad.write_text("test,side\nsquat,\nhurdle_step,X\n")
    with pytest.raises(InputError, match="unknown test 'squat'.*must be L, R or blank"):
        read_order(bad)


def test_the_physio_moves_a_boundary_and_relabels_a_segment(tmp_path, recording):
    _, path, order = recording
    analysis = analyse_recording(path, tmp_path / "s", read_order(order))
    segs = analysis.split["segments"]
    assert [s["test"] for s in segs] == list(ORDER)
    assert all(p.get("thumbnail_png") for p in analysis.split["split_points"])
    fixed = [{"index": s["index"], "test": s["test"], "start_s": s["start_s"], "end_s": s["end_s"]} for s in segs]
    fixed[0]["end_s"] -= 1.0                               # move the first boundary 1 s earlier
    fixed[2]["test"] = "active straight leg raise"          # a label typed as words is understood
    split = apply_corrections(analysis, fixed)
    assert split["corrected"] and split["segments"][0]["source"] == "physio"
    assert split["split_points"][0]["source"] == "physio" and split["split_points"][1].get("refined")
    with pytest.raises(InputError, match="overlap"):
        apply_corrections(analysis, [dict(fixed[0], end_s=fixed[1]["start_s"] + 5), fixed[1]])


@pytest.mark.slow
def test_session_recording_writes_the_report_with_every_split_point(tmp_path, recording, capsys):
    rec, path, order = recording
    out = tmp_path / "session"
    assert main(["session", "--recording", str(path), "--manifest", str(order), "--sex", "M", "--no-pdf",
                 "--out", str(out), "--json"]) == 0
    sc = json.loads(capsys.readouterr().out)
    assert [s["test"] for s in sc["recording"]["segments"]] == list(ORDER)
    assert len(sc["recording"]["split_points"]) == 2
    for test in ORDER:           # every test and side scored from the one take (the rubric's own accuracy aside)
        truth = next(t.truth_scores for t in rec.tests if t.test == test)
        got = ({s: sc["tests"][test][s]["score"] for s in ("L", "R")} if "NA" not in truth
               else {"NA": sc["tests"][test]["score"]["score"]})
        assert set(got) == set(truth) and None not in got.values(), (test, got)
    assert sc["tests"]["deep_squat"]["score"]["score"] == 3          # a 3 then a 2: the best counts
    page = (out / "session_report.html").read_text()
    assert "Recording: split into tests" in page and page.count("data:image/png") >= 4
    assert main(["session", "--manifest", str(order)]) == 2
