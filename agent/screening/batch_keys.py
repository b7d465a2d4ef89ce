"""Fingerprints that make a batch resumable: the code version, and one key per clip and request.

A clip is not re-run when a batch finds a finished run with the same key. The
key is sha256 over (canonical JSON):
  - the clip's sha256 (its bytes, not its name or folder);
  - the screening request as the physio asked it (test, side, pain, heels,
    sex, pose backend, athlete selection, limits, athlete id...), without the
    clip's path and the run folder;
  - the sha256 of every file the request names (team criteria YAML, pose
    weights, SAM 3 checkpoint), so an edited criteria file re-runs its clips;
  - the brain and its options (protocol, remote URL and model name...);
  - the code version (below).
The code version is sha256 over FormScout's own source and data files
(agent/, tools/, index/, knowledge/: .py, .yaml, .json, .md, and the model
files under tools/assets) plus the installed versions of the packages a
trace records (agent.trace.record.software_versions). Any change of code,
thresholds, shipped models or key libraries gives a new version, so no stale
verdict is reused. Not in the key: the contents of the catalog that
retrieval reads (neighbours), which a `--force` batch re-runs.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tools.core.files import file_sha256

REPO = Path(__file__).resolve().parents[2]
SOURCE_ROOTS = ("agent", "tools", "index", "knowledge")
SOURCE_SUFFIXES = (".py", ".yaml", ".yml", ".json", ".md", ".pt", ".safetensors", ".npz")
REQUEST_FILE_FIELDS = ("criteria_file", "pose_weights", "sam3_checkpoint", "side_clip")
# request fields that say where things are, not what was asked
NOT_KEYED = ("source", "run_dir", "source_sha256", "extra") + REQUEST_FILE_FIELDS


def canonical(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def code_version(root: Path = REPO) -> dict:
    """{"version": 16 hex digits, "files": n, "software": {package: version}} for the code under `root`."""
    from agent.trace.record import software_versions

    digest = hashlib.sha256()
    n = 0
    for top in SOURCE_ROOTS:
        for path in sorted((root / top).rglob("*")):
            if not path.is_file() or path.suffix not in SOURCE_SUFFIXES or "__pycache__" in path.parts:
                continue
            digest.update(str(path.relative_to(root)).encode())
            digest.update(bytes.fromhex(file_sha256(path)))
            n += 1
    software = software_versions()
    digest.update(canonical(software).encode())
    return {"version": digest.hexdigest()[:16], "files": n, "software": software}


def request_files_sha256(request: dict, cache: dict[str, str] | None = None) -> dict:
    """sha256 of each file the request names ({field: digest}; '' fields are left out). `cache` maps a path to
    its digest, so a batch hashes each weights file once."""
    cache = {} if cache is None else cache
    out = {}
    for name in REQUEST_FILE_FIELDS:
        value = request.get(name) or ""
        if not value:
            continue
        path = str(Path(value).resolve())
        if path not in cache:
            cache[path] = file_sha256(path) if Path(path).is_file() else f"missing:{path}"
        out[name] = cache[path]
    return out


def run_key(clip_sha256: str, request: dict, brain: str, brain_options: dict, code: str,
            files_sha256: dict) -> str:
    """The resume key (64 hex digits) of one clip screened with one request by one code version."""
    asked = {k: v for k, v in request.items() if k not in NOT_KEYED}
    return hashlib.sha256(canonical({
        "clip_sha256": clip_sha256, "request": asked, "files": files_sha256,
        "brain": brain, "brain_options": brain_options, "code_version": code,
    }).encode()).hexdigest()
