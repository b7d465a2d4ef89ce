"""Qwen-style tool-call parsing on recorded, realistic model turns, and the memory -> chat conversion."""
import json

import pytest

from agent.screening.brains.toolcall_parse import memory_to_chat, parse_tool_calls
from agent.screening.brains.vlm_base import ChatBrain
from tools.video.sampling import spread_frame_indices

# Turns shaped like Qwen3-VL-8B-Instruct output under the Qwen chat template with tools.
WELL_FORMED = """<tool_call>
{"name": "check_video", "arguments": {"video_path": "/data/clips/ath07_hurdle_L.mp4", "max_duration_s": 120, "max_size_mb": 500}}
</tool_call>"""

SEVERAL = """The skeleton is ready and its quality is good. I will measure the angles and score the rubric.
<tool_call>
{"name": "measure_angles", "arguments": {"skeleton_path": "runs/r1/skeleton.npz", "run_dir": "runs/r1"}}
</tool_call>
<tool_call>
{"name": "score_rubric", "arguments": {"skeleton_path": "runs/r1/skeleton.npz", "test": "hurdle_step", "side": "L", "pain": false, "heels_raised": "auto", "criteria_file": ""}}
</tool_call>"""

TRAILING_INSIDE = """<tool_call>
{"name": "lift_to_3d", "arguments": {"pose_path": "runs/r1/pose_2d.npz", "run_dir": "runs/r1", "source_sha256": "ab12"}} (the pose result above)
</tool_call>"""

TRAILING_AFTER = """<tool_call>
{"name": "prepare_skeleton", "arguments": {"skeleton_path": "runs/r1/skeleton_raw.npz", "run_dir": "runs/r1", "test": "deep_squat"}}
</tool_call>
I will wait for the quality report before measuring."""

THINKING = """<think>
The clip passed check_video: 30 fps, 4.2 s. Next is pose estimation.
</think>

<tool_call>
{"name": "estimate_pose", "arguments": {"video_path": "/data/clips/a.mp4", "run_dir": "runs/r1", "backend": "mediapipe", "weights": ""}}
</tool_call>"""

STRING_ARGUMENTS = """<tool_call>
{"name": "measure_angles", "arguments": "{\\"skeleton_path\\": \\"runs/r1/skeleton.npz\\", \\"run_dir\\": \\"runs/r1\\"}"}
</tool_call>"""

CUT_OFF = """Scoring now.
<tool_call>
{"name": "score_rubric", "arguments": {"skeleton_path": "runs/r1/skeleton.npz", "test": "deep_squat"}}"""

BARE_JSON = """```json
{"name": "decide", "arguments": {"rubric_json": {"score": 2}, "quality_json": {}}}
```"""

FINAL_TEXT = "The rules scored the deep squat 2: the torso was not parallel to the tibia (deciding frame 52)."

MALFORMED = {
    "missing comma": ('<tool_call>\n{"name": "measure_angles", "arguments": {"skeleton_path": "s.npz" '
                      '"run_dir": "r"}}\n</tool_call>', "not valid JSON"),
    "single quotes": ("<tool_call>\n{'name': 'measure_angles', 'arguments': {}}\n</tool_call>", "not valid JSON"),
    "no name": ('<tool_call>\n{"tool": "measure_angles", "arguments": {}}\n</tool_call>', "no tool 'name'"),
    "arguments a list": ('<tool_call>\n{"name": "decide", "arguments": [1, 2]}\n</tool_call>', "must be a JSON object"),
    "empty block": ("<tool_call>\n</tool_call>", "is empty"),
    "string args not JSON": ('<tool_call>\n{"name": "decide", "arguments": "score=3"}\n</tool_call>', "not JSON"),
    "close without open": ('{"name": "decide"\n</tool_call>', "without <tool_call>"),
    "truncated json": ('<tool_call>\n{"name": "score_rubric", "arguments": {"skeleton_path": "s.n', "not valid JSON"),
}


def test_well_formed_single_call():
    out = parse_tool_calls(WELL_FORMED)
    assert out.ok and out.content == ""
    assert [(c.name, c.arguments["video_path"]) for c in out.calls] == [("check_video",
                                                                         "/data/clips/ath07_hurdle_L.mp4")]
    assert out.calls[0].arguments["max_duration_s"] == 120


def test_several_calls_keep_order_and_text():
    out = parse_tool_calls(SEVERAL)
    assert out.ok
    assert [c.name for c in out.calls] == ["measure_angles", "score_rubric"]
    assert out.calls[1].arguments == {"skeleton_path": "runs/r1/skeleton.npz", "test": "hurdle_step", "side": "L",
                                      "pain": False, "heels_raised": "auto", "criteria_file": ""}
    assert out.content.startswith("The skeleton is ready")


@pytest.mark.parametrize("text, name", [(TRAILING_INSIDE, "lift_to_3d"), (TRAILING_AFTER, "prepare_skeleton")])
def test_trailing_text_is_tolerated(text, name):
    out = parse_tool_calls(text)
    assert out.ok and [c.name for c in out.calls] == [name]
    if text is TRAILING_INSIDE:
        assert out.notes and "ignored text" in out.notes[0]
    else:
        assert out.content == "I will wait for the quality report before measuring."


def test_thinking_is_dropped_and_string_arguments_decoded():
    out = parse_tool_calls(THINKING)
    assert out.ok and out.calls[0].name == "estimate_pose" and "30 fps" not in out.content
    out = parse_tool_calls(STRING_ARGUMENTS)
    assert out.ok and out.calls[0].arguments == {"skeleton_path": "runs/r1/skeleton.npz", "run_dir": "runs/r1"}


def test_cut_off_block_and_bare_json_are_read():
    out = parse_tool_calls(CUT_OFF)
    assert out.ok and out.calls[0].arguments["test"] == "deep_squat" and out.content == "Scoring now."
    assert any("no closing" in n for n in out.notes)
    out = parse_tool_calls(BARE_JSON)
    assert out.ok and out.calls[0].name == "decide" and out.calls[0].arguments["rubric_json"] == {"score": 2}


def test_plain_text_has_no_calls():
    out = parse_tool_calls(FINAL_TEXT)
    assert out.ok and out.calls == [] and out.content == FINAL_TEXT


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_calls_give_a_clear_error(case):
    text, needle = MALFORMED[case]
    out = parse_tool_calls(text)
    assert not out.ok and out.calls == []
    assert needle in out.errors[0]
    if needle != "without <tool_call>":
        assert "tool call 1" in out.errors[0]
    assert "<tool_call>" in out.errors[0]           # says how a call must be written


class _Brain(ChatBrain):
    def generate(self, *a, **k):  # pragma: no cover - not used
        raise NotImplementedError


def test_brain_turns_text_into_agent_actions():
    brain = _Brain(model_id="t")
    msg = brain.to_chat_message(SEVERAL)
    assert [c.function.name for c in msg.tool_calls] == ["measure_angles", "score_rubric"]
    assert len({c.id for c in msg.tool_calls}) == 2 and "<tool_call>" not in msg.content
    final = brain.to_chat_message(FINAL_TEXT)
    assert final.tool_calls[0].function.name == "final_answer"
    assert final.tool_calls[0].function.arguments == {"answer": FINAL_TEXT}
    bad = brain.to_chat_message(MALFORMED["missing comma"][0])
    assert not bad.tool_calls
    with pytest.raises(ValueError, match="not valid JSON"):
        brain.parse_tool_calls(bad)                   # what the agent feeds back to the model
    with pytest.raises(ValueError, match="wrote nothing"):
        brain.parse_tool_calls(brain.to_chat_message("   "))


def test_memory_to_chat_pairs_calls_and_results():
    from smolagents.models import ChatMessage, MessageRole
    calls = [{"id": "call_0001_0", "type": "function",
              "function": {"name": "measure_angles", "arguments": {"skeleton_path": "s.npz", "run_dir": "r"}}},
             {"id": "call_0001_1", "type": "function",
              "function": {"name": "score_rubric", "arguments": {"skeleton_path": "s.npz", "test": "deep_squat"}}}]
    text = lambda role, t: ChatMessage(role=role, content=[{"type": "text", "text": t}])  # noqa: E731
    memory = [
        text(MessageRole.SYSTEM, "smolagents' own system prompt"),
        text(MessageRole.USER, "New task:\nScreen it"),
        text(MessageRole.ASSISTANT, "Measuring and scoring."),
        text(MessageRole.TOOL_CALL, "Calling tools:\n" + str(calls)),
        text(MessageRole.TOOL_RESPONSE, 'Observation:\n{"fps": 30.0}\n{"score": 2}'),
        text(MessageRole.ASSISTANT, "garbage"),
        text(MessageRole.TOOL_RESPONSE, "Error:\nError while parsing tool call from model output: no call\n"),
    ]
    chat = memory_to_chat(memory, "FormScout rules")
    assert chat[0] == {"role": "system", "content": [{"type": "text", "text": "FormScout rules"}]}
    assert [m["role"] for m in chat] == ["system", "user", "assistant", "tool", "tool", "assistant", "user"]
    assert [c["function"]["name"] for c in chat[2]["tool_calls"]] == ["measure_angles", "score_rubric"]
    assert chat[2]["tool_calls"][0]["function"]["arguments"] == {"skeleton_path": "s.npz", "run_dir": "r"}
    assert [(m["tool_call_id"], json.loads(m["content"][0]["text"])) for m in chat[3:5]] == [
        ("call_0001_0", {"fps": 30.0}), ("call_0001_1", {"score": 2})]
    assert "no call" in chat[6]["content"][0]["text"]


def test_keyframes_spread_over_the_clip():
    assert spread_frame_indices(100, 4) == [12, 37, 62, 87]
    assert spread_frame_indices(3, 4) == [0, 1, 2]
    assert spread_frame_indices(0, 4) == []


def test_memory_messages_are_parsed_one_thread_at_a_time():
    """CPython 3.11's AST builder keeps its recursion depth in interpreter-wide state, so two screenings
    parsing at once (two app tabs) failed with "AST constructor recursion depth mismatch": the parse
    waits for the lock that every memory-message parse takes."""
    import threading

    from agent.screening.brains import toolcall_parse

    got = []
    with toolcall_parse._AST_LOCK:
        t = threading.Thread(target=lambda: got.append(toolcall_parse.literal_eval("[{'a': (1, None)}]")))
        t.start()
        t.join(timeout=0.3)
        assert t.is_alive() and not got          # waiting for the lock held here
    t.join(timeout=5)
    assert got == [[{"a": (1, None)}]]
