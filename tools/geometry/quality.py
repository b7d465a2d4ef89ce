"""Skeleton quality report: can this skeleton be trusted for scoring?

`assess_quality(skel, required_joints)` returns a QualityReport with
  athlete_share           share of frames where the athlete is present: at least
                          `min_core_share` of the 8 core joints (shoulders, hips,
                          knees, ankles) visible (conf >= visible_conf, finite)
  dropped_frames          frames without the athlete; longest_dropout_frames/_s
  required_joint_mean_conf mean confidence of the joints the test needs, over the
                          frames with the athlete (unseen joints count as 0)
  jitter_mm               median distance (mm) of core joints from their own
                          Savitzky-Golay smoothed path (0.25 s window, order 2):
                          frame-to-frame noise that is not movement
  jitter_accel_m_s2       median magnitude of the core joints' frame-to-frame
                          acceleration (second difference x fps^2), m/s^2
  identity_jump_frames    frames where the tracked body suddenly changes: the hip
                          centre moves more than `jump_body_heights` body heights
                          (+ `max_speed_body_heights_s` x elapsed time) since the
                          last frame with the athlete, or the body's size (sum of
                          core bone lengths) changes by more than `jump_size_ratio`.
                          Measured in image pixels when the skeleton has uv
                          (another person is elsewhere / at another depth there),
                          else in xyz.
  per_joint_visible_share share of frames each joint is visible
  selection               the athlete-selection summary the pose step left in
                          skel.meta["pose"]["selection"] (tools.people.track): how the
                          athlete was chosen, candidates, identity switches
                          detected / repaired, frames blanked, frames absent
  fit                     the measurement stage's figures when the skeleton was fitted
                          (tools.geometry.fit: skel.meta["fit"]): reprojection residual
                          (median and 90th percentile, px), camera (focal px and its
                          source, lens height, pitch, roll), frames relabelled by facing;
                          its problems (feet never seen, steep camera, picture turned,
                          poor fit) join `problems`
  view_azimuth_deg        the camera's azimuth seen from the athlete (0 = front, +90 =
                          their left, +-180 = behind), from the fit; None otherwise
  selection_problems      plain sentences for selection trouble: the drawn box
                          or clicked point holds nobody, two people could be the
                          athlete, switches to another person not repaired, the
                          athlete out of frame for more than 1 - min_athlete_share
                          of the clip
and `ok` / `problems`: plain sentences, one per failed threshold.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Sequence

import numpy as np
from scipy.signal import savgol_filter

from tools.core.errors import InputError
from tools.geometry.lift3d import LEG_TRUNK_SHARE_OF_HEIGHT
from tools.core.skeleton import JOINT_INDEX, JOINTS, Skeleton

log = logging.getLogger(__name__)

CORE_JOINTS: tuple[str, ...] = ("left_shoulder", "right_shoulder", "left_hip", "right_hip",
                                "left_knee", "right_knee", "left_ankle", "right_ankle")
_SIZE_BONES: tuple[tuple[str, str], ...] = tuple(
    (f"{s}_{a}", f"{s}_{b}") for s in ("left", "right")
    for a, b in (("shoulder", "hip"), ("hip", "knee"), ("knee", "ankle")))


@dataclass(frozen=True)
class QualityThresholds:
    """When a skeleton is good enough to score. Defaults suit a phone clip of one FMS test."""

    visible_conf: float = 0.5             # a joint counts as seen at this confidence or more
    min_core_share: float = 0.75          # share of core joints seen for the athlete to be present
    min_athlete_share: float = 0.8        # of all frames
    min_required_mean_conf: float = 0.6   # mean conf of the test's joints, frames with the athlete
    min_required_visible_share: float = 0.7  # each required joint, of frames with the athlete
    max_jitter_mm: float = 15.0
    max_dropout_s: float = 0.5            # longest run of frames without the athlete
    jump_body_heights: float = 0.15       # hip-centre jump in one frame, in body heights
    max_speed_body_heights_s: float = 1.5  # allowance per second of gap between frames with the athlete
    jump_size_ratio: float = 1.35         # body size change in one step (either way)
    max_identity_jumps: int = 0
    smooth_window_s: float = 0.25         # jitter reference smoother


@dataclass
class QualityReport:
    """Quality figures of one skeleton clip (see module docstring for each figure)."""

    n_frames: int
    fps: float
    duration_s: float
    measurement_plane: str
    frames_with_athlete: int
    athlete_share: float
    dropped_frames: int
    longest_dropout_frames: int
    longest_dropout_s: float
    required_joints: list[str]
    required_joint_mean_conf: float | None
    required_joint_visible_share: dict[str, float]
    jitter_mm: float | None
    jitter_accel_m_s2: float | None
    identity_jumps: int
    identity_jump_frames: list[int]
    per_joint_visible_share: dict[str, float]
    ok: bool
    problems: list[str]
    notes: list[str] = field(default_factory=list)
    thresholds: QualityThresholds = field(default_factory=QualityThresholds)
    selection: dict | None = None
    selection_problems: list[str] = field(default_factory=list)
    fit: dict | None = None
    view_azimuth_deg: float | None = None

    def to_dict(self) -> dict:
        """JSON-serialisable dict (NaN -> None), units in the key names."""
        return _clean(asdict(self))


def assess_quality(skel: Skeleton, required_joints: Sequence[str] | None = None,
                   thresholds: QualityThresholds | None = None) -> QualityReport:
    """Quality report of a skeleton; `required_joints` are the joints the test needs (default: core joints)."""
    th = thresholds or QualityThresholds()
    required = list(CORE_JOINTS if required_joints is None else required_joints)
    unknown = [j for j in required if j not in JOINT_INDEX]
    if unknown:
        raise InputError(f"unknown joint name(s) {unknown}; use names from tools.core.skeleton.JOINTS")
    n, fps = skel.n_frames, skel.fps
    visible = (skel.conf >= th.visible_conf) & np.isfinite(skel.xyz).all(axis=-1)  # [T, J]
    core_idx = [JOINT_INDEX[j] for j in CORE_JOINTS]
    req_idx = [JOINT_INDEX[j] for j in required]
    present = visible[:, core_idx].mean(axis=1) >= th.min_core_share  # [T]
    n_present = int(present.sum())

    gaps = _runs(~present)
    longest = max((stop - start for start, stop in gaps), default=0)
    conf = np.where(np.isfinite(skel.xyz).all(axis=-1), skel.conf, 0.0)
    req_conf = float(conf[present][:, req_idx].mean()) if n_present and req_idx else None
    req_vis = {j: float(visible[present, JOINT_INDEX[j]].mean()) if n_present else 0.0 for j in required}
    per_joint = {j: float(visible[:, i].mean()) if n else 0.0 for i, j in enumerate(JOINTS)}
    jitter_mm, accel = _jitter(skel.xyz[:, core_idx], visible[:, core_idx], fps, th.smooth_window_s)
    jumps = _identity_jumps(skel, present, th)

    problems: list[str] = []
    notes: list[str] = []
    share = n_present / n if n else 0.0
    if share < th.min_athlete_share:
        problems.append(f"athlete found in only {100 * share:.0f}% of frames ({n_present} of {n})")
    if longest / fps > th.max_dropout_s and n_present:
        start = next(s for s, e in gaps if e - s == longest)
        problems.append(f"athlete lost for {longest / fps:.1f} s at a stretch "
                        f"(from frame {start}, {start / fps:.1f} s)")
    if req_conf is not None and req_conf < th.min_required_mean_conf:
        problems.append(f"the joints this test needs are seen with low confidence (mean {req_conf:.2f}, "
                        f"needs {th.min_required_mean_conf:.2f})")
    poorly_seen = [j for j, s in req_vis.items() if s < th.min_required_visible_share]
    if poorly_seen and n_present:
        listed = ", ".join(f"{j} {100 * req_vis[j]:.0f}%" for j in poorly_seen[:6])
        problems.append(f"needed joints rarely visible in the frames with the athlete: {listed}")
    if jitter_mm is not None and jitter_mm > th.max_jitter_mm:
        problems.append(f"skeleton is jittery: median {jitter_mm:.0f} mm of frame-to-frame noise "
                        f"(limit {th.max_jitter_mm:.0f} mm)")
    if len(jumps) > th.max_identity_jumps:
        problems.append(f"the tracked body jumps {len(jumps)} time(s), first at frame {jumps[0]} "
                        f"({jumps[0] / fps:.1f} s): the tracker may have switched to another person")
    plane = str(skel.meta.get("measurement_plane", "3d"))
    if plane == "image":
        notes.append("2D pose backend: distances and angles are measured in the image plane")
    if skel.meta.get("pose", {}).get("hand_extrapolated"):
        notes.append("hand positions are extrapolated from the forearm, not seen")
    selection = skel.meta.get("pose", {}).get("selection")
    sel_problems, sel_notes = selection_problems(selection, th)
    notes += sel_notes
    fit = _fit_summary(skel.meta.get("fit"))
    if fit is not None:
        problems += list(fit.pop("problems"))
        notes += list(fit.pop("notes"))
    report = QualityReport(
        n_frames=n, fps=fps, duration_s=skel.duration_s, measurement_plane=plane,
        frames_with_athlete=n_present, athlete_share=share, dropped_frames=n - n_present,
        longest_dropout_frames=int(longest), longest_dropout_s=longest / fps,
        required_joints=required, required_joint_mean_conf=req_conf, required_joint_visible_share=req_vis,
        jitter_mm=jitter_mm, jitter_accel_m_s2=accel, identity_jumps=len(jumps), identity_jump_frames=jumps,
        per_joint_visible_share=per_joint, ok=not problems and not sel_problems, problems=problems, notes=notes,
        thresholds=th, selection=_selection_summary(selection), selection_problems=sel_problems,
        fit=fit, view_azimuth_deg=None if fit is None else fit.get("view_azimuth_deg"))
    log.info("quality: athlete in %.0f%% of %d frames, required conf %s, jitter %s mm, %d identity jump(s), ok=%s",
             100 * share, n, "n/a" if req_conf is None else f"{req_conf:.2f}",
             "n/a" if jitter_mm is None else f"{jitter_mm:.1f}", len(jumps), report.ok)
    return report


def selection_problems(selection: dict | None, th: QualityThresholds | None = None) -> tuple[list[str], list[str]]:
    """(problems, notes) in plain words from the pose step's athlete-selection summary (tools.people.track)."""
    th = th or QualityThresholds()
    if not selection:
        return [], []
    problems = [str(p) for p in selection.get("problems", [])]
    notes: list[str] = []
    detected = int(selection.get("identity_switches_detected") or 0)
    repaired = int(selection.get("identity_switches_repaired") or 0)
    blanked = int(selection.get("frames_blanked") or 0)
    if detected > repaired:
        problems.append(f"the skeleton landed on another person {detected - repaired} time(s) and could not be "
                        "brought back to the athlete; those frames are left out, so check who was scored")
    if repaired:
        notes.append(f"the skeleton strayed to another person {repaired} time(s); {blanked} frame(s) were left "
                     "out and it was put back on the athlete")
    for ev in selection.get("reacquired") or []:
        if ev.get("strength") == "strong":   # weak links are already problems (tools.people.athlete)
            lost = ev.get("lost_frames") or ["?", "?"]
            notes.append(f"the athlete was re-found after {float(ev.get('gap_s', 0)):.1f} s out of sight "
                         f"(frames {lost[0]}-{lost[1]}): {ev.get('evidence', 'same place, size and clothing')}")
    absent = selection.get("athlete_absent_share")
    if absent is not None and float(absent) > 1 - th.min_athlete_share:
        problems.append(f"athlete out of frame for {100 * float(absent):.0f}% of the clip: "
                        "keep the whole body in frame for the whole test")
    if selection.get("method") not in (None, "off") and int(selection.get("people_found") or 0) > 1:
        notes.append(f"{selection['people_found']} people in frame; the athlete was chosen by "
                     f"{selection.get('method')} (track {selection.get('athlete_track_id')})")
    return problems, notes


def _fit_summary(fit: dict | None) -> dict | None:
    """The fit's figures worth keeping in the quality report (with its problems and notes, popped by the caller)."""
    if not fit:
        return None
    intr = fit.get("intrinsics", {})
    return {"residual_px_median": fit.get("residual_px_median"), "residual_px_p90": fit.get("residual_px_p90"),
            "view_azimuth_deg": fit.get("view_azimuth_deg"), "focal_px": intr.get("focal_px"),
            "focal_source": intr.get("source"), "camera_height_m": fit.get("camera_height_m"),
            "camera_pitch_deg": fit.get("pitch_deg"), "camera_roll_deg": fit.get("roll_deg"),
            "frames_relabelled_by_facing": (fit.get("facing") or {}).get("frames_relabelled"),
            "problems": list(fit.get("problems") or []), "notes": list(fit.get("notes") or [])}


def _selection_summary(selection: dict | None) -> dict | None:
    """The selection figures worth keeping in the quality report (candidates without the bulky keys)."""
    if not selection:
        return None
    keep = ("method", "mode", "athlete_track_id", "ambiguous", "people_found", "identity_switches_detected",
            "identity_switches_repaired", "frames_blanked", "frames_athlete_absent", "athlete_absent_share",
            "share_on_athlete", "athlete_box_xywh", "athlete_point_xy", "keyframe", "candidates", "reacquired")
    return {k: selection[k] for k in keep if k in selection}


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of each run of True."""
    padded = np.concatenate([[False], np.asarray(mask, bool), [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]


def _jitter(xyz: np.ndarray, visible: np.ndarray, fps: float, window_s: float) -> tuple[float | None, float | None]:
    """(median residual from a Savitzky-Golay fit in mm, median |acceleration| in m/s^2) over visible runs."""
    window = max(5, int(round(window_s * fps)) | 1)
    residuals, accels = [], []
    for j in range(xyz.shape[1]):
        for start, stop in _runs(visible[:, j]):
            path = xyz[start:stop, j].astype(np.float64)
            if stop - start >= 3:
                accels.append(np.linalg.norm(np.diff(path, n=2, axis=0), axis=-1) * fps ** 2)
            if stop - start >= window:
                smooth = savgol_filter(path, window, 2, axis=0)
                residuals.append(np.linalg.norm(path - smooth, axis=-1))
    jitter = float(np.median(np.concatenate(residuals)) * 1000) if residuals else None
    accel = float(np.median(np.concatenate(accels))) if accels else None
    return jitter, accel


def _body_size(points: np.ndarray) -> np.ndarray:
    """[T] sum of the six core bone lengths (NaN if any is unseen)."""
    total = np.zeros(points.shape[0])
    for a, b in _SIZE_BONES:
        total = total + np.linalg.norm(points[:, JOINT_INDEX[a]] - points[:, JOINT_INDEX[b]], axis=-1)
    return total


def _identity_jumps(skel: Skeleton, present: np.ndarray, th: QualityThresholds) -> list[int]:
    """Frames where the hip centre or body size changes abruptly since the previous frame with the athlete."""
    points = skel.uv if skel.uv is not None else skel.xyz[..., :2]
    points = points.astype(np.float64)
    size = _body_size(points)
    seen = size[present & np.isfinite(size)]
    # size = both sides' ankle-knee-hip-shoulder chains = 2 x 0.779 standing height; 90th percentile
    # because projection only shortens bones (a squat filmed from the front).
    body_height = np.percentile(seen, 90) / (2 * LEG_TRUNK_SHARE_OF_HEIGHT) if len(seen) else np.nan
    if not np.isfinite(body_height) or body_height <= 0:
        return []
    hips = (points[:, JOINT_INDEX["left_hip"]] + points[:, JOINT_INDEX["right_hip"]]) / 2
    frames = np.flatnonzero(present & np.isfinite(hips).all(axis=1))
    jumps = []
    for prev, cur in zip(frames[:-1], frames[1:]):
        dt = (cur - prev) / skel.fps
        allowed = (th.jump_body_heights + th.max_speed_body_heights_s * max(dt - 1 / skel.fps, 0.0)) * body_height
        moved = float(np.linalg.norm(hips[cur] - hips[prev]))
        ratio = size[cur] / size[prev] if size[prev] > 0 else np.nan
        size_jump = np.isfinite(ratio) and (ratio > th.jump_size_ratio or ratio < 1 / th.jump_size_ratio)
        if moved > allowed or size_jump:
            jumps.append(int(cur))
    return jumps


def _clean(value):
    """Recursively turn numpy scalars into Python ones and NaN/inf into None."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value
