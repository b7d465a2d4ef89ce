"""Two clips of one repetition: each criterion is judged from the view that measures it (issue 16 item 7)."""
from __future__ import annotations

import yaml

from tools.geometry import error_budget
from tools.scoring.rubric import score_test
from tools.scoring.rubric.common import judge_all
from tools.scoring.rubric.confidence import ClipView
from tools.scoring.rubric.two_views import SecondView, fused_view
from tools.scoring.rubric.views import View
from tools.synth.library import make_sample, truth_skeleton

KNEE = {"measure": "left_knee_flexion_deg", "scale": 5.0, "threshold": 90.0, "pass_if": ">=", "unit": "deg",
        "cap": 1, "view": "any"}
VALGUS = {"measure": "knee_ankle_separation_ratio", "scale": 0.2, "threshold": 0.7, "pass_if": ">=",
          "unit": "ratio", "cap": 1, "view": "any"}
SPEC = {"knee": KNEE, "valgus": VALGUS}
FRONT, SIDE = View("front", 0.0, 1.2, True), View("side", 88.0, 1.2, True)
FRONT_CAM, SIDE_CAM = ClipView(0.0, 1.2, True), ClipView(88.0, 1.2, True)


def _budget(tmp_path, monkeypatch):
    """Knee flexion measured well only from the side (3 deg), the knees' gap only from the front (0.05)."""
    rows = lambda good, bad: [  # noqa: E731
        {"azimuth_deg": 0.0, "camera_height_m": 1.2, "sd": good, "bias": 0.0, "n_clips": 2},
        {"azimuth_deg": 90.0, "camera_height_m": 1.2, "sd": bad, "bias": 0.0, "n_clips": 2},
        {"azimuth_deg": 180.0, "camera_height_m": 1.2, "sd": good, "bias": 0.0, "n_clips": 2}]
    table = {"version": 1, "source": "test budget", "measurements": {
        "left_knee_flexion_deg": {"unit": "deg", "views": rows(20.0, 3.0)},
        "knee_ankle_separation_ratio": {"unit": "ratio", "views": rows(0.05, 0.9)}}}
    path = tmp_path / "error_budget.yaml"
    path.write_text(yaml.safe_dump(table))
    monkeypatch.setattr(error_budget, "BUDGET_FILE", path)


def _second(side_values: dict) -> SecondView:
    side = judge_all(SPEC, [(cid, v, 5) for cid, v in side_values.items()], SIDE)
    return SecondView(label="side clip", criteria={c.id: c for c in side}, main_camera=FRONT_CAM,
                      other_camera=SIDE_CAM, main_view="front", other_view="side")


def test_each_criterion_is_judged_from_the_view_that_measures_it(tmp_path, monkeypatch):
    _budget(tmp_path, monkeypatch)
    second = _second({"knee": 70.0, "valgus": 0.9})
    got = {c.id: c for c in judge_all(SPEC, [("knee", 120.0, 5), ("valgus", 0.95, 5)], fused_view(FRONT, second))}
    # knee flexion: gated on the front clip, judged on the side clip (a fail at 70 deg)
    assert got["knee"].passed is False and got["knee"].value == 70.0
    assert got["knee"].view_source == "side clip (side)"
    assert got["knee"].view_note.startswith("this clip could not judge it (film from the side")
    # the knees' gap: judged on the front clip; the side clip's gate said it could not
    assert got["valgus"].passed is True and got["valgus"].value == 0.95
    assert got["valgus"].view_source == "this clip (front)"
    assert "side clip could not judge it" in got["valgus"].view_note
    assert second.used == {"knee": "side clip (side)", "valgus": "this clip (front)"}


def test_two_views_that_both_measure_it_and_disagree_leave_it_to_a_physio(tmp_path, monkeypatch):
    _budget(tmp_path, monkeypatch)
    spec = {"knee": dict(KNEE, scale=25.0)}        # a wide margin: both views are inside it
    side = judge_all(spec, [("knee", 80.0, 5)], SIDE)
    second = SecondView("side clip", {c.id: c for c in side}, FRONT_CAM, SIDE_CAM, "front", "side")
    got = judge_all(spec, [("knee", 100.0, 5)], fused_view(FRONT, second))[0]
    assert got.passed is None
    assert got.reason.startswith("the two clips disagree: this clip measures 100 deg (pass), the side clip 80 deg "
                                 "(fail)")
    agree = judge_all(spec, [("knee", 100.0, 5)], fused_view(FRONT, SecondView(
        "side clip", {c.id: c for c in judge_all(spec, [("knee", 95.0, 5)], SIDE)}, FRONT_CAM, SIDE_CAM, "front",
        "side")))[0]
    # both pass: the side view's smaller expected error (3 vs 20 deg) decides which value is reported
    assert agree.passed is True and agree.value == 95.0 and agree.view_source == "side clip (side)"


def test_neither_view_can_judge_it_says_both_reasons(tmp_path, monkeypatch):
    _budget(tmp_path, monkeypatch)
    spec = {"knee": dict(KNEE, scale=1.0)}         # a margin no view measures
    side = judge_all(spec, [("knee", 80.0, 5)], SIDE)
    second = SecondView("side clip", {c.id: c for c in side}, FRONT_CAM, SIDE_CAM, "front", "side")
    got = judge_all(spec, [("knee", 100.0, 5)], fused_view(FRONT, second))[0]
    assert got.passed is None and got.view_source == "neither clip"
    assert got.reason.count("the expected error of left_knee_flexion_deg") == 2 and "; side clip: " in got.reason


def _video_like(test: str, seed: int, azimuth: float):
    skel = truth_skeleton(make_sample(test, seed))
    skel.meta.pop("camera_view", None)
    skel.meta.update(pose={"backend": "mediapipe"}, fit={"view_azimuth_deg": azimuth, "camera_height_m": 1.2})
    return skel


def test_score_test_fuses_a_front_and_a_side_clip_and_says_which_decided_what():
    front, side = _video_like("deep_squat", 8100, 0.0), _video_like("deep_squat", 8100, 88.0)
    alone = {c.id: c for c in score_test(front, "deep_squat").criteria}
    side_alone = {c.id: c for c in score_test(side, "deep_squat").criteria}
    fused = score_test(front, "deep_squat", second_view=side)
    for c in fused.criteria:
        judged_somewhere = alone[c.id].passed is not None or side_alone[c.id].passed is not None
        agree = alone[c.id].passed is None or side_alone[c.id].passed is None or \
            alone[c.id].passed == side_alone[c.id].passed
        # judged in the fusion exactly when one clip could judge it and the clips do not contradict each other
        assert (c.passed is not None) == (judged_somewhere and agree), c.id
        assert c.view_source
    assert set(fused.inputs["views"]["decided_by"]) == set(alone)
    assert any(n.startswith("two clips of one repetition: ") for n in fused.notes)
    # a one-clip result keeps its record as it was: no view fields
    assert all("view_source" not in c for c in score_test(front, "deep_squat").to_dict()["criteria"])


def test_a_criterion_read_on_the_second_clip_points_at_this_clips_frame(tmp_path, monkeypatch):
    _budget(tmp_path, monkeypatch)
    side = judge_all(SPEC, [("knee", 70.0, 12), ("valgus", 0.9, 12)], SIDE)
    # the side phone ran at 24 fps and started 0.5 s into the movement: its frame 12 (0.5 s) is this clip's 1.0 s
    second = SecondView("side clip", {c.id: c for c in side}, FRONT_CAM, SIDE_CAM, "front", "side",
                        lag_s=0.5, main_fps=30.0, other_fps=24.0, main_frames=200)
    knee = judge_all(SPEC, [("knee", 120.0, 5), ("valgus", 0.95, 5)], fused_view(FRONT, second))[0]
    assert knee.view_source == "side clip (side)" and knee.deciding_frame == 30
    assert knee.view_note.endswith("read on the side clip's frame 12, this clip's frame 30")
    assert second.main_frame(10_000) == 199 and second.main_frame(None) is None


def test_a_second_clip_the_rules_cannot_read_leaves_this_clip_scored_alone(monkeypatch):
    import tools.scoring.rubric as rubric
    from tools.core.errors import InputError
    front, side = _video_like("deep_squat", 8100, 0.0), _video_like("deep_squat", 8100, 88.0)
    alone = score_test(front, "deep_squat")

    def refuse(*args, **kwargs):
        raise InputError("the joints the rules need are never seen")
    monkeypatch.setattr(rubric, "_second_view", refuse)
    got = score_test(front, "deep_squat", second_view=side)
    assert "the side clip was not used: the joints the rules need are never seen" in got.notes
    assert [c.to_dict() for c in got.criteria] == [c.to_dict() for c in alone.criteria] and "views" not in got.inputs
