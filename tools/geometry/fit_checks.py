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
"""
from __future__ import annotations

import numpy as np

from tools.core.skeleton import JOINT_INDEX as JI

FEET_CONF = 0.5
MIN_FEET_SHARE = 0.3
MAX_PITCH_DEG = 30.0
MAX_ROLL_DEG = 15.0
MAX_RESIDUAL_SHARE = 0.04
FEET = [JI[f"{s}_{j}"] for s in ("left", "right") for j in ("ankle", "heel", "toe")]


def check_fit(xyz: np.ndarray, uv: np.ndarray, conf: np.ndarray, report) -> tuple[list[str], list[str]]:
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
    if report.facing.get("frames_relabelled"):
        notes.append(f"the pose model turned the athlete round in {report.facing['frames_relabelled']} frame(s); "
                     "those were relabelled to the clip's facing")
    return problems, notes
