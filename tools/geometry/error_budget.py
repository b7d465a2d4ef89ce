"""Expected measurement error per camera view: the per-view error budget, read from knowledge/.

`expected_error(measurement, view_azimuth_deg, camera_height_m, from_video=True)`
returns a `MeasurementError` (sd, bias, unit, n_clips, source) in the
measurement's own unit, or None when nothing is known for it.

- Video input: looked up in knowledge/error_budget.yaml (data, read by path,
  like knowledge/criteria.yaml; tools never import knowledge/). That table is
  written by one command, `benchmarks/bench_angles_video.py --write-budget`,
  from rendered clips of the seven tests with known truth, filmed from a set
  of azimuths and two camera heights. `bias` is mean(measured - true) and `sd`
  the root-mean-square error (bias included), over the clips of that view.
  The azimuth is interpolated linearly between the two nearest measured
  azimuths (on the circle); a camera height between two measured heights
  takes the larger of their errors, None takes the larger over all heights.
  A two-sided measurement the criteria read as one value (hip_below_knee_deg,
  the mean of both limbs) takes the worse of its left and right rows. A
  measurement or view the table has no row for gives None.
- Skeleton input (`from_video=False`: a canonical skeleton from a motion-capture
  system or a multi-camera reconstruction): a small documented default per unit,
  SKELETON_INPUT_SD (the residual error of a good marker / multi-view skeleton,
  not a figure measured here).

View azimuth convention (the same as the fit's `view_azimuth_deg`): the
camera's direction seen from the athlete, about the vertical, relative to the
way the athlete faces: 0 = camera in front, +90 = camera on the athlete's
left, -90 on the athlete's right, +-180 behind. Bilateral measurements are
stored for the left limb; a right-limb measurement is read at the mirrored
azimuth (right at -a = left at +a). One-sided measurements (trunk, pelvis...)
are mirror-symmetric: read at |a|.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

log = logging.getLogger(__name__)

# tools/geometry/error_budget.py -> the repository root, beside which knowledge/ sits
BUDGET_FILE = Path(__file__).resolve().parents[2] / "knowledge" / "error_budget.yaml"

# Skeleton input (not from one camera's video): the error of a good multi-camera or marker skeleton,
# per unit. Documented defaults, not measured here: ~1 deg on joint angles and 1 cm on positions are
# the usual agreement of marker-based motion capture with itself across sessions' processing.
SKELETON_INPUT_SD: dict[str, float] = {
    "deg": 1.0, "m": 0.01, "ratio": 0.03, "fraction": 0.02, "hand_lengths": 0.05, "level": 0.05,
    "cos": 0.02, "share": 0.02,
}
SKELETON_INPUT_SOURCE = "default for skeleton input (tools.geometry.error_budget.SKELETON_INPUT_SD)"


@dataclass(frozen=True)
class MeasurementError:
    """Expected error of one measurement at one view, in the measurement's unit.

    sd: root-mean-square error (bias included); bias: mean measured - true;
    n_clips: clips behind the figure (0 for a default); source: where it comes from.
    """

    sd: float
    bias: float
    unit: str
    n_clips: int
    source: str


def expected_error(measurement: str, view_azimuth_deg: float | None, camera_height_m: float | None = None, *,
                   from_video: bool = True) -> MeasurementError | None:
    """Expected error of `measurement` seen from `view_azimuth_deg` (None = view unknown: the worst view).

    See the module docstring for the conventions. None when the measurement is
    unknown, or (video) when the table holds nothing for it.
    """
    unit = _unit_of(measurement)
    if not from_video:
        if unit is None or unit not in SKELETON_INPUT_SD:
            return None
        return MeasurementError(sd=SKELETON_INPUT_SD[unit], bias=0.0, unit=unit, n_clips=0,
                                source=SKELETON_INPUT_SOURCE)
    table = load_budget()
    rows_all = table.get("measurements", {})
    source = table.get("source", str(BUDGET_FILE))
    if measurement not in rows_all and _sided(measurement) is None and f"left_{measurement}" in rows_all:
        # a two-sided measure read as the mean (or either) of both limbs: the worse of the two limbs' errors
        got = [expected_error(f"{side}_{measurement}", view_azimuth_deg, camera_height_m) for side in ("left", "right")]
        got = [g for g in got if g is not None]
        return max(got, key=lambda g: g.sd) if got else None
    key, azimuth = _table_key(measurement, view_azimuth_deg)
    rows = rows_all.get(key)
    if not rows:
        return None
    return _lookup(rows, azimuth, camera_height_m, unit or rows.get("unit", ""), source)


def load_budget(path: str | Path | None = None) -> dict:
    """The error-budget table (default: knowledge/error_budget.yaml), cached; {} when the file is missing.

    Callers must not mutate it.
    """
    return _read(str(path or BUDGET_FILE))


@lru_cache(maxsize=4)
def _read(path: str) -> dict:
    p = Path(path)
    if not p.is_file():
        log.info("error budget: no table at %s; expected errors for video are unknown", p)
        return {}
    with open(p) as fh:
        return yaml.safe_load(fh) or {}


def _unit_of(measurement: str) -> str | None:
    from tools.geometry.angles import SPECS
    spec = SPECS.get(measurement)
    return spec.unit if spec is not None else None


def _sided(measurement: str) -> str | None:
    for side in ("left", "right"):
        if measurement.startswith(side + "_"):
            return side
    return None


def _table_key(measurement: str, azimuth: float | None) -> tuple[str, float | None]:
    """(row key in the table, the azimuth to read it at) after the left/right mirror."""
    side = _sided(measurement)
    if azimuth is not None:
        azimuth = _wrap(float(azimuth))
    if side == "right":
        return "left_" + measurement[len("right_"):], None if azimuth is None else _wrap(-azimuth)
    if side is None and azimuth is not None:
        return measurement, abs(azimuth)
    return measurement, azimuth


def _wrap(a: float) -> float:
    """Angle in (-180, 180]."""
    a = math.fmod(a, 360.0)
    if a > 180.0:
        a -= 360.0
    if a <= -180.0:
        a += 360.0
    return a


def _lookup(rows: dict, azimuth: float | None, height: float | None, unit: str, source: str) -> MeasurementError | None:
    views = [v for v in rows.get("views", []) if v.get("sd") is not None]
    if not views:
        return None
    heights = sorted({float(v["camera_height_m"]) for v in views})
    if height is None:
        use_heights = heights
    else:
        below = [h for h in heights if h <= height]
        above = [h for h in heights if h >= height]
        use_heights = sorted({(below[-1] if below else heights[0]), (above[0] if above else heights[-1])})
    best: MeasurementError | None = None
    for h in use_heights:
        at_h = [v for v in views if float(v["camera_height_m"]) == h]
        got = _interp_azimuth(at_h, azimuth, unit, source)
        if got is not None and (best is None or got.sd > best.sd):
            best = got
    return best


def _interp_azimuth(views: list[dict], azimuth: float | None, unit: str, source: str) -> MeasurementError | None:
    if not views:
        return None
    if azimuth is None:
        worst = max(views, key=lambda v: float(v["sd"]))
        return MeasurementError(float(worst["sd"]), float(worst.get("bias", 0.0)), unit, int(worst.get("n_clips", 0)),
                                f"{source} (view unknown: worst measured view, {worst['azimuth_deg']} deg)")
    # +180 and -180 are the same view: the table's back view closes the circle on both ends
    views = views + [dict(v, azimuth_deg=-180.0) for v in views if float(v["azimuth_deg"]) == 180.0
                     and not any(float(w["azimuth_deg"]) == -180.0 for w in views)]
    ordered = sorted(views, key=lambda v: float(v["azimuth_deg"]))
    az = [float(v["azimuth_deg"]) for v in ordered]
    # The table covers a span of azimuths; outside it, the nearest end stands (no extrapolation).
    if azimuth <= az[0] or azimuth >= az[-1] or len(ordered) == 1:
        v = ordered[0] if abs(azimuth - az[0]) <= abs(azimuth - az[-1]) else ordered[-1]
        return MeasurementError(float(v["sd"]), float(v.get("bias", 0.0)), unit, int(v.get("n_clips", 0)),
                                f"{source} (azimuth {v['azimuth_deg']} deg)")
    hi = next(i for i, a in enumerate(az) if a >= azimuth)
    lo = hi - 1
    w = (azimuth - az[lo]) / (az[hi] - az[lo]) if az[hi] > az[lo] else 0.0
    a, b = ordered[lo], ordered[hi]
    sd = (1 - w) * float(a["sd"]) + w * float(b["sd"])
    bias = (1 - w) * float(a.get("bias", 0.0)) + w * float(b.get("bias", 0.0))
    n = min(int(a.get("n_clips", 0)), int(b.get("n_clips", 0)))
    return MeasurementError(sd, bias, unit, n, f"{source} (azimuth {azimuth:.0f} deg, between {az[lo]:g} and {az[hi]:g})")
