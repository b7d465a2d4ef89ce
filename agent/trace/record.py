"""The run trace: one JSON document per screening run, hash-chained so edits are caught.

Every step records the tool, its arguments, its JSON result, the files it
wrote, its duration and what the brain said when it called it. Each step's
`hash` is sha256 over the previous step's hash plus the step's canonical JSON,
and the header and verdict are sealed the same way, so changing any character
of a published trace makes `formscout trace verify` fail. The input video is
identified by its sha256 only; raw video never goes into a trace.
"""
from __future__ import annotations

import hashlib
import json
import platform
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from tools.core.errors import InputError
from tools.core.progress import ProgressEvent

SCHEMA = "formscout-trace/1"
GENESIS = "0" * 64
PACKAGES = ("formscout", "mediapipe", "torch", "smolagents", "numpy", "scipy", "opencv-python", "av",
            "ultralytics", "transformers")


def canonical_json(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def software_versions() -> dict:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


@dataclass
class TraceRecorder:
    """Builds a trace step by step; `finish` seals it with the verdict.

    `progress` (optional) hears about each tool call as it starts and finishes
    (`step_started` / `step_finished`, called while the run goes on, before the
    steps are sealed into the trace): a ProgressEvent with stage "steps",
    done / total steps, and detail "<tool>: <what it does>".
    """

    header: dict
    steps: list[dict] = field(default_factory=list)
    progress: Callable[[ProgressEvent], None] | None = None
    steps_planned: int | None = None
    steps_finished: int = 0

    def announce_plan(self, tools: list[str]) -> None:
        """The steps the run means to take, in order: a "plan" event (detail = the tool names, comma-separated)."""
        self.steps_planned = len(tools)
        if self.progress is not None:
            self.progress(ProgressEvent("plan", 0, len(tools), "steps", ",".join(tools)))

    def step_started(self, tool: str, what: str = "") -> None:
        """A tool call has started: tell the progress listener which one (nothing is recorded yet)."""
        if self.progress is not None:
            self.progress(ProgressEvent("steps", self.steps_finished, self.steps_planned, "steps",
                                        f"{tool}: {what}" if what else tool))

    def step_finished(self, tool: str, error: str | None = None) -> None:
        """A tool call has finished (ok or with an error): count it and tell the progress listener."""
        self.steps_finished += 1
        if self.progress is not None:
            done = f"{tool}: failed" if error else f"{tool}: done"
            self.progress(ProgressEvent("steps", self.steps_finished, self.steps_planned, "steps", done))

    @classmethod
    def start(cls, **header) -> "TraceRecorder":
        base = {"schema": SCHEMA, "run_id": header.pop("run_id", None) or uuid.uuid4().hex,
                "started_at": now_iso(), "software": software_versions()}
        base.update(header)
        return cls(header=base)

    @property
    def last_hash(self) -> str:
        return self.steps[-1]["hash"] if self.steps else sha256_text(GENESIS + canonical_json(self.header))

    def add_step(self, tool: str, arguments: dict, result: dict | None, duration_ms: float,
                 brain_message: str = "", error: str | None = None) -> dict:
        step = {"index": len(self.steps), "tool": tool, "arguments": arguments, "result": result,
                "artifacts": _artifacts(result), "duration_ms": round(duration_ms, 1),
                "brain_message": brain_message, "error": error, "prev_hash": self.last_hash}
        step["hash"] = sha256_text(step["prev_hash"] + canonical_json(_without(step, "hash")))
        self.steps.append(step)
        return step

    def finish(self, verdict: dict) -> dict:
        doc = dict(self.header)
        doc["finished_at"] = now_iso()
        doc["steps"] = self.steps
        doc["verdict"] = verdict
        doc["seal"] = seal(doc)
        return doc


def _without(d: dict, *keys: str) -> dict:
    return {k: v for k, v in d.items() if k not in keys}


def _artifacts(result) -> dict:
    """Files a step wrote (result keys ending in _path/_csv/_mp4/_png)."""
    if not isinstance(result, dict):
        return {}
    return {k: v for k, v in result.items()
            if isinstance(v, str) and k.endswith(("_path", "_csv", "_mp4", "_png"))}


HEADER_KEYS_EXCLUDED = ("steps", "verdict", "seal", "finished_at")


def _header_of(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if k not in HEADER_KEYS_EXCLUDED}


def seal(doc: dict) -> str:
    last = doc["steps"][-1]["hash"] if doc.get("steps") else sha256_text(GENESIS + canonical_json(_header_of(doc)))
    return sha256_text(last + canonical_json({"finished_at": doc.get("finished_at"), "verdict": doc.get("verdict")}))


def verify(doc: dict) -> list[str]:
    """Problems found in a trace (empty list = intact)."""
    problems = []
    if doc.get("schema") != SCHEMA:
        problems.append(f"schema is {doc.get('schema')!r}, expected {SCHEMA!r}")
    prev = sha256_text(GENESIS + canonical_json(_header_of(doc)))
    for i, step in enumerate(doc.get("steps", [])):
        if step.get("index") != i:
            problems.append(f"step {i}: index {step.get('index')} out of order")
        if step.get("prev_hash") != prev:
            problems.append(f"step {i} ({step.get('tool')}): does not follow the previous step "
                            "(header or an earlier step was changed)")
        expected = sha256_text(step.get("prev_hash", "") + canonical_json(_without(step, "hash")))
        if step.get("hash") != expected:
            problems.append(f"step {i} ({step.get('tool')}): content changed after it was recorded")
        prev = step.get("hash", "")
    if doc.get("seal") != seal(doc):
        problems.append("verdict or finish time changed after the run was sealed")
    return problems


def save_trace(doc: dict, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(doc, indent=2, ensure_ascii=False, default=str))
    tmp.replace(path)
    return path


def load_trace(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"trace file not found: {path}")
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path} is not a JSON trace ({exc}); give the trace.json a run wrote") from exc


class Stopwatch:
    def __enter__(self):
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.ms = (time.perf_counter() - self.t0) * 1000.0
        return False
