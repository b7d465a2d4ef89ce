"""The remote brain: any OpenAI-compatible chat-completions server (vLLM, llama.cpp server) as the brain.

POSTs the conversation (system rules, the request, keyframes as JPEG data URLs
after check_video, every tool call and result so far) with the tools' JSON
schemas to `<url>/chat/completions` and reads the answer: structured
`tool_calls` when the server parses them (vLLM with a tool-call parser), or
Qwen-style `<tool_call>` blocks in the text (agent.screening.brains.vlm_base) when it
does not. Greedy (temperature 0).

Serving Qwen3-VL, for example:
  vllm serve Qwen/Qwen3-VL-8B-Instruct --enable-auto-tool-choice --tool-call-parser hermes
  llama-server -m qwen3-vl-8b.gguf --mmproj mmproj.gguf --jinja
then `formscout screen CLIP --test deep_squat --brain remote --brain-url http://HOST:8000/v1`.

A server that cannot be reached, answers an HTTP error, or does not speak the
protocol raises BackendUnavailable (an InputError: one line, exit code 2); the
screening run records it in the trace first. The API key (if the server needs
one) comes from FORMSCOUT_BRAIN_API_KEY and never enters a trace.
"""
from __future__ import annotations

import base64
import io
import ipaddress
import json
import logging
import os
from urllib.parse import urlparse

import httpx

from agent.screening.brains.vlm_base import ChatBrain
from tools.core.errors import BackendUnavailable, InputError

log = logging.getLogger(__name__)

API_KEY_ENV = "FORMSCOUT_BRAIN_API_KEY"
EXAMPLE_URL = "http://127.0.0.1:8000/v1"


def chat_completions_url(url: str) -> str:
    """`http://host:8000`, `.../v1` or `.../v1/chat/completions` -> the chat-completions endpoint."""
    if not url:
        raise InputError(f"the remote brain needs --brain-url, the address of an OpenAI-compatible server "
                         f"(vLLM or llama.cpp), e.g. {EXAMPLE_URL}")
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise InputError(f"--brain-url must be an http(s) address like {EXAMPLE_URL} (got {url!r})")
    base = url.rstrip("/")
    if base.endswith("/chat/completions"):
        return base
    if not base.endswith("/v1"):
        base += "/v1"
    return base + "/chat/completions"


def _is_loopback(url: str) -> bool:
    host = urlparse(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _image_url(image) -> str:
    buf = io.BytesIO()
    image.convert("RGB").save(buf, format="JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def to_openai_messages(chat: list[dict]) -> list[dict]:
    """Chat messages as the chat-completions API wants them (text-only content as a string, images as data URLs)."""
    out = []
    for m in chat:
        parts = []
        for c in m["content"]:
            if c.get("type") == "image":
                parts.append({"type": "image_url", "image_url": {"url": _image_url(c["image"])}})
            else:
                parts.append({"type": "text", "text": c.get("text", "")})
        content = parts if any(p["type"] == "image_url" for p in parts) else "\n".join(p["text"] for p in parts)
        msg: dict = {"role": m["role"], "content": content}
        if m["role"] == "assistant" and m.get("tool_calls"):
            msg["tool_calls"] = [{"id": c["id"], "type": "function",
                                  "function": {"name": c["function"]["name"],
                                               "arguments": json.dumps(c["function"]["arguments"])}}
                                 for c in m["tool_calls"]]
        if m["role"] == "tool":
            msg["tool_call_id"] = m.get("tool_call_id", "")
            if m.get("name"):
                msg["name"] = m["name"]
        out.append(msg)
    return out


class RemoteBrain(ChatBrain):
    """An OpenAI-compatible server as the brain; see the module docstring."""

    def __init__(self, url: str = "", model: str = "", timeout_s: float = 300.0, max_tokens: int = 1024,
                 n_keyframes: int = 4, keyframe_max_side_px: int = 448):
        self.url = url
        self.endpoint = chat_completions_url(url)
        self.model_name = model
        self.timeout_s = float(timeout_s)
        self.max_tokens = int(max_tokens)
        self._client = httpx.Client(timeout=self.timeout_s, trust_env=not _is_loopback(self.endpoint))
        super().__init__(model_id=f"remote:{model or 'server-default'}@{urlparse(self.endpoint).netloc}",
                         n_keyframes=n_keyframes, keyframe_max_side_px=keyframe_max_side_px)
        self.provenance = {"endpoint": self.endpoint, "model": model or None, "temperature": 0,
                           "max_tokens": self.max_tokens}

    def _post(self, payload: dict) -> dict:
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(API_KEY_ENV)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        try:
            r = self._client.post(self.endpoint, json=payload, headers=headers)
        except httpx.TimeoutException as exc:
            raise BackendUnavailable(f"the remote brain at {self.url} did not answer within {self.timeout_s:.0f} s "
                                     f"({type(exc).__name__}); check the server or use --brain protocol") from exc
        except httpx.HTTPError as exc:
            raise BackendUnavailable(f"cannot reach the remote brain at {self.url} ({type(exc).__name__}: {exc}); "
                                     "start the server (e.g. `vllm serve ...`) or check --brain-url") from exc
        if r.status_code >= 400:
            raise BackendUnavailable(f"the remote brain at {self.url} answered HTTP {r.status_code}: "
                                     f"{' '.join(r.text.split())[:300]}")
        try:
            data = r.json()
            message = data["choices"][0]["message"]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise BackendUnavailable(f"{self.endpoint} did not answer like an OpenAI chat-completions server "
                                     f"({type(exc).__name__}: {exc}); body starts {r.text[:200]!r}") from exc
        if not isinstance(message, dict):
            raise BackendUnavailable(f"{self.endpoint} returned a message that is not an object: {message!r:.200}")
        data["_message"] = message
        return data

    def generate(self, messages, stop_sequences=None, response_format=None, tools_to_call_from=None, **kwargs):
        from smolagents.models import TokenUsage, get_tool_json_schema

        chat = self.build_chat(messages)
        payload: dict = {"messages": to_openai_messages(chat), "temperature": 0, "max_tokens": self.max_tokens}
        if self.model_name:
            payload["model"] = self.model_name
        if tools_to_call_from:
            payload["tools"] = [get_tool_json_schema(t) for t in tools_to_call_from]
            payload["tool_choice"] = "auto"
        data = self._post(payload)
        message = data["_message"]
        usage = data.get("usage") or {}
        token_usage = TokenUsage(input_tokens=int(usage.get("prompt_tokens", 0) or 0),
                                 output_tokens=int(usage.get("completion_tokens", 0) or 0))
        raw = {"server_model": data.get("model"), "finish_reason": (data.get("choices") or [{}])[0].get("finish_reason")}
        text = message.get("content") or ""
        if isinstance(text, list):            # some servers answer in content parts
            text = "".join(p.get("text", "") for p in text if isinstance(p, dict))
        calls = message.get("tool_calls") or []
        if calls and tools_to_call_from:
            return self.to_chat_message(_as_qwen_text(text, calls), token_usage, raw)
        return self.to_chat_message(text, token_usage, raw, with_tools=bool(tools_to_call_from))

    def complete(self, system: str, user: str) -> str:
        """One plain answer (no tools), e.g. to word a chat answer."""
        payload: dict = {"messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
                         "temperature": 0, "max_tokens": self.max_tokens}
        if self.model_name:
            payload["model"] = self.model_name
        content = self._post(payload)["_message"].get("content") or ""
        if isinstance(content, list):
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        return content


def _as_qwen_text(text: str, calls: list) -> str:
    """Structured tool_calls written back as <tool_call> blocks, so one parser (and one error path) reads all."""
    blocks = [text.strip()] if text and text.strip() else []
    for c in calls:
        fn = c.get("function", {}) if isinstance(c, dict) else {}
        args = fn.get("arguments", {})
        if not isinstance(args, str):
            args = json.dumps(args)
        blocks.append('<tool_call>\n{"name": ' + json.dumps(fn.get("name", "")) + ', "arguments": '
                      + (args if args.strip() else "{}") + "}\n</tool_call>")
    return "\n".join(blocks)
