"""Physio chat: question parsing, grounding check, brain phrasing accepted or refused, `formscout ask`."""
import json
import shutil
from pathlib import Path

import pytest

from agent.chat.answer import (
    Answer,
    parse_question,
    phrase_with_brain,
    ungrounded_numbers,
)
from agent.cli.main import main
from agent.screening.protocol import ScreenRequest
from agent.screening.run import screen
from tests.skeleton_factory import squat_clip
from tools.report.headline import NOT_INTACT


@pytest.mark.parametrize("text, test, side, score", [
    ("why a 2 on left hurdle step?", "hurdle_step", "L", 2),
    ("is the person on the left hurdle step the right athlete?", "hurdle_step", "L", None),
    ("Why only a 1 on the right in-line lunge?", "inline_lunge", "R", 1),
    ("why did the push-up get a 0?", "trunk_stability_pushup", None, 0),
    ("Why did the right shoulder mobility score 2?", "shoulder_mobility", "R", 2),
    ("ASLR L: why two?", "active_straight_leg_raise", "L", 2),
    ("why a 3 on the deep squat", "deep_squat", None, 3),
    ("rotary stability, right side, scored one", "rotary_stability", "R", 1),
    ("what was the knee angle at frame 45 on the squat?", "deep_squat", None, None),
    ("why a 2 on hurdle step, left or right?", "hurdle_step", None, 2),
])
def test_parse_question(text, test, side, score):
    q = parse_question(text)
    assert (q.test, q.side, q.score) == (test, side, score)
    assert not q.outside


def test_outside_questions_are_recognised():
    for text in ("Will she get injured?", "Can you diagnose his knee?", "What rehab should I prescribe?"):
        assert parse_question(text).outside


def test_ungrounded_numbers_respect_stated_precision_and_ids():
    source = {"value": 21.1364, "frame": 40, "run_id": "56438320ab", "reasons": ["margin 0.62 below"]}
    assert ungrounded_numbers("measured 21.1 deg (21 deg) at frame 40, margin 0.62", source) == []
    assert ungrounded_numbers("measured 21.2 deg at frame 41", source) == ["21.2", "41"]
    assert ungrounded_numbers("run 56438320 of athlete SYN-01", source) == []


class _Wording:
    """A stand-in VLM brain that words the answer as told."""

    def __init__(self, text):
        self.text = text
        self.model_id = "wording-test"

    def complete(self, system, user):
        assert "never add a number" in system and "Facts (JSON)" in user
        return self.text


def _answer() -> Answer:
    a = Answer(status="answered", question={"text": "why a 2 on left hurdle step?"}, score=2, confidence=0.82,
               deciding={"id": "lumbar_stability", "value": 21.1364, "threshold": 8.0, "deciding_frame": 40},
               run={"run_id": "abc", "test": "hurdle_step", "side": "L"})
    a.text = "plain wording"
    return a


def test_brain_wording_is_kept_only_when_grounded():
    ok = phrase_with_brain(_answer(), _Wording("A 2: the lower back moved 21.1 deg, far past the 8 deg limit, "
                                               "at frame 40."))
    assert ok.phrased_by == "wording-test" and ok.text.startswith("A 2:")
    bad = phrase_with_brain(_answer(), _Wording("A 2: the back moved 35 deg at frame 40."))
    assert bad.text == "plain wording" and bad.phrasing_rejected == ["35"] and bad.phrased_by == "rules"


@pytest.fixture(scope="module")
def squat_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("askrun")
    npz = squat_clip(depth_deg=15, trunk_deg=30, tibia_deg=35).save(tmp / "sq.npz")
    screen(ScreenRequest(source=str(npz), test="deep_squat", run_dir=str(tmp / "run")))
    return tmp / "run"


def test_ask_cli_answers_from_a_run(squat_run, capsys):
    rc = main(["ask", "why a 3 on the deep squat?", "--run", str(squat_run), "--json"])
    a = json.loads(capsys.readouterr().out)
    assert rc == 0 and a["status"] == "answered" and a["score"] == 3 and a["score_matches"] is True
    trace = json.loads((squat_run / "trace.json").read_text())
    assert a["run"]["run_id"] == trace["run_id"]
    assert ungrounded_numbers(a["text"], trace) == []
    rc = main(["ask", "why a 2 on the left hurdle step?", "--run", str(squat_run)])
    out = capsys.readouterr().out
    assert rc == 0 and "Hurdle step was not screened" in out


def test_ask_refuses_an_edited_trace(squat_run, tmp_path, capsys):
    copy = tmp_path / "run"
    shutil.copytree(squat_run, copy)
    text = (copy / "trace.json").read_text()
    (copy / "trace.json").write_text(text.replace('"score": 3', '"score": 2', 1))
    rc = main(["ask", "why a 2 on the deep squat?", "--run", str(copy), "--json"])
    a = json.loads(capsys.readouterr().out)
    assert rc == 0 and a["intact"] is False and NOT_INTACT in a["text"] and a["score"] is None
    assert "score 2" not in a["text"] and "score 3" not in a["text"]


def test_ask_bad_input_is_exit_2(capsys):
    assert main(["ask", "why a 2?"]) == 2
    assert "--athlete ID" in capsys.readouterr().err
    assert main(["ask", "  ", "--athlete", "A1"]) == 2
    assert main(["ask", "why a 2?", "--run", "/no/such/run"]) == 2
    assert "no trace at" in capsys.readouterr().err


def test_ask_with_athlete_uses_the_catalog(tmp_path, squat_run, capsys):
    rc = main(["screen", str(squat_run / "skeleton.npz"), "--test", "deep_squat", "--athlete", "ATH-7",
               "--out", str(tmp_path / "r2")])
    assert rc == 0
    capsys.readouterr()
    rc = main(["ask", "why a 3 on the squat?", "--athlete", "ATH-7", "--json"])
    a = json.loads(capsys.readouterr().out)
    assert rc == 0 and a["status"] == "answered" and a["run"]["trace"].endswith("r2/trace.json")
    rc = main(["ask", "why a 2 on left hurdle step?", "--athlete", "ATH-7"])
    assert "was not screened for athlete ATH-7" in capsys.readouterr().out
    assert main(["trace", "list", "--athlete", "ATH-7", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 1 and rows[0]["test"] == "deep_squat" and rows[0]["intact"] is True


def test_ask_worded_by_a_remote_brain_is_checked(squat_run, capsys):
    from tests.agent.test_brains_remote import FakeServer
    trace = json.loads((squat_run / "trace.json").read_text())
    crit = next(c for c in trace["verdict"]["criteria"] if c["id"] == trace["verdict"]["deciding_criterion"])
    good = FakeServer(reply=f"A clean 3: {crit['id']} measured {crit['value']:.1f} {crit['unit']}.")
    bad = FakeServer(reply="A clean 3: the knees bent to 147 deg.")
    try:
        rc = main(["ask", "why a 3 on the squat?", "--run", str(squat_run), "--brain", "remote",
                   "--brain-url", good.url, "--json"])
        a = json.loads(capsys.readouterr().out)
        assert rc == 0 and a["phrased_by"].startswith("remote:") and a["text"].startswith("A clean 3")
        sent = good.requests[-1]["body"]["messages"]      # the first request asked for the intent
        assert "never add a number" in sent[0]["content"] and "Facts (JSON)" in sent[1]["content"]
        rc = main(["ask", "why a 3 on the squat?", "--run", str(squat_run), "--brain", "remote",
                   "--brain-url", bad.url, "--json"])
        a = json.loads(capsys.readouterr().out)
        assert rc == 0 and a["phrased_by"] == "rules" and a["phrasing_rejected"] == ["147"]
        assert a["text"].startswith("About: Deep squat, ") and "(run " in a["text"].splitlines()[0]
    finally:
        good.close()
        bad.close()


# ----- who was scored, when others were in frame ---------------------------------------------------------------
TRACES = Path(__file__).resolve().parents[2] / "traces"


@pytest.mark.parametrize("run, says", [
    ("crowd_two_athletes_auto", ["2 people were in frame", "chosen by the movement", "track 1 0.591",
                                 "physio must confirm who was scored"]),
    ("crowd_two_athletes_box", ["2 people were in frame", "chosen by the box drawn around the athlete"]),
    ("crowd_crossing_front", ["strayed to someone else 1 time(s), 1 repaired; 13 frame(s) were left out"]),
])
def test_the_answer_says_who_was_scored_from_the_trace(run, says):
    from agent.chat.answer import ask, ungrounded_numbers
    from agent.trace.record import load_trace
    a = ask("who was scored? were there other people?", run=TRACES / run)
    assert a.status == "answered"
    line = next(x for x in a.text.splitlines() if x.startswith("Who was scored:"))
    for phrase in says:
        assert phrase in line
    assert ungrounded_numbers(line, load_trace(TRACES / run / "trace.json")) == []


def test_no_who_was_scored_line_when_the_athlete_was_alone():
    from agent.chat.answer import ask
    a = ask("why this score?", run=TRACES / "demo_deep_squat")
    assert a.athlete_selection is None and "Who was scored" not in a.text


# ----- one question per intent, on the question set's traces (the whole set: test_chat_questions.py, slow) -------
SET = Path(__file__).resolve().parents[2] / "traces" / "question_set"


@pytest.fixture(scope="module")
def set_db(tmp_path_factory):
    from tests.chat_corpus import register
    db = tmp_path_factory.mktemp("intents") / "runs.duckdb"
    register(SET, db)
    return str(db)


@pytest.mark.parametrize("question, intent, says", [
    ("why a 2 on left hurdle step?", "why_score", ["Deciding criterion: Trunk still", "[hurdle_step.score2]"]),
    ("why did the left hurdle step go to physio review?", "why_review", ["review"]),
    ("is this even a deep squat?", "is_test", ["test recognition"]),
    ("what should I film next for the left shoulder mobility?", "what_to_film", ["[capture.views]"]),
    ("left vs right on the hurdle step", "left_right", ["Left: Hurdle step, left", "Right: Hurdle step, right",
                                                        "Asymmetry"]),
    ("has the deep squat changed since the last screen?", "change_since", ["Earliest:", "Latest:"]),
    ("what does knee valgus mean?", "criterion_meaning", ["Knees over the feet", "gap between the knees"]),
    ("will she get injured this season?", "out_of_scope", ["does not predict injury", "I can answer"]),
])
def test_each_intent_is_recognised_and_answered(set_db, question, intent, says):
    from agent.chat.answer import ask
    a = ask(question, athlete_id="SYN-QSET-01", db=set_db)
    assert a.question["intent"] == intent, (question, a.question)
    for phrase in says:
        assert phrase.lower() in a.text.lower(), (phrase, a.text)
    if a.status == "answered" and a.run_name != "no run: from the knowledge base":
        assert a.text.startswith(f"About: {a.run_name}.")                # the bound run, by its one name
