"""The physio labels CSV: the one label row, the one reader, and where each clip's file is.

Columns (docs/LABELS.md): clip_id, athlete_id, date, test_name, side (L/R/NA),
score (0-3), pain (bool), compensation_notes, camera_view, consent_on_file.
Optional: a path column (`path`, `file` or `clip_path`: the clip file, absolute,
relative to the CSV or relative to --clips), `minor` and `guardian_consent`
(or `guardian_consent_on_file`).

`parse_labels` reads the table once and checks every field of every row,
keeping each problem with its line, clip and field, so a physio can fix the
sheet in one pass. Two readers sit on it:
  * `read_labels` here (formscout eval / train / fit-criteria): the rows, or one
    InputError naming every bad row;
  * index.library.labels (the clip library): the same rows plus its consent
    checks (consent first, a refused row's file is never opened), stricter ids
    and dates, and each clip's file checked.
The field parsers (parse_bool, normalise_test, normalise_side, parse_score) are
the one definition of a valid test name, side, score and yes/no.
Each row's file is found by tools.core.files.ClipResolver (the one resolver).
Line numbers are the file's (a quoted note may span lines; header = line 1).
"""
from __future__ import annotations

import csv
import logging
import re
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from pathlib import Path

from tools.core.errors import InputError
from tools.core.files import SKELETON_SUFFIXES, ClipNotFound, ClipResolver
from tools.core.fms import BILATERAL, TESTS

log = logging.getLogger(__name__)

REQUIRED_COLUMNS: tuple[str, ...] = ("clip_id", "athlete_id", "test_name", "side", "score")
ALL_COLUMNS: tuple[str, ...] = ("clip_id", "athlete_id", "date", "test_name", "side", "score", "pain",
                                "compensation_notes", "camera_view", "consent_on_file")
PATH_COLUMNS: tuple[str, ...] = ("path", "file", "clip_path")
GUARDIAN_COLUMNS: tuple[str, ...] = ("guardian_consent", "guardian_consent_on_file")
_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f"}
_MAX_LISTED = 8
_SHOWN_CHARS = 60


def shown(value) -> str:
    """A cell as error messages quote it: repr (control characters escaped, so a message stays one line),
    cut to a readable length."""
    text = repr(str(value))
    return text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS - 4] + "...'"


def _label(value: str) -> str:
    """A clip id as messages name it: printable, one line, not too long ('?' when empty)."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(value)) or "?"
    return text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS - 3] + "..."


@dataclass(frozen=True)
class LabelRow:
    """One physio-scored clip, as a labels CSV gives it (the one definition; the library and evaluation share it)."""

    clip_id: str
    athlete_id: str
    test_name: str
    side: str                # "L", "R" or "NA"
    score: int               # 0-3 (0 = pain)
    pain: bool = False
    date: str = ""           # as written (the library requires ISO YYYY-MM-DD)
    camera_view: str = ""
    compensation_notes: str = ""
    consent_on_file: bool | None = None
    path: str = ""           # the clip file: the path column as written, then the resolved path
    row: int = 0             # line in the CSV (header = 1)
    minor: bool | None = None
    guardian_consent: bool | None = None

    @property
    def session(self) -> tuple[str, str]:
        """(athlete, date): one screening session, the unit of the composite score."""
        return (self.athlete_id, self.date)

    @property
    def file(self) -> Path:
        return Path(self.path)

    @property
    def source_kind(self) -> str:
        return "skeleton" if self.file.suffix.lower() in SKELETON_SUFFIXES else "video"

    @property
    def iso_date(self) -> date | None:
        return date.fromisoformat(self.date) if self.date else None

    def with_path(self, path: str | Path) -> "LabelRow":
        return replace(self, path=str(path))

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class RowProblem:
    """What is wrong with one field of one row."""

    line: int
    clip_id: str
    field: str
    reason: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class ParsedRow:
    """One CSV row: its stripped cells, the LabelRow when every field is valid, and the problems."""

    line: int
    cells: dict[str, str]
    row: LabelRow | None
    problems: list[RowProblem] = field(default_factory=list)


@dataclass
class LabelTable:
    path: Path
    columns: list[str]
    rows: list[ParsedRow]

    @property
    def problems(self) -> list[RowProblem]:
        return [p for r in self.rows for p in r.problems]


# ----- field parsers (the one definition of each value) ------------------------------------------------
def parse_bool(value: str) -> bool:
    """true/false, yes/no, y/n, t/f, 1/0 (any case) -> bool; anything else is a ValueError."""
    v = str(value).strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise ValueError(f"{shown(value)} is not true/false (use true, false, yes, no, 1 or 0)")


def normalise_test(value: str) -> str:
    """'Deep Squat', 'deep-squat', 'deep_squat' -> 'deep_squat'; an unknown test is a ValueError."""
    v = re.sub(r"[\s-]+", "_", str(value).strip().lower())
    if v not in TESTS:
        raise ValueError(f"unknown test {shown(value)} (use one of {', '.join(TESTS)})")
    return v


def normalise_side(test: str, value: str) -> str:
    """L/R/NA (also left, right, n/a, none, empty = NA), checked against the test: bilateral tests
    need L or R, the others NA."""
    v = str(value).strip().upper()
    v = {"LEFT": "L", "RIGHT": "R", "N/A": "NA", "": "NA", "NONE": "NA"}.get(v, v)
    if v not in ("L", "R", "NA"):
        raise ValueError(f"side {shown(value)} must be L, R or NA")
    if test in BILATERAL and v == "NA":
        raise ValueError(f"{test} needs side L or R, got NA (it is scored per side)")
    if test not in BILATERAL and v != "NA":
        raise ValueError(f"{test} needs side NA, got {v} (it is scored once)")
    return v


def parse_score(value: str) -> int:
    """A whole FMS score 0-3 ('2', '2.0'); anything else is a ValueError."""
    v = str(value).strip()
    try:
        f = float(v)
    except ValueError:
        raise ValueError(f"score {shown(value)} is not a whole number 0-3") from None
    if not f == f or f in (float("inf"), float("-inf")) or f != int(f) or not 0 <= f <= 3:   # NaN != NaN
        raise ValueError(f"score {shown(value)} is not a whole number 0-3")
    return int(f)


# ----- the table -----------------------------------------------------------------------------------------
def read_csv_table(path: str | Path) -> tuple[list[str], list[tuple[dict[str, str], int]]]:
    """The header (names stripped) and every row as ({column: text}, line number in the file) of a UTF-8
    CSV (a byte-order mark is allowed). Cells beyond the header are ignored, missing cells read as "".

    Any unreadable file (not UTF-8, a NUL byte, a cell over the csv module's size limit) is an InputError.
    """
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            columns = [(c or "").strip() for c in (reader.fieldnames or [])]
            rows = []
            for r in reader:
                cells = {(k or "").strip(): (v if isinstance(v, str) else "") for k, v in r.items() if k is not None}
                rows.append((cells, reader.line_num))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{path} is not a readable UTF-8 CSV ({exc}); save it as 'CSV UTF-8' and try again") from None
    if any("\x00" in c for c in columns) or any("\x00" in v for cells, _ in rows for v in cells.values()):
        raise InputError(f"{path} holds NUL bytes, so it is not a text CSV; save it as 'CSV UTF-8' and try again")
    return columns, rows


def _optional_bool(cells: dict[str, str], column: str | None, problems: list[RowProblem], line: int,
                   clip_id: str) -> bool | None:
    value = cells.get(column, "") if column else ""
    if not value:
        return None
    try:
        return parse_bool(value)
    except ValueError as exc:
        problems.append(RowProblem(line, clip_id, column, str(exc)))
        return None


def parse_labels(csv_path: str | Path, required: tuple[str, ...] = REQUIRED_COLUMNS) -> LabelTable:
    """Every row of a labels CSV with its LabelRow or its problems (file-level problems raise InputError)."""
    path = Path(csv_path)
    if not path.is_file():
        raise InputError(f"labels file not found: {path}. Give the CSV the physios filled in "
                         f"(columns: {', '.join(ALL_COLUMNS)})")
    columns, table = read_csv_table(path)
    missing = [c for c in required if c not in columns]
    if missing:
        raise InputError(f"{path.name} lacks column(s) {', '.join(missing)}; it has "
                         f"{', '.join(_label(c) for c in columns[:20]) or 'none'}. "
                         f"The header needs {', '.join(required)} (see docs/LABELS.md)")
    if not table:
        raise InputError(f"{path.name} has a header but no label rows")
    path_col = next((c for c in PATH_COLUMNS if c in columns), None)
    guardian_col = next((c for c in GUARDIAN_COLUMNS if c in columns), None)
    out: list[ParsedRow] = []
    first_line: dict[str, int] = {}
    for raw, line in table:
        cells = {k: v.strip() for k, v in raw.items()}
        clip_id = cells.get("clip_id", "")
        problems: list[RowProblem] = []

        def problem(column: str, reason: str) -> None:
            problems.append(RowProblem(line, clip_id, column, reason))

        if not clip_id:
            problem("clip_id", "empty clip_id")
        elif clip_id in first_line:
            problem("clip_id", f"{shown(clip_id)} appears twice (rows {first_line[clip_id]} and {line}); "
                               "clip ids must be unique")
        else:
            first_line[clip_id] = line
        if not cells.get("athlete_id"):
            problem("athlete_id", "empty athlete_id")
        test = side = ""
        score = -1
        try:
            test = normalise_test(cells.get("test_name", ""))
        except ValueError as exc:
            problem("test_name", str(exc))
        if test:
            try:
                side = normalise_side(test, cells.get("side", ""))
            except ValueError as exc:
                problem("side", str(exc))
        try:
            score = parse_score(cells.get("score", ""))
        except ValueError as exc:
            problem("score", str(exc))
        pain = _optional_bool(cells, "pain", problems, line, clip_id)
        consent = _optional_bool(cells, "consent_on_file", problems, line, clip_id)
        minor = _optional_bool(cells, "minor" if "minor" in columns else None, problems, line, clip_id)
        guardian = _optional_bool(cells, guardian_col, problems, line, clip_id)
        row = None if problems else LabelRow(
            clip_id=clip_id, athlete_id=cells["athlete_id"], test_name=test, side=side, score=score,
            pain=bool(pain), date=cells.get("date", ""), camera_view=cells.get("camera_view", ""),
            compensation_notes=cells.get("compensation_notes", ""), consent_on_file=consent,
            path=cells.get(path_col, "") if path_col else "", row=line, minor=minor, guardian_consent=guardian)
        out.append(ParsedRow(line, cells, row, problems))
    return LabelTable(path, columns, out)


def summarise(lines: list[str], limit: int = _MAX_LISTED) -> str:
    shown = "; ".join(lines[:limit])
    return shown + (f" (and {len(lines) - limit} more)" if len(lines) > limit else "")


def read_labels(csv_path: str | Path) -> list[LabelRow]:
    """Read and validate a labels CSV (formscout eval / train). Raises InputError naming every bad row."""
    table = parse_labels(csv_path)
    problems = table.problems
    if problems:
        name = table.path.name
        lines = [f"{name} line {p.line} (clip {_label(p.clip_id)}): {p.reason}" for p in problems]
        raise InputError(f"{len(problems)} problem(s) in {table.path}: {summarise(lines)}. "
                         "Fix those rows and run again.")
    return [r.row for r in table.rows]


def resolve_clips(rows: list[LabelRow], clips_dir: str | Path | None, csv_path: str | Path | None = None,
                  on_missing: str = "error") -> list[LabelRow]:
    """Attach each row's skeleton file (tools.core.files.ClipResolver). on_missing="error" raises naming the
    missing clips and the paths tried; "skip" drops them with a warning. A clip found twice is always an error."""
    if on_missing not in ("error", "skip"):
        raise ValueError(f"on_missing must be 'error' or 'skip', got {on_missing!r}")
    if clips_dir is not None and not Path(clips_dir).is_dir():
        raise InputError(f"clips folder not found: {clips_dir}. Give the folder holding the .npz skeletons.")
    resolver = ClipResolver(csv_path, clips_dir, suffixes=SKELETON_SUFFIXES)
    out: list[LabelRow] = []
    missing: list[tuple[str, str]] = []
    for row in rows:
        try:
            out.append(row.with_path(resolver.resolve(row.clip_id, row.path)))
        except ClipNotFound as exc:
            if "files of that name" in str(exc):
                raise InputError(str(exc)) from None
            missing.append((row.clip_id, str(exc)))
    where = resolver.base or Path(".")
    if missing:
        msg = (f"{len(missing)} of {len(rows)} labelled clips have no skeleton file in {where}: "
               f"{', '.join(_label(m[0]) for m in missing[:_MAX_LISTED])}" + (" ..." if len(missing) > _MAX_LISTED else "")
               + f" (first: {missing[0][1]})")
        if on_missing == "error":
            raise InputError(msg + ". Export them (`formscout screen VIDEO --out ...`) or pass "
                                   "--skip-missing to evaluate the rest.")
        log.warning("%s; skipped", msg)
    if not out:
        raise InputError(f"none of the {len(rows)} labelled clips has a skeleton file in {where}")
    return out
