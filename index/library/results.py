"""What the library's operations return: plain dataclasses that print as JSON (`formscout index ... --json`)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from index.storage.catalog import ClipRecord

# the fate of one labels-CSV row in `index add`
FATES: tuple[str, ...] = ("added", "duplicate", "conflict", "refused", "invalid", "failed")


@dataclass
class AddSummary:
    """What `add_labels` did, row by row.

    `added`, `skipped` (already in the library: same file = duplicate, another
    file = conflict), `refused` (no consent), `failed` (valid, but its file could
    not be turned into a skeleton) and `invalid` (skipped with --skip-bad) list
    the rows by kind; `fates` lists every row of the CSV once, in file order,
    with its fate (FATES) and reason.
    """

    db: str
    embedder: str
    embedder_version: str
    added: list[dict] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    refused: list[dict] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)
    invalid: list[dict] = field(default_factory=list)
    fates: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    def fate(self, row: int, clip_id: str, fate: str, reason: str = "", **extra) -> None:
        self.fates.append({"row": row, "clip_id": clip_id, "fate": fate, "reason": reason, **extra})

    def to_dict(self) -> dict:
        d = asdict(self)
        d["fates"] = sorted(d["fates"], key=lambda f: f["row"])
        d["counts"] = {k: len(d[k]) for k in ("added", "skipped", "refused", "failed")}
        d["fate_counts"] = {k: sum(1 for f in d["fates"] if f["fate"] == k) for k in FATES}
        return d


@dataclass
class ClipHit:
    """A library clip returned by a search (labels as the physio gave them)."""

    clip_id: str
    athlete_id: str
    test_name: str
    side: str
    score: int
    pain: bool
    compensation_notes: str
    camera_view: str
    date: str | None
    synthetic: bool
    similarity: float

    @classmethod
    def from_record(cls, rec: ClipRecord, similarity: float) -> "ClipHit":
        return cls(rec.clip_id, rec.athlete_id, rec.test_name, rec.side, int(rec.score), bool(rec.pain),
                   rec.compensation_notes or "", rec.camera_view or "",
                   rec.date.isoformat() if rec.date else None, bool(rec.synthetic), round(float(similarity), 6))


@dataclass
class PassageHit:
    """A rubric passage returned by a text search (cite it by passage_id)."""

    passage_id: str
    test: str | None
    criterion: str | None
    score_level: int | None
    title: str | None
    text: str
    similarity: float


@dataclass
class SearchResult:
    kind: str                 # "clip" | "passage"
    embedder: str
    embedder_version: str
    filters: dict
    k: int
    hits: list

    def to_dict(self) -> dict:
        return {"kind": self.kind, "embedder": self.embedder, "embedder_version": self.embedder_version,
                "filters": self.filters, "k": self.k, "hits": [asdict(h) for h in self.hits]}


@dataclass
class VerifyReport:
    clean: bool
    problems: list[str] = field(default_factory=list)
    cleaned: list[str] = field(default_factory=list)
    checked: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class RepairReport:
    """What `index repair` changed, and the verify report after it."""

    fixed: list[str] = field(default_factory=list)
    cleaned: list[str] = field(default_factory=list)
    after: VerifyReport | None = None

    def to_dict(self) -> dict:
        return {"fixed": self.fixed, "cleaned": self.cleaned,
                "clean": bool(self.after and self.after.clean),
                "after": self.after.to_dict() if self.after else None}


@dataclass
class EraseReport:
    athlete_id: str
    rows: dict = field(default_factory=dict)
    vectors_removed: dict = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    folders: list[str] = field(default_factory=list)
    missing_files: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)     # recorded outputs left in place, with the reason
    outputs_forgotten: int = 0                        # rows of the catalog's outputs table deleted

    def to_dict(self) -> dict:
        return asdict(self)
