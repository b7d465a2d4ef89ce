"""Cross-validation like a reliability study: leave-one-athlete-out (default) or leave-one-clip-out.

A scorer (tools.study.scorers) says whether it learns anything from the
labels (`fits_labels`). If it does, it is fitted on each training fold and
scores only the held-out fold, so no athlete is ever scored by a model that
saw them. If it does not (the rule engine with fixed thresholds, a frozen
checkpoint), every fold would give the same predictions: it scores each clip
once, the fold ids are still recorded, and the result says so plainly.
"""
from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Protocol

import numpy as np
from sklearn.model_selection import LeaveOneGroupOut, LeaveOneOut

from tools.core.errors import InputError
from tools.core.labels import LabelRow

log = logging.getLogger(__name__)

CV_MODES = ("athlete", "clip")
MAX_CLIP_FOLDS_WITH_FITTING = 60


@dataclass
class ToolOutput:
    """What a scorer says about one clip. `score` is the provisional score even when
    `review` is set (None only when it cannot score at all; `error` then says why)."""

    score: int | None
    review: bool
    confidence: float | None = None
    reasons: list[str] = field(default_factory=list)
    predicted_test: str | None = None
    probabilities: dict | None = None
    error: str = ""
    extra: dict = field(default_factory=dict)    # scorer-specific figures (e.g. the decision policy's inputs)


@dataclass
class Prediction:
    """One labelled clip with the tool's output next to the physio's score."""

    clip_id: str
    athlete_id: str
    date: str
    test_name: str
    side: str
    physio_score: int
    pain: bool
    fold: int
    tool_score: int | None
    review: bool
    confidence: float | None
    reasons: list[str]
    predicted_test: str | None
    probabilities: dict | None
    error: str
    extra: dict = field(default_factory=dict)

    @property
    def scored(self) -> bool:
        return self.tool_score is not None

    def to_dict(self) -> dict:
        return asdict(self)


class Scorer(Protocol):
    name: str
    fits_labels: bool

    def describe(self) -> str: ...
    def notes(self, rows: list[LabelRow]) -> list[str]: ...
    def fit(self, rows: list[LabelRow]) -> None: ...
    def reset(self) -> None: ...
    def predict(self, rows: list[LabelRow]) -> list[ToolOutput]: ...


@dataclass
class CVResult:
    """Predictions for every clip plus how they were obtained."""

    scorer: str
    scorer_description: str
    cv: str
    n_folds: int
    fitted_per_fold: bool
    predictions: list[Prediction]
    notes: list[str]
    seconds: float

    def to_dict(self) -> dict:
        d = asdict(self)
        d["predictions"] = [p.to_dict() for p in self.predictions]
        return d


def is_pain(row: LabelRow) -> bool:
    """Score 0 means pain by definition, even if the pain column was left empty."""
    return bool(row.pain or row.score == 0)


def make_folds(rows: list[LabelRow], cv: str) -> tuple[list[tuple[np.ndarray, np.ndarray]], list[str]]:
    """(train, test) index pairs and notes. Raises InputError when the design is impossible."""
    if cv not in CV_MODES:
        raise InputError(f"--cv must be one of {CV_MODES}, got {cv!r}")
    notes: list[str] = []
    x = np.zeros(len(rows))
    if cv == "clip":
        if len(rows) < 2:
            raise InputError("leave-one-clip-out needs at least 2 clips")
        notes.append("leave-one-clip-out: an athlete's other clips stay in training, so a scorer that "
                      "learns can recognise the athlete; prefer --cv athlete")
        return list(LeaveOneOut().split(x)), notes
    athletes = [r.athlete_id for r in rows]
    counts = Counter(athletes)
    if len(counts) < 2:
        raise InputError(f"leave-one-athlete-out needs at least 2 athletes; the labels hold only "
                         f"{next(iter(counts))!r}. Add athletes or use --cv clip.")
    single = sorted(a for a, n in counts.items() if n == 1)
    if single:
        notes.append(f"{len(single)} athlete(s) have a single clip ({', '.join(single[:5])}"
                     f"{' ...' if len(single) > 5 else ''}): each is its own one-clip fold and adds "
                     "nothing to asymmetry or composite figures")
    return list(LeaveOneGroupOut().split(x, groups=athletes)), notes


def _prediction(row: LabelRow, out: ToolOutput, fold: int) -> Prediction:
    return Prediction(clip_id=row.clip_id, athlete_id=row.athlete_id, date=row.date,
                      test_name=row.test_name, side=row.side, physio_score=row.score, pain=is_pain(row),
                      fold=fold, tool_score=out.score, review=bool(out.review), confidence=out.confidence,
                      reasons=list(out.reasons), predicted_test=out.predicted_test,
                      probabilities=out.probabilities, error=out.error, extra=dict(out.extra))


def cross_validate(rows: list[LabelRow], scorer: Scorer, cv: str = "athlete") -> CVResult:
    """Score every labelled clip under the chosen cross-validation design."""
    t0 = time.perf_counter()
    folds, notes = make_folds(rows, cv)
    notes = notes + scorer.notes(rows)
    fold_of = np.empty(len(rows), dtype=int)
    for k, (_, test) in enumerate(folds):
        fold_of[test] = k
    preds: list[Prediction | None] = [None] * len(rows)
    if scorer.fits_labels:
        if cv == "clip" and len(rows) > MAX_CLIP_FOLDS_WITH_FITTING:
            raise InputError(f"leave-one-clip-out with a scorer that is fitted per fold would fit it "
                             f"{len(rows)} times; use --cv athlete (or evaluate the frozen model)")
        log.info("%s: fitting per fold, %d folds (%s CV)", scorer.name, len(folds), cv)
        for k, (train, test) in enumerate(folds):
            train_rows = [rows[i] for i in train]
            if len(train_rows) >= 2:
                scorer.fit(train_rows)
            else:
                scorer.reset()
                notes.append(f"fold {k}: fewer than 2 training clips, scored with the unfitted model")
            for i, out in zip(test, scorer.predict([rows[i] for i in test])):
                preds[i] = _prediction(rows[i], out, k)
        scorer.reset()
        summary = getattr(scorer, "fit_summary", None)
        if callable(summary):
            notes.extend(summary())
    else:
        notes.append(f"{scorer.name}: nothing is fitted on these labels, so every {cv} fold gives the "
                     "same predictions; each clip was scored once (fold ids kept for the record)")
        for i, out in enumerate(scorer.predict(rows)):
            preds[i] = _prediction(rows[i], out, int(fold_of[i]))
    return CVResult(scorer=scorer.name, scorer_description=scorer.describe(), cv=cv, n_folds=len(folds),
                    fitted_per_fold=bool(scorer.fits_labels), predictions=[p for p in preds if p is not None],
                    notes=notes, seconds=round(time.perf_counter() - t0, 2))
