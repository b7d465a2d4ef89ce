"""Plain-language problems with a fit: what in the clip keeps its angles from being trusted.

`check_fit(xyz, uv, conf, report)` returns (problems, notes). A problem sends
the clip to physio review with its sentence (it reaches the verdict through
the quality report); a note is kept for the record.
  feet never seen      heels, toes and ankles seen (conf >= FEET_CONF) in fewer
                       than MIN_FEET_SHARE of the frames: no floor, no camera height
  camera too steep     |pitch| > MAX_PITCH_DEG: seen from above (or below) at a
                       steep angle, depth and "vs vertical" angles are unreliable
  picture turned       |roll| > MAX_ROLL_DEG: the picture is not upright (a phone
                       video whose rotation was not recorded)
  poor fit             median reprojection residual > MAX_RESIDUAL_SHARE of the
                       figure's size: the keypoints do not fit one body
  seen from above      the pose model's own 3D (camera-aligned) shows the standing
                       body at the start of the clip tilted more than MAX_MODEL_TILT_DEG
                       towards the lens (median over the first quarter of the frames
                       where the body is upright in the image): the fit's pitch comes
                       from priors the body can absorb, so a steep view is caught here
                       (rendered clips with the lens at 0.6-1.2 m: at most 19 deg; lens
                       at 3.2 m, ~41 deg down: 30 deg; benchmarks/bench_bad_views_video.py)
  no floor contact     no joint was found resting on the floor in any frame (a jump,
                       a figure cut at the shins): floor, lens height and pitch are
                       the priors' guesses, not measured
"""
from __future__ import annotations

import numpy as np

from tools.core.skeleton import JOINT_INDEX as JI

FEET_CONF = 0.5
MIN_FEET_SHARE = 0.3
MAX_PITCH_DEG = 30.0
MAX_ROLL_DEG = 15.0
MAX_RESIDUAL_SHARE = 0.04
MAX_MODEL_TILT_DEG = 25.0
MIN_STANDING_SHARE = 0.4      # the tilt is read only on clips that stand this share of the frames
LYING_TILT_DEG = 60.0          # beyond this the body lies (push-up, ASLR), not a camera's tilt
FEET = [JI[f"{s}_{j}"] for s in ("left", "right") for j in ("ankle", "heel", "toe")]


def model_tilt_deg(world: np.ndarray | None, uv: np.ndarray) -> float | None:
    """Median tilt (deg, + = top towards the lens) of the pose model's ankles-to-shoulders axis over the first
    quarter of the frames where the body stands (upright in the image, knees over ankles and hips over knees in
    the model's 3D); None when it never does."""
    if world is None:
        return None
    mid = lambda a, j: (a[:, JI[f"left_{j}"]] + a[:, JI[f"right_{j}"]]) / 2  # noqa: E731
    axis = mid(world, "shoulder") - mid(world, "ankle")             # pose model: y down, z away from the camera
    axis_2d = mid(uv, "shoulder") - mid(uv, "ankle")
    upright = np.isfinite(axis).all(-1) & np.isfinite(axis_2d).all(-1)
    upright &= np.abs(axis_2d[:, 0]) < 0.5 * np.abs(axis_2d[:, 1])
    # standing in the model's 3D too: knees well above the ankles and hips above the knees (y down); a body on
    # all fours or lying filmed head-on looks upright in the image, foreshortened, and leans by 40-50 deg
    upright &= (mid(world, "ankle")[:, 1] - mid(world, "knee")[:, 1] > 0.25)
    upright &= (mid(world, "knee")[:, 1] - mid(world, "hip")[:, 1] > 0.2)
    idx = np.flatnonzero(upright)
    if idx.size < 3 or idx.size < MIN_STANDING_SHARE * len(upright):
        return None             # a test that lies or kneels most of the time (and a foreshortened view of one)
    idx = idx[: max(3, idx.size // 4)]
    tilt = np.degrees(np.arctan2(-axis[idx, 2], -axis[idx, 1]))
    return float(np.median(tilt))


def check_fit(xyz: np.ndarray, uv: np.ndarray, conf: np.ndarray, report,
              model_world: np.ndarray | None = None) -> tuple[list[str], list[str]]:
    problems: list[str] = []
    notes: list[str] = []
    present = np.isfinite(xyz).all(-1).any(-1)
    if present.any():
        feet_seen = (conf[present][:, FEET] >= FEET_CONF).mean(axis=1) >= 0.5
        share = float(feet_seen.mean())
        if share < MIN_FEET_SHARE:
            problems.append(f"the feet are seen in only {100 * share:.0f}% of the frames, so the floor, the camera "
                            "height and every angle against vertical cannot be found: film the whole body, feet included")
    if abs(report.pitch_deg) > MAX_PITCH_DEG:
        where = "above" if report.pitch_deg > 0 else "below"
        problems.append(f"the camera looks at the athlete from {where} at {abs(report.pitch_deg):.0f} deg: depth and "
                        "angles against vertical are unreliable from so steep a view; film with the lens at hip "
                        "height, pointing level")
    tilt = model_tilt_deg(model_world, uv)
    if tilt is not None and MAX_MODEL_TILT_DEG < tilt < LYING_TILT_DEG and abs(report.pitch_deg) <= MAX_PITCH_DEG:
        problems.append(f"the camera seems to look down on the athlete steeply (the standing body leans {tilt:.0f} deg "
                        "towards the lens in the pose model's view; the fit cannot measure so steep a pitch): depth and "
                        "angles against vertical are unreliable; film with the lens at hip height, pointing level")
    if abs(report.roll_deg) > MAX_ROLL_DEG:
        problems.append(f"the picture is turned {report.roll_deg:.0f} deg from upright (a phone video whose rotation "
                        "was not recorded?): re-export it upright or film in landscape with the phone level")
    sizes = []
    for t in np.flatnonzero(present):
        ok = conf[t] >= 0.5
        if ok.sum() >= 4:
            sizes.append(float(np.linalg.norm(np.nanmax(uv[t, ok], 0) - np.nanmin(uv[t, ok], 0))))
    if report.residual_px_median is not None and sizes:
        share = report.residual_px_median / max(np.median(sizes), 1.0)
        if share > MAX_RESIDUAL_SHARE:
            problems.append(f"the keypoints do not fit one body well (median {report.residual_px_median:.0f} px off, "
                            f"{100 * share:.1f}% of the figure): check the athlete is whole and alone in the picture")
    if present.any() and not getattr(report, "contacts", {"?": 1}):
        problems.append("no foot (or other body part) was found resting on the floor in any frame, so the floor, the "
                        "camera height and pitch are guesses: film a movement that starts and ends standing, feet in view")
    if report.facing.get("frames_relabelled"):
        notes.append(f"the pose model turned the athlete round in {report.facing['frames_relabelled']} frame(s); "
                     "those were relabelled to the clip's facing")
    return problems, notes
