"""The knowledge base: every criterion has a passage, ids are unique and stable, the loader finds them."""
import pytest

from tools.scoring.criteria import load_criteria
from knowledge.passages import get_passage, load_passages, parse_markdown, passages_for
from tools.core.errors import InputError
from tools.core.fms import TESTS

# published ids: traces cite them, so they must never change
STABLE_IDS = ("deep_squat.score3", "hurdle_step.hurdle_clearance.fail", "inline_lunge.back_knee_touch",
              "shoulder_mobility.hand_length", "shoulder_mobility.clearing", "active_straight_leg_raise.down_leg_flat",
              "trunk_stability_pushup.levels", "rotary_stability.version", "scoring.composite", "scoring.asymmetry",
              "capture.camera", "ethics.consent", "limitations.thresholds")


def test_every_criterion_in_criteria_yaml_has_a_passage():
    criteria = load_criteria()
    for test in TESTS:
        for cid, spec in criteria[test].items():
            if isinstance(spec, dict) and "pass_if" in spec:
                assert passages_for(test, criterion=cid), f"{test}.{cid} has no passage"


def test_every_test_has_a_passage_per_score_level():
    for test in TESTS:
        for score in (0, 1, 2, 3):
            assert passages_for(test, score=score), f"{test} score {score}"


def test_ids_unique_and_stable():
    ids = [p.id for p in load_passages()]
    assert len(ids) == len(set(ids))
    for pid in STABLE_IDS:
        p = get_passage(pid)
        assert p.text and p.title
    assert {p.source for p in load_passages()} >= {f"{t}.md" for t in TESTS} | {
        "capture_protocol.md", "ethics.md", "limitations.md", "scoring.md"}


def test_passage_fields_and_lookup():
    p = get_passage("hurdle_step.lumbar_stability.fail")
    assert p.test == "hurdle_step" and p.criterion == "lumbar_stability" and p.score_level == 2
    assert [q.id for q in passages_for("ethics")][0].startswith("ethics.")
    with pytest.raises(InputError, match="no passage with id"):
        get_passage("hurdle_step.no_such_thing")


def test_the_markdown_format_is_checked():
    with pytest.raises(InputError, match="without an id"):
        parse_markdown("# T\n## Heading only\ntext\n", "x.md")
    with pytest.raises(InputError, match="score must be 0-3"):
        parse_markdown("## H {#x.y score=5}\ntext\n", "x.md")
    ps = parse_markdown("# Deep squat\n## Score 3 {#deep_squat.s3 score=3}\nOne\ntwo.\n", "deep_squat.md")
    assert ps[0].test == "deep_squat" and ps[0].score_level == 3 and ps[0].text == "One two."
