"""Measured series: computing the rows of MEASUREMENTS over a skeleton, and writing them to CSV."""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from tools.core.skeleton import Skeleton
from tools.geometry.angles.table import MEASUREMENTS, SPECS


@dataclass
class Measurement:
    """A measured time series with its extremes."""

    name: str
    unit: str
    view: str
    values: np.ndarray  # [T]

    def _frame(self, fn) -> int | None:
        if not np.isfinite(self.values).any():
            return None
        return int(fn(np.where(np.isfinite(self.values), self.values, np.nan)))

    @property
    def max_frame(self) -> int | None:
        return self._frame(np.nanargmax)

    @property
    def min_frame(self) -> int | None:
        return self._frame(np.nanargmin)

    def at(self, frame: int | None) -> float | None:
        if frame is None or not np.isfinite(self.values[frame]):
            return None
        return float(self.values[frame])

    def summary(self) -> dict:
        mx, mn = self.max_frame, self.min_frame
        return {"name": self.name, "unit": self.unit, "view": self.view,
                "max": self.at(mx), "max_frame": mx, "min": self.at(mn), "min_frame": mn,
                "valid_share": float(np.isfinite(self.values).mean()) if len(self.values) else 0.0}


def measure(skel: Skeleton, names: list[str] | None = None) -> dict[str, Measurement]:
    """Compute the named measurements (all of MEASUREMENTS when `names` is None)."""
    specs = MEASUREMENTS if names is None else [SPECS[n] for n in names]
    out = {}
    for spec in specs:
        # all-NaN frames (joint not seen) are expected: they give NaN, not a warning
        with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            values = np.asarray(spec.compute(skel), dtype=np.float64)
        out[spec.name] = Measurement(spec.name, spec.unit, spec.view, values)
    return out


def save_series_csv(measurements: dict[str, Measurement], fps: float, path) -> None:
    """Write all series to a CSV: time_s then one column per measurement (name carries the unit)."""
    import csv
    names = list(measurements)
    n = len(next(iter(measurements.values())).values) if measurements else 0
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["frame", "time_s"] + names)
        for t in range(n):
            w.writerow([t, f"{t / fps:.4f}"] + [
                "" if not np.isfinite(measurements[k].values[t]) else f"{measurements[k].values[t]:.4f}"
                for k in names])
