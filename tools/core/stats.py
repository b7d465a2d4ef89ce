"""Reliability statistics, the ones FMS reliability papers report, from scipy/sklearn/pingouin.

Physio score = reference rater, tool score = second rater, both 0-3 (or a
composite 0-21). Nothing here is a hand-written formula where a maintained
library has one:
- Spearman rho: scipy.stats.spearmanr.
- Weighted Cohen's kappa, linear and quadratic: sklearn.metrics.cohen_kappa_score
  over the fixed label set 0-3, so a level nobody used still counts.
- ICC: pingouin.intraclass_corr, form ICC(2,1) (pingouin's "ICC(A,1)"): two-way random effects,
  absolute agreement, single rater (Shrout & Fleiss ICC(2,1); McGraw & Wong
  ICC(A,1)), i.e. how interchangeable one tool score is with one physio score.
- Exact and within-1 accuracy: share of clips with |tool - physio| = 0 / <= 1.
A statistic that is undefined for the data (one clip, everyone scored the
same) is NaN with the reason in `notes`, never an exception.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pingouin as pg
from scipy import stats as sps
from sklearn.metrics import cohen_kappa_score, confusion_matrix

SCORE_LABELS: tuple[int, ...] = (0, 1, 2, 3)
ICC_FORM = "ICC(2,1): two-way random effects, absolute agreement, single rater"


def _clean(x: float) -> float | None:
    """NaN/inf -> None so results stay JSON-serialisable; floats rounded to 4 places."""
    if x is None or not math.isfinite(float(x)):
        return None
    return round(float(x), 4)


def spearman(a: Sequence[float], b: Sequence[float]) -> tuple[float, float]:
    """(rho, p); NaN when either side is constant or n < 3."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan"), float("nan")
    res = sps.spearmanr(a, b)
    return float(res.statistic), float(res.pvalue)


def weighted_kappa(a: Sequence[int], b: Sequence[int], weights: str | None,
                   labels: Sequence[int] = SCORE_LABELS) -> float:
    """Cohen's kappa (weights None, 'linear' or 'quadratic'); NaN when chance agreement is total."""
    if len(a) == 0:
        return float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # sklearn warns, then returns NaN, for undefined kappa
        return float(cohen_kappa_score(a, b, labels=list(labels), weights=weights))


def icc_2_1(a: Sequence[float], b: Sequence[float]) -> tuple[float, tuple[float, float]]:
    """ICC(2,1) of two raters over the same targets, and its 95% CI (pingouin 'ICC2')."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    n = len(a)
    if n < 3 or (np.ptp(np.concatenate([a, b])) == 0):
        return float("nan"), (float("nan"), float("nan"))
    df = pd.DataFrame({"target": np.tile(np.arange(n), 2),
                       "rater": np.repeat(["physio", "tool"], n),
                       "rating": np.concatenate([a, b])})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = pg.intraclass_corr(data=df, targets="target", raters="rater", ratings="rating")
    table = table.set_index("Type")
    # pingouin >= 0.6 names it McGraw & Wong's ICC(A,1); older releases call it "ICC2"
    row = table.loc["ICC(A,1)"] if "ICC(A,1)" in table.index else table.loc["ICC2"]
    ci = row["CI95"] if "CI95" in row.index else row["CI95%"]
    return float(row["ICC"]), (float(ci[0]), float(ci[1]))


def agreement(physio: Sequence[int], tool: Sequence[int], labels: Sequence[int] = SCORE_LABELS) -> dict:
    """All agreement figures for paired scores (same order). JSON-serialisable."""
    p, t = np.asarray(physio, int), np.asarray(tool, int)
    n = int(len(p))
    notes: list[str] = []
    if n == 0:
        return {"n": 0, "spearman_rho": None, "spearman_p": None, "exact": None, "within_1": None,
                "kappa_linear": None, "kappa_quadratic": None, "icc": None, "icc_ci95": [None, None],
                "icc_form": ICC_FORM, "mean_difference": None, "notes": ["no paired scores"]}
    rho, rho_p = spearman(p, t)
    if not math.isfinite(rho):
        notes.append("Spearman rho undefined: one rater used a single level (or n < 3)")
    icc, ci = icc_2_1(p, t)
    if not math.isfinite(icc):
        notes.append("ICC undefined: no variance in the scores (or n < 3)")
    kl, kq = weighted_kappa(p, t, "linear", labels), weighted_kappa(p, t, "quadratic", labels)
    if not math.isfinite(kq):
        notes.append("kappa undefined: both raters gave every clip the same level")
    diff = np.abs(t - p)
    return {"n": n, "spearman_rho": _clean(rho), "spearman_p": _clean(rho_p),
            "exact": _clean(np.mean(diff == 0)), "within_1": _clean(np.mean(diff <= 1)),
            "kappa_linear": _clean(kl), "kappa_quadratic": _clean(kq),
            "icc": _clean(icc), "icc_ci95": [_clean(ci[0]), _clean(ci[1])], "icc_form": ICC_FORM,
            "mean_difference": _clean(np.mean(t - p)), "notes": notes}


def continuous_agreement(physio: Sequence[float], tool: Sequence[float]) -> dict:
    """Agreement for a continuous/interval score such as the composite 0-21: rho, ICC, exact,
    within-1, and the Bland-Altman bias with 95% limits of agreement."""
    p, t = np.asarray(physio, float), np.asarray(tool, float)
    rho, rho_p = spearman(p, t)
    icc, ci = icc_2_1(p, t)
    diff = np.abs(t - p)
    return {"n": int(len(p)), "spearman_rho": _clean(rho), "spearman_p": _clean(rho_p),
            "icc": _clean(icc), "icc_ci95": [_clean(ci[0]), _clean(ci[1])], "icc_form": ICC_FORM,
            "exact": _clean(np.mean(diff == 0)) if len(p) else None,
            "within_1": _clean(np.mean(diff <= 1)) if len(p) else None,
            "bland_altman": bland_altman(p, t)}


def bland_altman(reference: Sequence[float], other: Sequence[float]) -> dict:
    """Bias (mean of other - reference) and 95% limits of agreement (bias +- 1.96 SD, ddof=1)."""
    r, o = np.asarray(reference, float), np.asarray(other, float)
    if len(r) < 2:
        return {"bias": _clean(np.mean(o - r)) if len(r) else None, "sd": None,
                "loa_low": None, "loa_high": None}
    d = o - r
    bias, sd = float(np.mean(d)), float(np.std(d, ddof=1))
    return {"bias": _clean(bias), "sd": _clean(sd), "loa_low": _clean(bias - 1.96 * sd),
            "loa_high": _clean(bias + 1.96 * sd)}


def confusion(physio: Sequence[int], tool: Sequence[int], labels: Sequence[int] = SCORE_LABELS) -> list[list[int]]:
    """Rows = physio score, columns = tool score (sklearn.metrics.confusion_matrix)."""
    if len(physio) == 0:
        return [[0] * len(labels) for _ in labels]
    return confusion_matrix(physio, tool, labels=list(labels)).tolist()


def reliability_bins(confidence: Sequence[float], correct: Sequence[bool], n_bins: int = 10) -> dict:
    """Reliability diagram data: per equal-width confidence bin, count, mean confidence and
    accuracy; plus the expected calibration error (ECE)."""
    c = np.asarray(confidence, float)
    ok = np.asarray(correct, float)
    bins = np.clip((c * n_bins).astype(int), 0, n_bins - 1) if len(c) else np.array([], int)
    out, ece = [], 0.0
    for b in range(n_bins):
        m = bins == b
        if m.any():
            ece += m.mean() * abs(ok[m].mean() - c[m].mean())
        out.append({"low": b / n_bins, "high": (b + 1) / n_bins, "n": int(m.sum()),
                    "mean_confidence": _clean(c[m].mean()) if m.any() else None,
                    "accuracy": _clean(ok[m].mean()) if m.any() else None})
    return {"bins": out, "ece": _clean(ece) if len(c) else None, "n": int(len(c))}
