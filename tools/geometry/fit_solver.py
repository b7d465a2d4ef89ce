"""The fit's optimisation: parameters, the total loss and the L-BFGS loop (used by tools.geometry.fit).

A `FitState` holds the torch parameters of one set of frames: root [K, 3] and
bone directions [K, N_DIRS, 3] per frame (world frame), log bone lengths
[N_KINDS], camera pitch and roll (radians), log lens height and log focal
length, plus the floor contacts and standing frames the loss uses. A
`FitProblem` holds the clip's data (keypoints, weights, the pose model's bone
directions) and evaluates the loss of tools.geometry.fit_terms on a state.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tools.geometry import body_model as bm
from tools.geometry.camera import rotation_world_to_camera


WIDTH_KINDS = ("hip_half", "shoulder_half")     # bone-length kinds kept at the pose model's proportions


@dataclass
class FitState:
    frames: np.ndarray                 # indices into the problem's frames
    root: object
    dirs: object
    log_len: object
    pitch: object
    roll: object
    log_h: object
    log_f: object
    contact_mask: object = None
    contact_h: object = None
    stand_mask: object = None

    def lengths(self) -> np.ndarray:
        return np.exp(self.log_len.detach().numpy())

    def focal(self) -> float:
        return float(math.exp(self.log_f.item()))

    def height(self) -> float:
        return float(math.exp(self.log_h.item()))

    def pitch_deg(self) -> float:
        return math.degrees(self.pitch.item())

    def roll_deg(self) -> float:
        return math.degrees(self.roll.item())

    def set_floor(self, contact_mask: np.ndarray, contact_h: np.ndarray, standing: np.ndarray) -> None:
        import torch
        dt = self.root.dtype
        self.contact_mask = torch.tensor(contact_mask.astype(float), dtype=dt)
        self.contact_h = torch.tensor(contact_h, dtype=dt)
        self.stand_mask = torch.tensor(standing.astype(float), dtype=dt)


class FitProblem:
    """The clip's data and the loss (see tools.geometry.fit for what each term does)."""

    def __init__(self, uv, w, prior_dirs, prior_w, fps, intr, cfg, mp_lengths):
        import torch
        self.dtype = getattr(torch, cfg.dtype)
        tt = lambda a: torch.tensor(np.asarray(a), dtype=self.dtype)  # noqa: E731
        self.uv, self.w, self.prior_dirs, self.prior_w = tt(uv), tt(w), tt(prior_dirs), tt(prior_w)
        self.fps, self.intr, self.cfg = float(fps), intr, cfg
        self.mp_log_len = tt(np.log(mp_lengths))
        self.target_log_len = self.mp_log_len.clone()
        self._uv_np, self._w_np = np.asarray(uv), np.asarray(w)
        self.scale_px = max(cfg.reprojection_scale * _figure_size_px(uv, w), 1.0)
        from tools.geometry.floor import CONTACT_CLEARANCE_M
        self.clearance = tt(CONTACT_CLEARANCE_M)

    def start(self, frames: np.ndarray, cam_joints: np.ndarray, height_m: float,
              camera_from: FitState | None = None) -> FitState:
        """A state for `frames` from camera-frame joints [K, 23, 3], the camera level (or `camera_from`'s)."""
        import torch
        tt = lambda a: torch.tensor(np.asarray(a), dtype=self.dtype)  # noqa: E731
        if camera_from is not None:
            pitch, roll = camera_from.pitch.item(), camera_from.roll.item()
            log_len, log_f = camera_from.log_len.detach().clone(), camera_from.log_f.detach().clone()
        else:
            pitch = roll = 0.0
            log_len, log_f = self.mp_log_len.clone(), tt(math.log(self.intr.focal_px))
        rot = rotation_world_to_camera(pitch, roll)
        world = cam_joints @ rot + np.array([0.0, height_m, 0.0])     # X_w = R^T X_c + C (row vectors)
        dirs = bm.directions_from_joints(world)
        dirs = np.where(np.isfinite(dirs), dirs, np.array([0.0, -1.0, 0.0]))
        return FitState(frames=np.asarray(frames), root=tt(bm.mid_hip(world)).requires_grad_(),
                        dirs=tt(dirs).requires_grad_(), log_len=log_len.requires_grad_(),
                        pitch=tt(pitch).requires_grad_(), roll=tt(roll).requires_grad_(),
                        log_h=tt(math.log(max(height_m, 0.1))).requires_grad_(), log_f=log_f.requires_grad_())

    def _joints(self, s: FitState):
        import torch
        return bm.forward_kinematics(s.root, s.dirs, torch.exp(s.log_len))

    def joints(self, s: FitState) -> np.ndarray:
        import torch
        with torch.no_grad():
            return self._joints(s).numpy()

    def loss(self, s: FitState, smooth: bool) -> tuple[object, dict]:
        import torch

        from tools.geometry import fit_terms as ft
        from tools.geometry.camera import rotation_torch
        W, cfg, k = self.cfg.weights, self.cfg, s.frames
        joints = self._joints(s)
        rot = rotation_torch(s.pitch, s.roll)
        px, _ = ft.project(joints, rot, torch.exp(s.log_h), torch.exp(s.log_f), self.intr.cx, self.intr.cy)
        terms = {
            "reprojection": W.reprojection * ft.reprojection(px, self.uv[k], self.w[k], self.scale_px),
            # the pose model's directions settle depth order only: they must not turn the camera (its
            # lean in front views would tilt gravity), so the camera enters this term as a constant
            "direction_prior": W.direction_prior * ft.direction_prior(s.dirs @ rot.detach().T, self.prior_dirs[k],
                                                                      self.prior_w[k], cfg.direction_prior_sd),
            "limits": W.limits * ft.joint_limits(joints, s.dirs),
            "foot": W.foot * ft.foot_rigidity(joints, torch.exp(s.log_len[bm.KIND_INDEX["foot"]])),
            # proportions from the keypoints, size from the pose model (update_length_targets)
            "length_prior": W.length_prior * (((s.log_len - self.target_log_len) / cfg.length_prior_sd) ** 2).mean(),
            "camera_prior": W.camera_prior * (
                ft.prior_log(s.pitch, 0.0, math.radians(cfg.pitch_prior_sd_deg))
                + ft.prior_log(s.roll, 0.0, math.radians(cfg.roll_prior_sd_deg))
                + ft.prior_log(s.log_f, math.log(self.intr.focal_px), self.intr.prior_sd_log)),
            "unit_dirs": ((torch.linalg.norm(s.dirs, dim=-1) - 1) ** 2).mean(),
        }
        if smooth:
            terms["smoothness"] = W.smoothness * ft.smoothness(joints, self.fps, cfg.smooth_accel_m_s2)
        if s.contact_mask is not None:
            terms["contact"] = W.contact * ft.contact(joints, s.contact_mask, s.contact_h)
            if smooth:
                terms["stillness"] = W.stillness * ft.stillness(joints, s.contact_mask)
            terms["above_floor"] = W.above_floor * ft.above_floor(joints, self.clearance)
            terms["upright"] = W.upright * ft.upright(joints, s.stand_mask)
            terms["straight_legs"] = W.straight_legs * ft.straight_legs(joints, s.stand_mask)
        return sum(terms.values()), terms

    def optimise(self, s: FitState, n_iter: int, *, camera: bool, lengths: bool, smooth: bool) -> dict:
        """L-BFGS (strong Wolfe) for about n_iter iterations; returns the final terms (floats)."""
        import torch
        params = [s.root, s.dirs]
        if lengths:
            params += [s.log_len, s.log_f]
        if camera:
            params += [s.pitch, s.roll, s.log_h]
        opt = torch.optim.LBFGS(params, lr=1.0, max_iter=n_iter, history_size=20, line_search_fn="strong_wolfe",
                                tolerance_grad=1e-9, tolerance_change=1e-12)
        last: dict = {}

        def closure():
            opt.zero_grad()
            loss, terms = self.loss(s, smooth)
            loss.backward()
            last.clear()
            last.update(terms)
            return loss
        opt.step(closure)
        return {k: round(float(v.detach() if hasattr(v, "detach") else v), 4) for k, v in last.items()}

    def keypoints(self, s: FitState) -> tuple[np.ndarray, np.ndarray]:
        """(uv [K, 23, 2], weight [K, 23]) of the state's frames."""
        return self._uv_np[s.frames], self._w_np[s.frames]

    def update_length_targets(self, s: FitState) -> None:
        """Bone-length targets from the keypoints: each bone as long as its longest projection.

        Per length kind, the `cfg.length_percentile` percentile over the state's frames (both sides
        pooled) of the keypoints' pixel distance times the bone's current depth over the focal length:
        a bone seen parallel to the image at some moment projects at its full length, and a longer
        bone could lean out of the image plane by any amount, which the keypoints cannot tell.
        Kinds seen fewer than 5 times keep the pose model's length, and so do the widths across the body
        (WIDTH_KINDS: hip and shoulder half-widths): an athlete who faces one way through an FMS test never
        turns the hip or shoulder line parallel to the image in a view off the front, so their longest
        projection is foreshortened (cos 45 deg = 0.71 at 45 deg): a body fitted that narrow needs less
        turn to match the image and reads the view azimuth and every angle out of the sagittal plane wrong.
        """
        import torch

        from tools.core.skeleton import JOINT_INDEX as JI
        joints = self.joints(s)
        rot = rotation_world_to_camera(s.pitch.item(), s.roll.item())
        depth = ((joints - np.array([0.0, s.height(), 0.0])) @ rot.T)[..., 2]       # [K, 23]
        uv, w = self._uv_np[s.frames], self._w_np[s.frames]
        ok_w = w >= self.cfg.length_min_conf
        targets = self.mp_log_len.clone().numpy()
        for i, kind in enumerate(bm.LENGTH_KINDS):
            if kind in WIDTH_KINDS:
                continue
            samples = []
            for ends_a, ends_b, factor in bm.kind_segments(kind):
                ia, ib = [JI[j] for j in ends_a], [JI[j] for j in ends_b]
                ok = ok_w[:, ia + ib].all(axis=1)
                px = np.linalg.norm(uv[:, ia].mean(1) - uv[:, ib].mean(1), axis=-1)
                z = depth[:, ia + ib].mean(1)
                metric = np.where(ok, px * z / s.focal() * factor, np.nan)
                samples.append(_running_median(metric, self.cfg.length_median_frames)[ok])
            samples = np.concatenate(samples) if samples else np.zeros(0)
            if samples.size >= 5:
                targets[i] = np.log(max(np.percentile(samples, self.cfg.length_percentile), 1e-3))
        # proportions from the keypoints, size from the pose model (the scale one camera cannot see): the
        # targets are rescaled so that shank + thigh + trunk is the pose model's
        k = bm.KIND_INDEX
        chain = [k["shank"], k["thigh"], k["trunk"]]
        mp = np.exp(self.mp_log_len.numpy())
        targets = targets + np.log(mp[chain].sum() / np.exp(targets[chain]).sum())
        self.target_log_len = torch.tensor(targets, dtype=self.dtype)

    def final(self, s: FitState) -> tuple[np.ndarray, np.ndarray]:
        """(world joints [K, 23, 3], their pixels [K, 23, 2])."""
        import torch

        from tools.geometry import fit_terms as ft
        from tools.geometry.camera import rotation_torch
        with torch.no_grad():
            joints = self._joints(s)
            px, _ = ft.project(joints, rotation_torch(s.pitch, s.roll), torch.exp(s.log_h), torch.exp(s.log_f),
                               self.intr.cx, self.intr.cy)
        return joints.numpy(), px.numpy()


def _running_median(a: np.ndarray, window: int) -> np.ndarray:
    """Running median over `window` consecutive entries (NaN ignored): keypoint noise off a length series."""
    if window <= 1 or a.size < window:
        return a
    half = window // 2
    pad = np.pad(a, half, mode="constant", constant_values=np.nan)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(np.lib.stride_tricks.sliding_window_view(pad, window), axis=1)


def _figure_size_px(uv: np.ndarray, w: np.ndarray) -> float:
    """Median over frames of the seen keypoints' bounding-box diagonal (px)."""
    sizes = []
    for t in range(uv.shape[0]):
        ok = w[t] > 0
        if ok.sum() >= 4:
            sizes.append(float(np.linalg.norm(uv[t, ok].max(0) - uv[t, ok].min(0))))
    return float(np.median(sizes)) if sizes else 100.0
