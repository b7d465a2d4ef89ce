"""Temperature scaling (Guo et al. 2017) for the ST-GCN heads, fitted on a validation split.

One scalar T > 0 per head divides its logits; T is chosen to minimise the
negative log-likelihood of the validation labels (scipy bounded search over
log T, T in [0.5, 20]), which leaves the argmax unchanged and only makes the probabilities
honest. The score head's cumulative logits are divided by its own T before
they become P(score = 1, 2, 3).
"""
from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import minimize_scalar
from torch.nn import functional as F

from tools.scoring.stgcn.model import cumulative_to_probs

# T is searched in [0.5, 20]: a validation split the head separates perfectly (synthetic test
# recognition does) would otherwise drive T towards 0, i.e. certainty no real clip earns.
_LOG_T_BOUNDS = (np.log(0.5), np.log(20.0))


def _fit(nll) -> float:
    res = minimize_scalar(lambda log_t: nll(float(np.exp(log_t))), bounds=_LOG_T_BOUNDS, method="bounded")
    return float(np.exp(res.x))


def fit_softmax_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """T for a softmax head: logits [N, K], labels [N] (ints); 1.0 when there is nothing to fit."""
    if len(labels) == 0:
        return 1.0
    lg = torch.as_tensor(logits, dtype=torch.float64)
    y = torch.as_tensor(labels, dtype=torch.long)
    return _fit(lambda t: float(F.cross_entropy(lg / t, y)))


def fit_ordinal_temperature(cum_logits: np.ndarray, targets: np.ndarray) -> float:
    """T for the cumulative-link head: cum_logits [N, 2] of each clip's own test, targets [N] in 0-2."""
    if (np.asarray(targets) >= 0).sum() == 0:
        return 1.0
    return _fit(lambda t: ordinal_nll(cum_logits, targets, t))


def ordinal_nll(cum_logits: np.ndarray, targets: np.ndarray, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood of the true level under the cumulative-link head.
    cum_logits [N, 2], targets [N] in 0-2 (-1 = pain, left out); NaN when no clip is scored."""
    targets = np.asarray(targets)
    keep = targets >= 0
    if keep.sum() == 0:
        return float("nan")
    cl = torch.as_tensor(np.asarray(cum_logits)[keep], dtype=torch.float64)
    y = torch.as_tensor(targets[keep], dtype=torch.long)
    p = cumulative_to_probs(cl, temperature).clamp_min(1e-12)
    return float(-torch.log(p[torch.arange(len(y)), y]).mean())


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, n_bins: int = 10) -> float:
    """ECE: bin-size-weighted mean |accuracy - confidence| over equal-width confidence bins."""
    confidence = np.asarray(confidence, dtype=float)
    correct = np.asarray(correct, dtype=float)
    if len(confidence) == 0:
        return float("nan")
    bins = np.clip((confidence * n_bins).astype(int), 0, n_bins - 1)
    ece = 0.0
    for b in range(n_bins):
        m = bins == b
        if m.any():
            ece += m.mean() * abs(correct[m].mean() - confidence[m].mean())
    return float(ece)
