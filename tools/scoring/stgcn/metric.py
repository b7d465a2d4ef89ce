"""A retrieval metric on the ST-GCN embedding: clips of the same test and score lie close.

The pooled ST-GCN features (64-d) are trained to tell tests and scores apart
through the heads, but their plain cosine similarity mixes scores: a score-2
squat sits beside score-3 squats. This module learns a linear map of those
features, fitted on labelled training clips by Neighbourhood Components
Analysis (Goldberger et al. 2004; sklearn NeighborhoodComponentsAnalysis): the
map that maximises the expected leave-one-out accuracy of a soft nearest
neighbour on the label (test, score), i.e. metric learning for exactly the
top-k retrieval the index does. Features are standardised first (training
mean and sd), projected to `n_components` dimensions and L2-normalised, so an
inner product is a cosine similarity. Pain clips (score 0) are left out of the
fit: pain is reported, not seen. Stored in the checkpoint as plain tensors.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from tools.core.errors import InputError

DEFAULT_COMPONENTS = 32


@dataclass
class MetricProjection:
    """Standardise (mean [D], scale [D]) then project (components [K, D]); rows L2-normalised."""

    mean: np.ndarray
    scale: np.ndarray
    components: np.ndarray
    method: str = "nca"
    n_fit: int = 0

    @property
    def dim(self) -> int:
        return int(self.components.shape[0])

    def transform(self, features: np.ndarray) -> np.ndarray:
        """features [N, D] -> float32 [N, K], unit rows."""
        z = (np.asarray(features, np.float64) - self.mean) / self.scale
        y = z @ self.components.T
        return (y / np.maximum(np.linalg.norm(y, axis=1, keepdims=True), 1e-9)).astype(np.float32)

    def to_state(self) -> dict:
        return {"method": self.method, "mean": torch.as_tensor(self.mean, dtype=torch.float32),
                "scale": torch.as_tensor(self.scale, dtype=torch.float32),
                "components": torch.as_tensor(self.components, dtype=torch.float32), "n_fit": int(self.n_fit)}

    @classmethod
    def from_state(cls, state: dict) -> "MetricProjection":
        return cls(mean=np.asarray(state["mean"], np.float64), scale=np.asarray(state["scale"], np.float64),
                   components=np.asarray(state["components"], np.float64), method=str(state.get("method", "nca")),
                   n_fit=int(state.get("n_fit", 0)))


def retrieval_label(test_index: int, score: int) -> int:
    """One class per (test, score level 1-3)."""
    return 4 * int(test_index) + int(score)


def fit_metric(features: np.ndarray, labels: np.ndarray, n_components: int = DEFAULT_COMPONENTS,
               seed: int = 0, max_iter: int = 100) -> MetricProjection:
    """NCA on standardised features (module docstring). labels [N]: retrieval_label per clip."""
    from sklearn.neighbors import NeighborhoodComponentsAnalysis
    x = np.asarray(features, np.float64)
    y = np.asarray(labels, int)
    if len(x) < 10 or len(set(y.tolist())) < 2:
        raise InputError("fitting the retrieval metric needs at least 10 labelled clips of 2 or more classes")
    mean = x.mean(axis=0)
    scale = np.maximum(x.std(axis=0), 1e-6)
    k = int(min(n_components, x.shape[1], len(x) - 1))
    nca = NeighborhoodComponentsAnalysis(n_components=k, init="pca" if k <= len(x) - 1 else "random",
                                         max_iter=max_iter, random_state=seed)
    nca.fit((x - mean) / scale, y)
    return MetricProjection(mean=mean, scale=scale, components=np.asarray(nca.components_, np.float64),
                            n_fit=len(x))
