"""Rubric passages: the knowledge base's citable text, loaded from knowledge/rubric/*.md.

Format (one Markdown file per test, plus scoring, capture protocol, ethics and
limitations): every passage is a level-2 heading carrying a stable id and
optional attributes in braces, followed by its text up to the next heading:

    ## Compensation: lumbar movement {#hurdle_step.lumbar_stability.fail criterion=lumbar_stability score=2}
    The trunk leans back, ...

- `id` (after `#`): stable, unique, dot-separated; the first part names the test or topic.
- `criterion=`: the criteria.yaml criterion id the passage explains.
- `score=`: the score level (0-3) the passage describes.
The test is the file stem when it is one of the seven tests (otherwise None).
Ids never change once published: traces cite them.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

from tools.core.errors import InputError

RUBRIC_DIR = Path(__file__).resolve().parent / "rubric"
TEST_NAMES = ("deep_squat", "hurdle_step", "inline_lunge", "shoulder_mobility",
              "active_straight_leg_raise", "trunk_stability_pushup", "rotary_stability")

_HEADING = re.compile(r"^##\s+(?P<title>.+?)\s*\{(?P<attrs>[^}]*)\}\s*$")
_ID = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)*$")


@dataclass(frozen=True)
class Passage:
    """One citable passage."""

    id: str
    test: str | None
    criterion: str | None
    score_level: int | None
    title: str
    text: str
    source: str            # file name under knowledge/rubric/

    def to_dict(self) -> dict:
        return asdict(self)


def _parse_attrs(attrs: str, where: str) -> dict:
    out: dict = {}
    for token in attrs.split():
        if token.startswith("#"):
            out["id"] = token[1:]
        elif "=" in token:
            key, value = token.split("=", 1)
            out[key] = value
        else:
            raise InputError(f"{where}: cannot read passage attribute {token!r}; use #id key=value")
    if "id" not in out or not _ID.match(out["id"]):
        raise InputError(f"{where}: passage heading needs an id like {{#test.criterion}}, got {{{attrs}}}")
    return out


def parse_markdown(text: str, source: str) -> list[Passage]:
    """Passages of one Markdown file (see the module docstring for the format)."""
    stem = Path(source).stem
    test = stem if stem in TEST_NAMES else None
    passages: list[Passage] = []
    current: dict | None = None
    body: list[str] = []

    def close() -> None:
        if current is not None:
            passages.append(Passage(text=" ".join(" ".join(body).split()), **current))

    for n, line in enumerate(text.splitlines(), start=1):
        m = _HEADING.match(line)
        if m:
            close()
            attrs = _parse_attrs(m["attrs"], f"{source} line {n}")
            pid = attrs["id"]
            score = attrs.get("score")
            if score is not None and score not in ("0", "1", "2", "3"):
                raise InputError(f"{source} line {n}: score must be 0-3, got {score!r}")
            current = dict(id=pid, test=test, criterion=attrs.get("criterion"),
                           score_level=None if score is None else int(score), title=m["title"], source=source)
            body = []
        elif line.startswith("## "):
            raise InputError(f"{source} line {n}: passage heading without an id: {line!r}")
        elif current is not None and not line.startswith("# "):
            body.append(line)
    close()
    return passages


@lru_cache(maxsize=4)
def _load(directory: str) -> tuple[Passage, ...]:
    root = Path(directory)
    if not root.is_dir():
        raise InputError(f"knowledge folder not found: {root}")
    out: list[Passage] = []
    seen: dict[str, str] = {}
    for path in sorted(root.glob("*.md")):
        for p in parse_markdown(path.read_text(encoding="utf-8"), path.name):
            if p.id in seen:
                raise InputError(f"passage id {p.id!r} appears twice ({seen[p.id]} and {path.name}); ids must be unique")
            seen[p.id] = path.name
            out.append(p)
    return tuple(out)


def load_passages(directory: str | Path | None = None) -> list[Passage]:
    """Every passage of the knowledge base, in file and heading order."""
    return list(_load(str(directory or RUBRIC_DIR)))


def get_passage(passage_id: str) -> Passage:
    """The passage with this id (raises InputError naming close ids when it does not exist)."""
    for p in _load(str(RUBRIC_DIR)):
        if p.id == passage_id:
            return p
    prefix = passage_id.split(".")[0]
    close = [p.id for p in _load(str(RUBRIC_DIR)) if p.id.startswith(prefix)][:8]
    raise InputError(f"no passage with id {passage_id!r}" + (f"; ids starting {prefix!r}: {close}" if close else ""))


def passages_for(test: str, criterion: str | None = None, score: int | None = None) -> list[Passage]:
    """Passages of one test (or topic file stem), optionally narrowed to a criterion and/or a score level."""
    out = []
    for p in _load(str(RUBRIC_DIR)):
        if (p.test or p.source[:-3]) != test and not p.id.startswith(test + "."):
            continue
        if criterion is not None and p.criterion != criterion:
            continue
        if score is not None and p.score_level != score:
            continue
        out.append(p)
    return out
