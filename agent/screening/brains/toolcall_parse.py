"""The tool-call wire format shared by the VLM brains: agent memory -> chat messages, model text -> calls.

Two jobs, both about how tool calls travel between smolagents and a chat model:

- `memory_to_chat(messages, system_prompt)` turns the smolagents memory messages
  (roles user / assistant / tool-call / tool-response, with "Calling tools:" and
  "Observation:" texts) into the chat shape that chat templates and
  OpenAI-compatible servers expect: assistant messages carrying `tool_calls`
  (id, name, arguments as a dict) and one `tool` message per call with its
  result. Errors the agent fed back (unknown tool, unreadable output, a refused
  final answer) become the tool message of the failed call, or a user message
  when the brain made no call at all.
- `parse_tool_calls(text)` reads Qwen-style output: any number of
  `<tool_call>{"name": ..., "arguments": {...}}</tool_call>` blocks, text around
  them, an optional `<think>...</think>` block. Text after a JSON object inside
  a block is tolerated (and reported), arguments given as a JSON string are
  decoded, a last block cut off before `</tool_call>` is still read. Anything
  else that looks like a call but cannot be read is an error message that says
  what was wrong and how a call must be written; the brain feeds it back to the
  model instead of guessing.
"""
from __future__ import annotations

import ast
import json
import re
import threading
from dataclasses import dataclass, field

CALL_OPEN, CALL_CLOSE = "<tool_call>", "</tool_call>"
THINK_RE = re.compile(r"<think>.*?</think>", re.S)
FENCE_RE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.S)
HOW_TO_CALL = ('write each call as <tool_call>{"name": "<tool name>", "arguments": {<arguments as JSON>}}'
               "</tool_call>")
# CPython 3.11 keeps the AST builder's recursion-depth counter in interpreter-wide state (Python-ast.c,
# state->recursion_depth), so two threads parsing at once (two screenings in the app) can fail with
# "SystemError: AST constructor recursion depth mismatch", as seen here and reported from other threaded
# programs (CPython gh-106905). Every parse of a memory message goes through this one lock.
_AST_LOCK = threading.Lock()


def literal_eval(text: str):
    """ast.literal_eval, one thread at a time (see _AST_LOCK)."""
    with _AST_LOCK:
        return ast.literal_eval(text)


@dataclass
class ParsedCall:
    name: str
    arguments: dict


@dataclass
class ParsedOutput:
    """What a model turn said: free text, the calls it made, and what could not be read."""

    content: str
    calls: list[ParsedCall] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)   # tolerated oddities (trailing text inside a block)

    @property
    def ok(self) -> bool:
        return not self.errors


def _snippet(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


def _read_call(body: str, where: str, out: ParsedOutput) -> None:
    """Parse the JSON object of one call (trailing text after it is tolerated and noted)."""
    body = body.strip()
    fenced = FENCE_RE.match(body)
    if fenced:
        body = fenced.group(1)
    if not body:
        out.errors.append(f"{where} is empty; {HOW_TO_CALL}")
        return
    try:
        obj, end = json.JSONDecoder().raw_decode(body)
    except json.JSONDecodeError as exc:
        out.errors.append(f"{where} is not valid JSON ({exc.msg} at character {exc.pos}): "
                          f"{_snippet(body)!r}; {HOW_TO_CALL}")
        return
    rest = body[end:].strip()
    if rest:
        out.notes.append(f"{where}: ignored text after the JSON object: {_snippet(rest, 60)!r}")
    if not isinstance(obj, dict):
        out.errors.append(f"{where} must be a JSON object with 'name' and 'arguments', got {type(obj).__name__}; "
                          f"{HOW_TO_CALL}")
        return
    name = obj.get("name")
    if not isinstance(name, str) or not name.strip():
        out.errors.append(f"{where} has no tool 'name' (keys: {sorted(obj)}); {HOW_TO_CALL}")
        return
    arguments = obj.get("arguments", obj.get("parameters", {}))
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except json.JSONDecodeError as exc:
            out.errors.append(f"{where} ({name}): 'arguments' is a string that is not JSON ({exc.msg}); "
                              f"{HOW_TO_CALL}")
            return
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        out.errors.append(f"{where} ({name}): 'arguments' must be a JSON object, got {type(arguments).__name__}; "
                          f"{HOW_TO_CALL}")
        return
    out.calls.append(ParsedCall(name=name.strip(), arguments=arguments))


def parse_tool_calls(text: str) -> ParsedOutput:
    """Read the calls in one model turn (see the module docstring)."""
    text = text or ""
    visible = THINK_RE.sub("", text)
    if "</think>" in visible:               # a thinking block whose opening tag the template already wrote
        visible = visible.split("</think>", 1)[1]
    out = ParsedOutput(content="")
    if CALL_OPEN not in visible:
        stripped = visible.strip()
        fenced = FENCE_RE.match(stripped)
        candidate = fenced.group(1) if fenced else stripped
        # a bare {"name": ..., "arguments": ...} object as the whole turn is a call too
        if candidate.startswith("{") and '"name"' in candidate and CALL_CLOSE not in visible:
            _read_call(candidate, "tool call 1", out)
            if out.calls or out.errors:
                return out
        if CALL_CLOSE in visible:
            out.errors.append(f"found {CALL_CLOSE} without {CALL_OPEN}; {HOW_TO_CALL}")
        out.content = stripped
        return out
    pieces = visible.split(CALL_OPEN)
    outside = [pieces[0]]
    for i, piece in enumerate(pieces[1:], start=1):
        where = f"tool call {i}"
        if CALL_CLOSE in piece:
            body, after = piece.split(CALL_CLOSE, 1)
            outside.append(after)
        else:
            body = piece                       # cut off at the end of the output: read what is there
            out.notes.append(f"{where}: no closing {CALL_CLOSE}")
        _read_call(body, where, out)
    out.content = "\n".join(p.strip() for p in outside if p.strip())
    return out


# ----- smolagents memory -> chat messages --------------------------------------------------------

def _role(message) -> str:
    role = message.role if hasattr(message, "role") else message.get("role")
    return getattr(role, "value", str(role))


def _text(message) -> str:
    content = message.content if hasattr(message, "content") else message.get("content")
    if isinstance(content, list):
        return "\n".join(part.get("text", "") for part in content if isinstance(part, dict)
                         and part.get("type", "text") == "text")
    return content or ""


def _calls_from_text(text: str) -> list[dict]:
    """The calls of a "Calling tools:\\n[...]" memory message (a Python repr of the ToolCall dicts)."""
    body = text[len("Calling tools:"):].strip()
    try:
        raw = literal_eval(body)
    except (ValueError, SyntaxError):
        return []
    calls = []
    for c in raw if isinstance(raw, list) else []:
        fn = c.get("function", {})
        args = fn.get("arguments", {})
        if isinstance(args, str):
            try:
                args = json.loads(args)
            except json.JSONDecodeError:
                args = {"value": args}
        calls.append({"id": str(c.get("id", "")), "type": "function",
                      "function": {"name": fn.get("name", ""), "arguments": args}})
    return calls


def memory_to_chat(messages, system_prompt: str) -> list[dict]:
    """Chat messages [{role, content: [{type: text, text}], tool_calls?, tool_call_id?, name?}].

    The agent's own system prompt is replaced by `system_prompt` (the brain's).
    Tool calls have the OpenAI / transformers chat-template shape
    {id, type: function, function: {name, arguments (a dict)}}; `tool` messages
    follow their call in order.
    """
    chat: list[dict] = [{"role": "system", "content": [{"type": "text", "text": system_prompt}]}]
    open_calls: list[dict] = []          # calls of the last assistant turn still waiting for a result
    for m in messages:
        role, text = _role(m), _text(m)
        if role == "system":
            continue
        if role == "user":
            chat.append({"role": "user", "content": [{"type": "text", "text": text}]})
            open_calls = []
        elif role == "assistant":
            chat.append({"role": "assistant", "content": [{"type": "text", "text": text}], "tool_calls": []})
            open_calls = []
        elif role == "tool-call" and text.startswith("Calling tools:"):
            calls = _calls_from_text(text)
            if not chat or chat[-1]["role"] != "assistant":
                chat.append({"role": "assistant", "content": [{"type": "text", "text": ""}], "tool_calls": []})
            chat[-1]["tool_calls"] = calls
            open_calls = list(calls)
        elif role == "tool-response":
            if text.startswith("Observation:"):
                body = text[len("Observation:"):].strip()
                lines = body.split("\n")
                # several calls in one turn: smolagents joins their (one-line JSON) results with newlines
                parts = lines if len(open_calls) > 1 and len(lines) == len(open_calls) else [body]
                for part in parts:
                    call = open_calls.pop(0) if open_calls else {"id": "", "function": {"name": ""}}
                    chat.append({"role": "tool", "tool_call_id": call["id"], "name": call["function"]["name"],
                                 "content": [{"type": "text", "text": part}]})
            elif open_calls:
                for call in open_calls:       # the calls failed: each gets the error as its result
                    chat.append({"role": "tool", "tool_call_id": call["id"], "name": call["function"]["name"],
                                 "content": [{"type": "text", "text": text.strip()}]})
                open_calls = []
            elif chat and chat[-1]["role"] == "tool":
                chat[-1]["content"][0]["text"] += "\n" + text.strip()
            else:
                chat.append({"role": "user", "content": [{"type": "text", "text": text.strip()}]})
    for msg in chat:
        if msg["role"] == "assistant" and not msg.get("tool_calls"):
            msg.pop("tool_calls", None)
    return chat


def last_tool_results(chat: list[dict]) -> dict[str, dict]:
    """Tool name -> parsed JSON of its latest result in a chat (for brains that need, e.g., check_video)."""
    out: dict[str, dict] = {}
    for msg in chat:
        if msg["role"] == "tool" and msg.get("name"):
            try:
                value = json.loads(msg["content"][0]["text"])
            except (json.JSONDecodeError, IndexError, KeyError):
                continue
            if isinstance(value, dict):
                out[msg["name"]] = value
    return out
