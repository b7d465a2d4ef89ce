"""Fit criterion thresholds to physio-labelled clips: per-criterion grid search, athlete-level CV.

Each labelled clip is measured once (`measure_clip`: the criterion values the
rules read do not depend on the thresholds); a candidate set of thresholds is
then scored by re-judging those values and applying the test's own scoring
rule (`TestJudgement.score_fn`), which is fast. The fit is coordinate-wise:
for each criterion in turn, try every midpoint between neighbouring observed
values (plus the current threshold) and keep the one with the most exact
agreements with the physio (ties: higher quadratic kappa, then the candidate
closest to the starting threshold); two passes over the criteria.

Honesty rules: clips scored 0 for pain are left out of the fit (their score is
not geometry) and out of every agreement figure, exactly as `formscout eval`
leaves them out, so the two commands report the same rows; out-of-sample
agreement comes from leave-athletes-out folds (sklearn GroupKFold over athlete
ids), fitted inside each fold; a threshold the data cannot move (no clip near
it) keeps its default.

Guard rails: every threshold in knowledge/criteria.yaml states the `range` a
physically sensible value can take (the reasoning is beside it). The fit only
tries candidates inside that range; where the best candidate without the range
lies outside it, the fit says so (`range_warnings`) and keeps the in-range
value, unless the caller allows leaving the range.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from tools.scoring.rubric.common import TestJudgement

# criteria whose threshold also steers how the test is measured, not just pass/fail: not fitted
NOT_FITTED = {("rotary_stability", "unilateral_pattern")}
SEX_SPLIT = {"male", "female"}


@dataclass
class FitClip:
    """One labelled clip, measured once."""

    clip_id: str
    athlete_id: str
    test: str
    label: int
    pain: bool
    sex: str | None                                  # "male"/"female" or None
    values: dict[str, float | None]
    judged: dict[str, bool | None]                   # as judged with the thresholds it was measured with
    score_fn: Callable[[dict], int | None] = field(repr=False)

    @classmethod
    def from_judgement(cls, clip_id: str, athlete_id: str, test: str, label: int, pain: bool,
                       sex: str | None, j: TestJudgement) -> "FitClip":
        return cls(clip_id, athlete_id, test, int(label), bool(pain), sex,
                   {c.id: c.value for c in j.criteria}, {c.id: c.passed for c in j.criteria}, j.score_fn)


def param_key(test: str, cid: str, spec: dict, sex: str | None) -> tuple | None:
    """Where a criterion's threshold lives: (test, cid) or (test, cid, sex) for sex-split levels."""
    if (test, cid) in NOT_FITTED:
        return None
    if SEX_SPLIT & set(spec):
        return (test, cid, sex) if sex in SEX_SPLIT else None
    return (test, cid)


def current_thresholds(criteria: dict, tests: set[str]) -> dict[tuple, float]:
    out = {}
    for test in tests:
        for cid, spec in criteria.get(test, {}).items():
            if not isinstance(spec, dict) or "pass_if" not in spec:
                continue
            if SEX_SPLIT & set(spec):
                for sex in SEX_SPLIT:
                    out[(test, cid, sex)] = float(spec[sex]["threshold"])
            elif (test, cid) not in NOT_FITTED:
                out[(test, cid)] = float(spec["threshold"])
    return out


def predict(clip: FitClip, thresholds: dict[tuple, float], criteria: dict) -> int | None:
    """The rule score of a clip under candidate thresholds (pain -> 0)."""
    if clip.pain:
        return 0
    passed = dict(clip.judged)
    for cid, value in clip.values.items():
        spec = criteria[clip.test].get(cid, {})
        key = param_key(clip.test, cid, spec, clip.sex)
        if key is None or key not in thresholds or value is None or clip.judged.get(cid) is None:
            continue
        thr = thresholds[key]
        passed[cid] = value >= thr if spec["pass_if"] == ">=" else value <= thr
    return clip.score_fn(passed)


def _agreement_key(clips: list[FitClip], thresholds: dict, criteria: dict) -> tuple[int, float]:
    from sklearn.metrics import cohen_kappa_score
    pred = [predict(c, thresholds, criteria) for c in clips]
    pairs = [(c.label, p) for c, p in zip(clips, pred) if p is not None]
    exact = sum(a == b for a, b in pairs)
    if len(pairs) < 2 or len({a for a, _ in pairs} | {b for _, b in pairs}) < 2:
        return exact, 0.0
    kappa = cohen_kappa_score([a for a, _ in pairs], [b for _, b in pairs], labels=[0, 1, 2, 3], weights="quadratic")
    return exact, 0.0 if math.isnan(kappa) else float(kappa)


def threshold_range(criteria: dict, key: tuple) -> tuple[float, float] | None:
    """The documented range of a threshold (criteria.yaml `range`, per sex for sex-split levels), or None."""
    spec = criteria.get(key[0], {}).get(key[1], {})
    holder = spec.get(key[2], {}) if len(key) == 3 else spec
    rng = holder.get("range", spec.get("range") if len(key) == 2 else None)
    if not rng or len(rng) != 2:
        return None
    lo, hi = float(rng[0]), float(rng[1])
    return (min(lo, hi), max(lo, hi))


def range_warnings(unconstrained: dict[tuple, float], constrained: dict[tuple, float], criteria: dict) -> list[dict]:
    """Thresholds whose best fit lies outside their documented range (what was kept instead)."""
    out = []
    for key, value in sorted(unconstrained.items(), key=str):
        rng = threshold_range(criteria, key)
        if rng is None or rng[0] - 1e-12 <= value <= rng[1] + 1e-12:
            continue
        out.append({"test": key[0], "criterion": key[1], "sex": key[2] if len(key) == 3 else None,
                    "wanted": round(float(value), 4), "range": [rng[0], rng[1]],
                    "kept": round(float(constrained.get(key, value)), 4)})
    return out


def fit_thresholds(clips: list[FitClip], criteria: dict, passes: int = 2,
                   max_candidates: int = 60, respect_ranges: bool = True) -> dict[tuple, float]:
    """Thresholds maximising exact agreement on `clips` (pain clips ignored); see the module docstring.
    With `respect_ranges` only candidates inside each threshold's documented range are tried."""
    usable = [c for c in clips if not c.pain]
    thresholds = current_thresholds(criteria, {c.test for c in usable})
    original = dict(thresholds)
    for _ in range(passes):
        for key in sorted(thresholds, key=str):
            test, cid = key[0], key[1]
            group = [c for c in usable if c.test == test and (len(key) == 2 or c.sex == key[2])]
            values = sorted({c.values.get(cid) for c in group if c.values.get(cid) is not None
                             and c.judged.get(cid) is not None})
            if len(values) < 2:
                continue
            mids = [(a + b) / 2 for a, b in zip(values, values[1:])]
            rng = threshold_range(criteria, key) if respect_ranges else None
            if rng is not None:
                mids = [m for m in mids if rng[0] <= m <= rng[1]]
            if len(mids) > max_candidates:
                mids = list(np.quantile(mids, np.linspace(0, 1, max_candidates)))
            home = original[key]   # ties go to the candidate closest to the starting threshold
            best, best_key = thresholds[key], _agreement_key(group, thresholds, criteria)
            for cand in mids + [home]:
                trial = dict(thresholds)
                trial[key] = float(cand)
                k = _agreement_key(group, trial, criteria)
                if k > best_key or (k == best_key and abs(cand - home) < abs(best - home)):
                    best, best_key = float(cand), k
            thresholds[key] = best
    return thresholds


def apply_thresholds(criteria: dict, thresholds: dict[tuple, float]) -> dict:
    """A deep copy of `criteria` with the fitted thresholds written in."""
    out = copy.deepcopy(criteria)
    for key, value in thresholds.items():
        spec = out[key[0]][key[1]]
        (spec[key[2]] if len(key) == 3 else spec)["threshold"] = float(value)
    return out


def cross_validated_predictions(clips: list[FitClip], criteria: dict, folds: int = 5,
                                respect_ranges: bool = True) -> list[int | None]:
    """Out-of-sample predictions: thresholds fitted without the held-out athletes (GroupKFold)."""
    from sklearn.model_selection import GroupKFold
    athletes = sorted({c.athlete_id for c in clips})
    k = min(folds, len(athletes))
    if k < 2:
        return [None] * len(clips)
    groups = [c.athlete_id for c in clips]
    preds: list[int | None] = [None] * len(clips)
    for train, test in GroupKFold(n_splits=k).split(np.zeros(len(clips)), groups=groups):
        fitted = fit_thresholds([clips[i] for i in train], criteria, respect_ranges=respect_ranges)
        base = current_thresholds(criteria, {clips[i].test for i in test})
        base.update(fitted)
        for i in test:
            preds[i] = predict(clips[i], base, criteria)
    return preds
