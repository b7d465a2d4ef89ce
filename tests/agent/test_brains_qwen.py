"""The qwen3-vl brain through the real transformers path, on a tiny random-weight Qwen3-VL built here.

No download: the tokenizer is trained in the test with the `tokenizers`
library (Qwen's special tokens added), wrapped with a Qwen2-VL image processor
in a Qwen3VLProcessor with a Qwen-style chat template (tools block, images,
<tool_call> turns, <tool_response> results), and saved with a random-weight
Qwen3VLForConditionalGeneration to a temporary folder, which QwenVLBrain then
loads like a real checkpoint. Random weights write garbage: the tests check the
plumbing (keyframes and messages go through apply_chat_template and the
processor, generate runs, the output is parsed) and that garbage ends in a
recorded review, never a crash or a score.
"""
import json
from pathlib import Path

import pytest

from agent.screening.brains.qwen_vl import QwenVLBrain  # noqa: E402
from agent.screening.brains.vlm_base import SYSTEM_PROMPT  # noqa: E402
from agent.screening.protocol import ScreenRequest  # noqa: E402
from agent.screening.run import screen  # noqa: E402
from agent.trace.record import load_trace, verify  # noqa: E402
from tests.skeleton_factory import squat_clip  # noqa: E402

DEMO_CLIP = Path(__file__).resolve().parents[2] / "tools" / "assets" / "demo_deep_squat.mp4"
SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>", "<|image_pad|>",
           "<|video_pad|>"]

# Qwen-style chat template (the shape of Qwen3-VL's own: tools in the system turn, images as vision
# placeholders, assistant tool calls as <tool_call> JSON, tool results as <tool_response> user turns).
TEMPLATE = r"""
{%- macro text_of(content) -%}
{%- if content is string -%}{{ content }}{%- else -%}
{%- for c in content -%}
{%- if c.type == 'image' -%}<|vision_start|><|image_pad|><|vision_end|>{%- elif c.type == 'text' -%}{{ c.text }}{%- endif -%}
{%- endfor -%}{%- endif -%}
{%- endmacro -%}
{%- if tools -%}
<|im_start|>system
{% if messages[0].role == 'system' %}{{ text_of(messages[0].content) }}

{% endif %}# Tools

You may call one or more functions to assist with the user query.

You are provided with function signatures within <tools></tools> XML tags:
<tools>
{%- for tool in tools %}
{{ tool | tojson }}
{%- endfor %}
</tools>

For each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:
<tool_call>
{"name": <function-name>, "arguments": <args-json-object>}
</tool_call><|im_end|>
{% endif -%}
{%- for message in messages -%}
{%- if message.role == 'system' -%}
{%- if not (loop.first and tools) -%}<|im_start|>system
{{ text_of(message.content) }}<|im_end|>
{% endif -%}
{%- elif message.role == 'user' -%}<|im_start|>user
{{ text_of(message.content) }}<|im_end|>
{% elif message.role == 'assistant' -%}<|im_start|>assistant
{{ text_of(message.content) }}
{%- for tc in message.tool_calls or [] %}
<tool_call>
{"name": "{{ tc.function.name }}", "arguments": {{ tc.function.arguments | tojson }}}
</tool_call>
{%- endfor %}<|im_end|>
{% elif message.role == 'tool' -%}<|im_start|>user
<tool_response>
{{ text_of(message.content) }}
</tool_response><|im_end|>
{% endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}<|im_start|>assistant
{% endif -%}
"""


def _corpus() -> list[str]:
    """Text like the brain's prompts, so the small BPE vocabulary keeps them short."""
    from smolagents.models import get_tool_json_schema

    from agent.screening.run import TASK
    from agent.screening.toolbox import CallLog, make_tools
    tools = [json.dumps(get_tool_json_schema(t)) for t in make_tools(CallLog())]
    return [SYSTEM_PROMPT, TASK, *tools, "Error: the run cannot end yet: required steps not done",
            '{"score": 3, "confidence": 0.9, "criteria": [{"id": "thigh_below_horizontal", "value": 15.0}]}']


def build_tiny_qwen3_vl(dest: Path) -> Path:
    import torch
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import (PreTrainedTokenizerFast, Qwen2VLImageProcessor, Qwen3VLConfig,
                              Qwen3VLForConditionalGeneration, Qwen3VLProcessor)
    from transformers.models.qwen3_vl.video_processing_qwen3_vl import Qwen3VLVideoProcessor

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(_corpus() * 3, trainers.BpeTrainer(
        vocab_size=3000, special_tokens=SPECIAL, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False))
    tok.add_tokens([AddedToken("<tool_call>", special=False), AddedToken("</tool_call>", special=False)])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    image_processor = Qwen2VLImageProcessor(patch_size=16, merge_size=2, temporal_patch_size=2,
                                            min_pixels=32 * 32, max_pixels=64 * 64 * 4)
    processor = Qwen3VLProcessor(image_processor=image_processor, tokenizer=tokenizer,
                                 video_processor=Qwen3VLVideoProcessor(), chat_template=TEMPLATE)
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in SPECIAL}
    config = Qwen3VLConfig(
        text_config=dict(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=1, head_dim=16, max_position_embeddings=16384,
                         rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 3, 3],
                                          "mrope_interleaved": True},
                         eos_token_id=ids["<|im_end|>"], pad_token_id=ids["<|endoftext|>"]),
        vision_config=dict(depth=1, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=32,
                           num_position_embeddings=64, deepstack_visual_indexes=[0]),
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"])
    torch.manual_seed(0)
    model = Qwen3VLForConditionalGeneration(config).eval()
    model.generation_config.eos_token_id = ids["<|im_end|>"]
    model.generation_config.pad_token_id = ids["<|endoftext|>"]
    model.save_pretrained(dest)
    processor.save_pretrained(dest)
    return dest


@pytest.fixture(scope="module")
def tiny_qwen(tmp_path_factory) -> Path:
    return build_tiny_qwen3_vl(tmp_path_factory.mktemp("tiny_qwen3_vl"))


@pytest.fixture(scope="module")
def brain(tiny_qwen) -> QwenVLBrain:
    return QwenVLBrain(model_path=str(tiny_qwen), device="cpu", max_new_tokens=12)


def test_loads_offline_and_records_provenance(brain, tiny_qwen):
    assert brain.model_id == f"qwen3-vl:{tiny_qwen.name}"
    p = brain.provenance
    assert p["model_type"] == "qwen3_vl" and p["device"] == "cpu" and p["dtype"] == "float32"
    assert len(p["file_sha256"]["config.json"]) == 64 and p["weight_files_bytes"]["model.safetensors"] > 0


def test_one_agent_step_goes_through_processor_and_generate(brain, monkeypatch, tmp_path):
    """Keyframes from a validated clip and the tool schemas reach the model; its output is read."""
    from smolagents.models import ChatMessage, MessageRole

    from agent.screening.steps import check_video
    from agent.screening.toolbox import CallLog, make_tools
    info = check_video(str(DEMO_CLIP))
    request = ScreenRequest(source=str(DEMO_CLIP), test="deep_squat", run_dir=str(tmp_path))
    calls = [{"id": "call_0000_0", "type": "function",
              "function": {"name": "check_video", "arguments": {"video_path": str(DEMO_CLIP)}}}]
    text = lambda role, t: ChatMessage(role=role, content=[{"type": "text", "text": t}])  # noqa: E731
    memory = [text(MessageRole.SYSTEM, "agent prompt"),
              text(MessageRole.USER, "New task:\nScreen it.\n```json\n" + json.dumps(request.to_dict()) + "\n```"),
              text(MessageRole.ASSISTANT, "Checking the clip."),
              text(MessageRole.TOOL_CALL, "Calling tools:\n" + str(calls)),
              text(MessageRole.TOOL_RESPONSE, "Observation:\n" + json.dumps(info))]
    seen = []
    real = brain.processor.apply_chat_template

    def spy(chat, **kw):
        seen.append((chat, kw, real(chat, **kw)))
        return seen[-1][2]
    monkeypatch.setattr(brain.processor, "apply_chat_template", spy)
    from agent.screening.run import offered_tools
    msg = brain.generate(memory, tools_to_call_from=make_tools(CallLog(), offered_tools(request)))
    chat, kw, inputs = seen[0]
    assert [t["function"]["name"] for t in kw["tools"]][:2] == ["check_video", "estimate_pose"]
    images = [c for m in chat for c in m["content"] if c.get("type") == "image"]
    assert len(images) == brain.n_keyframes == 4
    assert inputs["image_grid_thw"].shape[0] == 4 and inputs["pixel_values"].shape[0] > 0
    assert chat[0]["content"][0]["text"] == SYSTEM_PROMPT          # the brain's rules, not the agent's prompt
    assert msg.raw["images"] == 4 and msg.raw["prompt_tokens"] == inputs["input_ids"].shape[1]
    assert msg.token_usage.output_tokens <= 12
    # random weights: whatever came out is either a call, a final-answer attempt, or a parse error to feed back
    if not msg.tool_calls:
        with pytest.raises(ValueError):
            brain.parse_tool_calls(msg)


def test_a_full_run_with_garbage_output_ends_in_recorded_review(brain, tmp_path):
    clip = squat_clip(depth_deg=15, trunk_deg=30, tibia_deg=35).save(tmp_path / "squat.npz")
    verdict = screen(ScreenRequest(source=str(clip), test="deep_squat", run_dir=str(tmp_path / "run")), brain=brain)
    assert verdict["score"] is None and verdict["review"] is True
    assert any(r.startswith("no score without") for r in verdict["reasons"])
    trace = load_trace(tmp_path / "run" / "trace.json")
    assert verify(trace) == []
    assert trace["brain"] == "QwenVLBrain" and trace["brain_model"].startswith("qwen3-vl:")
    assert trace["brain_provenance"]["model_type"] == "qwen3_vl"
    assert trace["steps"] and all(s["error"] for s in trace["steps"])   # every garbage turn is on record


def test_the_brain_can_word_a_chat_answer_and_is_checked(brain):
    from agent.chat.answer import Answer, phrase_with_brain
    text = brain.complete("Explain the result.", "Facts (JSON): {}")
    assert isinstance(text, str)
    a = Answer(status="answered", question={"text": "why a 2?"}, score=2, run={"run_id": "r", "test": "deep_squat",
                                                                             "side": "NA"})
    a.text = "plain"
    out = phrase_with_brain(a, brain)
    # random weights: the wording is kept only if every number in it is one of the answer's
    assert out.text == "plain" or out.phrased_by == brain.model_id
