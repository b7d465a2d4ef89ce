"""Motion embedders over a canonical skeleton: kinematic (joint-angle series, no weights), ST-GCN, and the
ST-GCN through its retrieval metric (stgcn-metric: clips of the same test and score lie close).

See index/embedders/registry.py for what each encodes and how versions are named.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from tools.core.errors import BackendUnavailable, InputError
from tools.core.skeleton import Skeleton

log = logging.getLogger(__name__)
from index.embedders.base import _config_hash, l2_normalise


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


class STGCNMetricEmbedder(STGCNEmbedder):
    """The ST-GCN embedding through the checkpoint's retrieval metric (tools.scoring.stgcn.metric: NCA fitted on
    labelled training clips so that the same test and score lie close). Contract expected from
    tools.scoring.stgcn: `embed_metric_skeleton(skel, checkpoint=None)`, `metric_embedding_version(checkpoint=None)`
    and METRIC_EMBEDDING_DIM; a checkpoint without a metric raises BackendUnavailable when the embedder is built."""

    name = "stgcn-metric"

    def __init__(self, checkpoint: str | Path | None = None) -> None:
        try:
            import tools.scoring.stgcn as stgcn
        except ImportError as exc:
            raise BackendUnavailable("the stgcn-metric embedder needs tools.scoring.stgcn; use --embedder kinematic") from exc
        missing = [f for f in ("embed_metric_skeleton", "metric_embedding_version") if not hasattr(stgcn, f)]
        if missing:
            raise BackendUnavailable(f"tools.scoring.stgcn lacks {missing}; use --embedder kinematic")
        self._stgcn = stgcn
        self.checkpoint = None if checkpoint is None else str(checkpoint)
        self._dim = int(getattr(stgcn, "METRIC_EMBEDDING_DIM", 0)) or None
        self._version = str(stgcn.metric_embedding_version(self.checkpoint))

    def embed(self, items: Sequence[Skeleton]) -> np.ndarray:
        rows = [np.asarray(self._stgcn.embed_metric_skeleton(s, checkpoint=self.checkpoint), dtype=np.float32).ravel()
                for s in items]
        out = np.stack(rows) if rows else np.zeros((0, self._dim or 0), dtype=np.float32)
        self._dim = out.shape[1] if rows else self._dim
        return l2_normalise(out)
