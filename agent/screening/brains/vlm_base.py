"""What the two VLM brains (qwen3-vl, remote) share: the brain's instructions, keyframes, reading its output.

A VLM brain is a smolagents Model that sees the conversation so far as chat
messages (agent.screening.brains.toolcall_parse.memory_to_chat), a few keyframes of the
clip once check_video has accepted it (read with tools.video.clip.read_frame), and
the tools' JSON schemas; it answers with Qwen-style tool calls.

How its output becomes agent actions (`to_chat_message`):
- readable calls -> tool calls (unknown tool names are left to the agent, which
  refuses them with the list of tools; the refusal is fed back and traced);
- a call that cannot be read -> no call; smolagents then asks
  `parse_tool_calls`, which raises the parse error, and the agent feeds it back
  to the model ("not valid JSON at character 57 ...; write each call as ...");
- plain text without any call -> the brain's final answer. The screening run
  refuses a final answer while required steps are missing and tells the brain
  which, so a brain cannot end a run in a score without measurement.
"""
from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass

import numpy as np
from smolagents.models import (ChatMessage, ChatMessageToolCall, ChatMessageToolCallFunction, MessageRole, Model,
                               TokenUsage)

from tools.video.sampling import spread_frame_indices
from agent.screening.brains.toolcall_parse import last_tool_results, memory_to_chat, parse_tool_calls

log = logging.getLogger(__name__)

SYSTEM_PROMPT = """You are the screening brain of FormScout, a Functional Movement Screen (FMS) screening aid.
You decide which tool to call next; the tools do every measurement and every score.
Rules:
- Call tools with <tool_call>{"name": ..., "arguments": {...}}</tool_call>; several calls in one turn are allowed
  when they do not depend on each other.
- Use the file paths and the JSON that earlier tools returned, exactly as returned.
- Always pass the request's test, side, pain and heels_raised to score_rubric as given.
- Pass decide the exact JSON results of score_rubric (rubric_json) and prepare_skeleton's "quality" (quality_json),
  and of score_stgcn / retrieve_similar_clips when they ran.
- Never state an angle, distance, frame or score that a tool did not return. The keyframes are for context
  (is this the athlete, the test, a usable view?), never for measuring.
- A run cannot end in a score without prepare_skeleton, measure_angles, score_rubric and decide.
- When the protocol is complete, call final_answer with a short summary of the decide result."""


@dataclass(frozen=True)
class Keyframe:
    index: int
    time_s: float
    image: object          # PIL.Image.Image (RGB)


def read_keyframes(video_path: str, n_frames: int, fps: float, n: int = 4, max_side_px: int = 448) -> list[Keyframe]:
    """A few upright RGB frames of the clip, scaled so the longer side is at most `max_side_px`."""
    from PIL import Image

    from tools.video.clip import read_frame
    frames = []
    for i in spread_frame_indices(n_frames, n):
        rgb = read_frame(video_path, i)
        img = Image.fromarray(np.ascontiguousarray(rgb))
        scale = max_side_px / max(img.size)
        if scale < 1.0:
            img = img.resize((max(1, round(img.size[0] * scale)), max(1, round(img.size[1] * scale))))
        frames.append(Keyframe(index=i, time_s=round(i / fps, 3) if fps else 0.0, image=img))
    return frames


class ChatBrain(Model):
    """Base of the VLM brains: builds the chat (with keyframes), turns model text into tool calls."""

    system_prompt = SYSTEM_PROMPT

    def __init__(self, model_id: str, n_keyframes: int = 4, keyframe_max_side_px: int = 448):
        super().__init__(model_id=model_id)
        self.n_keyframes = int(n_keyframes)
        self.keyframe_max_side_px = int(keyframe_max_side_px)
        self._keyframes: dict[str, list[Keyframe]] = {}
        self._turns = itertools.count()
        self.provenance: dict = {}

    # ----- input -------------------------------------------------------------------------------
    def build_chat(self, messages) -> list[dict]:
        """Chat messages; keyframes (PIL images in `{"type": "image"}` items) follow check_video's result."""
        chat = memory_to_chat(messages, self.system_prompt)
        video = last_tool_results(chat).get("check_video")
        if not video or self.n_keyframes <= 0:
            return chat
        frames = self.keyframes(video)
        if not frames:
            return chat
        at = next(i for i, m in enumerate(chat) if m["role"] == "tool" and m.get("name") == "check_video")
        while at + 1 < len(chat) and chat[at + 1]["role"] == "tool":
            at += 1                            # after every result of that turn
        listing = ", ".join(f"frame {k.index} (t = {k.time_s:.2f} s)" for k in frames)
        content = [{"type": "text", "text": f"Keyframes of the clip, for context only ({listing}):"}]
        content += [{"type": "image", "image": k.image} for k in frames]
        chat.insert(at + 1, {"role": "user", "content": content})
        return chat

    def keyframes(self, video: dict) -> list[Keyframe]:
        path = str(video.get("path", ""))
        if path not in self._keyframes:
            try:
                self._keyframes[path] = read_keyframes(path, int(video.get("n_frames", 0)),
                                                       float(video.get("fps", 0.0)), self.n_keyframes,
                                                       self.keyframe_max_side_px)
            except (OSError, ValueError) as exc:   # InputError is a ValueError: the brain goes on without images
                log.warning("keyframes of %s not shown to the brain: %s", path, exc)
                self._keyframes[path] = []
        return self._keyframes[path]

    # ----- output ------------------------------------------------------------------------------
    def to_chat_message(self, text: str, token_usage: TokenUsage | None = None, raw: dict | None = None,
                        with_tools: bool = True) -> ChatMessage:
        """The model's text as an agent action (see the module docstring)."""
        raw = dict(raw or {}, text=text)
        if not with_tools:                     # the agent asked for a plain answer (step limit reached)
            return ChatMessage(role=MessageRole.ASSISTANT, content=parse_tool_calls(text).content or text,
                               raw=raw, token_usage=token_usage)
        parsed = parse_tool_calls(text)
        raw["parse_notes"] = parsed.notes
        turn = next(self._turns)
        if parsed.errors:
            raw["parse_errors"] = parsed.errors
            return ChatMessage(role=MessageRole.ASSISTANT, content=text, raw=raw, token_usage=token_usage)
        calls = [(c.name, c.arguments) for c in parsed.calls]
        if not calls:
            if not parsed.content:
                raw["parse_errors"] = ["the brain wrote nothing: call the next tool, or final_answer when done"]
                return ChatMessage(role=MessageRole.ASSISTANT, content=text, raw=raw, token_usage=token_usage)
            calls = [("final_answer", {"answer": parsed.content})]
        tool_calls = [ChatMessageToolCall(id=f"call_{turn:04d}_{j}", type="function",
                                          function=ChatMessageToolCallFunction(name=name, arguments=args))
                      for j, (name, args) in enumerate(calls)]
        return ChatMessage(role=MessageRole.ASSISTANT, content=parsed.content, tool_calls=tool_calls, raw=raw,
                           token_usage=token_usage)

    def parse_tool_calls(self, message: ChatMessage) -> ChatMessage:
        """Called by the agent when a turn has no readable call: raise what was wrong (fed back to the model)."""
        errors = (message.raw or {}).get("parse_errors") if isinstance(message.raw, dict) else None
        raise ValueError("; ".join(errors or ["no tool call found in the brain's output"]))
