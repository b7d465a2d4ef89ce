"""Hurdle step rules on hand-built clips of known geometry (tests/test_rubric_poses.hurdle_clip)."""
import pytest

from tests.tools.scoring.test_rubric_poses import _skel, hurdle_clip, standing
from tools.core.errors import InputError
from tools.scoring.rubric import score_test


def crit(result, cid):
    return next(c for c in result.criteria if c.id == cid)


def test_clean_step_scores_3_with_every_criterion_measured():
    r = score_test(hurdle_clip(clearance_m=0.10), "hurdle_step")
    assert r.score == 3 and not r.review, r.reasons
    assert r.side == "L" and r.side_inferred is True
    for c in r.criteria:
        assert c.passed is True and c.value is not None and c.deciding_frame is not None
        assert c.unit in ("m", "deg") and c.view_needed in ("front", "side", "any")
    clearance = crit(r, "hurdle_clearance")
    assert clearance.value == pytest.approx(0.10, abs=1e-3) and clearance.measure == "left_hurdle_clearance_m"
    assert crit(r, "balance").measure == "right_toe_shift_m"
    assert r.inputs["hurdle_height_m"] > 0.4
    assert r.rubric_version.startswith("formscout-rubric") and r.inputs["test_version"]


@pytest.mark.parametrize("kwargs,failed,score", [
    ({"clearance_m": -0.02}, "hurdle_clearance", 1),
    ({"knee_out_m": 0.12}, "sagittal_alignment", 2),
    ({"trunk_sway_deg": 16.0}, "lumbar_stability", 2),
    ({"dowel_tilt_deg": 14.0}, "dowel_parallel", 2),
    ({"hop_m": 0.12}, "balance", 1),
])
def test_each_fault_fails_its_criterion_and_sets_the_score(kwargs, failed, score):
    r = score_test(hurdle_clip(**{"clearance_m": 0.10, **kwargs}), "hurdle_step", "L")
    assert crit(r, failed).passed is False
    assert r.score == score
    # the deciding criterion is a failed one (a sideways trunk sway also tilts the fists' line)
    assert r.deciding_criterion in {c.id for c in r.criteria if c.passed is False}
    assert r.side_inferred is False


def test_right_step_is_detected_and_a_wrong_side_is_questioned():
    clip = hurdle_clip(clearance_m=0.10).mirrored()
    r = score_test(clip, "hurdle_step")
    assert r.side == "R" and r.side_inferred and r.score == 3
    wrong = score_test(clip, "hurdle_step", "L")
    assert wrong.side == "L" and wrong.review
    assert any("side given as L" in why for why in wrong.reasons)


def test_views_that_cannot_judge_a_criterion_say_so():
    side_view = score_test(hurdle_clip(clearance_m=0.10, camera_view="side"), "hurdle_step")
    align = crit(side_view, "sagittal_alignment")
    assert align.passed is None and "front view" in align.reason
    assert side_view.review and any("could not judge" in why for why in side_view.reasons)
    front = score_test(hurdle_clip(clearance_m=0.10, camera_view="front"), "hurdle_step")
    assert crit(front, "hurdle_clearance").passed is None
    assert crit(front, "sagittal_alignment").passed is True


def test_borderline_clearance_goes_to_review():
    r = score_test(hurdle_clip(clearance_m=0.025), "hurdle_step", "L")
    assert r.review and any("borderline" in why and "hurdle_clearance" in why for why in r.reasons)


def test_side_not_given_and_not_inferable_is_a_clear_input_error():
    with pytest.raises(InputError, match="side not given and it cannot be told from the motion"):
        score_test(_skel(standing(60)), "hurdle_step")
