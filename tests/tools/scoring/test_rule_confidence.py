"""Rule confidence: a criterion margin counted in expected-error sd, whatever the units."""
from __future__ import annotations

import math

import pytest

from tools.core.skeleton import Skeleton
from tools.scoring.rubric import _pivotal_confidence
from tools.scoring.rubric.common import TestJudgement, capped_score
from tools.scoring.rubric.confidence import ClipView, annotate, clip_view, expected_sd, phi
from tools.scoring.rubric.result import CriterionResult


def _crit(cid, value, threshold, unit="m", pass_if="<=", measure=None):
    margin = (threshold - value) if pass_if == "<=" else (value - threshold)
    return CriterionResult(id=cid, description=cid, measure=measure or cid, value=value, unit=unit,
                           threshold=threshold, pass_if=pass_if, passed=margin >= 0, margin=margin,
                           margin_scaled=margin / 0.05, deciding_frame=1, view_needed="any")


def test_phi_is_the_normal_cdf():
    assert phi(0.0) == pytest.approx(0.5)
    assert phi(1.0) == pytest.approx(0.8413, abs=1e-4)
    assert phi(3.0) == pytest.approx(0.99865, abs=1e-5)


def test_a_clear_margin_is_confident_whatever_the_unit():
    """Three error sd is the same confidence in metres and in hand lengths."""
    view = ClipView(None, None, from_video=False)
    metres = _crit("gap_m", 0.10, 0.16)                       # 6 cm inside, sd 2 cm -> 3 sd
    hands = _crit("gap_hl", 0.55, 1.0, unit="hand_lengths")   # 0.45 inside, sd 0.15 -> 3 sd
    annotate([metres], {"gap_m": {"noise_sd": 0.02, "scale": 0.05}}, view)
    annotate([hands], {"gap_hl": {"noise_sd": 0.15, "scale": 0.35}}, view)
    assert metres.margin_sd == pytest.approx(3.0) and hands.margin_sd == pytest.approx(3.0)
    fn = lambda p: capped_score({"gap_m": 2, "gap_hl": 2}, p)   # noqa: E731
    conf_m, _ = _pivotal_confidence(TestJudgement(criteria=[metres], score=3, score_fn=fn))
    conf_h, _ = _pivotal_confidence(TestJudgement(criteria=[hands], score=3, score_fn=fn))
    assert conf_m == pytest.approx(conf_h) and conf_m > 0.99


def test_the_error_model_falls_back_in_the_documented_order():
    spec = {"noise_sd": 0.03, "scale": 0.1}
    # a measure the error budget does not know: skeleton input takes the noise model, video half the scale
    sd, source = expected_sd("no_such_measure_m", spec, ClipView(None, None, from_video=False))
    assert sd == 0.03 and "noise" in source
    sd, source = expected_sd("no_such_measure_m", spec, ClipView(None, None, from_video=True))
    assert sd == pytest.approx(0.05) and "scale" in source
    sd, source = expected_sd("no_such_measure_m", {"scale": 0.35}, ClipView(None, None, from_video=False))
    assert sd == pytest.approx(0.1) and "3.5" in source


def test_skeleton_input_never_claims_less_error_than_the_noise_model():
    """The error budget's skeleton default is a clean marker skeleton; a skeleton file's noise is unknown."""
    sd, _ = expected_sd("left_hip_below_knee_deg", {"noise_sd": 4.0, "scale": 8.0}, ClipView(90.0, 1.0, False))
    assert sd >= 4.0


def test_the_view_azimuth_comes_from_the_recorded_camera():
    from tools.synth.library import auto_camera, make_sample, truth_skeleton
    s = make_sample("deep_squat", seed=3, score=3)
    for view, expected in (("front", 0.0), ("side", 90.0)):
        sk = truth_skeleton(s, auto_camera(s, view))
        got = clip_view(sk, from_video=False)
        assert got.azimuth_deg == pytest.approx(expected, abs=3.0) and got.camera_height_m is not None
    bare = Skeleton(xyz=sk.xyz, conf=sk.conf, fps=sk.fps)
    assert clip_view(bare, from_video=False).azimuth_deg is None


def test_the_old_aslr_case_is_now_confident():
    """Issue 17: an ASLR with a clear margin got 0.37. A raised ankle at 0.25 of the ASIS-knee span
    (threshold 0.5) is 5 noise sd clear, so the rules stand behind it."""
    from tools.scoring.criteria import load_criteria
    spec = load_criteria()["active_straight_leg_raise"]
    c = _crit("ankle_past_mid_thigh", 0.25, 0.5, unit="fraction", measure="left_aslr_ankle_fraction")
    annotate([c], spec, ClipView(90.0, 0.6, from_video=False))
    assert c.margin_sd > 3 and math.isfinite(c.error_sd)
