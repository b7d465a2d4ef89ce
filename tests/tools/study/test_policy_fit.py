"""Fitting the decision policy: monotone calibration, a review line that holds the accuracy, a careful veto."""
from __future__ import annotations

import numpy as np
import pytest

from tools.study.policy_fit import PolicyRecord, choose_line, fit_calibration, fit_policy, risk_coverage, wilson_low


def _records(n=600, seed=0):
    rng = np.random.default_rng(seed)
    conf = rng.uniform(0.5, 1.0, n)
    correct = rng.random(n) < conf ** 3            # higher rule confidence, more often right
    out = []
    for c, ok in zip(conf, correct):
        wrong_flag = (not ok) and rng.random() < 0.5
        out.append(PolicyRecord(correct=bool(ok), rule_confidence=float(c), stgcn_in_distribution=True,
                                stgcn_best_p=0.95 if wrong_flag else 0.9, stgcn_p_rule=0.02 if wrong_flag else 0.9,
                                stgcn_agrees=not wrong_flag))
    return out


def test_calibration_is_monotone_and_bounded():
    recs = _records()
    x, y = fit_calibration([r.rule_confidence for r in recs], [r.correct for r in recs])
    assert x == sorted(x) and y == sorted(y) and 0.0 <= y[0] and y[-1] <= 1.0


def test_the_review_line_holds_the_target_accuracy_on_the_clips_it_lets_through():
    recs = _records()
    fit = fit_policy(recs, target_accuracy=0.95)
    line = fit.line
    assert line["unflagged_accuracy"] >= 0.95 and 0 < line["coverage"] < 1
    # every line above the chosen one holds the target too
    conf = np.interp([r.rule_confidence for r in recs], fit.calibration_rule_confidence, fit.calibration_p_correct)
    ok = np.array([r.correct for r in recs])
    for t in np.unique(conf[conf >= line["min_confidence"]]):
        assert ok[conf >= t].mean() >= 0.95


def test_the_second_opinion_thresholds_catch_errors_without_vetoing_right_answers():
    recs = _records()
    fit = fit_policy(recs, target_accuracy=0.9, max_false_veto_share=0.01)
    chosen = fit.second_opinion["chosen"]
    assert chosen["errors_caught"] > 0 and chosen["correct_sent_share"] <= 0.01


def test_risk_coverage_and_wilson():
    conf = np.array([0.9, 0.8, 0.7, 0.6])
    ok = np.array([True, True, False, True])
    curve = risk_coverage(conf, ok)
    assert curve[0]["coverage"] == 1.0 and curve[-1]["n"] == 0
    assert choose_line(conf, ok, np.ones(4, bool), 0.99)["min_confidence"] == pytest.approx(0.8)
    assert wilson_low(97, 100) == pytest.approx(0.915, abs=0.01)
