"""A brain chooses its own calls, but the run still enforces the protocol: scripted brains that misbehave.

Each scripted brain writes Qwen-style text through the VLM brains' real path
(chat building, <tool_call> parsing); every misstep must be in the trace, and
none may end in an unearned score.
"""
import json

import pytest

from agent.cli.main import main
from agent.screening.protocol import ScreenRequest
from agent.screening.run import screen
from agent.trace.record import load_trace, verify
from tests.brain_fakes import ScriptedBrain, call_text, protocol_turn
from tests.skeleton_factory import squat_clip


@pytest.fixture(scope="module")
def squat_npz(tmp_path_factory):
    return str(squat_clip(depth_deg=15, trunk_deg=30, tibia_deg=35).save(tmp_path_factory.mktemp("clip") / "sq.npz"))


def run(tmp_path, squat_npz, brain, **req):
    req.setdefault("use_stgcn", False)  # the core protocol, whether or not an ST-GCN checkpoint is installed
    verdict = screen(ScreenRequest(source=squat_npz, test="deep_squat", run_dir=str(tmp_path / "run"), **req),
                     brain=brain)
    trace = load_trace(tmp_path / "run" / "trace.json")
    assert verify(trace) == []
    return verdict, trace


def test_a_well_behaved_text_brain_scores_like_the_protocol(tmp_path, squat_npz):
    brain = ScriptedBrain([])
    v, trace = run(tmp_path, squat_npz, brain)
    assert v["score"] == 3 and v["review"] is False and v["reasons"] == []
    assert [s["tool"] for s in trace["steps"]] == ["prepare_skeleton", "measure_angles", "segment_repetitions",
                                                   "score_rubric", "decide", "render_overlay"]
    assert trace["brain"] == "ScriptedBrain" and trace["brain_model"] == "scripted-test-brain"
    assert trace["steps"][0]["brain_message"].startswith("Fill short dropouts")
    # the brain was shown each result as a tool message right after its call
    last = brain.chats[-1]
    tool_msgs = [m for m in last if m["role"] == "tool"]
    assert [m["name"] for m in tool_msgs] == ["prepare_skeleton", "measure_angles", "segment_repetitions",
                                              "score_rubric", "decide", "render_overlay"]
    assert json.loads(tool_msgs[3]["content"][0]["text"])["score"] == 3


def test_ending_without_measurement_gets_no_score(tmp_path, squat_npz):
    brain = ScriptedBrain([], then=lambda *a: "It looks like a clean deep squat, score 3.")
    v, trace = run(tmp_path, squat_npz, brain)
    assert v["score"] is None and v["review"] is True
    assert any("no score without prepare_skeleton, measure_angles, score_rubric, decide" in r for r in v["reasons"])
    assert any("tried" in r and "to end the run before the required steps" in r for r in v["reasons"])
    refused = [s for s in trace["steps"] if s["tool"] == "final_answer"]
    assert refused and all("refused" in s["error"] and "measure_angles" in s["error"] for s in refused)
    assert refused[0]["arguments"] == {"answer": "It looks like a clean deep squat, score 3."}
    assert trace["steps"][-1]["tool"] == "brain" and "step limit" in trace["steps"][-1]["error"]
    # the brain was told what was missing
    fed_back = " ".join(m["content"][0]["text"] for m in brain.chats[1] if m["role"] == "tool")
    assert "required steps not done" in fed_back


def test_stopping_halfway_gets_no_score(tmp_path, squat_npz):
    brain = ScriptedBrain([protocol_turn, protocol_turn], then=lambda *a: "Done: score 3.")
    v, trace = run(tmp_path, squat_npz, brain)
    assert v["score"] is None and v["review"]
    assert any(r == "no score without score_rubric, decide" for r in v["reasons"])
    assert [s["tool"] for s in trace["steps"]][:2] == ["prepare_skeleton", "measure_angles"]


def test_unknown_tool_is_recorded_and_ends_in_review(tmp_path, squat_npz):
    brain = ScriptedBrain([call_text("compute_score", {"score": 3}, say="I can score it myself.")])
    v, trace = run(tmp_path, squat_npz, brain)
    first = trace["steps"][0]
    assert first["tool"] == "compute_score" and "Unknown tool compute_score" in first["error"]
    assert first["arguments"] == {"score": 3} and first["brain_message"] == "I can score it myself."
    # the brain then followed the protocol, so the measurement stands, but the clip goes to the physio
    assert v["score"] == 3 and v["review"] is True
    assert "brain: the brain called unknown tools: compute_score" in v["reasons"]


def test_unreadable_output_is_fed_back_and_recorded(tmp_path, squat_npz):
    broken = '<tool_call>\n{"name": "prepare_skeleton", "arguments": {"skeleton_path": "x" "run_dir": "y"}}\n</tool_call>'
    brain = ScriptedBrain([broken])
    v, trace = run(tmp_path, squat_npz, brain)
    first = trace["steps"][0]
    assert first["tool"] == "brain" and "unreadable brain output" in first["error"] and "not valid JSON" in first["error"]
    assert first["arguments"]["output"] == broken
    assert any("could not be read as tool calls" in r for r in v["reasons"]) and v["review"]
    errors_shown = [m for m in brain.chats[1] if m["role"] == "user" and "not valid JSON" in m["content"][0]["text"]]
    assert errors_shown, "the parse error goes back to the model"


def test_decide_on_numbers_the_brain_wrote_itself_gets_no_score(tmp_path, squat_npz):
    def forge(chat, request, results):
        turn = protocol_turn(chat, request, results)
        if '"name": "decide"' in turn:
            rubric = dict(results["score_rubric"], score=1)
            return call_text("decide", {"rubric_json": rubric, "quality_json": results["prepare_skeleton"]["quality"],
                                        "stgcn_json": {}, "neighbours_json": []})
        return turn
    v, trace = run(tmp_path, squat_npz, ScriptedBrain([], then=forge))
    assert v["score"] is None and v["review"]
    assert "no score: decide was given a rubric result that score_rubric did not return" in v["reasons"]
    assert any(s["tool"] == "decide" and s["arguments"]["rubric_json"]["score"] == 1 for s in trace["steps"])


def test_dropping_reported_pain_gets_no_score(tmp_path, squat_npz):
    def no_pain(chat, request, results):
        request.pain = False                      # the brain "forgets" the athlete's pain
        return protocol_turn(chat, request, results)
    v, _ = run(tmp_path, squat_npz, ScriptedBrain([], then=no_pain), pain=True)
    assert v["score"] is None
    assert "no score: score_rubric was not given the pain the athlete reported" in v["reasons"]


def test_bad_arguments_are_refused_before_the_tool_runs(tmp_path, squat_npz):
    brain = ScriptedBrain([call_text("measure_angles", {"skeleton": "x.npz"})])
    v, trace = run(tmp_path, squat_npz, brain)
    first = trace["steps"][0]
    assert first["tool"] == "measure_angles" and first["result"] is None and first["error"]
    assert v["score"] == 3 and v["review"] and any("refused" in r for r in v["reasons"])


def test_unknown_brain_is_a_clear_error_and_recorded(tmp_path, squat_npz, capsys):
    out = tmp_path / "u"
    rc = main(["screen", squat_npz, "--test", "deep_squat", "--brain", "gpt-9", "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and "unknown brain 'gpt-9'" in err and "protocol" in err
    trace = load_trace(out / "trace.json")
    assert verify(trace) == [] and trace["brain"] == "gpt-9"
    assert trace["steps"][0]["tool"] == "brain" and "unknown brain" in trace["steps"][0]["error"]
    assert trace["verdict"]["score"] is None and trace["verdict"]["review"] is True


def test_missing_model_path_is_a_clear_error_and_recorded(tmp_path, squat_npz, capsys):
    out = tmp_path / "q"
    rc = main(["screen", squat_npz, "--test", "deep_squat", "--brain", "qwen3-vl",
               "--brain-model-path", str(tmp_path / "no_such_model"), "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and "Qwen3-VL model folder not found" in err and "--brain-model-path" in err
    assert err.count("\n") == 1
    trace = load_trace(out / "trace.json")
    assert "not found" in trace["steps"][0]["error"] and trace["verdict"]["review"] is True
    rc = main(["screen", squat_npz, "--test", "deep_squat", "--brain", "qwen3-vl", "--out", str(tmp_path / "q2")])
    assert rc == 2 and "needs a model" in capsys.readouterr().err
