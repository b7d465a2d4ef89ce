"""The clip library's checks on a labels CSV, on top of the one reader (tools.core.labels).

tools.core.labels parses every field of every row (one LabelRow). The library
adds, per row, in this order on purpose:
  1. the clip id is a safe id (it becomes a file name) and unique in the file;
  2. consent: a row without consent_on_file, or a minor without guardian
     consent (when those columns are given), is REFUSED and listed, and its
     file is never opened: reading an athlete's video is already processing
     their biometric data;
  3. everything else: all ten columns present, a safe athlete id, an ISO date,
     pain means score 0, the clip's file found (tools.core.files.ClipResolver:
     path column absolute / relative to the CSV / relative to --clips, then by
     clip id, also in skeletons/, clips/, videos/ and below) and readable.
`check_labels` gives every row's fate in one pass (ok / refused / invalid with
the reasons); `read_labels` raises LabelsInvalid (an InputError that carries
the whole check) when any row is invalid, so nothing is added from a file
that is not valid throughout, unless the caller chose to skip bad rows.
"""
from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np

from tools.core.errors import InputError
from tools.core.files import SKELETON_SUFFIXES, VIDEO_SUFFIXES, ClipNotFound, ClipResolver
from tools.core.labels import (ALL_COLUMNS, PATH_COLUMNS, LabelRow, RowProblem, normalise_side, normalise_test,
                               parse_bool, parse_labels, parse_score, shown)

__all__ = ["REQUIRED_COLUMNS", "LabelRow", "Refusal", "LabelCheck", "LabelsInvalid", "check_labels", "read_labels",
           "check_id", "check_readable", "check_skeleton_file", "normalise_side", "normalise_test", "parse_bool",
           "parse_score"]

REQUIRED_COLUMNS: tuple[str, ...] = ALL_COLUMNS
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
MAX_LISTED_ERRORS = 12


@dataclass
class Refusal:
    """A row that is not added because consent is missing."""

    row: int
    clip_id: str
    athlete_id: str
    reason: str

    def to_dict(self) -> dict:
        return {"row": self.row, "clip_id": self.clip_id, "athlete_id": self.athlete_id, "reason": self.reason}


@dataclass
class LabelCheck:
    """Every row's fate: `rows` may be added, `refused` lack consent, `invalid` have problems (one per field)."""

    path: Path
    rows: list[LabelRow] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    invalid: list[RowProblem] = field(default_factory=list)
    n_rows: int = 0

    def invalid_rows(self) -> dict[int, list[RowProblem]]:
        out: dict[int, list[RowProblem]] = {}
        for p in self.invalid:
            out.setdefault(p.line, []).append(p)
        return out

    def message(self) -> str:
        lines = [f"row {p.line} {p.field}: {_one_line(p.reason)}" for p in self.invalid]
        shown = "; ".join(lines[:MAX_LISTED_ERRORS])
        more = f"; and {len(lines) - MAX_LISTED_ERRORS} more" if len(lines) > MAX_LISTED_ERRORS else ""
        return (f"{self.path.name}: {len(lines)} problem(s) in {len(self.invalid_rows())} of {self.n_rows} rows, "
                f"nothing was added: {shown}{more}. Fix those rows, or add the valid rows with --skip-bad")


class LabelsInvalid(InputError):
    """A labels CSV with invalid rows; `.check` holds every row's fate."""

    def __init__(self, check: LabelCheck) -> None:
        super().__init__(check.message())
        self.check = check


def check_id(value: str, what: str) -> str:
    v = str(value).strip()
    if not ID_RE.fullmatch(v):
        raise ValueError(f"{what} {shown(value)} must be 1-128 letters, digits, '-', '_' or '.', "
                         "starting with a letter or digit")
    return v


def _one_line(text: str) -> str:
    """Control characters (a newline in a path cell...) escaped, so an error stays one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


def check_skeleton_file(path: Path) -> None:
    """Cheap structural check of a skeleton .npz (no decompression of the arrays).

    Reads the zip directory and the array headers: the canonical keys must be
    there with shapes xyz [T, 23, 3] and conf [T, 23]. The full load happens
    when the clip is added.
    """
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
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
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


def _consent_refusal(cells: dict[str, str], row: LabelRow | None) -> str | None:
    """Why the row is refused for consent (None: consent is on file), read from the cells so that a row
    with other problems is still refused rather than reported."""
    def flag(*names: str) -> bool | None:
        for n in names:
            try:
                if cells.get(n, ""):
                    return parse_bool(cells[n])
            except ValueError:
                return None
        return None
    consent = row.consent_on_file if row is not None else flag("consent_on_file")
    if consent is False:
        return "no consent on file"
    minor = row.minor if row is not None else flag("minor")
    guardian = row.guardian_consent if row is not None else flag("guardian_consent", "guardian_consent_on_file")
    if consent is True and minor and not guardian:
        return "athlete is a minor and no guardian consent is on file"
    return None


def check_labels(csv_path: str | Path, clips_dir: str | Path | None = None, check_files: bool = True) -> LabelCheck:
    """Every row's fate in one pass (see the module docstring). File-level problems raise InputError."""
    csv_path = Path(csv_path)
    clips = Path(clips_dir) if clips_dir is not None else None
    if clips is not None and not clips.is_dir():
        raise InputError(f"--clips {clips} is not a folder")
    table = parse_labels(csv_path, REQUIRED_COLUMNS)
    resolver = ClipResolver(csv_path, clips)
    check = LabelCheck(path=csv_path, n_rows=len(table.rows))
    for parsed in table.rows:
        line, cells, row = parsed.line, parsed.cells, parsed.row
        clip_id = cells.get("clip_id", "")
        id_problems = [p for p in parsed.problems if p.field == "clip_id"]
        try:
            check_id(clip_id, "clip_id")
        except ValueError as exc:
            if clip_id:
                id_problems = [RowProblem(line, clip_id, "clip_id", str(exc))]
        if id_problems:
            check.invalid += id_problems
            continue
        refusal = _consent_refusal(cells, row)
        if refusal:                      # consent first: nothing else of the row is looked at
            check.refused.append(Refusal(line, clip_id, cells.get("athlete_id", ""), refusal))
            continue
        problems = list(parsed.problems)

        def problem(column: str, reason: str) -> None:
            problems.append(RowProblem(line, clip_id, column, reason))

        if row is not None and row.consent_on_file is None:
            problem("consent_on_file", "empty: say true once written consent is on file")
        try:
            check_id(cells.get("athlete_id", ""), "athlete_id")
        except ValueError as exc:
            if not any(p.field == "athlete_id" for p in problems):
                problem("athlete_id", str(exc))
        try:
            iso = date.fromisoformat(cells.get("date", "").strip())
        except ValueError:
            iso = None
            problem("date", f"{shown(cells.get('date', ''))} is not an ISO date (YYYY-MM-DD)")
        if row is not None and row.pain and row.score != 0:
            problem("score", f"pain is true but score is {row.score}; FMS scores a painful test 0")
        file = None
        try:
            path_value = row.path if row is not None else next((cells[c] for c in PATH_COLUMNS if cells.get(c)), "")
            file = resolver.resolve(clip_id, path_value)
            if check_files:
                check_readable(file)
        except (ClipNotFound, ValueError) as exc:
            problem("file", str(exc))
        if problems or row is None or file is None:
            check.invalid += problems
            continue
        check.rows.append(LabelRow(**{**row.to_dict(), "path": str(file), "date": iso.isoformat(),
                                      "camera_view": row.camera_view.lower(), "consent_on_file": True}))
    return check


def read_labels(csv_path: str | Path, clips_dir: str | Path | None = None,
                check_files: bool = True) -> tuple[list[LabelRow], list[Refusal]]:
    """Validate a labels CSV: (rows to add, refused rows). Raises LabelsInvalid listing every bad row."""
    check = check_labels(csv_path, clips_dir, check_files)
    if check.invalid:
        raise LabelsInvalid(check)
    return check.rows, check.refused

