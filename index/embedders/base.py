"""The one interface every embedder implements (name, version, dim, modality, embed), and unit rows.

Rows are L2-normalised, so an inner product is a cosine similarity.
"""
from __future__ import annotations

import hashlib
import json
import logging
from typing import Any, Protocol, Sequence, runtime_checkable

import numpy as np


log = logging.getLogger(__name__)


@runtime_checkable
class Embedder(Protocol):
    """The one interface every embedder implements."""

    name: str
    modality: str

    @property
    def version(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def embed(self, items: Sequence[Any]) -> np.ndarray:
        """float32[N, dim], rows L2-normalised."""


def l2_normalise(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (all-zero rows stay zero)."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return np.where(norms > 0, x / np.maximum(norms, 1e-12), 0.0).astype(np.float32)


def _config_hash(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:10]
