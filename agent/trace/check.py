"""Checking a trace: its JSON Schema (agent/trace/schema.json) and its hash chain (agent.trace.record.verify).

`check_trace(doc)` returns every problem found, schema first; an empty list
means the trace is well formed and nothing in it changed since it was sealed.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from agent.trace.record import verify

SCHEMA_FILE = Path(__file__).resolve().parent / "schema.json"


@lru_cache(maxsize=1)
def trace_schema() -> dict:
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


def schema_problems(doc) -> list[str]:
    """Where `doc` breaks the trace schema, as 'path: message' lines (empty = valid)."""
    from jsonschema import Draft202012Validator
    validator = Draft202012Validator(trace_schema())
    out = []
    for err in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path))):
        where = "/".join(str(p) for p in err.absolute_path) or "(top)"
        out.append(f"schema: {where}: {err.message[:300]}")
    return out


@dataclass
class TraceCheck:
    """Result of checking one trace."""

    schema: list[str] = field(default_factory=list)
    chain: list[str] = field(default_factory=list)
    n_steps: int = 0

    @property
    def intact(self) -> bool:
        return not self.schema and not self.chain

    @property
    def problems(self) -> list[str]:
        return self.schema + self.chain

    def to_dict(self) -> dict:
        return {"intact": self.intact, "n_steps": self.n_steps, "schema_problems": self.schema,
                "chain_problems": self.chain}


def check_trace(doc) -> TraceCheck:
    if not isinstance(doc, dict):
        return TraceCheck(schema=[f"schema: (top): a trace is a JSON object, not {type(doc).__name__}"])
    steps = doc.get("steps")
    try:
        chain = verify(doc)
    except (AttributeError, TypeError, KeyError) as exc:   # too damaged to follow the chain at all
        chain = [f"the hash chain cannot be followed: {type(exc).__name__}: {exc}"]
    return TraceCheck(schema=schema_problems(doc), chain=chain, n_steps=len(steps) if isinstance(steps, list) else 0)
