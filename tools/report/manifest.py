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
  side_clip       a second clip of the same repetition from another view (blank = none): each
                  criterion is then judged from the view that measures it (as `screen --side-clip`)
Batch manifests (`formscout batch`, BATCH_COLUMNS) may add:
  athlete         athlete id the run is filed under (blank = none)
  sex             M or F: sets the push-up levels (blank = the batch default)

Every problem is collected and reported at once, naming the line and the field,
so the sheet can be fixed in one pass (tools.core.errors.InputError).
"""
from __future__ import annotations

import csv
from dataclasses import asdict, dataclass
from pathlib import Path

from tools.core.errors import InputError
from tools.core.files import CLIP_SUFFIXES, ClipNotFound, ClipResolver
from tools.core.fms import BILATERAL, CLEARING_TESTS, TESTS, check_sex

REQUIRED = ("clip", "test")
KNOWN = ("clip", "test", "side", "pain", "clearing_pain", "heels_raised", "hand_length_m", "side_clip")
BATCH_COLUMNS = KNOWN + ("athlete", "sex")
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
    athlete: str = ""           # batch manifests only
    sex: str = ""               # batch manifests only: "M", "F" or "" (not given)
    side_clip: str = ""         # resolved path of a second view of the same repetition ('' = none)

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


def read_manifest(path: str | Path, clips_dir: str | Path | None = None) -> list[ManifestRow]:
    """Read and check a session manifest. Raises InputError naming every bad row and field.

    Each clip is found by tools.core.files.ClipResolver: the path as given (absolute, relative to the
    manifest, relative to `clips_dir`), then by its file name's stem below `clips_dir` (or the manifest's folder).
    """
    path = Path(path)
    rows, problems = parse_manifest(path, clips_dir=clips_dir)
    if problems:
        texts = [_one_line(text) for _, text in problems]
        shown = "; ".join(texts[:12]) + (f" (and {len(texts) - 12} more)" if len(texts) > 12 else "")
        raise InputError(f"{len(texts)} problem(s) in manifest {path}: {shown}. Fix those rows and run again.")
    return rows


def _one_line(text: str) -> str:
    """Control characters of the cells quoted in a message (a newline in a clip cell...) escaped: one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def parse_manifest(path: str | Path, columns: tuple[str, ...] = KNOWN, clips_dir: str | Path | None = None
                   ) -> tuple[list[ManifestRow], list[tuple[int, str]]]:
    """The good rows and the problems of the bad ones, as (line, text); a bad row is left out of the rows.

    Problems with the whole file (missing, unreadable, no clip/test column, a column not in
    `columns`, no rows) raise InputError.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"manifest not found: {path}. Give a CSV with columns {', '.join(columns)}")
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
                         f"Columns: {', '.join(columns)} (clip and test required)")
    unknown = [c for c in header if c and c not in columns]
    if unknown:
        raise InputError(f"{path.name} has unknown column(s) {unknown}; known: {', '.join(columns)}")
    if not raw:
        raise InputError(f"{path.name} has no clip rows")
    rows, found = [], []
    resolver = ClipResolver(path, clips_dir)
    for line, r in enumerate(raw, start=2):
        where = f"{path.name} line {line}"
        problems = []
        clip = r.get("clip", "")
        resolved = Path(clip) if Path(clip).is_absolute() else path.parent / clip
        if not clip:
            problems.append(f"{where}, field clip: empty; give the clip's path")
        elif resolved.is_file() and resolved.suffix.lower() not in CLIP_SUFFIXES:
            problems.append(f"{where}, field clip: {resolved.name} is not a video or skeleton .npz")
        else:
            try:
                resolved = resolver.resolve(Path(clip).stem, clip)
            except ClipNotFound as exc:
                problems.append(f"{where}, field clip: file not found: {clip} ({exc})")
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
        side_clip = _side_clip(r.get("side_clip", ""), path, resolved, where, problems)
        athlete, sex = _batch_fields(r, where, problems)
        if problems:
            found += [(line, text) for text in problems]
            continue
        rows.append(ManifestRow(line=line, clip=str(resolved), test=test, side=side, pain=bool(pain),
                                clearing_pain=bool(clearing), heels_raised=heels, hand_length_m=hand,
                                athlete=athlete, sex=sex, side_clip=side_clip))
    return rows, found


def _side_clip(cell: str, manifest: Path, clip: Path, where: str, problems: list[str]) -> str:
    """The side_clip cell as a resolved path ('' when blank), relative to the manifest's folder like clip."""
    if not cell:
        return ""
    resolved = Path(cell) if Path(cell).is_absolute() else manifest.parent / cell
    if not resolved.is_file():
        problems.append(f"{where}, field side_clip: file not found: {cell}")
    elif resolved.suffix.lower() not in CLIP_SUFFIXES:
        problems.append(f"{where}, field side_clip: {resolved.name} is not a video or skeleton .npz")
    elif resolved.resolve() == Path(clip).resolve():
        problems.append(f"{where}, field side_clip: it is the row's clip itself; give the other view's clip")
    return str(resolved)


def _batch_fields(r: dict, where: str, problems: list[str]) -> tuple[str, str]:
    """The athlete and sex cells of a batch manifest row ('' when blank or absent; the athlete id's
    form is checked by the batch, against the catalog's rule)."""
    athlete = r.get("athlete", "")
    try:
        sex = check_sex(r.get("sex", "")) or ""
    except InputError:
        problems.append(f"{where}, field sex: {r.get('sex')!r} must be M, F or blank")
        sex = ""
    return athlete, sex
