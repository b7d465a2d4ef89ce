"""Checking a trace: its JSON Schema (agent/trace/schema.json), its hash chain (agent.trace.record.verify),
and, for a trace in its run folder, the folder's files against the hashes its verdict sealed.

`check_trace(doc, folder=None, clip=None)` returns every problem found; an
empty list means the trace is well formed, nothing in it changed since it was
sealed and (with a run folder) every file the run recorded is there, byte for
byte, so the verdict cannot be pointing at another run's or another clip's
files. The run folder is checked when the trace sits in one (a verdict.json or
FormScout's owner marker beside it) or when the folder itself is given:
  * verdict.json equals the verdict sealed in the trace;
  * the folder was claimed for this run id (its owner marker);
  * every file in `verdict.hashes.files` exists with that sha256, and the
    skeleton the score was measured on has `verdict.hashes.skeleton_sha256`;
  * the clip hash in the verdict is the trace's input hash, and equals the
    sha256 of `clip` when the clip itself is given.
Files written after the verdict (the overlay, drawn once the verdict is out)
are listed as notes, not problems. A trace written before verdicts carried
hashes is checked for schema and chain only (noted).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from agent.trace.record import verify
from tools.core.files import OWNER_MARKER, file_sha256, folder_owner

SCHEMA_FILE = Path(__file__).resolve().parent / "schema.json"
VERDICT_FILE = "verdict.json"
TRACE_FILE = "trace.json"


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
    """Result of checking one trace (and its run folder, when there is one)."""

    schema: list[str] = field(default_factory=list)
    chain: list[str] = field(default_factory=list)
    n_steps: int = 0
    artifacts: list[str] = field(default_factory=list)     # run-folder problems
    notes: list[str] = field(default_factory=list)
    files_checked: int = 0
    folder: str | None = None

    @property
    def intact(self) -> bool:
        return not self.schema and not self.chain and not self.artifacts

    @property
    def problems(self) -> list[str]:
        return self.schema + self.chain + self.artifacts

    def to_dict(self) -> dict:
        return {"intact": self.intact, "n_steps": self.n_steps, "schema_problems": self.schema,
                "chain_problems": self.chain, "artifact_problems": self.artifacts,
                "files_checked": self.files_checked, "run_folder": self.folder, "notes": self.notes}


def _canonical(obj) -> str:
    return json.dumps(obj, sort_keys=True, default=str)     # NaN == NaN here, unlike on parsed floats


def is_run_folder(folder: Path) -> bool:
    return (folder / VERDICT_FILE).is_file() or (folder / OWNER_MARKER).is_file()


def check_run_folder(doc: dict, folder: Path, clip: Path | None = None) -> tuple[list[str], list[str], int]:
    """(problems, notes, files checked) of a run folder against the trace `doc` (see the module docstring)."""
    problems: list[str] = []
    notes: list[str] = []
    verdict = doc.get("verdict") if isinstance(doc.get("verdict"), dict) else {}
    run_id = doc.get("run_id")
    verdict_file = folder / VERDICT_FILE
    if not verdict_file.is_file():
        problems.append(f"{folder}: no {VERDICT_FILE}: the run did not finish (or its verdict was removed)")
    else:
        try:
            on_disk = json.loads(verdict_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            on_disk = None
            problems.append(f"{verdict_file}: not readable JSON ({exc})")
        if on_disk is not None and _canonical(on_disk) != _canonical(verdict):
            other = on_disk.get("run_id") if isinstance(on_disk, dict) else None
            problems.append(f"{verdict_file} is not the verdict sealed in this trace"
                            + (f" (it is run {other}'s)" if other and other != run_id else " (it was changed)"))
    marker = folder_owner(folder)
    if marker is not None and marker.get("id") not in (run_id, None) and marker.get("kind") == "run_dir":
        problems.append(f"{folder} was made for run {marker.get('id')}, not for this trace's run {run_id}")
    hashes = verdict.get("hashes")
    if not isinstance(hashes, dict):
        notes.append("this run predates artifact hashes in the verdict: its files were not checked")
        return problems, notes, 0
    input_sha = (doc.get("input") or {}).get("sha256")
    if hashes.get("clip_sha256") != input_sha:
        problems.append(f"the verdict's clip hash {str(hashes.get('clip_sha256'))[:12]}... is not the trace's input "
                        f"hash {str(input_sha)[:12]}...")
    if clip is not None:
        if not clip.is_file():
            problems.append(f"clip {clip} not found")
        elif file_sha256(clip) != hashes.get("clip_sha256"):
            problems.append(f"{clip} is not the clip this run scored (its sha256 differs)")
    checked = 0
    files = hashes.get("files") or {}
    for name, sha in sorted(files.items()):
        path = folder / name
        checked += 1
        if not path.is_file():
            problems.append(f"{name}: missing from the run folder")
        elif file_sha256(path) != sha:
            problems.append(f"{name}: not the file this run wrote (sha256 differs)")
    skeleton = (verdict.get("artifacts") or {}).get("skeleton_npz")
    if hashes.get("skeleton_sha256") and skeleton:
        path = folder / Path(skeleton).name
        checked += 1
        if not path.is_file():
            problems.append(f"{path.name}: the skeleton the score was measured on is missing")
        elif file_sha256(path) != hashes["skeleton_sha256"]:
            problems.append(f"{path.name}: not the skeleton the score was measured on (sha256 differs)")
    recorded = set(files) | {VERDICT_FILE, TRACE_FILE, OWNER_MARKER}
    later = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                   if p.is_file() and p.relative_to(folder).as_posix() not in recorded and not p.name.startswith("."))
    if later:
        notes.append("written after the verdict, so not covered by its hashes: " + ", ".join(later))
    return problems, notes, checked


def check_trace(doc, folder: str | Path | None = None, clip: str | Path | None = None) -> TraceCheck:
    """Check a trace document; with `folder` (its run folder) also the folder's files (module docstring)."""
    if not isinstance(doc, dict):
        return TraceCheck(schema=[f"schema: (top): a trace is a JSON object, not {type(doc).__name__}"])
    steps = doc.get("steps")
    try:
        chain = verify(doc)
    except (AttributeError, TypeError, KeyError) as exc:   # too damaged to follow the chain at all
        chain = [f"the hash chain cannot be followed: {type(exc).__name__}: {exc}"]
    check = TraceCheck(schema=schema_problems(doc), chain=chain, n_steps=len(steps) if isinstance(steps, list) else 0)
    if folder is not None:
        folder = Path(folder)
        check.folder = str(folder)
        check.artifacts, check.notes, check.files_checked = check_run_folder(
            doc, folder, Path(clip) if clip else None)
    return check


def locate(path: str | Path) -> tuple[Path, Path | None]:
    """(trace file, run folder or None) for a trace file or a run folder given on the command line."""
    path = Path(path)
    if path.is_dir():
        return path / TRACE_FILE, path
    return path, (path.parent if is_run_folder(path.parent) else None)
