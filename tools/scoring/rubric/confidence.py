"""Rule confidence: how sure a criterion's pass/fail is, from its margin in units of the expected error.

A criterion passes or fails by a margin (in its own unit: degrees, metres,
hand lengths...). Whether that margin is clear depends on how wrong the
measurement can be at this clip's view, so the margin is divided by the
measurement's expected error sd, whatever the unit:

    z = |margin| / sd,    confidence = Phi(z)

Phi is the standard normal CDF: the probability that the true value lies on
the measured side of the threshold if the measurement error is Gaussian with
that sd. 0.5 at the threshold, 0.84 at 1 sd, 0.98 at 2 sd, 0.999 at 3 sd.

Where the sd comes from (recorded per criterion as `error_source`):
1. tools.geometry.error_budget.expected_error(measure, view azimuth, camera
   height, from_video=...): the per-view error budget measured on rendered
   video (video input), or its documented default for skeleton input;
2. for skeleton input, the larger of that default and the criterion's
   `noise_sd` in knowledge/criteria.yaml: the sd of this measure under the
   synthetic pose-noise models (tools/synth/noise.py; measured by
   benchmarks/bench_rule_noise.py), because a skeleton file's own noise is
   unknown and the default describes a clean marker skeleton; a clip whose own
   jitter (measured before smoothing) exceeds the models' (REFERENCE_JITTER_MM)
   has its noise_sd scaled up by that ratio;
3. where the budget has nothing (no table yet, or no row): `noise_sd` for
   skeleton input; for video input half the criterion's `scale` (the margin
   its authors called clear-cut on video), since skeleton noise understates
   single-camera error;
4. a criterion with neither: its `scale` / SCALE_IN_SD (the old convention
   "scale = 3.5 noise sd").
Bias is not applied to the margin: the thresholds already allow for the
biases measured when they were set (knowledge/criteria.yaml comments).

View azimuth (the error budget's convention): the camera's direction seen from
the athlete about the vertical, relative to the way the athlete faces: 0 =
in front, +90 = on the athlete's left, +-180 behind. Taken from the camera
recorded in the skeleton's meta (synthetic and rendered clips, or the pose
step's camera fit: `view_azimuth_deg`), else unknown (the budget then takes
the worst measured view).
"""
from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass

import numpy as np

from tools.core.skeleton import Skeleton

log = logging.getLogger(__name__)

SCALE_IN_SD = 3.5      # criteria.yaml's old convention: scale = 3.5 x the measure's noise sd
# Median core-joint jitter (tools.geometry.quality jitter_mm) of the pose-noise models behind criteria.yaml's
# noise_sd (realistic 8.7, monocular 14, biased 7 mm; hard 22 mm): a noisier clip scales noise_sd up by
# its own jitter over this, never down (a smoothing tracker hides its errors from the jitter figure).
REFERENCE_JITTER_MM = 10.0


@dataclass(frozen=True)
class ClipView:
    """Where the camera was, for the error budget: azimuth (deg, see module docstring) and lens height (m)."""

    azimuth_deg: float | None
    camera_height_m: float | None
    from_video: bool
    noise_scale: float = 1.0      # this clip's jitter over REFERENCE_JITTER_MM (>= 1): scales noise_sd


def phi(z: float) -> float:
    """Standard normal CDF."""
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def outcome_confidence(margin_sd: float | None) -> float | None:
    """P(the outcome is right) for a margin of `margin_sd` error sd (either sign): Phi(|z|)."""
    if margin_sd is None or not math.isfinite(margin_sd):
        return None
    return phi(abs(float(margin_sd)))


def clip_view(skel: Skeleton, from_video: bool) -> ClipView:
    """The clip's camera azimuth and height from its meta (None where unknown), and its noise scale from
    the jitter the screening run measured before smoothing (meta raw_jitter_mm)."""
    view = _clip_camera(skel, from_video)
    jitter = _height((skel.meta or {}).get("raw_jitter_mm"))
    scale = max(1.0, jitter / REFERENCE_JITTER_MM) if jitter is not None and math.isfinite(jitter) else 1.0
    return ClipView(view.azimuth_deg, view.camera_height_m, from_video, noise_scale=round(scale, 3))


def _clip_camera(skel: Skeleton, from_video: bool) -> ClipView:
    meta = skel.meta or {}
    for holder in (meta, meta.get("pose") or {}, meta.get("camera_fit") or {}):
        if isinstance(holder, dict) and holder.get("view_azimuth_deg") is not None:
            try:
                return ClipView(float(holder["view_azimuth_deg"]), _height(holder.get("camera_height_m")), from_video)
            except (TypeError, ValueError):
                break
    cam = meta.get("camera") if isinstance(meta.get("camera"), dict) else None
    if cam and cam.get("position") is not None:
        try:
            position = np.asarray(cam["position"], float)
        except (TypeError, ValueError):
            return ClipView(None, None, from_video)
        return ClipView(_azimuth_from_camera(skel, position), float(position[1]), from_video)
    return ClipView(None, None, from_video)


def _height(value) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def _azimuth_from_camera(skel: Skeleton, position: np.ndarray) -> float | None:
    """Camera direction from the athlete relative to the athlete's facing at the start (deg, + = their left)."""
    n = max(1, min(skel.n_frames, int(round(0.3 * skel.fps))))
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        left = np.nanmedian(skel.joint("left_hip")[:n] - skel.joint("right_hip")[:n], axis=0) + \
            np.nanmedian(skel.joint("left_shoulder")[:n] - skel.joint("right_shoulder")[:n], axis=0)
        centre = np.nanmedian(0.5 * (skel.joint("left_hip")[:n] + skel.joint("right_hip")[:n]), axis=0)
    if not (np.isfinite(left).all() and np.isfinite(centre).all()):
        return None
    left = np.array([left[0], 0.0, left[2]])
    if np.linalg.norm(left) < 1e-6:
        return None
    left /= np.linalg.norm(left)
    facing = np.cross(left, [0.0, 1.0, 0.0])            # x = left, y = up -> z = facing (right-handed)
    to_cam = np.array([position[0] - centre[0], 0.0, position[2] - centre[2]])
    if np.linalg.norm(to_cam) < 1e-6:
        return None
    return float(np.degrees(np.arctan2(np.dot(to_cam, left), np.dot(to_cam, facing))))


def expected_sd(measure: str, spec: dict, view: ClipView) -> tuple[float | None, str]:
    """(sd in the criterion's unit, where it comes from) for one criterion at this view."""
    budget = None
    try:
        from tools.geometry.error_budget import expected_error
    except ImportError:                    # the error budget is not built in this install
        expected_error = None
    if expected_error is not None:
        try:
            budget = expected_error(measure, view.azimuth_deg, view.camera_height_m, from_video=view.from_video)
        except Exception as exc:           # noqa: BLE001 - a broken budget table must not stop scoring
            log.warning("error budget lookup failed for %s: %s", measure, exc)
            budget = None
    noise_sd = _positive(spec.get("noise_sd"))
    if noise_sd:
        noise_sd *= view.noise_scale
    scale = _positive(spec.get("scale"))
    if budget is not None and _positive(budget.sd):
        if not view.from_video and noise_sd and noise_sd > budget.sd:
            return noise_sd, ("synthetic pose-noise sd (knowledge/criteria.yaml noise_sd), larger than the "
                              f"skeleton-input default {budget.sd:.3g}")
        return float(budget.sd), budget.source
    if not view.from_video and noise_sd:
        return noise_sd, "synthetic pose-noise sd (knowledge/criteria.yaml noise_sd; no error budget for it)"
    if view.from_video and scale:
        return scale / 2.0, "half the criterion's scale (no error budget for this measure from video)"
    if noise_sd:
        return noise_sd, "synthetic pose-noise sd (knowledge/criteria.yaml noise_sd)"
    if scale:
        return scale / SCALE_IN_SD, f"criterion scale / {SCALE_IN_SD} (no error model)"
    return None, "no error model"


def _positive(value) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) and v > 0 else None


def annotate(criteria: list, specs: dict, view: ClipView) -> None:
    """Give each judged CriterionResult its error sd, margin in sd and the sd's source (in place)."""
    for c in criteria:
        spec = specs.get(c.id, {}) if isinstance(specs.get(c.id), dict) else {}
        sd, source = expected_sd(c.measure, spec, view)
        c.error_sd = None if sd is None else float(sd)
        c.error_source = source
        c.margin_sd = None if (sd is None or c.margin is None) else float(c.margin) / float(sd)
