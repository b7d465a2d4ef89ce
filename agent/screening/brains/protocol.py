"""The protocol brain: a deterministic smolagents Model that runs the FMS screening protocol.

It reads the screening request from the task, reads the tool results so far
from the agent's memory (the same messages any brain sees), and asks for the
next step of agent/screening/protocol.py; when the protocol is complete it calls
final_answer with the decision. If a tool reports an error it stops and
says so (the run then ends in physio review or, for bad input, in a clear
error). No weights; the same input always gives the same calls.
"""
from __future__ import annotations

import json
import re

from smolagents.models import (ChatMessage, ChatMessageToolCall, ChatMessageToolCallFunction, MessageRole,
                               Model)

from agent.screening.brains.toolcall_parse import literal_eval
from agent.screening.protocol import ScreenRequest, next_call

REQUEST_RE = re.compile(r"```json\s*(\{.*?\})\s*```", re.S)


def _text(message) -> str:
    content = message.content if hasattr(message, "content") else message.get("content")
    if isinstance(content, list):
        return "\n".join(part.get("text", "") for part in content if isinstance(part, dict))
    return content or ""


def _role(message) -> str:
    role = message.role if hasattr(message, "role") else message.get("role")
    return role.value if isinstance(role, MessageRole) else str(role)


def read_request(messages) -> ScreenRequest:
    for m in messages:
        if _role(m) == "user":
            found = REQUEST_RE.search(_text(m))
            if found:
                return ScreenRequest(**json.loads(found.group(1)))
    raise ValueError("the task holds no screening request (a ```json {...}``` block)")


def read_results(messages) -> tuple[dict, str | None]:
    """Tool results so far (tool name -> parsed JSON) and the last error, from the memory messages."""
    results: dict = {}
    pending: list[str] = []
    error = None
    for m in messages:
        role, text = _role(m), _text(m)
        if role == "tool-call" and text.startswith("Calling tools:"):
            calls = literal_eval(text[len("Calling tools:"):].strip())
            pending = [c["function"]["name"] for c in calls]
            error = None
        elif role == "tool-response":
            if "Error:" in text and not text.startswith("Observation:"):
                error = text.split("Error:", 1)[1].strip().split("\nNow let's retry")[0]
                continue
            body = text[len("Observation:"):].strip() if text.startswith("Observation:") else text
            if pending:
                try:
                    results[pending[0]] = json.loads(body)
                except json.JSONDecodeError:
                    results[pending[0]] = {"text": body}
                pending = pending[1:]
    return results, error


class ProtocolBrain(Model):
    """Deterministic brain: the FMS protocol's tool calls, in order, then the final answer."""

    def __init__(self, **_ignored):
        super().__init__(model_id="formscout-protocol-brain-1")

    def generate(self, messages, stop_sequences=None, response_format=None, tools_to_call_from=None,
                 **kwargs) -> ChatMessage:
        request = read_request(messages)
        results, error = read_results(messages)
        n = len(results) + (1 if error else 0)
        if error:
            return self._final({"stopped": True, "error": error}, n,
                               "A required step failed; I stop here and hand the clip to the physio.")
        call = next_call(request, results)
        if call is None:
            return self._final(results.get("decide", {}), n, "Protocol complete; reporting the decision.")
        step, arguments = call
        return ChatMessage(role=MessageRole.ASSISTANT, content=step.why, tool_calls=[
            ChatMessageToolCall(function=ChatMessageToolCallFunction(name=step.tool, arguments=arguments),
                                id=f"call_{n}", type="function")])

    @staticmethod
    def _final(answer: dict, n: int, why: str) -> ChatMessage:
        return ChatMessage(role=MessageRole.ASSISTANT, content=why, tool_calls=[
            ChatMessageToolCall(function=ChatMessageToolCallFunction(name="final_answer",
                                                                     arguments={"answer": json.dumps(answer)}),
                                id=f"call_{n}", type="function")])
