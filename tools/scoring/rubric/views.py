"""Which camera view a clip was filmed from, and whether that view can judge a criterion.

`estimate_view(skel)` -> (View, width_to_torso_ratio). A View is the view's
name as a string (front / side / oblique / back / unknown, what the rule
modules and the verdict read) that also carries the camera's azimuth seen
from the athlete when it is known (`azimuth_deg`: 0 = in front, +90 = on the
athlete's left, -90 on their right, +-180 behind), the lens height above the
floor (`camera_height_m`) and whether the skeleton came from one camera's
video (`from_video`). Sources, in order:
  1. a view the skeleton's meta states (`camera_view`, e.g. a rendered clip);
  2. the measurement stage's fit (meta["fit"]: view azimuth and lens height);
  3. the image coordinates: shoulder and hip width in pixels relative to torso
     length (wide = front, narrow = side);
  4. else "unknown" (a camera-independent skeleton: every criterion is judged).
Azimuth -> name: |a| <= 25 front, 65-115 side, >= 155 back, otherwise oblique.

`view_gate(measure, spec, view)` decides whether this view can judge one
criterion. Where the per-view error budget (tools.geometry.error_budget) knows
the measurement, the criterion is judged only when the expected error sd at
this view is within the criterion's `scale` (the margin its threshold calls
clear-cut); otherwise the reason names the view it needs and how far this one
is from it ("film from the side (about 90 deg to the athlete's left): this view
is 35 deg off it"). Without a budget row the criterion's `view` field decides
(tools.scoring.rubric.result.view_can_judge).
"""
from __future__ import annotations

import math

import numpy as np

from tools.core.skeleton import Skeleton

# width/torso ratio limits (shoulder+hip width over torso length, in the image)
FRONT_RATIO = 0.55
SIDE_RATIO = 0.25
VIEW_ALIASES = {"front": "front", "side": "side", "oblique": "oblique", "45": "oblique",
                "45deg": "oblique", "diagonal": "oblique", "back": "back"}
FRONT_MAX_DEG, SIDE_RANGE_DEG, BACK_MIN_DEG = 25.0, (65.0, 115.0), 155.0
GATE_SD_OVER_SCALE = 1.0          # judged when expected error sd <= this x the criterion's scale


class View(str):
    """The view's name (a str) with the camera's azimuth, lens height and input kind when known."""

    azimuth_deg: float | None
    camera_height_m: float | None
    from_video: bool
    second = None       # a second clip of the same repetition (rubric/two_views.SecondView), when one was filmed

    def __new__(cls, name: str, azimuth_deg: float | None = None, camera_height_m: float | None = None,
                from_video: bool = False):
        obj = super().__new__(cls, name)
        obj.azimuth_deg = None if azimuth_deg is None else float(azimuth_deg)
        obj.camera_height_m = None if camera_height_m is None else float(camera_height_m)
        obj.from_video = bool(from_video)
        return obj


def view_name(azimuth_deg: float) -> str:
    """front / side / back / oblique for an azimuth (module docstring)."""
    a = abs((float(azimuth_deg) + 180.0) % 360.0 - 180.0)
    if a <= FRONT_MAX_DEG:
        return "front"
    if SIDE_RANGE_DEG[0] <= a <= SIDE_RANGE_DEG[1]:
        return "side"
    if a >= BACK_MIN_DEG:
        return "back"
    return "oblique"


def _from_video(skel: Skeleton) -> bool:
    return "pose" in skel.meta or skel.meta.get("backend") in ("mediapipe", "yolo")


def estimate_view(skel: Skeleton) -> tuple[View, float | None]:
    """Return (view, width_to_torso_ratio) with view in front / side / oblique / back / unknown."""
    video = _from_video(skel)
    fit = skel.meta.get("fit") if isinstance(skel.meta.get("fit"), dict) else {}
    azimuth, height = fit.get("view_azimuth_deg"), fit.get("camera_height_m")
    stated = VIEW_ALIASES.get(str(skel.meta.get("camera_view", "")).lower())
    if stated:
        return View(stated, azimuth, height, video), None
    if azimuth is not None:
        return View(view_name(azimuth), azimuth, height, video), None
    if skel.uv is None:
        return View("unknown", None, None, video), None
    ls, rs, lh, rh = (skel.joint_uv(j) for j in ("left_shoulder", "right_shoulder", "left_hip", "right_hip"))
    width = (np.linalg.norm(ls - rs, axis=-1) + np.linalg.norm(lh - rh, axis=-1)) / 2
    torso = np.linalg.norm((ls + rs) / 2 - (lh + rh) / 2, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = width / torso
    ratio = ratio[np.isfinite(ratio)]
    if ratio.size == 0:
        return View("unknown", None, None, video), None
    r = float(np.median(ratio))
    if r >= FRONT_RATIO:
        return View("front", None, None, video), r
    if r <= SIDE_RATIO:
        return View("side", None, None, video), r
    return View("oblique", None, None, video), r


def _describe(azimuth: float) -> str:
    a = (azimuth + 180.0) % 360.0 - 180.0
    name = view_name(a)
    if name == "front":
        return "from the front"
    if name == "back":
        return "from behind"
    where = "left" if a > 0 else "right"
    if name == "side":
        return f"from the side (about {abs(a):.0f} deg to the athlete's {where})"
    return f"from about {abs(a):.0f} deg to the athlete's front-{where}" if abs(a) < 90 else \
        f"from about {abs(a):.0f} deg to the athlete's back-{where}"


def budget_error(measure: str, view: str):
    """The error budget's MeasurementError for `measure` at this view, or None (no budget, no azimuth)."""
    azimuth = getattr(view, "azimuth_deg", None)
    if azimuth is None:
        return None
    from tools.geometry.error_budget import expected_error
    return expected_error(measure, azimuth, getattr(view, "camera_height_m", None),
                          from_video=getattr(view, "from_video", True))


def view_gate(measure: str, spec: dict, view: str) -> str | None:
    """None when this view can judge the criterion on the error budget; else the reason (module docstring).

    Raises LookupError when the budget has nothing for this measure at this view (the caller then
    falls back to the criterion's `view` field).
    """
    err = budget_error(measure, view)
    if err is None:
        raise LookupError(measure)
    scale = float(spec.get("scale", 0.0) or 0.0)
    limit = GATE_SD_OVER_SCALE * scale
    if scale <= 0 or err.sd <= limit:
        return None
    azimuth = float(view.azimuth_deg)
    best = None
    from tools.geometry.error_budget import expected_error
    for cand in np.arange(-180.0, 180.0, 5.0):
        e = expected_error(measure, float(cand), getattr(view, "camera_height_m", None), from_video=view.from_video)
        if e is not None and e.sd <= limit:
            off = abs((cand - azimuth + 180.0) % 360.0 - 180.0)
            if best is None or off < best[0]:
                best = (off, float(cand))
    here = f"the expected error of {measure} at this view ({azimuth:.0f} deg) is {err.sd:.2g} {err.unit}, " \
           f"more than the criterion's margin of {scale:g} {err.unit}"
    if best is None:
        return f"no camera view measures it well enough from one video ({here}); a physio checks it"
    return f"film {_describe(best[1])}: this view is {math.ceil(best[0]):.0f} deg off it ({here})"
