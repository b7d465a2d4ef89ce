"""Read and validate a physio labels CSV before anything is added to the library.

Columns (FMS_FACTS.md): clip_id, athlete_id, date, test_name, side, score,
pain, compensation_notes, camera_view, consent_on_file. Optional: `path`
(the clip file, absolute or relative to --clips, else to the CSV's folder),
`minor` and `guardian_consent` (or `guardian_consent_on_file`).

Order of checks per row, on purpose: consent first. A row without
consent_on_file (or a minor without guardian consent, when those columns are
given) is REFUSED and listed, and its file is never opened: reading an
athlete's video is already processing their biometric data. Every other row
is checked in full (types, score 0-3, side allowed for the test, ISO date,
duplicate clip ids, file exists and is a readable video or skeleton). Any
invalid row makes the whole CSV an InputError naming each row and field, and
nothing is added: fix the CSV and run it again.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from tools.core.errors import InputError
from tools.core.files import SKELETON_SUFFIXES, VIDEO_SUFFIXES
# the field parsers are shared with tools/core/labels.py (formscout eval/train), so the catalog and
# the evaluation accept exactly the same test names, sides, scores and yes/no values
from tools.core.labels import normalise_side, normalise_test, parse_bool, parse_score, read_csv_table

__all__ = ["REQUIRED_COLUMNS", "LabelRow", "Refusal", "read_labels", "check_id", "resolve_clip_file",
           "check_readable", "check_skeleton_file", "normalise_side", "normalise_test", "parse_bool", "parse_score"]

REQUIRED_COLUMNS: tuple[str, ...] = ("clip_id", "athlete_id", "date", "test_name", "side", "score", "pain",
                                     "compensation_notes", "camera_view", "consent_on_file")
PATH_COLUMNS: tuple[str, ...] = ("path", "file", "clip_path")
GUARDIAN_COLUMNS: tuple[str, ...] = ("guardian_consent", "guardian_consent_on_file")
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
MAX_LISTED_ERRORS = 12


@dataclass
class LabelRow:
    """One valid, consented row of a labels CSV (file resolved)."""

    row: int                 # line number in the CSV (header = 1)
    clip_id: str
    athlete_id: str
    date: date
    test_name: str
    side: str                # "L" | "R" | "NA"
    score: int
    pain: bool
    compensation_notes: str
    camera_view: str
    consent_on_file: bool
    minor: bool | None
    guardian_consent: bool | None
    file: Path

    @property
    def source_kind(self) -> str:
        return "skeleton" if self.file.suffix.lower() in SKELETON_SUFFIXES else "video"


@dataclass
class Refusal:
    """A row that is not added because consent is missing."""

    row: int
    clip_id: str
    athlete_id: str
    reason: str

    def to_dict(self) -> dict:
        return {"row": self.row, "clip_id": self.clip_id, "athlete_id": self.athlete_id, "reason": self.reason}


def check_id(value: str, what: str) -> str:
    v = str(value).strip()
    if not ID_RE.match(v):
        raise ValueError(f"{what} {value!r} must be 1-128 letters, digits, '-', '_' or '.', "
                         "starting with a letter or digit")
    return v


def resolve_clip_file(clip_id: str, path_value: str | None, clips_dir: Path | None, csv_dir: Path) -> Path:
    """The clip's file: the path column if given, else <clips_dir>/<clip_id>.<npz|video ext>."""
    if path_value:
        p = Path(path_value).expanduser()
        candidates = [p] if p.is_absolute() else [d / p for d in (clips_dir, csv_dir) if d is not None]
        for c in candidates:
            if c.is_file():
                return c
        raise ValueError(f"file {path_value!r} not found (looked in {', '.join(str(c.parent) for c in candidates)})")
    if clips_dir is None:
        raise ValueError("no file: give --clips DIR holding <clip_id>.npz or <clip_id>.mp4, or a path column")
    for suffix in SKELETON_SUFFIXES + VIDEO_SUFFIXES:  # a skeleton wins over a video of the same clip
        for cand in (clips_dir / f"{clip_id}{suffix}", clips_dir / f"{clip_id}{suffix.upper()}"):
            if cand.is_file():
                return cand
    raise ValueError(f"no {clip_id}.npz or {clip_id}.<{'|'.join(s[1:] for s in VIDEO_SUFFIXES)}> in {clips_dir}")


def check_skeleton_file(path: Path) -> None:
    """Cheap structural check of a skeleton .npz (no decompression of the arrays).

    Reads the zip directory and the array headers: the canonical keys must be
    there with shapes xyz [T, 23, 3] and conf [T, 23]. The full load happens
    when the clip is added.
    """
    import zipfile
    from tools.core.skeleton import JOINTS
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            missing = [k for k in ("joints", "xyz", "conf", "fps") if f"{k}.npy" not in names]
            if missing:
                raise ValueError(f"{path.name} is not a FormScout skeleton: missing {missing}")
            shapes = {}
            for key in ("xyz", "conf"):
                with zf.open(f"{key}.npy") as fh:
                    major, _ = np.lib.format.read_magic(fh)
                    read_header = (np.lib.format.read_array_header_1_0 if major == 1
                                   else np.lib.format.read_array_header_2_0)
                    shapes[key] = read_header(fh)[0]
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        if isinstance(exc, ValueError) and "FormScout" in str(exc):
            raise
        raise ValueError(f"cannot read skeleton {path.name}: {exc}") from None
    xyz, conf = shapes["xyz"], shapes["conf"]
    if len(xyz) != 3 or tuple(xyz[1:]) != (len(JOINTS), 3) or tuple(conf) != tuple(xyz[:2]) or xyz[0] < 1:
        raise ValueError(f"skeleton {path.name} has xyz {xyz} / conf {conf}; expected [T, {len(JOINTS)}, 3] "
                         f"and [T, {len(JOINTS)}] with T >= 1")


def check_readable(path: Path) -> None:
    """Raise ValueError unless `path` is a skeleton .npz or a probe-able video."""
    suffix = path.suffix.lower()
    if suffix in SKELETON_SUFFIXES:
        check_skeleton_file(path)
    elif suffix in VIDEO_SUFFIXES:
        from tools.video.clip import probe_video
        try:
            probe_video(path)
        except InputError as exc:
            raise ValueError(str(exc)) from None
    else:
        raise ValueError(f"{path.name} is neither a skeleton (.npz) nor a video ({', '.join(VIDEO_SUFFIXES)})")


def read_labels(csv_path: str | Path, clips_dir: str | Path | None = None,
                check_files: bool = True) -> tuple[list[LabelRow], list[Refusal]]:
    """Validate a labels CSV: (rows to add, refused rows). Raises InputError listing every bad row."""
    csv_path = Path(csv_path)
    clips = Path(clips_dir) if clips_dir is not None else None
    if not csv_path.is_file():
        raise InputError(f"labels file not found: {csv_path}")
    if clips is not None and not clips.is_dir():
        raise InputError(f"--clips {clips} is not a folder")
    header, raw_rows = read_csv_table(csv_path)
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise InputError(f"{csv_path}: missing column(s) {', '.join(missing)}; the header needs "
                         f"{', '.join(REQUIRED_COLUMNS)}")
    if not raw_rows:
        raise InputError(f"{csv_path} has a header but no rows")
    path_col = next((c for c in PATH_COLUMNS if c in header), None)
    guardian_col = next((c for c in GUARDIAN_COLUMNS if c in header), None)
    has_minor = "minor" in header

    rows: list[LabelRow] = []
    refused: list[Refusal] = []
    errors: list[str] = []
    seen: dict[str, int] = {}
    for raw, line in raw_rows:
        def err(field: str, msg: str) -> None:
            errors.append(f"row {line} {field}: {msg}")

        clip_id_raw = raw.get("clip_id", "").strip()
        athlete_raw = raw.get("athlete_id", "").strip()
        try:
            clip_id = check_id(clip_id_raw, "clip_id")
        except ValueError as exc:
            err("clip_id", str(exc))
            continue
        if clip_id in seen:
            err("clip_id", f"{clip_id!r} repeats row {seen[clip_id]}; clip ids must be unique")
            continue
        seen[clip_id] = line

        # consent first: without it the row's file is never opened
        try:
            consent = parse_bool(raw.get("consent_on_file", ""))
        except ValueError as exc:
            err("consent_on_file", str(exc))
            continue
        minor = guardian = None
        try:
            if has_minor and raw.get("minor", "").strip():
                minor = parse_bool(raw["minor"])
            if guardian_col and raw.get(guardian_col, "").strip():
                guardian = parse_bool(raw[guardian_col])
        except ValueError as exc:
            err("minor/guardian_consent", str(exc))
            continue
        if not consent:
            refused.append(Refusal(line, clip_id, athlete_raw, "no consent on file"))
            continue
        if minor and not guardian:
            refused.append(Refusal(line, clip_id, athlete_raw, "athlete is a minor and no guardian consent is on file"))
            continue

        values: dict = {}
        for field, parse in (("athlete_id", lambda v: check_id(v, "athlete_id")),
                             ("test_name", normalise_test),
                             ("score", parse_score),
                             ("pain", parse_bool),
                             ("date", lambda v: date.fromisoformat(v.strip()))):
            try:
                values[field] = parse(raw.get(field, ""))
            except ValueError as exc:
                msg = str(exc) if field != "date" else f"{raw.get('date', '')!r} is not an ISO date (YYYY-MM-DD)"
                err(field, msg)
        if "test_name" in values:
            try:
                values["side"] = normalise_side(values["test_name"], raw.get("side", ""))
            except ValueError as exc:
                err("side", str(exc))
        if values.get("pain") and values.get("score", 0) != 0:
            err("score", f"pain is true but score is {values['score']}; FMS scores a painful test 0")
        try:
            file = resolve_clip_file(clip_id, raw.get(path_col, "").strip() if path_col else None,
                                     clips, csv_path.parent)
            if check_files:
                check_readable(file)
            values["file"] = file
        except ValueError as exc:
            err("file", str(exc))
        if len(values) < 7:
            continue
        rows.append(LabelRow(row=line, clip_id=clip_id, athlete_id=values["athlete_id"], date=values["date"],
                             test_name=values["test_name"], side=values["side"], score=values["score"],
                             pain=values["pain"], compensation_notes=raw.get("compensation_notes", "").strip(),
                             camera_view=raw.get("camera_view", "").strip().lower(), consent_on_file=True,
                             minor=minor, guardian_consent=guardian, file=values["file"]))
    if errors:
        shown = "; ".join(errors[:MAX_LISTED_ERRORS])
        more = f"; and {len(errors) - MAX_LISTED_ERRORS} more" if len(errors) > MAX_LISTED_ERRORS else ""
        raise InputError(f"{csv_path.name}: {len(errors)} problem(s), nothing was added: {shown}{more}")
    return rows, refused
