"""The one table of criterion names (knowledge/criterion_names.csv): complete, plain, and read the same everywhere."""
from __future__ import annotations

import pytest

from tools.report.vocabulary import (
    criterion_name,
    criterion_names,
    threshold_text,
    value_text,
)
from tools.scoring.criteria import load_criteria

UNIT_WORDS = {"deg": "degrees", "m": "metres", "ratio": "ratio", "hand_lengths": "hand length",
              "fraction": "fraction", "level": "level", "share": "share"}


def _criteria():
    out = []
    for test, block in load_criteria().items():
        if isinstance(block, dict):
            out += [(test, cid, c) for cid, c in block.items() if isinstance(c, dict) and "measure" in c]
    return out


def test_every_criterion_of_every_test_has_a_name_and_an_explanation():
    table = criterion_names()
    crits = _criteria()
    assert len(crits) >= 30
    missing = [(t, c) for t, c, _ in crits if (t, c) not in table]
    assert not missing, f"criteria without a display name in knowledge/criterion_names.csv: {missing}"
    stray = sorted(set(table) - {(t, c) for t, c, _ in crits})
    assert not stray, f"names for criteria that criteria.yaml does not have: {stray}"


@pytest.mark.parametrize("test,cid,crit", _criteria(), ids=lambda x: x if isinstance(x, str) else "")
def test_explanations_state_the_unit_and_which_way_is_which(test, cid, crit):
    row = criterion_name(test, cid)
    assert "_" not in row.name and row.name[0].isupper()
    text = row.explanation.lower()
    assert UNIT_WORDS[crit["unit"]] in text, (test, cid, text)
    # a sign convention: what 0 (or 1) means, or which way is larger / positive
    assert any(w in text for w in ("0 =", "1 =", "positive", "larger", "or less", "above 0")), (test, cid, text)
    assert "--" not in row.explanation                                  # never a CLI flag


def test_unknown_ids_fall_back_to_plain_words_and_values_keep_their_number():
    assert criterion_name("deep_squat", "some_new_check").name == "Some new check"
    assert value_text(0.08721, "m") == "0.0872 m" and value_text(None, "deg") == "not measured"
    assert threshold_text({"pass_if": "<=", "threshold": 0.1, "unit": "m"}) == "at most 0.1 m"
    assert threshold_text({"pass_if": ">=", "threshold": 1.5, "unit": "hand_lengths"}) == "at least 1.5 hand lengths"


def test_cli_flags_in_tool_messages_are_put_in_plain_words():
    from tools.report.vocabulary import plain_inputs
    note = "heels assumed flat on the floor; for the heels-raised repetition say so (--heels-raised yes)"
    assert plain_inputs(note).endswith("say that the heels were on a board") and "--" not in plain_inputs(note)
    assert "--" not in plain_inputs("push-up levels depend on sex; give --sex M or F")
    assert "--" not in plain_inputs("which leg stepped is unclear (foot lift: 0.1 m); give --side L or R")
    assert plain_inputs("no flag here") == "no flag here"
