"""The per-view error budget gates criteria: judged only where the measured error at the clip's view is inside
the criterion's margin, else the reason names the view it needs (issue 16)."""
from __future__ import annotations

import yaml

from tools.geometry import error_budget
from tools.scoring.rubric.common import judge_all
from tools.scoring.rubric.views import View, view_gate

SPEC = {"measure": "left_knee_flexion_deg", "scale": 5.0, "threshold": 90.0, "pass_if": ">=", "unit": "deg", "cap": 1,
        "view": "any"}


def _budget(tmp_path, monkeypatch):
    table = {"version": 1, "source": "test budget", "measurements": {
        "left_knee_flexion_deg": {"unit": "deg", "views": [
            {"azimuth_deg": 0.0, "camera_height_m": 1.2, "sd": 20.0, "bias": 0.0, "n_clips": 2},
            {"azimuth_deg": 90.0, "camera_height_m": 1.2, "sd": 3.0, "bias": 0.0, "n_clips": 2},
            {"azimuth_deg": 180.0, "camera_height_m": 1.2, "sd": 20.0, "bias": 0.0, "n_clips": 2}]}}}
    path = tmp_path / "error_budget.yaml"
    path.write_text(yaml.safe_dump(table))
    monkeypatch.setattr(error_budget, "BUDGET_FILE", path)


def test_view_inside_the_margin_is_judged(tmp_path, monkeypatch):
    _budget(tmp_path, monkeypatch)
    assert view_gate("left_knee_flexion_deg", SPEC, View("side", 85.0, 1.2, True)) is None


def test_view_outside_the_margin_names_the_view_it_needs(tmp_path, monkeypatch):
    _budget(tmp_path, monkeypatch)
    # sd(a) = 20 - 17 a / 90 <= 5 from a = 79.4 deg: the nearest 5-degree view is 80, 40 deg off 40
    reason = view_gate("left_knee_flexion_deg", SPEC, View("oblique", 40.0, 1.2, True))
    assert reason is not None
    assert reason.startswith("film from the side (about 80 deg to the athlete's left): this view is 40 deg off it")
    assert "more than the criterion's margin of 5 deg" in reason


def test_right_limb_reads_the_mirrored_view(tmp_path, monkeypatch):
    _budget(tmp_path, monkeypatch)
    spec = dict(SPEC, measure="right_knee_flexion_deg")
    assert view_gate("right_knee_flexion_deg", spec, View("side", -85.0, 1.2, True)) is None
    assert "athlete's right" in view_gate("right_knee_flexion_deg", spec, View("side", 85.0, 1.2, True))


def test_gated_criterion_is_not_judged_and_says_why(tmp_path, monkeypatch):
    _budget(tmp_path, monkeypatch)
    spec = {"knee": SPEC}
    front = judge_all(spec, [("knee", 60.0, 10)], View("front", 0.0, 1.2, True))[0]
    assert front.passed is None and front.reason.startswith("film from the side")
    side = judge_all(spec, [("knee", 60.0, 10)], View("side", 88.0, 1.2, True))[0]
    assert side.passed is False


def test_no_budget_row_falls_back_to_the_view_field(tmp_path, monkeypatch):
    _budget(tmp_path, monkeypatch)
    try:
        view_gate("trunk_inclination_deg", dict(SPEC, measure="trunk_inclination_deg"), View("front", 0.0, 1.2, True))
    except LookupError:
        return
    raise AssertionError("a measure the budget has no row for must raise LookupError")
