"""The remote brain against a small OpenAI-compatible server started in the test (127.0.0.1, random port).

The server speaks the chat-completions tool-call protocol the way vLLM serving
Qwen3-VL with a tool-call parser does: it reads the request and the tool
results from the messages, answers with `tool_calls` for the next protocol
step, then with a plain final answer. Variants answer in Qwen text
(<tool_call> blocks, as llama.cpp without a parser does), with broken
arguments once, or with HTTP errors.
"""
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from agent.screening.brains.protocol import REQUEST_RE
from agent.screening.brains.remote import RemoteBrain, chat_completions_url
from agent.cli.main import main
from agent.screening.protocol import ScreenRequest, next_call
from agent.trace.record import load_trace, verify
from tests.skeleton_factory import squat_clip
from tools.core.errors import InputError

DEMO_CLIP = Path(__file__).resolve().parents[2] / "tools" / "assets" / "demo_deep_squat.mp4"


def _text(content) -> str:
    if isinstance(content, list):
        return "\n".join(p.get("text", "") for p in content if p.get("type") == "text")
    return content or ""


def next_protocol_message(messages: list[dict]) -> dict:
    """What a well-behaved model answers: the next protocol call, or the final words."""
    request = next(ScreenRequest(**json.loads(m.group(1))) for msg in messages if msg["role"] == "user"
                   for m in [REQUEST_RE.search(_text(msg["content"]))] if m)
    names = {c["id"]: c["function"]["name"] for msg in messages if msg["role"] == "assistant"
             for c in msg.get("tool_calls") or []}
    results = {}
    for msg in messages:
        if msg["role"] == "tool":
            try:
                results[names[msg["tool_call_id"]]] = json.loads(_text(msg["content"]))
            except (KeyError, json.JSONDecodeError):
                pass
    nxt = next_call(request, results)
    if nxt is None:
        return {"role": "assistant", "content": "Protocol complete: " + json.dumps(results["decide"]["score"])}
    step, args = nxt
    return {"role": "assistant", "content": step.why,
            "tool_calls": [{"id": f"call_{len(results)}", "type": "function",
                            "function": {"name": step.tool, "arguments": json.dumps(args)}}]}


class FakeServer:
    """chat-completions on 127.0.0.1:<random port>; `mode` picks how it answers."""

    def __init__(self, mode: str = "structured", reply: str = ""):
        self.mode = mode
        self.reply = reply                     # a fixed plain answer (for chat wording)
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append({"path": self.path, "body": body})
                status, answer = server.answer(body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def answer(self, body: dict) -> tuple[int, dict]:
        if self.mode == "http500":
            return 500, {"error": {"message": "CUDA out of memory", "type": "internal_error"}}
        if self.mode == "not_openai":
            return 200, {"result": "hello"}
        if self.reply:
            msg = {"role": "assistant", "content": self.reply}
            return 200, {"choices": [{"index": 0, "message": msg, "finish_reason": "stop"}]}
        msg = next_protocol_message(body["messages"])
        if self.mode == "qwen_text" and msg.get("tool_calls"):
            fn = msg.pop("tool_calls")[0]["function"]
            msg["content"] = (msg["content"] + '\n<tool_call>\n{"name": "' + fn["name"] + '", "arguments": '
                              + fn["arguments"] + "}\n</tool_call>")
        if self.mode == "broken_once" and msg.get("tool_calls") and len(self.requests) == 1:
            msg["tool_calls"][0]["function"]["arguments"] = '{"skeleton_path": '   # cut off
        return 200, {"id": "cmpl-1", "object": "chat.completion", "model": body.get("model", "served-model"),
                     "choices": [{"index": 0, "message": msg,
                                  "finish_reason": "tool_calls" if msg.get("tool_calls") else "stop"}],
                     "usage": {"prompt_tokens": 1200, "completion_tokens": 40, "total_tokens": 1240}}

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(request):
    srv = FakeServer(getattr(request, "param", "structured"))
    yield srv
    srv.close()


@pytest.fixture(scope="module")
def squat_npz(tmp_path_factory):
    return str(squat_clip(depth_deg=15, trunk_deg=30, tibia_deg=35).save(tmp_path_factory.mktemp("c") / "sq.npz"))


def screen_json(capsys, argv):
    rc = main(argv + ["--json"])
    captured = capsys.readouterr()
    return rc, (json.loads(captured.out) if rc == 0 else None), captured.err


@pytest.mark.parametrize("server", ["structured", "qwen_text"], indirect=True)
def test_remote_brain_runs_the_protocol(tmp_path, squat_npz, server, capsys, monkeypatch):
    # the fake server plays the core protocol: keep the optional ST-GCN step out of this run
    monkeypatch.setattr("agent.screening.steps.STGCN_CHECKPOINT", tmp_path / "no-checkpoint.pt")
    rc, v, err = screen_json(capsys, ["screen", squat_npz, "--test", "deep_squat", "--brain", "remote",
                                      "--brain-url", server.url, "--brain-model", "qwen3-vl-8b",
                                      "--out", str(tmp_path / "run")])
    assert rc == 0, err
    assert v["score"] == 3 and v["review"] is False and v["brain_final_answer"] == "Protocol complete: 3"
    trace = load_trace(v["artifacts"]["trace_json"])
    assert verify(trace) == []
    assert [s["tool"] for s in trace["steps"]] == ["prepare_skeleton", "measure_angles", "segment_repetitions",
                                                   "score_rubric", "decide", "render_overlay"]
    port = server.url.split(":")[2].split("/")[0]
    assert trace["brain"] == "remote" and trace["brain_model"] == f"remote:qwen3-vl-8b@127.0.0.1:{port}"
    assert trace["brain_provenance"]["endpoint"] == server.url + "/chat/completions"
    assert trace["steps"][0]["brain_message"] == "Fill short dropouts, smooth, and check pose quality for this test."
    # what went over the wire: the OpenAI tool-calling protocol
    first, last = server.requests[0]["body"], server.requests[-1]["body"]
    assert all(r["path"] == "/v1/chat/completions" for r in server.requests) and len(server.requests) == 7
    assert first["model"] == "qwen3-vl-8b" and first["temperature"] == 0 and first["tool_choice"] == "auto"
    assert {t["function"]["name"] for t in first["tools"]} >= {"prepare_skeleton", "score_rubric", "decide",
                                                                "final_answer"}
    assert first["messages"][0]["role"] == "system" and "FormScout" in first["messages"][0]["content"]
    roles = [m["role"] for m in last["messages"]]
    assert roles.count("tool") == 6 and roles.count("assistant") == 6
    calls = {c["id"] for m in last["messages"] if m["role"] == "assistant" for c in m.get("tool_calls", [])}
    assert {m["tool_call_id"] for m in last["messages"] if m["role"] == "tool"} == calls


@pytest.mark.parametrize("server", ["broken_once"], indirect=True)
def test_broken_arguments_are_fed_back_then_recovered(tmp_path, squat_npz, server, capsys):
    rc, v, _ = screen_json(capsys, ["screen", squat_npz, "--test", "deep_squat", "--brain", "remote",
                                    "--brain-url", server.url, "--out", str(tmp_path / "run")])
    assert rc == 0 and v["score"] == 3 and v["review"] is True
    assert any("could not be read as tool calls" in r for r in v["reasons"])
    second = server.requests[1]["body"]["messages"]
    assert any(m["role"] == "user" and "not valid JSON" in _text(m["content"]) for m in second)
    trace = load_trace(v["artifacts"]["trace_json"])
    assert trace["steps"][0]["tool"] == "brain" and "not valid JSON" in trace["steps"][0]["error"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_server_is_exit_2_and_recorded(tmp_path, squat_npz, capsys):
    url = f"http://127.0.0.1:{_free_port()}/v1"
    rc, _, err = screen_json(capsys, ["screen", squat_npz, "--test", "deep_squat", "--brain", "remote",
                                      "--brain-url", url, "--out", str(tmp_path / "run")])
    assert rc == 2 and "cannot reach the remote brain at " + url in err and "--brain-url" in err
    assert err.count("\n") == 1
    trace = load_trace(tmp_path / "run" / "trace.json")
    assert verify(trace) == []
    assert trace["steps"][-1]["tool"] == "brain" and "BackendUnavailable" in trace["steps"][-1]["error"]
    assert trace["verdict"]["score"] is None and trace["verdict"]["review"] is True


@pytest.mark.parametrize("server, needle", [("http500", "answered HTTP 500"),
                                            ("not_openai", "did not answer like an OpenAI")], indirect=["server"])
def test_server_errors_are_exit_2_and_recorded(tmp_path, squat_npz, server, needle, capsys):
    rc, _, err = screen_json(capsys, ["screen", squat_npz, "--test", "deep_squat", "--brain", "remote",
                                      "--brain-url", server.url, "--out", str(tmp_path / "run")])
    assert rc == 2 and needle in err
    trace = load_trace(tmp_path / "run" / "trace.json")
    assert needle in trace["steps"][-1]["error"]


def test_keyframes_go_as_image_urls_after_check_video(server, tmp_path):
    from smolagents.models import ChatMessage, MessageRole

    from agent.screening.steps import check_video
    from agent.screening.toolbox import CallLog, make_tools
    info = check_video(str(DEMO_CLIP))
    request = ScreenRequest(source=str(DEMO_CLIP), test="deep_squat", run_dir=str(tmp_path))
    calls = [{"id": "call_0", "type": "function",
              "function": {"name": "check_video", "arguments": {"video_path": str(DEMO_CLIP)}}}]
    text = lambda role, t: ChatMessage(role=role, content=[{"type": "text", "text": t}])  # noqa: E731
    memory = [text(MessageRole.USER, "New task:\n```json\n" + json.dumps(request.to_dict()) + "\n```"),
              text(MessageRole.ASSISTANT, "Checking the clip."),
              text(MessageRole.TOOL_CALL, "Calling tools:\n" + str(calls)),
              text(MessageRole.TOOL_RESPONSE, "Observation:\n" + json.dumps(info))]
    msg = RemoteBrain(url=server.url).generate(memory, tools_to_call_from=make_tools(CallLog()))
    assert msg.tool_calls[0].function.name == "estimate_pose"
    sent = server.requests[0]["body"]["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "tool", "user"]
    images = [p for p in sent[4]["content"] if p["type"] == "image_url"]
    assert len(images) == 4 and all(p["image_url"]["url"].startswith("data:image/jpeg;base64,") for p in images)
    assert "model" not in server.requests[0]["body"]          # no --brain-model: the server's default


def test_bad_urls_are_input_errors():
    assert chat_completions_url("http://h:8000") == "http://h:8000/v1/chat/completions"
    assert chat_completions_url("http://h:8000/v1/") == "http://h:8000/v1/chat/completions"
    assert chat_completions_url("https://h/v1/chat/completions") == "https://h/v1/chat/completions"
    for bad in ("", "ftp://h/v1", "localhost:8000"):
        with pytest.raises(InputError):
            chat_completions_url(bad)


def test_brain_options_for_another_brain_are_refused(tmp_path, squat_npz, capsys):
    rc = main(["screen", squat_npz, "--test", "deep_squat", "--brain-url", "http://127.0.0.1:1/v1",
               "--out", str(tmp_path / "r")])
    assert rc == 2 and "--brain-url does not apply to --brain protocol" in capsys.readouterr().err
