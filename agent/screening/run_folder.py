"""Run folders: one new folder per screening run, never shared with another run and never reused.

A run id is a random 128-bit hex (uuid4); the default folder is
`formscout_runs/<YYYYmmdd-HHMMSS>_<test>_<first 8 hex of the run id>`, so runs
started in the same second on the same test still get different folders. A
folder is claimed atomically (tools.core.files.claim_folder): made with a
mkdir that fails if it exists, or, when the physio names an existing folder
with --out, taken only if it is empty, by creating its owner marker
exclusively. Two runs can never write into one folder, whatever their timing.

A run folder is complete when verdict.json is in it: every artifact is
written to a temporary name and renamed into place, trace.json is written
after the last artifact and verdict.json last, so a run killed part-way
leaves a folder without verdict.json, which nothing takes for a finished run.
The same functions make the app's run folders and the session's.
"""
from __future__ import annotations

import time
import uuid
from pathlib import Path

from tools.core.errors import InputError
from tools.core.files import claim_folder, folder_owner

DEFAULT_RUN_ROOT = Path("formscout_runs")
DEFAULT_SESSION_ROOT = Path("formscout_sessions")
VERDICT_FILE = "verdict.json"
_ATTEMPTS = 8


def new_run_id() -> str:
    return uuid.uuid4().hex


def run_folder_name(test: str, run_id: str) -> str:
    """`<YYYYmmdd-HHMMSS>_<test>_<8 hex of the run id>` (the app's run-name pattern)."""
    return f"{time.strftime('%Y%m%d-%H%M%S')}_{test}_{run_id[:8]}"


def create_run_folder(root: str | Path, test: str, run_id: str | None = None,
                      kind: str = "run_dir") -> tuple[Path, str]:
    """A new run folder under `root` and its run id; a name taken meanwhile is never reused (new id)."""
    root = Path(root)
    run_id = run_id or new_run_id()
    for _ in range(_ATTEMPTS):
        folder = root / run_folder_name(test, run_id)
        try:
            return claim_folder(folder, kind, run_id), run_id
        except FileExistsError:
            run_id = new_run_id()
    raise InputError(f"could not create a new run folder under {root} after {_ATTEMPTS} tries; "
                     "check that the folder is writable")


def claim_run_folder(folder: str | Path, run_id: str, kind: str = "run_dir",
                     root: str | Path = DEFAULT_RUN_ROOT) -> Path:
    """The folder the physio named (--out), made or claimed for this run; InputError if it is in use."""
    folder = Path(folder)
    try:
        return claim_folder(folder, kind, run_id)
    except FileExistsError:
        if not folder.is_dir():
            in_the_way = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), folder)
            raise InputError(f"{in_the_way} is a file, not a folder, so {folder} cannot be made; "
                             "give another --out") from None
        what = "holds a finished run" if (folder / VERDICT_FILE).is_file() else "is not empty"
        raise InputError(f"{folder} already exists and {what}: a run never writes into another run's folder. "
                         f"Give a new --out, or leave --out out for a fresh folder under {Path(root)}/") from None
    except NotADirectoryError:
        raise InputError(f"{folder} is a file, not a folder; give a new --out") from None


def new_run_folder(out: str | Path | None, test: str, run_id: str | None = None,
                   root: str | Path = DEFAULT_RUN_ROOT, kind: str = "run_dir") -> tuple[Path, str]:
    """(folder, run id): `out` claimed when given, else a new folder under `root`; the folder is absolute."""
    run_id = run_id or new_run_id()
    if out:
        return claim_run_folder(out, run_id, kind, root).resolve(), run_id
    folder, run_id = create_run_folder(root, test, run_id, kind)
    return folder.resolve(), run_id


def is_complete(folder: str | Path) -> bool:
    """A run folder whose run finished (its verdict.json, written last, is there)."""
    return (Path(folder) / VERDICT_FILE).is_file()


def run_id_of(folder: str | Path) -> str | None:
    """The run (or session) id a folder was claimed for, from its owner marker."""
    marker = folder_owner(folder)
    return str(marker["id"]) if marker and marker.get("id") else None
