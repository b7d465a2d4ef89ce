"""The measurement stage: one constant-bone skeleton fitted to a clip's 2D keypoints, on the floor, under gravity.

`fit_skeleton(pose, intrinsics)` turns a PoseResult (2D keypoints with
confidence, plus the pose model's own 3D when it has them) into the canonical
Skeleton in the world frame of tools.geometry.camera (y up against gravity,
floor at y = 0, x the camera's right along the floor, z towards the camera;
the origin on the floor below the clip-median hip centre) and a FitReport.

What is optimised (torch autograd, L-BFGS with a strong-Wolfe line search,
batched over all frames at once):
  per clip   bone lengths of the body model (tools.geometry.body_model: constant
             in time, left = right), camera pitch, roll and lens height above
             the floor, log focal length (prior: tools.geometry.camera)
  per frame  the root (mid-hip) position and one direction per bone
Loss (tools.geometry.fit_terms; weights FitWeights):
  confidence-weighted 2D reprojection error (pseudo-Huber, in ~1 % of the
  figure's size), nearness of each bone's direction to the pose model's 3D
  (which settles depth order: which end of a bone is nearer the camera),
  smoothness (joint acceleration), anatomical limits (knees bend one way,
  trunk twist and side bend, head turn), priors on the camera and on the bone
  lengths (the pose model's median lengths), and from the second round on the
  floor: joints found in contact (tools.geometry.floor.find_contacts) stay at
  their contact height and still, no joint goes below the floor, and in the
  frames where the athlete stands tall (full height in the image) the ankles-to-shoulders line is
  vertical and the knees straight.
Three rounds: (1) body only, camera level at the prior; (2) contacts and
standing frames found on round 1, camera free; (3) contacts found again on
round 2, final fit. Frames without the athlete stay NaN.
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from tools.core.skeleton import JOINT_INDEX as JI, JOINTS, Skeleton
from tools.geometry import body_model as bm
from tools.geometry.camera import Intrinsics, rotation_world_to_camera
from tools.geometry.fit_solver import FitProblem

log = logging.getLogger(__name__)

CORE = [JI[j] for j in ("left_shoulder", "right_shoulder", "left_hip", "right_hip", "left_knee", "right_knee",
                        "left_ankle", "right_ankle")]


@dataclass(frozen=True)
class FitWeights:
    """Weights of the loss terms (each term ~1 at its typical acceptable error; fit_terms)."""

    reprojection: float = 1.0
    direction_prior: float = 0.005
    smoothness: float = 0.05
    limits: float = 1.0
    foot: float = 0.5
    contact: float = 0.5
    stillness: float = 0.5
    above_floor: float = 0.5
    upright: float = 0.5
    straight_legs: float = 0.5
    length_prior: float = 0.5
    camera_prior: float = 1.0


@dataclass(frozen=True)
class FitConfig:
    """Settings of the fit (units in the names)."""

    weights: FitWeights = field(default_factory=FitWeights)
    keyframes: int = 40                            # stage A (lengths, camera) runs on this many frames
    iterations: tuple[int, ...] = (60, 60, 40)     # stage A: L-BFGS iterations per round
    final_iterations: tuple[int, ...] = (40, 20)   # stage B (every frame): L-BFGS iterations per round
    min_conf: float = 0.3                          # 2D keypoints below this confidence are not fitted
    present_min_core: int = 5                      # core joints seen for the athlete to be in a frame
    pitch_prior_sd_deg: float = 15.0
    roll_prior_sd_deg: float = 4.0
    length_prior_sd: float = 0.04                  # relative sd of bone lengths around their targets
    length_percentile: float = 60.0                # bone length = this percentile of its projected length
    length_median_frames: int = 5                  # ... after a running median over this many frames
    length_min_conf: float = 0.6                   # keypoints used for bone lengths
    reprojection_scale: float = 0.01               # of the figure's size (px scale of the pseudo-Huber)
    smooth_accel_m_s2: float = 4.0
    direction_prior_sd: float = 0.2
    dtype: str = "float64"                         # float32: no faster, and a different fit (benchmarks/bench_fit_cost.py)


@dataclass
class FitReport:
    """What the fit found (JSON-able via to_dict)."""

    intrinsics: dict
    pitch_deg: float
    roll_deg: float
    camera_height_m: float
    bone_lengths_m: dict
    residual_px_median: float | None
    residual_px_p90: float | None
    residual_px_per_frame: list
    frames_fitted: int
    contacts: dict
    standing_frames: int
    floor: dict
    cpu_s: float
    wall_s: float
    rounds: list
    facing: dict = field(default_factory=dict)
    view_azimuth_deg: float | None = None
    problems: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    def to_dict(self, per_frame: bool = True) -> dict:
        d = asdict(self)
        if not per_frame:
            d.pop("residual_px_per_frame")
        return d


def _fill_time(a: np.ndarray) -> np.ndarray:
    """Linear interpolation over time of NaN entries of a [T, ...] array (nearest at the ends)."""
    out = a.reshape(a.shape[0], -1).copy()
    t = np.arange(a.shape[0])
    for k in range(out.shape[1]):
        ok = np.isfinite(out[:, k])
        if ok.all() or not ok.any():
            continue
        out[:, k] = np.interp(t, t[ok], out[ok, k])
    return out.reshape(a.shape)


def initial_camera_frame(uv: np.ndarray, w: np.ndarray, world: np.ndarray, intr: Intrinsics) -> np.ndarray:
    """Camera-frame joints [T, 23, 3] (OpenCV axes): the pose model's 3D placed at the depth that best
    reprojects onto the 2D keypoints (per-frame weighted linear least squares for the translation)."""
    f, cx, cy = intr.focal_px, intr.cx, intr.cy
    out = np.full(world.shape, np.nan)
    for t in range(uv.shape[0]):
        ok = (w[t] > 0) & np.isfinite(world[t]).all(-1) & np.isfinite(uv[t]).all(-1)
        if ok.sum() < 4:
            continue
        p, u, wt = world[t, ok], uv[t, ok], np.sqrt(w[t, ok])
        du, dv = u[:, 0] - cx, u[:, 1] - cy
        a = np.concatenate([np.stack([np.full_like(du, f), 0 * du, -du], 1), np.stack([0 * dv, np.full_like(dv, f), -dv], 1)])
        b = np.concatenate([du * p[:, 2] - f * p[:, 0], dv * p[:, 2] - f * p[:, 1]])
        ww = np.concatenate([wt, wt])
        sol, *_ = np.linalg.lstsq(a * ww[:, None], b * ww, rcond=None)
        if sol[2] <= 0.3:
            continue
        out[t] = world[t] + sol
    return out


def fit_skeleton(uv: np.ndarray, conf: np.ndarray, world: np.ndarray | None, fps: float,
                 intr: Intrinsics, config: FitConfig | None = None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, FitReport]:
    """Fit the clip: (world joints [T, 23, 3] metres, NaN where the athlete is absent; the keypoints uv [T, 23, 2]
    and conf [T, 23] with left/right as fitted (tools.geometry.facing); FitReport)."""
    import torch

    cfg = config or FitConfig()
    c0, t0 = time.process_time(), time.perf_counter()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)          # tiny tensors: threads cost more than they give
    try:
        return _fit(uv, conf, world, fps, intr, cfg, c0, t0)
    finally:
        torch.set_num_threads(threads)


def _fit(uv, conf, world, fps, intr: Intrinsics, cfg: FitConfig, c0: float, t0: float):
    from tools.geometry.facing import relabel_facing, view_azimuth_deg
    from tools.geometry.floor import find_contacts, standing_frames
    from tools.geometry.ray_lift import lift

    T = uv.shape[0]
    if world is None:
        raise ValueError("the fit needs the pose model's 3D (world landmarks) for depth order")
    uv, conf, world, facing = relabel_facing(uv, conf, world)
    conf = np.where(np.isfinite(uv).all(-1), conf, 0.0)
    w2d = np.where(conf >= cfg.min_conf, conf, 0.0)
    present = (w2d[:, CORE] > 0).sum(1) >= cfg.present_min_core
    cam0 = initial_camera_frame(np.nan_to_num(uv), w2d, world, intr)
    present &= np.isfinite(cam0).all(-1).all(-1)
    if present.sum() < 2:
        raise ValueError("the athlete is found in fewer than 2 frames: nothing to fit")
    idx = np.flatnonzero(present)
    cam0 = _fill_time(cam0[idx])
    uv_f, w_f, conf_f = np.nan_to_num(uv[idx]), w2d[idx], conf[idx]
    mp_len = np.nanmedian(bm.lengths_from_joints(world[idx]), axis=0)
    mp_len = np.where(np.isfinite(mp_len) & (mp_len > 0.01), mp_len, 0.05)
    prior_dirs = bm.directions_from_joints(world[idx])          # camera axes (the pose model's are camera-aligned)
    prior_w = np.where(np.isfinite(prior_dirs).all(-1), _bone_weight(w_f), 0.0)
    prior_dirs = np.nan_to_num(prior_dirs)
    problem = FitProblem(uv_f, w_f, prior_dirs, prior_w, fps, intr, cfg, mp_len)

    # Stage A: bone lengths, focal length, camera pitch / roll / height on keyframes
    keys = np.unique(np.linspace(0, len(idx) - 1, min(len(idx), cfg.keyframes)).round().astype(int))
    cam_a = lift(uv_f[keys], conf_f[keys], cam0[keys], mp_len, intr.focal_px, intr.cx, intr.cy, cfg.min_conf)
    h0 = float(np.median(np.max(cam_a[..., 1], axis=1)))
    state = problem.start(keys, cam_a, h0)
    rounds = []
    for r, n_iter in enumerate(cfg.iterations):
        use_floor = r > 0
        problem.update_length_targets(state)
        if use_floor:
            joints_now = problem.joints(state)
            cm, ch = find_contacts(joints_now, fps * len(keys) / max(len(idx), 1))
            state.set_floor(cm, ch, standing_frames(joints_now, *problem.keypoints(state)))
        terms = problem.optimise(state, n_iter, camera=use_floor, lengths=True, smooth=False)
        rounds.append({"stage": "A", "round": r + 1, **terms})

    # Stage B: every frame, lengths and camera fixed
    up_cam = rotation_world_to_camera(math.radians(state.pitch_deg()), math.radians(state.roll_deg())) @ [0.0, 1.0, 0.0]
    # the pose model's body placed at the depth stage A settled on (the same picture at another scale)
    rot_a = rotation_world_to_camera(math.radians(state.pitch_deg()), math.radians(state.roll_deg()))
    hips_a = problem.joints(state)[:, [JI["left_hip"], JI["right_hip"]]].mean(1) - np.array([0.0, state.height(), 0.0])
    scale = float(np.median((hips_a @ rot_a.T)[:, 2] / bm.mid_hip(cam0[keys])[:, 2]))
    cam_b = lift(uv_f, conf_f, cam0 * scale, state.lengths(), state.focal(), intr.cx, intr.cy, cfg.min_conf, up_cam)
    state_b = problem.start(np.arange(len(idx)), cam_b, state.height(), camera_from=state)
    for r, n_iter in enumerate(cfg.final_iterations):
        joints_now = problem.joints(state_b)
        cm, ch = find_contacts(_smooth_time(joints_now), fps)
        state_b.set_floor(cm, ch, standing_frames(joints_now, *problem.keypoints(state_b)))
        terms = problem.optimise(state_b, n_iter, camera=False, lengths=False, smooth=True)
        rounds.append({"stage": "B", "round": r + 1, **terms})

    joints, px = problem.final(state_b)
    err = np.linalg.norm(px - uv_f, axis=-1)
    seen = w_f >= 0.5
    per_frame = np.full(T, np.nan)
    for k, t in enumerate(idx):
        if seen[k].any():
            per_frame[t] = float(np.median(err[k, seen[k]]))
    out = np.full((T, len(JOINTS), 3), np.nan)
    origin = np.median(joints[:, [JI["left_hip"], JI["right_hip"]]].mean(1), axis=0)
    origin[1] = 0.0
    out[idx] = joints - origin
    cm, _ = find_contacts(joints, fps)
    focal = state_b.focal()
    refined = replace(intr, focal_px=focal, source=f"fit (from {intr.source})")
    pitch, roll, height = state_b.pitch_deg(), state_b.roll_deg(), state_b.height()
    report = FitReport(
        intrinsics={**refined.to_dict(), "prior_focal_px": round(intr.focal_px, 2)},
        pitch_deg=round(pitch, 2), roll_deg=round(roll, 2), camera_height_m=round(height, 3),
        bone_lengths_m={k: round(float(v), 4) for k, v in zip(bm.LENGTH_KINDS, state_b.lengths())},
        residual_px_median=_nanstat(per_frame, 50), residual_px_p90=_nanstat(per_frame, 90),
        residual_px_per_frame=[None if not np.isfinite(v) else round(float(v), 2) for v in per_frame],
        frames_fitted=int(len(idx)),
        contacts={JOINTS[j]: round(float(cm[:, j].mean()), 3) for j in range(len(JOINTS)) if cm[:, j].any()},
        standing_frames=int(standing_frames(joints, uv_f, w_f).sum()), floor={},
        cpu_s=round(time.process_time() - c0, 3), wall_s=round(time.perf_counter() - t0, 3), rounds=rounds)
    report.floor = {"camera_position_m": [round(-float(origin[0]), 3), report.camera_height_m,
                                          round(-float(origin[2]), 3)],
                    "lens_height_m": report.camera_height_m, "pitch_deg": report.pitch_deg, "roll_deg": report.roll_deg,
                    "normal_in_camera": [round(float(v), 4) for v in rotation_world_to_camera(
                        math.radians(pitch), math.radians(roll)) @ np.array([0.0, 1.0, 0.0])]}
    report.facing = facing.to_dict()
    report.view_azimuth_deg = view_azimuth_deg(out, np.array(report.floor["camera_position_m"]), fps)
    log.info("fit: %d frames, residual median %.1f px, focal %.0f px (%s), pitch %.1f deg, roll %.1f deg, "
             "lens %.2f m above the floor, %.2f s CPU", len(idx), report.residual_px_median or float("nan"),
             focal, intr.source, pitch, roll, height, report.cpu_s)
    return out.astype(np.float32), uv, conf, report


def _smooth_time(joints: np.ndarray, half: int = 2) -> np.ndarray:
    """Moving average over +-half frames (for contact detection on a freshly lifted, noisy body)."""
    if joints.shape[0] < 2 * half + 1:
        return joints
    k = np.ones(2 * half + 1) / (2 * half + 1)
    pad = np.pad(joints, ((half, half), (0, 0), (0, 0)), mode="edge")
    return np.apply_along_axis(lambda a: np.convolve(a, k, mode="valid"), 0, pad)


def _nanstat(a: np.ndarray, q: float) -> float | None:
    a = a[np.isfinite(a)]
    return round(float(np.percentile(a, q)), 2) if a.size else None


def _bone_weight(w: np.ndarray) -> np.ndarray:
    """[T, N_DIRS] weight of each bone's direction prior: the lower confidence of its two ends."""
    mids = {"mid_hip": ["left_hip", "right_hip"], "mid_shoulder": ["left_shoulder", "right_shoulder"]}
    out = np.zeros((w.shape[0], bm.N_DIRS))
    for i, (name, parent, child, _) in enumerate(bm.DIRECTIONS):
        ends = mids.get(child, [child]) + ([bm._MIRRORED_LINES[name]] if name in bm._MIRRORED_LINES
                                           else mids.get(parent, [parent]))
        out[:, i] = np.min(np.stack([w[:, JI[e]] for e in ends]), axis=0)
    return np.clip(out, 0.0, 1.0) + 0.1


def fit_pose(pose, intrinsics: Intrinsics | None = None, metadata: dict | None = None,
             config: FitConfig | None = None, source_meta: dict | None = None) -> tuple[Skeleton, FitReport]:
    """The fitted canonical Skeleton of a PoseResult (world frame of tools.geometry.camera) and its FitReport.

    `intrinsics` default: tools.geometry.camera.intrinsics_for(pose.image_size, metadata). The skeleton
    keeps the keypoints (relabelled left/right where the fit turned a frame round) as `uv`, their
    confidence as `conf`, and the fit's figures in meta["fit"].
    """
    from tools.geometry.camera import intrinsics_for
    from tools.geometry.fit_checks import check_fit
    intr = intrinsics or intrinsics_for(pose.image_size, metadata)
    xyz, uv, conf, report = fit_skeleton(pose.uv, pose.conf, pose.world_xyz, pose.fps, intr, config)
    report.problems, report.notes = check_fit(xyz, uv, conf, report, pose.world_xyz)
    meta = dict(source_meta or {})
    meta.update(pose=dict(pose.meta), backend=pose.meta.get("backend"), backend_version=pose.meta.get("backend_version"),
                measurement_plane="3d", world_source="constant-bone skeleton fitted to the 2D keypoints",
                axes="x camera-right along the floor, y up against gravity, z towards the camera; metres; right-handed",
                origin="on the floor below the clip-median hip centre; the body's travel kept (fitted)",
                fit=report.to_dict(per_frame=False), camera_metadata=dict(metadata or {}),
                view_azimuth_deg=report.view_azimuth_deg, camera_height_m=report.camera_height_m)
    conf = np.where(np.isfinite(xyz).all(-1), conf, 0.0).astype(np.float32)
    return Skeleton(xyz=xyz, conf=conf, fps=pose.fps, uv=uv, image_size=pose.image_size, meta=meta), report
