"""Fitting the decision policy on held-out labelled clips: calibration, the review line, the second opinion.

Input: one `PolicyRecord` per scored, pain-free clip, made by running the rules,
the pose-quality check and the ST-GCN on clips the thresholds never saw
(`formscout eval LABELS.csv --scorer decision --fit-policy OUT.yaml`).

1. Calibration: isotonic regression (sklearn) of "the rule score matched the
   label" on the raw rule confidence (Phi of the margin in expected-error sd),
   kept as at most `max_knots` (confidence, P(correct)) knots: the policy maps a
   new clip's rule confidence to P(correct) by linear interpolation.
2. Review line: the lowest calibrated confidence t such that, among the clips
   with no other review reason and confidence >= t (the ones scored without
   review), accuracy is at least `target_accuracy`, for t and for every higher
   line (so the choice does not sit on a lucky spike of the curve).
3. Second opinion: the (min P(its own score), max P(rule score)) pair that
   catches the most rule errors among the clips the rules would have scored
   without review, while sending at most `max_false_veto_share` of the
   correctly scored ones to review.
4. Rescue: a rule score under the review line but at least a floor, that the
   ST-GCN (in distribution) gives at least P, may be scored without review: the
   (floor, P) pair that adds the most coverage while the rescued clips and all
   the clips scored without review keep `target_accuracy` (none when no pair does).
Risk-coverage: accuracy of the clips scored without review against the share
of clips scored without review, as the review line moves.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from tools.core.errors import InputError
from tools.core.stats import reliability_bins

STGCN_CONFIDENCE_GRID = (0.6, 0.7, 0.8, 0.9, 0.95)
RESCUE_FLOOR_GRID = (0.5, 0.6, 0.7, 0.8)
RESCUE_P_GRID = (0.7, 0.8, 0.9, 0.95, 0.98)
STGCN_P_RULE_GRID = (0.02, 0.05, 0.1, 0.2, 0.3)


@dataclass
class PolicyRecord:
    """What the policy sees about one clip, and whether the rule score was right."""

    correct: bool                     # rule score == label
    rule_confidence: float            # raw, Phi(margin / expected error sd)
    quality_factor: float = 1.0
    other_reasons: bool = False       # a review reason besides the margin and the second opinion
    stgcn_in_distribution: bool = False   # the ST-GCN gave an opinion (did not abstain)
    stgcn_best_p: float = 0.0         # its P(its own score)
    stgcn_p_rule: float = 0.0         # its P(the rule score)
    stgcn_agrees: bool = True         # its own score == the rule score


def wilson_low(k: int, n: int, z: float = 1.96) -> float | None:
    """Lower end of the Wilson 95 % interval of a proportion k/n."""
    if n == 0:
        return None
    p = k / n
    centre = p + z * z / (2 * n)
    spread = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return float((centre - spread) / (1 + z * z / n))


def fit_calibration(rule_confidence: np.ndarray, correct: np.ndarray, max_knots: int = 16) -> tuple[list, list]:
    """Isotonic map raw rule confidence -> P(correct), as knots (x ascending, y non-decreasing)."""
    from sklearn.isotonic import IsotonicRegression
    x = np.asarray(rule_confidence, float)
    y = np.asarray(correct, float)
    if len(x) < 10:
        raise InputError(f"calibrating the policy needs at least 10 scored clips, got {len(x)}")
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip").fit(x, y)
    grid = np.unique(np.concatenate([[x.min(), x.max()], np.quantile(x, np.linspace(0, 1, max_knots))]))
    knots_y = np.maximum.accumulate(iso.predict(grid))
    return [round(float(v), 4) for v in grid], [round(float(v), 4) for v in knots_y]


def risk_coverage(confidence: np.ndarray, correct: np.ndarray, eligible: np.ndarray | None = None,
                  n_points: int = 21) -> list[dict]:
    """Points (line, coverage, accuracy, n) as the review line moves over the observed confidences.

    coverage = share of all clips scored without review (eligible and confidence >= line);
    accuracy = share of those that were right.
    """
    c = np.asarray(confidence, float)
    ok = np.asarray(correct, bool)
    el = np.ones(len(c), bool) if eligible is None else np.asarray(eligible, bool)
    if len(c) == 0:
        return []
    lines = np.unique(np.concatenate([[0.0], np.quantile(c, np.linspace(0, 1, n_points)), [1.0 + 1e-9]]))
    out = []
    for t in lines:
        m = el & (c >= t)
        out.append({"line": round(float(min(t, 1.0)), 4), "coverage": round(float(m.mean()), 4),
                    "accuracy": round(float(ok[m].mean()), 4) if m.any() else None, "n": int(m.sum())})
    return out


def choose_line(confidence: np.ndarray, correct: np.ndarray, eligible: np.ndarray,
                target_accuracy: float = 0.97) -> dict:
    """The lowest review line whose unflagged accuracy, and every higher line's, is >= target."""
    c = np.asarray(confidence, float)
    ok = np.asarray(correct, bool)
    el = np.asarray(eligible, bool)
    candidates = np.unique(c[el])
    good = []
    for t in candidates:
        m = el & (c >= t)
        good.append(bool(ok[m].mean() >= target_accuracy) if m.any() else True)
    chosen = None
    for i in range(len(candidates)):           # lowest t from which every higher line is good
        if all(good[i:]):
            chosen = float(candidates[i])
            break
    if chosen is None:
        chosen = 1.0
    m = el & (c >= chosen)
    k, n = int(ok[m].sum()), int(m.sum())
    return {"min_confidence": round(chosen, 4), "target_accuracy": target_accuracy,
            "unflagged": n, "unflagged_correct": k, "unflagged_accuracy": round(k / n, 4) if n else None,
            "unflagged_accuracy_wilson_low": round(wilson_low(k, n), 4) if n else None,
            "coverage": round(n / len(c), 4) if len(c) else None, "n": int(len(c))}


def choose_second_opinion(records: list[PolicyRecord], unflagged: np.ndarray,
                          max_false_veto_share: float = 0.01) -> dict:
    """The ST-GCN disagreement thresholds: most rule errors caught, at most the given share of the
    correct unflagged clips sent to review. `unflagged`: the clips the rules alone score without review."""
    rows = [r for r, u in zip(records, unflagged) if u]
    n_correct = sum(r.correct for r in rows)
    best = None
    table = []
    for conf in STGCN_CONFIDENCE_GRID:
        for p_rule in STGCN_P_RULE_GRID:
            veto = [r.stgcn_in_distribution and not r.stgcn_agrees and r.stgcn_best_p >= conf and r.stgcn_p_rule <= p_rule
                    for r in rows]
            caught = sum(v and not r.correct for v, r in zip(veto, rows))
            false = sum(v and r.correct for v, r in zip(veto, rows))
            row = {"min_stgcn_confidence": conf, "min_stgcn_agreement": p_rule, "errors_caught": caught,
                   "correct_sent_to_review": false,
                   "correct_sent_share": round(false / n_correct, 4) if n_correct else None}
            table.append(row)
            ok = n_correct == 0 or false / n_correct <= max_false_veto_share
            key = (caught, -false, conf)     # most caught, then fewest false vetoes, then the stricter line
            if ok and (best is None or key > best[0]):
                best = (key, row)
    chosen = best[1] if best else {"min_stgcn_confidence": 1.0, "min_stgcn_agreement": 0.0, "errors_caught": 0,
                                   "correct_sent_to_review": 0, "correct_sent_share": 0.0}
    return {"chosen": chosen, "max_false_veto_share": max_false_veto_share,
            "rule_errors_unflagged": sum(not r.correct for r in rows), "correct_unflagged": n_correct, "grid": table}


def choose_rescue(records: list[PolicyRecord], calibrated: np.ndarray, eligible: np.ndarray, line: float,
                  target_accuracy: float) -> dict:
    """Floor and P for rescuing near-line rule scores the in-distribution ST-GCN agrees with (see docstring)."""
    ok = np.array([r.correct for r in records])
    base = eligible & (calibrated >= line)
    agree = np.array([r.stgcn_in_distribution and r.stgcn_agrees for r in records])
    p_same = np.array([r.stgcn_p_rule for r in records])
    none = {"rescue_min_confidence": 1.0, "rescue_min_stgcn_p": 1.0, "rescue_p_correct": 0.0, "rescued": 0,
            "rescued_correct": 0}
    best, table = None, []
    for floor in RESCUE_FLOOR_GRID:
        for p in RESCUE_P_GRID:
            extra = eligible & (calibrated >= floor) & (calibrated < line) & agree & (p_same >= p)
            total = base | extra
            row = {"rescue_min_confidence": floor, "rescue_min_stgcn_p": p, "rescued": int(extra.sum()),
                   "rescued_correct": int(ok[extra].sum()),
                   "rescued_accuracy": round(float(ok[extra].mean()), 4) if extra.any() else None,
                   "unflagged_accuracy": round(float(ok[total].mean()), 4) if total.any() else None}
            table.append(row)
            if not extra.any():
                continue
            low = wilson_low(int(ok[extra].sum()), int(extra.sum()))
            good = ok[extra].mean() >= target_accuracy and ok[total].mean() >= target_accuracy
            if good and (best is None or (row["rescued"], -floor, p) > (best["rescued"], -best["rescue_min_confidence"],
                                                                      best["rescue_min_stgcn_p"])):
                best = dict(row, rescue_p_correct=round(float(low), 4))
    return {"chosen": best or none, "grid": table}


@dataclass
class PolicyFit:
    """The fitted values and the figures that justify them."""

    calibration_rule_confidence: list
    calibration_p_correct: list
    line: dict
    second_opinion: dict
    rescue: dict
    ece_raw: float | None
    ece_calibrated: float | None
    n_clips: int
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def fit_policy(records: list[PolicyRecord], target_accuracy: float = 0.97,
               max_false_veto_share: float = 0.01) -> PolicyFit:
    """Calibration, review line and second-opinion thresholds from held-out records (module docstring)."""
    if not records:
        raise InputError("no scored clips to fit the decision policy on")
    raw = np.array([r.rule_confidence for r in records])
    ok = np.array([r.correct for r in records])
    kx, ky = fit_calibration(raw, ok)
    calibrated = np.interp(raw, kx, ky) * np.array([r.quality_factor for r in records])
    eligible = ~np.array([r.other_reasons for r in records])
    line = choose_line(calibrated, ok, eligible, target_accuracy)
    unflagged = eligible & (calibrated >= line["min_confidence"])
    second = choose_second_opinion(records, unflagged, max_false_veto_share)
    rescue = choose_rescue(records, calibrated, eligible, line["min_confidence"], target_accuracy)
    return PolicyFit(calibration_rule_confidence=kx, calibration_p_correct=ky, line=line, second_opinion=second,
                     rescue=rescue,
                     ece_raw=reliability_bins(raw, ok)["ece"], ece_calibrated=reliability_bins(calibrated, ok)["ece"],
                     n_clips=len(records))
