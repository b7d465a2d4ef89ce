"""Scripted brains for tests: they write Qwen-style text turns, so the real VLM path (chat, parsing) runs.

`ScriptedBrain(turns)` answers each agent step with the next turn: a string, or
a function of (chat, request, results) returning a string. `protocol_turn`
writes the `<tool_call>` the FMS protocol calls for next (or the final words
when it is complete), reading the request and the tool results from the chat
the brain was shown, the way a well-behaved VLM would.
"""
from __future__ import annotations

import json

from agent.screening.brains.protocol import REQUEST_RE
from agent.screening.brains.toolcall_parse import last_tool_results
from agent.screening.brains.vlm_base import ChatBrain
from agent.screening.protocol import ScreenRequest, next_call


def request_from_chat(chat: list[dict]) -> ScreenRequest:
    for m in chat:
        if m["role"] == "user":
            found = REQUEST_RE.search(m["content"][0]["text"])
            if found:
                return ScreenRequest(**json.loads(found.group(1)))
    raise AssertionError("no request in the chat")


def call_text(name: str, arguments: dict, say: str = "") -> str:
    block = "<tool_call>\n" + json.dumps({"name": name, "arguments": arguments}) + "\n</tool_call>"
    return f"{say}\n{block}" if say else block


def protocol_turn(chat, request, results) -> str:
    nxt = next_call(request, results)
    if nxt is None:
        return "The protocol is complete; the decide step gave the verdict."
    step, args = nxt
    return call_text(step.tool, args, say=step.why)


class ScriptedBrain(ChatBrain):
    """Plays recorded/scripted text turns through the VLM brains' real input and output path."""

    def __init__(self, turns, then=protocol_turn):
        super().__init__(model_id="scripted-test-brain")
        self.turns = list(turns)
        self.then = then
        self.chats: list[list[dict]] = []

    def generate(self, messages, stop_sequences=None, response_format=None, tools_to_call_from=None, **kwargs):
        chat = self.build_chat(messages)
        self.chats.append(chat)
        turn = self.turns.pop(0) if self.turns else self.then
        if callable(turn):
            turn = turn(chat, request_from_chat(chat), last_tool_results(chat))
        return self.to_chat_message(turn, with_tools=bool(tools_to_call_from))
