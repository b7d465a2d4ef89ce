"""The SAM 3 athlete selector wired into a screening run: CLI checks, protocol arguments, and one clip end to end.

SAM 3's weights are not here, so the end-to-end run swaps only SAM 3's person masks
(tools.people.sam3_mask.detect_people) for masks drawn from the rendered clip's truth;
everything after them (the athlete choice, the box handed to the tracker, the
trace, the review reasons) is the real path. The network itself is exercised in
tests/tools/people/test_sam3.py (random weights, slow).
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from agent.screening.protocol import ScreenRequest, next_call
from tools.core.skeleton import JOINT_INDEX as JI


def _request(**kw) -> ScreenRequest:
    return ScreenRequest(source="clip.mp4", test="deep_squat", run_dir="run", athlete_selector="sam3",
                         sam3_checkpoint="sam3.pt", **kw)


def test_sam3_runs_before_pose_and_its_box_replaces_the_physios_hint():
    req = _request(athlete_point=[120.0, 200.0])
    results = {"check_video": {}}
    step, args = next_call(req, results)
    assert step.tool == "select_athlete_sam3"
    assert args["checkpoint"] == "sam3.pt" and args["athlete_point"] == [120.0, 200.0]
    results["select_athlete_sam3"] = {"athlete_box_xywh_px": [10.0, 20.0, 100.0, 300.0], "keyframe_index": 4,
                                      "problems": []}
    step, args = next_call(req, results)
    assert step.tool == "estimate_pose"
    assert args["athlete_box"] == [10.0, 20.0, 100.0, 300.0] and args["keyframe"] == 4
    assert "athlete_point" not in args and args["selection_problems"] == []


def test_when_sam3_finds_nobody_the_physios_hint_stands_and_the_problem_travels_on():
    req = _request(athlete_point=[120.0, 200.0])
    results = {"check_video": {}, "select_athlete_sam3": {"athlete_box_xywh_px": None, "keyframe_index": 0,
                                                           "problems": ["SAM 3: the point is on nobody"]}}
    step, args = next_call(req, results)
    assert step.tool == "estimate_pose"
    assert args["athlete_point"] == [120.0, 200.0]
    assert args["selection_problems"] == ["SAM 3: the point is on nobody"]


def test_without_the_selector_no_sam3_step_is_planned():
    from agent.screening.protocol import planned_order
    req = ScreenRequest(source="clip.mp4", test="deep_squat", run_dir="run")
    assert "select_athlete_sam3" not in planned_order(req)
    assert planned_order(_request())[:2] == ["check_video", "select_athlete_sam3"]


@pytest.mark.parametrize("argv, message", [
    (["--athlete-selector", "sam3"], "needs --sam3-checkpoint"),
    (["--athlete-selector", "sam3", "--sam3-checkpoint", "facebook/sam3"], "never downloads weights"),
    (["--athlete-selector", "sam3", "--sam3-checkpoint", "/nowhere/sam3.pt"], "not a file"),
    (["--sam3-checkpoint", "/nowhere/sam3.pt"], "only used with --athlete-selector sam3"),
])
def test_sam3_flags_are_checked_before_any_work(argv, message, capsys, tmp_path):
    from agent.cli.main import main
    from agent.app.support import DEMO_CLIP
    rc = main(["screen", str(DEMO_CLIP), "--test", "deep_squat", "--out", str(tmp_path / "run"), *argv])
    assert rc == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run" / "verdict.json").exists()


@pytest.fixture(scope="module")
def two_athletes(tmp_path_factory):
    from tools.synth.crowd import make_crowd_clip
    out = make_crowd_clip(tmp_path_factory.mktemp("crowd") / "two", "two_athletes", size=(480, 360))
    with np.load(out["files"]["truth"]) as t:
        truth = {k: t[k] for k in t.files}
    return out["files"]["video"], truth


def _truth_masks(truth: dict, keyframe: int, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """One box-shaped 'person' mask per rendered person on the keyframe (athlete first), SAM 3-like scores."""
    w, h = size
    boxes = [truth["athlete_box_xyxy"][keyframe], *truth["others_box_xyxy"][:, keyframe]]
    masks = np.zeros((len(boxes), h, w), bool)
    for m, (x0, y0, x1, y1) in zip(masks, boxes):
        m[int(y0):int(y1), int(x0):int(x1)] = True
    return masks, np.full(len(boxes), 0.9, np.float32)


@pytest.mark.slow
@pytest.mark.parametrize("who", ["athlete", "other"])
def test_a_click_through_sam3_settles_two_equally_likely_athletes(two_athletes, who, monkeypatch, tmp_path):
    import agent.screening.steps as steps
    import tools.people.sam3_mask as sam3
    from agent.screening.run import screen

    video, truth = two_athletes
    size = tuple(int(v) for v in truth["image_size"])
    monkeypatch.setattr(steps, "_sam3_model", lambda checkpoint: sam3.Sam3Model(None, None, "cpu", None, False, 0.0, {}))
    monkeypatch.setattr(sam3, "detect_people", lambda model, frame, prompt="person": _truth_masks(truth, 0, size))
    target = truth["athlete_box_xyxy"][0] if who == "athlete" else truth["others_box_xyxy"][0, 0]
    click = [float((target[0] + target[2]) / 2), float((target[1] + target[3]) / 2)]
    verdict = screen(ScreenRequest(source=str(video), test="deep_squat", run_dir=str(tmp_path / "run"),
                                   athlete_point=click, athlete_selector="sam3", sam3_checkpoint="sam3.pt",
                                   use_stgcn=False, use_retrieval=False))
    trace = json.loads(open(verdict["artifacts"]["trace_json"]).read())
    calls = {c["tool"]: c for c in trace["steps"] if c.get("error") is None}
    sam = calls["select_athlete_sam3"]["result"]
    assert sam["found"] and sam["chosen_by"] == "point" and not sam["problems"]
    assert (tmp_path / "run" / "athlete_mask.png").is_file()
    pose_args = calls["estimate_pose"]["arguments"]
    x, y, w, h = pose_args["athlete_box"]
    assert abs(x - target[0]) < 2 and abs(x + w - target[2]) < 2
    selection = calls["estimate_pose"]["result"]["selection"]
    assert not selection.get("ambiguous")
    assert not any("two people could be the athlete" in r for r in verdict["reasons"])
    # the skeleton follows the clicked person: its hips sit inside that person's boxes
    with np.load(tmp_path / "run" / "pose_2d.npz") as d:
        uv, conf = d["uv"], d["conf"]
    boxes = truth["athlete_box_xyxy"] if who == "athlete" else truth["others_box_xyxy"][0]
    hips = uv[:, [JI["left_hip"], JI["right_hip"]]].mean(axis=1)
    seen = conf[:, [JI["left_hip"], JI["right_hip"]]].min(axis=1) > 0
    inside = ((hips[:, 0] >= boxes[:, 0]) & (hips[:, 0] <= boxes[:, 2]) & (hips[:, 1] >= boxes[:, 1])
              & (hips[:, 1] <= boxes[:, 3]))
    assert seen.mean() > 0.8 and inside[seen].mean() > 0.95


def test_brains_are_offered_sam3_only_when_the_physio_chose_it():
    from agent.screening.run import offered_tools
    plain = ScreenRequest(source="clip.mp4", test="deep_squat", run_dir="run")
    assert "select_athlete_sam3" not in offered_tools(plain) and "estimate_pose" in offered_tools(plain)
    assert "select_athlete_sam3" in offered_tools(_request())


def test_selector_off_follows_one_person_and_refuses_a_box(capsys, tmp_path):
    from agent.app.support import DEMO_CLIP
    from agent.cli.main import main
    req = ScreenRequest(source="clip.mp4", test="deep_squat", run_dir="run", athlete_selector="off")
    step, args = next_call(req, {"check_video": {}})
    assert step.tool == "estimate_pose" and args["select"] == "off"
    rc = main(["screen", str(DEMO_CLIP), "--test", "deep_squat", "--out", str(tmp_path / "run"),
               "--athlete-selector", "off", "--athlete-box", "10,10,100,200"])
    assert rc == 2 and "drop one of them" in capsys.readouterr().err
