"""A physio's words for what FormScout measured: test names, criterion names and their plain explanations.

One table, knowledge/criterion_names.csv (data, read by its path like
knowledge/criteria.yaml, so tools/ never imports knowledge/), gives every
criterion of every test a display name and a one-line explanation that states
what is measured, its unit, and which way is which (what 0 means, what a
larger or positive value means). The app, the session report, the published
trace page, the CLI text and the chat all read it through this module, so a
criterion is called the same everywhere (test names: tools.core.fms.TEST_TITLES).

Units as shown: `deg` is written "deg", `m` "m", `hand_lengths` "hand lengths",
other units by their own name with underscores as spaces. Values are never
converted: the number shown is the verdict's number.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from tools.core.errors import InputError

# tools/report/vocabulary.py -> the repository (or site-packages) root, beside which knowledge/ sits
NAMES_FILE = Path(__file__).resolve().parents[2] / "knowledge" / "criterion_names.csv"

@dataclass(frozen=True)
class CriterionName:
    """How one criterion is shown: a display name and a plain one-line explanation (sign and unit in it)."""

    test: str
    criterion: str
    name: str
    explanation: str


@lru_cache(maxsize=4)
def _table(path: str) -> dict[tuple[str, str], CriterionName]:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"the criterion names table {p.name} is missing from knowledge/; reinstall FormScout")
    out: dict[tuple[str, str], CriterionName] = {}
    with open(p, newline="", encoding="utf-8") as fh:
        for n, row in enumerate(csv.DictReader(fh), start=2):
            key = (row["test"].strip(), row["criterion"].strip())
            if key in out:
                raise InputError(f"{p.name} line {n}: {key[0]} / {key[1]} appears twice")
            if not row["name"].strip() or not row["explanation"].strip():
                raise InputError(f"{p.name} line {n}: {key[0]} / {key[1]} needs a name and an explanation")
            out[key] = CriterionName(key[0], key[1], row["name"].strip(), row["explanation"].strip())
    return out


def criterion_names(path: str | Path | None = None) -> dict[tuple[str, str], CriterionName]:
    """The whole table: (test, criterion id) -> CriterionName."""
    return dict(_table(str(path or NAMES_FILE)))


def criterion_name(test: str | None, criterion: str | None) -> CriterionName:
    """The display name and explanation of one criterion; an id the table lacks is shown in plain words."""
    row = _table(str(NAMES_FILE)).get((str(test or ""), str(criterion or "")))
    if row is not None:
        return row
    words = str(criterion or "criterion").replace("_", " ")
    return CriterionName(str(test or ""), str(criterion or ""), words[:1].upper() + words[1:], "")


def unit_text(unit: str | None) -> str:
    """The unit as written on the page ('deg', 'm', 'hand lengths')."""
    return str(unit or "").replace("_", " ")


def value_text(value, unit: str | None, digits: int = 3) -> str:
    """'10.4 deg', '0.0872 m', 'not measured': a verdict value with its unit (3 significant figures)."""
    if value is None:
        return "not measured"
    return f"{float(value):.{digits}g} {unit_text(unit)}".strip()


def threshold_text(criterion: dict) -> str:
    """'at least 0 deg', 'at most 0.1 m': a criterion's pass condition in words."""
    word = {">=": "at least", "<=": "at most", ">": "more than", "<": "less than"}.get(
        str(criterion.get("pass_if") or ""), str(criterion.get("pass_if") or ""))
    threshold = criterion.get("threshold")
    if threshold is None:
        return ""
    return f"{word} {float(threshold):g} {unit_text(criterion.get('unit'))}".strip()


# CLI flags that tool messages name, in the words of any form (the app, a session manifest): a physio never
# needs to know a flag to read a result
_FLAG_WORDS: tuple[tuple[str, str], ...] = (
    (r"say so \(--heels-raised yes\)", "say that the heels were on a board"),
    (r"\(--heels-raised yes\)", "(say that the heels were on a board)"),
    (r"--heels-raised yes", "heels raised on a board"),
    (r"\(--hand-length-m\)", "(the athlete's measured hand length)"),
    (r"give --side L or R \(or leave it out to detect it\)", "say which side, left or right (or leave it to be detected)"),
    (r"give --side L or R", "say which side, left or right"),
    (r"leave out --side", "leave the side out"),
    (r"\(--sex M or F\)", "(give the athlete's sex: male or female)"),
    (r"give --sex M or F", "give the athlete's sex (male or female)"),
)


def plain_inputs(text: str) -> str:
    """A message with the CLI flags it names put in plain words ("say that the heels were on a board")."""
    out = str(text)
    for pattern, words in _FLAG_WORDS:
        out = re.sub(pattern, words, out)
    return out


def run_label(test: str | None, side: str | None = None, athlete_id: str | None = None,
              started_at: str | None = None, run_id: str | None = None) -> str:
    """One name for a run everywhere: 'ATH-0012, Hurdle step, left, 2026-12-04 19:12 UTC (run fa9f6314)'.

    The athlete, the test and side and the time a physio recognises, with the run id's first 8 characters
    beside them (the id the trace, the catalog and the CLI use)."""
    from tools.core.fms import test_title
    when = str(started_at or "").replace("T", " ")[:16]
    when += " UTC" if when and str(started_at).endswith(("+00:00", "Z")) else ""
    parts = [p for p in (str(athlete_id or "").strip(), test_title(str(test or ""), side), when) if p]
    rid = str(run_id or "")[:8]
    return ", ".join(parts) + (f" (run {rid})" if rid else "")
