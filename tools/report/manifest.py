"""The session manifest: one CSV row per clip of one athlete's screen, checked row by row.

Columns (header names, any order; case-insensitive):
  clip            path of a video or skeleton .npz (relative to the manifest's folder, or absolute)  required
  test            one of the seven FMS tests                                                         required
  side            L or R for bilateral tests (blank = detect from the motion); blank/NA otherwise
  pain            pain reported during the test (true/false, yes/no, 1/0; blank = no)
  clearing_pain   pain in the clearing test that follows (shoulder mobility: shoulder clearing;
                  push-up: spinal extension; rotary stability: spinal flexion); blank = no
  heels_raised    deep squat only: heels on the 2x6 board (yes/no; blank = as recorded / flat)
  hand_length_m   shoulder mobility only: measured hand length in metres (blank = estimated)

Every problem is collected and reported at once, naming the line and the field,
so the sheet can be fixed in one pass (tools.core.errors.InputError).
"""
from __future__ import annotations

import csv
from dataclasses import asdict, dataclass
from pathlib import Path

from tools.core.errors import InputError
from tools.core.files import CLIP_SUFFIXES
from tools.core.fms import BILATERAL, CLEARING_TESTS, TESTS

REQUIRED = ("clip", "test")
KNOWN = ("clip", "test", "side", "pain", "clearing_pain", "heels_raised", "hand_length_m")
_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f", ""}


@dataclass(frozen=True)
class ManifestRow:
    line: int                   # line in the CSV (header = 1)
    clip: str                   # resolved path
    test: str
    side: str | None            # "L"/"R", None = detect, "NA" = one-sided test
    pain: bool = False
    clearing_pain: bool = False
    heels_raised: bool | None = None
    hand_length_m: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def _flag(value: str, where: str, field: str, problems: list[str]) -> bool | None:
    v = (value or "").strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False if v else None
    problems.append(f"{where}, field {field}: expected yes/no (true/false, 1/0), got {value!r}")
    return None


def read_manifest(path: str | Path) -> list[ManifestRow]:
    """Read and check a session manifest. Raises InputError naming every bad row and field."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"manifest not found: {path}. Give a CSV with columns {', '.join(KNOWN)}")
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = [(c or "").strip().lower() for c in (reader.fieldnames or [])]
            raw = [{(k or "").strip().lower(): (v or "").strip() for k, v in r.items() if k is not None}
                   for r in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"cannot read manifest {path}: {exc}") from exc
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise InputError(f"{path.name} lacks column(s) {missing}; it has {header}. "
                         f"Columns: {', '.join(KNOWN)} (clip and test required)")
    unknown = [c for c in header if c and c not in KNOWN]
    if unknown:
        raise InputError(f"{path.name} has unknown column(s) {unknown}; known: {', '.join(KNOWN)}")
    if not raw:
        raise InputError(f"{path.name} has no clip rows")
    rows, problems = [], []
    for line, r in enumerate(raw, start=2):
        where = f"{path.name} line {line}"
        n_before = len(problems)
        clip = r.get("clip", "")
        resolved = Path(clip) if Path(clip).is_absolute() else path.parent / clip
        if not clip:
            problems.append(f"{where}, field clip: empty; give the clip's path")
        elif not resolved.is_file():
            problems.append(f"{where}, field clip: file not found: {resolved}")
        elif resolved.suffix.lower() not in CLIP_SUFFIXES:
            problems.append(f"{where}, field clip: {resolved.name} is not a video or skeleton .npz")
        test = r.get("test", "").lower()
        if test not in TESTS:
            problems.append(f"{where}, field test: unknown test {r.get('test', '')!r}; use one of {', '.join(TESTS)}")
        raw_side = r.get("side", "").upper()
        side = {"LEFT": "L", "RIGHT": "R", "N/A": "NA", "": None}.get(raw_side, raw_side)
        if side not in (None, "L", "R", "NA"):
            problems.append(f"{where}, field side: {r.get('side')!r} must be L, R or blank")
        elif test in TESTS:
            if test in BILATERAL and side == "NA":
                side = None    # NA on a bilateral test means "not recorded": detect it
            elif test not in BILATERAL:
                if side in ("L", "R"):
                    problems.append(f"{where}, field side: {test} is scored once, not per side; leave side blank")
                side = "NA"
        pain = _flag(r.get("pain", ""), where, "pain", problems)
        clearing = _flag(r.get("clearing_pain", ""), where, "clearing_pain", problems)
        if clearing and test in TESTS and test not in CLEARING_TESTS:
            problems.append(f"{where}, field clearing_pain: {test} has no clearing test (only "
                            + ", ".join(f"{t}: {c}" for t, c in CLEARING_TESTS.items()) + ")")
        heels = _flag(r.get("heels_raised", ""), where, "heels_raised", problems)
        if heels is not None and test != "deep_squat" and test in TESTS:
            problems.append(f"{where}, field heels_raised: only the deep squat uses it")
        hand = None
        if r.get("hand_length_m", ""):
            try:
                hand = float(r["hand_length_m"])
                if not 0.10 <= hand <= 0.30:
                    problems.append(f"{where}, field hand_length_m: {hand} is outside 0.10-0.30 m (give metres)")
            except ValueError:
                problems.append(f"{where}, field hand_length_m: {r['hand_length_m']!r} is not a number of metres")
        if len(problems) > n_before:
            continue
        rows.append(ManifestRow(line=line, clip=str(resolved), test=test, side=side, pain=bool(pain),
                                clearing_pain=bool(clearing), heels_raised=heels, hand_length_m=hand))
    if problems:
        shown = "; ".join(problems[:12]) + (f" (and {len(problems) - 12} more)" if len(problems) > 12 else "")
        raise InputError(f"{len(problems)} problem(s) in manifest {path}: {shown}. Fix those rows and run again.")
    return rows
