"""The physio labels CSV: read it, check every row, find each clip's skeleton.

Columns (FMS_FACTS.md): clip_id, athlete_id, date, test_name, side (L/R/NA),
score (0-3), pain (bool), compensation_notes, camera_view, consent_on_file.
Only clip_id, athlete_id, test_name, side and score are required; a `path`
column (relative to the CSV or absolute) may point at the skeleton file,
otherwise the clip is looked up as `<clips_dir>/**/<clip_id>.npz`.

Every problem is collected and reported at once, naming the row, so a physio
can fix the sheet in one pass (tools.core.errors.InputError).

The field parsers (parse_bool, normalise_test, normalise_side, parse_score)
are the one definition of a valid test name, side, score and yes/no in a
labels CSV: index/library/labels.py (the catalog's stricter, consent-first reader)
uses the same functions, so both readers accept the same values.
"""
from __future__ import annotations

import csv
import logging
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from tools.core.errors import InputError
from tools.core.fms import BILATERAL, TESTS

log = logging.getLogger(__name__)

REQUIRED_COLUMNS: tuple[str, ...] = ("clip_id", "athlete_id", "test_name", "side", "score")
_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f", ""}
_MAX_LISTED = 8


@dataclass(frozen=True)
class LabelRow:
    """One physio-scored clip."""

    clip_id: str
    athlete_id: str
    test_name: str
    side: str                # "L", "R" or "NA"
    score: int               # 0-3 (0 = pain)
    pain: bool = False
    date: str = ""
    camera_view: str = ""
    compensation_notes: str = ""
    consent_on_file: bool | None = None
    path: str = ""           # resolved skeleton path ("" until resolved)

    @property
    def session(self) -> tuple[str, str]:
        """(athlete, date): one screening session, the unit of the composite score."""
        return (self.athlete_id, self.date)

    def to_dict(self) -> dict:
        return asdict(self)


def parse_bool(value: str) -> bool:
    """true/false, yes/no, y/n, t/f, 1/0 (any case) -> bool; anything else is a ValueError."""
    v = str(value).strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE - {""}:
        return False
    raise ValueError(f"{value!r} is not true/false (use true, false, yes, no, 1 or 0)")


def normalise_test(value: str) -> str:
    """'Deep Squat', 'deep-squat', 'deep_squat' -> 'deep_squat'; an unknown test is a ValueError."""
    v = re.sub(r"[\s-]+", "_", str(value).strip().lower())
    if v not in TESTS:
        raise ValueError(f"unknown test {value!r} (use one of {', '.join(TESTS)})")
    return v


def normalise_side(test: str, value: str) -> str:
    """L/R/NA (also left, right, n/a, none, empty = NA), checked against the test: bilateral tests
    need L or R, the others NA."""
    v = str(value).strip().upper()
    v = {"LEFT": "L", "RIGHT": "R", "N/A": "NA", "": "NA", "NONE": "NA"}.get(v, v)
    if v not in ("L", "R", "NA"):
        raise ValueError(f"side {value!r} must be L, R or NA")
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
        raise ValueError(f"score {value!r} is not a whole number 0-3") from None
    if f != int(f) or not 0 <= f <= 3:
        raise ValueError(f"score {value!r} is not a whole number 0-3")
    return int(f)


def _bool(value: str | None, where: str, problems: list[str]) -> bool | None:
    """Optional yes/no column: empty -> None, else parse_bool (a bad value is collected)."""
    if not (value or "").strip():
        return None
    try:
        return parse_bool(value)
    except ValueError as exc:
        problems.append(f"{where}: {exc}")
        return None


def _summarise(problems: list[str]) -> str:
    shown = "; ".join(problems[:_MAX_LISTED])
    more = f" (and {len(problems) - _MAX_LISTED} more)" if len(problems) > _MAX_LISTED else ""
    return shown + more


def read_csv_table(path: str | Path) -> tuple[list[str], list[tuple[dict[str, str], int]]]:
    """The header (names stripped) and every row as ({column: text}, line number in the file) of a UTF-8
    CSV, the one reader of label files (evaluation here, the clip library in index.library.labels).

    The line number is the file's (a quoted field may span lines); cells beyond the header read as "".
    """
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            columns = [(c or "").strip() for c in (reader.fieldnames or [])]
            rows = [({(k or "").strip(): (v if isinstance(v, str) else "") for k, v in r.items()}, reader.line_num)
                    for r in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{path} is not a readable UTF-8 CSV ({exc}); save it as 'CSV UTF-8' and try again") from exc
    return columns, rows


def read_labels(csv_path: str | Path) -> list[LabelRow]:
    """Read and validate a labels CSV. Raises InputError naming every bad row."""
    path = Path(csv_path)
    if not path.is_file():
        raise InputError(f"labels file not found: {path}. Give the CSV the physios filled in "
                         f"(columns: {', '.join(REQUIRED_COLUMNS)}, ...)")
    columns, table = read_csv_table(path)
    raw = [({k: v.strip() for k, v in r.items()}, line) for r, line in table]
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise InputError(f"{path.name} lacks column(s) {missing}; it has {columns}. "
                         f"Add them (see FMS_FACTS.md, Labels).")
    if not raw:
        raise InputError(f"{path.name} has no label rows")
    rows: list[LabelRow] = []
    problems: list[str] = []
    seen: set[str] = set()
    for r, line in raw:
        where = f"{path.name} line {line} (clip {r.get('clip_id') or '?'})"
        n_before = len(problems)
        clip_id = r["clip_id"]
        if not clip_id:
            problems.append(f"{where}: empty clip_id")
        elif clip_id in seen:
            problems.append(f"{where}: clip_id {clip_id!r} appears twice")
        seen.add(clip_id)
        if not r["athlete_id"]:
            problems.append(f"{where}: empty athlete_id")
        test = side = ""
        try:
            test = normalise_test(r["test_name"])
            side = normalise_side(test, r["side"])
        except ValueError as exc:
            problems.append(f"{where}: {exc}")
        try:
            score = parse_score(r["score"])
        except ValueError as exc:
            problems.append(f"{where}: {exc}")
            score = -1
        pain = _bool(r.get("pain"), f"{where} pain", problems) or False
        consent = _bool(r.get("consent_on_file"), f"{where} consent_on_file", problems)
        if len(problems) > n_before:
            continue
        rows.append(LabelRow(
            clip_id=clip_id, athlete_id=r["athlete_id"], test_name=test, side=side, score=score,
            pain=bool(pain), date=r.get("date", ""), camera_view=r.get("camera_view", ""),
            compensation_notes=r.get("compensation_notes", ""), consent_on_file=consent,
            path=r.get("path", "")))
    if problems:
        raise InputError(f"{len(problems)} problem(s) in {path}: {_summarise(problems)}. "
                         "Fix those rows and run again.")
    return rows


def resolve_clips(rows: list[LabelRow], clips_dir: str | Path | None, csv_path: str | Path | None = None,
                  on_missing: str = "error") -> list[LabelRow]:
    """Attach each row's skeleton path. on_missing="error" raises naming the missing clips;
    "skip" drops them with a warning (the caller reports how many were dropped)."""
    if on_missing not in ("error", "skip"):
        raise ValueError(f"on_missing must be 'error' or 'skip', got {on_missing!r}")
    base = Path(csv_path).parent if csv_path else Path(".")
    index: dict[str, Path] = {}
    if clips_dir is not None:
        root = Path(clips_dir)
        if not root.is_dir():
            raise InputError(f"clips folder not found: {root}. Give the folder holding the .npz skeletons.")
        for p in sorted(root.rglob("*.npz")):
            index.setdefault(p.stem, p)
    out: list[LabelRow] = []
    missing: list[str] = []
    for row in rows:
        candidate: Path | None = None
        if row.path:
            p = Path(row.path)
            candidate = p if p.is_absolute() else base / p
            if not candidate.is_file() and clips_dir is not None:
                candidate = Path(clips_dir) / p
        if candidate is None or not candidate.is_file():
            candidate = index.get(row.clip_id)
        if candidate is None or not candidate.is_file():
            missing.append(row.clip_id)
            continue
        out.append(LabelRow(**{**row.to_dict(), "path": str(candidate)}))
    if missing:
        msg = (f"{len(missing)} of {len(rows)} labelled clips have no skeleton file in "
               f"{clips_dir or base}: {', '.join(missing[:_MAX_LISTED])}"
               + (" ..." if len(missing) > _MAX_LISTED else ""))
        if on_missing == "error":
            raise InputError(msg + ". Export them (`formscout screen VIDEO --out ...`) or pass "
                                   "--skip-missing to evaluate the rest.")
        log.warning("%s; skipped", msg)
    if not out:
        raise InputError(f"none of the {len(rows)} labelled clips has a skeleton file in {clips_dir or base}")
    return out
