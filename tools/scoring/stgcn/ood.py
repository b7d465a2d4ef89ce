"""Out-of-distribution detection for the ST-GCN: is this clip like the clips it was trained on?

A network trained on one generator is confidently wrong on movements unlike its
training clips, so its opinion is only asked for where it has seen similar
movement. The detector is the Mahalanobis distance of the clip's pooled
embedding (the 64-d features before the heads, tools.scoring.stgcn.model) to the
training clips of the same test (Lee et al. 2018, "A simple unified framework
for detecting out-of-distribution samples"):

    d_t(h) = sqrt((h - mu_t)^T P (h - mu_t))

mu_t is the mean embedding of test t's training clips, P the inverse of one
covariance shared by all tests (Ledoit-Wolf shrinkage, sklearn), both fitted on
the training split without augmentation. The threshold of each test is the
`quantile` (default 0.99) of d_t over the held-out validation athletes' clips
of that test, never below the same quantile over all validation clips: a clip
farther than 99 % of unseen-but-familiar clips is out of distribution, and the
second opinion abstains on it. Everything is stored in the checkpoint (plain
tensors, loadable with weights_only=True).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from tools.core.errors import InputError

DEFAULT_QUANTILE = 0.99


@dataclass
class MahalanobisOOD:
    """Class means [K, D], shared precision [D, D], per-class thresholds [K] (in distance units)."""

    means: np.ndarray
    precision: np.ndarray
    thresholds: np.ndarray
    quantile: float
    n_fit: int
    n_calibration: int

    def distance(self, features: np.ndarray, classes: np.ndarray) -> np.ndarray:
        """Mahalanobis distance [N] of features [N, D] to the mean of each row's class [N]."""
        diff = np.asarray(features, np.float64) - self.means[np.asarray(classes, int)]
        return np.sqrt(np.maximum(np.einsum("nd,de,ne->n", diff, self.precision, diff), 0.0))

    def check(self, features: np.ndarray, classes: np.ndarray) -> list[dict]:
        """Per clip: distance, threshold, in_distribution, and distance / threshold (`ratio`)."""
        d = self.distance(features, classes)
        thr = self.thresholds[np.asarray(classes, int)]
        return [{"distance": round(float(a), 3), "threshold": round(float(b), 3),
                 "ratio": round(float(a / b), 3) if b > 0 else None, "in_distribution": bool(a <= b)}
                for a, b in zip(d, thr)]

    def to_state(self) -> dict:
        return {"method": "mahalanobis-shared-covariance", "means": torch.as_tensor(self.means, dtype=torch.float32),
                "precision": torch.as_tensor(self.precision, dtype=torch.float32),
                "thresholds": torch.as_tensor(self.thresholds, dtype=torch.float32),
                "quantile": float(self.quantile), "n_fit": int(self.n_fit), "n_calibration": int(self.n_calibration)}

    @classmethod
    def from_state(cls, state: dict) -> "MahalanobisOOD":
        return cls(means=np.asarray(state["means"], np.float64), precision=np.asarray(state["precision"], np.float64),
                   thresholds=np.asarray(state["thresholds"], np.float64), quantile=float(state["quantile"]),
                   n_fit=int(state["n_fit"]), n_calibration=int(state["n_calibration"]))


def fit_ood(features: np.ndarray, classes: np.ndarray, val_features: np.ndarray, val_classes: np.ndarray,
            n_classes: int, quantile: float = DEFAULT_QUANTILE) -> MahalanobisOOD:
    """Fit means and shared covariance on the training features, thresholds on the validation features."""
    from sklearn.covariance import LedoitWolf
    features, classes = np.asarray(features, np.float64), np.asarray(classes, int)
    if len(features) < 2 or len(val_features) == 0:
        raise InputError("the out-of-distribution detector needs training clips and validation clips "
                         "(at least two athletes)")
    overall = features.mean(axis=0)
    means = np.stack([features[classes == k].mean(axis=0) if (classes == k).any() else overall
                      for k in range(n_classes)])
    centred = features - means[classes]
    precision = LedoitWolf().fit(centred).precision_
    model = MahalanobisOOD(means=means, precision=precision, thresholds=np.zeros(n_classes), quantile=quantile,
                           n_fit=len(features), n_calibration=len(val_features))
    d_val = model.distance(val_features, val_classes)
    floor = float(np.quantile(d_val, quantile))
    val_classes = np.asarray(val_classes, int)
    model.thresholds = np.array([max(floor, float(np.quantile(d_val[val_classes == k], quantile)))
                                 if (val_classes == k).sum() >= 5 else floor for k in range(n_classes)])
    return model
