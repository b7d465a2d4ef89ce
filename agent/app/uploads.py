"""Uploads, checked the moment they arrive: clips (type, size, readable, duration), labels CSVs and manifests.

Every refusal is one plain sentence that says what to do; a clip is checked
with the screening run's own checks (tools.video.clip.probe_video for videos,
tools.core.skeleton for .npz skeletons), so the page shows the same message
`formscout screen` prints. Labels CSVs and session manifests may only name
uploaded files by their bare names: a folder or absolute path sent by the
browser never reaches the file system. Staged copies go into the app's data
folder (agent.app.paths).
"""
from __future__ import annotations

import csv
import re
import shutil
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from agent.app.paths import AppLimits, AppPaths
from tools.core.errors import InputError
from tools.core.files import CLIP_SUFFIXES, VIDEO_SUFFIXES

FILE_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\- ]{0,200}$")
PATH_COLUMNS: tuple[str, ...] = ("path", "file", "clip_path")   # as index.library.labels reads them


def _mb(n_bytes: float) -> str:
    return f"{n_bytes / (1024 * 1024):.1f} MB"


def check_clip_upload(path: str | Path | None, limits: AppLimits) -> Path:
    """The uploaded clip, or InputError saying plainly what is wrong with it and what to do."""
    if path is None or str(path).strip() == "":
        raise InputError("No clip yet: upload a video of one FMS test (mp4, mov, m4v, avi, mkv or webm), "
                         "or tick 'Use the demo clip'.")
    p = Path(path)
    if not p.is_file():
        raise InputError("The upload did not arrive completely; please upload the clip again.")
    name = p.name
    suffix = p.suffix.lower()
    if suffix not in CLIP_SUFFIXES:
        kind = f"a {suffix} file" if suffix else "a file without an extension"
        raise InputError(f"{name} is {kind}, not a video clip. Upload the test as a video "
                         f"({', '.join(s[1:] for s in VIDEO_SUFFIXES)}) or a FormScout skeleton (.npz).")
    size = p.stat().st_size
    if size == 0:
        raise InputError(f"{name} is empty (0 bytes): the recording or the transfer was cut off. "
                         "Export the clip again from the phone or camera and upload it.")
    if size > limits.max_upload_bytes:
        raise InputError(f"{name} is {_mb(size)}, over this app's limit of {_mb(limits.max_upload_bytes)}. "
                         "Trim the clip to the one test (a few seconds) or export it at a lower resolution.")
    return p


def check_clip_readable(path: str | Path | None, limits: AppLimits) -> Path:
    """The uploaded clip checked as the screening run checks it, before anything runs: type and size
    (`check_clip_upload`), then a video is probed (tools.video.clip.probe_video: opens, has a video stream,
    decodes, not truncated, duration within the app's limit) and a skeleton loaded (tools.core.skeleton):
    the same InputError messages as `formscout screen`."""
    p = check_clip_upload(path, limits)
    if p.suffix.lower() == ".npz":
        from tools.core.skeleton import Skeleton
        Skeleton.load(p)
    else:
        from tools.video.clip import probe_video
        probe_video(p, max_duration_s=limits.max_clip_s, max_size_mb=limits.max_upload_mb)
    return p


def stage_library_upload(csv_file: str | Path | None, clip_files: Sequence[str | Path] | None,
                         paths: AppPaths, limits: AppLimits) -> Path:
    """Copy an uploaded labels CSV and its clip files into a fresh staging folder; returns the folder.

    The CSV may name each clip's file in a path column, but in the app that can
    only be the bare name of one of the uploaded files: a folder or an absolute
    path from the browser never reaches the file system.
    """
    if csv_file is None or str(csv_file).strip() == "":
        raise InputError("No labels CSV yet: upload the CSV (clip_id, athlete_id, date, test_name, side, score, "
                         "pain, compensation_notes, camera_view, consent_on_file) with the clip files.")
    csv_path = Path(csv_file)
    if csv_path.suffix.lower() != ".csv":
        raise InputError(f"{csv_path.name} is not a .csv file; upload the labels as a CSV file")
    if not csv_path.is_file() or csv_path.stat().st_size == 0:
        raise InputError(f"{csv_path.name} is empty; upload the labels CSV again")
    names = _uploaded_files(clip_files, limits, "the labels CSV")
    _check_file_column(csv_path, set(names), PATH_COLUMNS, optional=True)
    folder = paths.staging / uuid.uuid4().hex
    (folder / "clips").mkdir(parents=True)
    shutil.copyfile(csv_path, folder / "labels.csv")
    for name, f in names.items():
        shutil.copyfile(f, folder / "clips" / name)
    return folder


def _uploaded_files(files: Sequence[str | Path] | None, limits: AppLimits, what: str) -> dict[str, Path]:
    """The uploaded clip files by name, each checked (type, name, not empty, no duplicates)."""
    clips = [Path(f) for f in (files or [])]
    if not clips:
        raise InputError(f"No clip files: upload the clips {what} names (video or .npz skeleton) together with it.")
    if len(clips) > limits.max_library_files:
        raise InputError(f"{len(clips)} files in one upload; add at most {limits.max_library_files} at a time")
    names: dict[str, Path] = {}
    for f in clips:
        if f.suffix.lower() not in CLIP_SUFFIXES:
            raise InputError(f"{f.name} is not a clip (video or .npz skeleton); upload only the clips {what} names")
        if not FILE_NAME_RE.match(f.name):
            raise InputError(f"{f.name!r}: rename the file to letters, digits, '-', '_' and '.' only")
        if f.stat().st_size == 0:
            raise InputError(f"{f.name} is empty (0 bytes); upload the clip again")
        if f.name in names:
            raise InputError(f"two uploaded files are named {f.name}; each clip needs its own name")
        names[f.name] = f
    return names


def _check_file_column(csv_path: Path, uploaded: set[str], columns: Sequence[str], optional: bool) -> None:
    """Every file a CSV names (first of `columns` present) must be the bare name of an uploaded file."""
    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = [(h or "").strip().lower() for h in (reader.fieldnames or [])]
            col = next((c for c in columns if c in header), None)
            if col is None:
                return   # a missing required column is reported by the reader that owns the format
            for row in reader:
                value = str({(k or "").strip().lower(): v for k, v in row.items()}.get(col) or "").strip()
                if (value or not optional) and value not in uploaded:
                    raise InputError(
                        f"{csv_path.name} line {reader.line_num}: the {col} column names {value!r}, which is not "
                        "one of the uploaded files. In the app, give only the bare file name of an uploaded "
                        "clip" + (f", or leave the {col} column empty and name each file <clip_id>.mp4 / .npz."
                                  if optional else "."))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{csv_path.name} is not a readable UTF-8 CSV ({exc})") from exc


def new_session_dir(paths: AppPaths) -> Path:
    folder = paths.sessions / f"{time.strftime('%Y%m%d-%H%M%S')}_{uuid.uuid4().hex[:8]}"
    (folder / "input").mkdir(parents=True)
    return folder


def stage_session_upload(manifest: str | Path | None, clip_files: Sequence[str | Path] | None, paths: AppPaths,
                         limits: AppLimits) -> Path:
    """Copy a session manifest and its clips into a new session folder (input/); returns the folder.

    The manifest's clip column may only name uploaded files, by their bare names.
    """
    if manifest is None or str(manifest).strip() == "":
        raise InputError("No manifest yet: upload the session CSV (clip, test, side, pain, clearing_pain, "
                         "heels_raised, hand_length_m) with the clip files it names, or tick the demo session.")
    m = Path(manifest)
    if m.suffix.lower() != ".csv":
        raise InputError(f"{m.name} is not a .csv file; upload the session manifest as a CSV file")
    if not m.is_file() or m.stat().st_size == 0:
        raise InputError(f"{m.name} is empty; upload the manifest again")
    names = _uploaded_files(clip_files, limits, "the manifest")
    _check_file_column(m, set(names), ("clip",), optional=False)
    folder = new_session_dir(paths)
    shutil.copyfile(m, folder / "input" / "manifest.csv")
    for name, f in names.items():
        shutil.copyfile(f, folder / "input" / name)
    return folder


def stage_demo_session(paths: AppPaths, seed: int = 11) -> Path:
    """A synthetic athlete's full screen (tools.synth.session) as a new session folder."""
    from tools.synth.session import make_synthetic_session
    folder = new_session_dir(paths)
    make_synthetic_session(folder / "input", seed=seed)
    (folder / "input" / "truth.json").unlink(missing_ok=True)   # construction labels: not for the session
    return folder
