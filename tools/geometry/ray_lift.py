"""Bone-by-bone lifting of 2D keypoints along their camera rays (the starting point of the fit).

Given the bone lengths, a bone whose parent joint is placed in 3D has its
child on the camera ray through the child's keypoint, at the bone's length
from the parent: a quadratic with two roots, the near and the far solution
(Taylor, "Reconstruction of articulated objects from point correspondences in
a single uncalibrated image", CVIU 2000, here with a perspective camera). The
pose model's own 3D picks the root: the one whose depth difference (child -
parent, along the optical axis) is closer to the pose model's. When the ray
passes further from the parent than the bone is long, the child goes to the
point of the ray nearest the parent, pulled back to the bone's length. A
keypoint seen with low confidence, and every short bone (SHORT_KINDS: the hip
and shoulder half-widths, face, fists and feet, whose tilt a few pixels of
keypoint noise would set anywhere), takes the pose model's bone direction.
The legs are placed together (`_legs`): the sixteen root combinations of both
thighs and shanks are weighed by the pose model's depths, the knee bending to
the body's front, the centre of mass over the feet and alike legs bending alike.

Camera frame (OpenCV): x right, y down, z forward, metres. Shapes: uv [T, 23, 2]
px, conf [T, 23], model_cam [T, 23, 3] (the pose model's joints placed in the
camera frame, tools.geometry.fit.initial_camera_frame), lengths [N_KINDS].
Returns joints [T, 23, 3] in the camera frame.
"""
from __future__ import annotations

import numpy as np

from tools.core.skeleton import JOINT_INDEX as JI, JOINTS
from tools.geometry import body_model as bm


# Bones so short that a few pixels of keypoint noise would tilt them anywhere out of the image plane: they
# take the pose model's direction (the fit's reprojection term then refines them with the rest).
SHORT_KINDS = frozenset({"hip_half", "shoulder_half", "nose", "eye", "ear", "fist", "heel", "toe"})


def rays(uv: np.ndarray, focal: float, cx: float, cy: float) -> np.ndarray:
    """Unit ray directions [..., 3] through pixels [..., 2]."""
    d = np.stack([(uv[..., 0] - cx) / focal, (uv[..., 1] - cy) / focal, np.ones(uv.shape[:-1])], -1)
    return d / np.linalg.norm(d, axis=-1, keepdims=True)


def _viterbi(unary: np.ndarray, depths: np.ndarray, step_sd_m: float) -> np.ndarray:
    """Per frame, the state [T] minimising unary [T, S] plus the depth jumps between consecutive frames'
    states (depths [T, S, K]: the states' joint depths; a jump costs its summed change over step_sd_m)."""
    T, S = unary.shape
    cost = unary[0].copy()
    back = np.zeros((T, S), int)
    for t in range(1, T):
        trans = np.abs(depths[t][None, :, :] - depths[t - 1][:, None, :]).sum(-1) / step_sd_m   # [from, to]
        total = cost[:, None] + trans
        back[t] = np.argmin(total, axis=0)
        cost = total[back[t], np.arange(S)] + unary[t]
    path = np.zeros(T, int)
    path[-1] = int(np.argmin(cost))
    for t in range(T - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


def _roots(parent: np.ndarray, ray: np.ndarray, length: float) -> np.ndarray:
    """[T, 2, 3]: the near and far points of `ray` at `length` from `parent` (the ray's point nearest the
    parent, pulled out to the bone's length, when the ray passes out of reach: both roots the same)."""
    b = np.sum(ray * parent, -1)
    disc = b ** 2 - np.sum(parent * parent, -1) + length ** 2
    root = np.sqrt(np.clip(disc, 0.0, None))
    out = np.stack([(b - root)[:, None] * ray, (b + root)[:, None] * ray], 1)
    short = disc < 0
    if short.any():
        v = out[short] - parent[short][:, None]
        out[short] = parent[short][:, None] + length * v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)
    return out


def _on_ray(parent: np.ndarray, ray: np.ndarray, length: float, model_dz: np.ndarray,
            sd_m: float = 0.05, step_sd_m: float = 0.02) -> np.ndarray:
    """Child [T, 3] on `ray` at `length` from `parent`: of the two roots, the path in time that follows the
    pose model's depth differences (model_dz [T]) without needless jumps."""
    cand = _roots(parent, ray, length)                                  # [T, 2, 3]
    dz = cand[..., 2] - parent[:, None, 2]
    unary = np.abs(np.nan_to_num(dz) - np.nan_to_num(model_dz)[:, None]) / sd_m
    pick = _viterbi(unary, np.nan_to_num(cand[..., 2:3]), step_sd_m)
    return cand[np.arange(len(pick)), pick]


# Winter's segment table: mass fractions of body mass and centre-of-mass positions from the proximal end
HAT_MASS, THIGH_MASS, SHANK_FOOT_MASS = 0.678, 0.100, 0.061
HAT_COM_FROM_HIPS = 0.626          # head-arms-trunk centre of mass, share of the hips-to-shoulders line
THIGH_COM, SHANK_COM = 0.433, 0.433


def _leg_candidates(hip, knee_ray, ankle_ray, thigh, shank) -> tuple[np.ndarray, np.ndarray]:
    """Four (knee, ankle) root combinations [T, 4, 3] each: (near, near), (near, far), (far, near), (far, far)."""
    knees = _roots(hip, knee_ray, thigh)
    cand_k = np.repeat(knees, 2, axis=1)
    cand_a = np.concatenate([_roots(knees[:, i], ankle_ray, shank) for i in range(2)], axis=1)
    return cand_k, cand_a


def _knee_cost(hip, cand_k, cand_a, forward, thigh) -> np.ndarray:
    """[T, 4] cost of a knee bending against the body's front: its bulge off the hip-ankle line has a
    component against `forward` (the chest's forward direction); 0 for a straight leg, up to 1."""
    line = cand_a - hip[:, None]
    rel = cand_k - hip[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.sum(rel * line, -1, keepdims=True) / np.sum(line * line, -1, keepdims=True)
        bulge = rel - t * line
        size = np.linalg.norm(bulge, axis=-1)
        cos = np.sum(bulge * forward[:, None], -1) / np.maximum(size, 1e-9)
    bent = np.clip(np.nan_to_num(size) / (0.1 * thigh), 0.0, 1.0)
    return bent * np.clip(-np.nan_to_num(cos), 0.0, None)


def _balance_cost(hat_com, hip_l, hip_r, legs_l, legs_r, up, upright, margin_m: float = 0.12) -> np.ndarray:
    """[T, 16] metres by which the body's centre of mass lies, horizontally, outside the line between the two
    ankles (plus `margin_m`), for every pair of leg candidates; 0 where the trunk is not upright (lying,
    kneeling on all fours: no balance over the feet)."""
    (k_l, a_l), (k_r, a_r) = legs_l, legs_r
    T = hat_com.shape[0]
    leg_com = lambda hip, k, a: (THIGH_MASS * (hip[:, None] + THIGH_COM * (k - hip[:, None]))  # noqa: E731
                                 + SHANK_FOOT_MASS * (k + SHANK_COM * (a - k)))
    com_l, com_r = leg_com(hip_l, k_l, a_l), leg_com(hip_r, k_r, a_r)                  # [T, 4, 3]
    com = (HAT_MASS * hat_com[:, None, None] + com_l[:, :, None] + com_r[:, None, :]) / (
        HAT_MASS + 2 * (THIGH_MASS + SHANK_FOOT_MASS))                                    # [T, 4, 4, 3]
    al, ar = a_l[:, :, None], a_r[:, None, :]
    flat = lambda v: v - np.sum(v * up[:, None, None], -1, keepdims=True) * up[:, None, None]  # noqa: E731
    seg = flat(ar - al)
    rel = flat(com - al)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.clip(np.sum(rel * seg, -1, keepdims=True) / np.maximum(np.sum(seg * seg, -1, keepdims=True), 1e-9),
                    0.0, 1.0)
    dist = np.linalg.norm(rel - t * seg, axis=-1)
    cost = np.clip(np.nan_to_num(dist) - margin_m, 0.0, None) * upright[:, None, None]
    return cost.reshape(T, 16)


def _legs(pts, rays_of, model, L, up, floor_m: float | None, sd_m: float = 0.05, step_sd_m: float = 0.02,
          shank_model_weight: float = 0.25, anatomy: float = 8.0, balance_per_m: float = 60.0,
          below_floor_per_m: float = 300.0, ankle_clearance_m: float = 0.03, pts_uv: dict | None = None,
          symmetry: float = 10.0) -> dict[str, np.ndarray]:
    """Knees and ankles of both legs, the 16 root combinations weighed together over a Viterbi path in time:
    nearness to the pose model's depth differences (its shank depth counts a quarter: the pose model is
    known to put the feet behind the hips), knees bending to the body's front, the centre of mass over
    the feet while the trunk is upright, (when the floor is known: `floor_m`, the camera's height
    above it) no ankle closer than `ankle_clearance_m` to the floor, and two legs that look alike in
    the picture (`pts_uv`: hip, knee, ankle pixels; alike as they are or mirrored left-right) take the
    same roots."""
    forward = _forward(pts)
    trunk = _dir(pts["mid_shoulder"] - pts["mid_hip"])
    upright = (np.sum(trunk * up, -1) > np.cos(np.radians(60))).astype(float)
    hat_com = pts["mid_hip"] + HAT_COM_FROM_HIPS * (pts["mid_shoulder"] - pts["mid_hip"])
    per_side, unary_side = {}, {}
    for side in ("left", "right"):
        hip, knee, ankle = pts[f"{side}_hip"], f"{side}_knee", f"{side}_ankle"
        (k_ray, _), (a_ray, _) = rays_of(knee), rays_of(ankle)
        cand_k, cand_a = _leg_candidates(hip, k_ray, a_ray, L["thigh"], L["shank"])
        mdk, mda = (model[knee] - model[f"{side}_hip"])[:, 2], (model[ankle] - model[knee])[:, 2]
        u = (np.abs(np.nan_to_num(cand_k[..., 2] - hip[:, None, 2]) - np.nan_to_num(mdk)[:, None])
             + shank_model_weight * np.abs(np.nan_to_num(cand_a[..., 2] - cand_k[..., 2]) - np.nan_to_num(mda)[:, None])
             ) / sd_m
        u = u + anatomy * _knee_cost(hip, cand_k, cand_a, forward, L["thigh"])
        if floor_m is not None:
            height = floor_m + np.sum(cand_a * up[:, None], -1)            # above the floor
            u = u + below_floor_per_m * np.clip(ankle_clearance_m - np.nan_to_num(height, nan=1.0), 0.0, None)
        per_side[side], unary_side[side] = (cand_k, cand_a), u
    unary = unary_side["left"][:, :, None] + unary_side["right"][:, None, :]
    # legs that look alike in the picture (a squat; any stance seen from the side) bend alike
    same = np.eye(4, dtype=bool)[None]
    unary = unary + symmetry * np.where(same, 0.0, _alike(pts_uv)[:, None, None])
    unary = unary.reshape(-1, 16)
    unary = unary + balance_per_m * _balance_cost(hat_com, pts["left_hip"], pts["right_hip"], per_side["left"],
                                                  per_side["right"], up, upright)
    (kl, al), (kr, ar) = per_side["left"], per_side["right"]
    depths = np.stack([np.repeat(kl[..., 2], 4, 1), np.repeat(al[..., 2], 4, 1),
                       np.tile(kr[..., 2], (1, 4)), np.tile(ar[..., 2], (1, 4))], -1)
    pick = _viterbi(unary, np.nan_to_num(depths), step_sd_m)
    rows = np.arange(len(pick))
    il, ir = pick // 4, pick % 4
    return {"left_knee": kl[rows, il], "left_ankle": al[rows, il], "right_knee": kr[rows, ir],
            "right_ankle": ar[rows, ir]}


def lift(uv: np.ndarray, conf: np.ndarray, model_cam: np.ndarray, lengths: np.ndarray, focal: float, cx: float,
         cy: float, min_conf: float = 0.3, up_cam: np.ndarray | None = None,
         floor_m: float | None = None) -> np.ndarray:
    """Joints [T, 23, 3] (camera frame) with the given bone lengths, reprojecting onto the keypoints.

    `up_cam` [3]: the up direction (against gravity) in camera axes, for the balance of the legs
    (default: a level camera, (0, -1, 0)); `floor_m`: the camera's height above the floor, when known."""
    T = uv.shape[0]
    r = rays(np.nan_to_num(uv), focal, cx, cy)
    seen = (conf >= min_conf) & np.isfinite(uv).all(-1)
    L = {k: float(lengths[i]) for i, k in enumerate(bm.LENGTH_KINDS)}
    model = dict(bm._named(model_cam))
    pts: dict[str, np.ndarray] = {}
    up = np.broadcast_to(np.asarray(up_cam if up_cam is not None else (0.0, -1.0, 0.0), float), (T, 3))

    def ray_of(name: str) -> tuple[np.ndarray, np.ndarray]:
        if name == "mid_hip":
            pair = ("left_hip", "right_hip")
        elif name == "mid_shoulder":
            pair = ("left_shoulder", "right_shoulder")
        else:
            return r[:, JI[name]], seen[:, JI[name]]
        d = r[:, JI[pair[0]]] + r[:, JI[pair[1]]]
        return d / np.linalg.norm(d, axis=-1, keepdims=True), seen[:, JI[pair[0]]] & seen[:, JI[pair[1]]]

    # root on the mid-hip ray at the pose model's depth
    ray, ok = ray_of("mid_hip")
    depth = model["mid_hip"][:, 2]
    pts["mid_hip"] = np.where(ok[:, None], ray * (depth / np.maximum(ray[:, 2], 1e-6))[:, None], model["mid_hip"])
    for name, parent, child, kind in bm.DIRECTIONS:
        if name.endswith("_shank"):
            continue                       # placed with its thigh (_leg)
        p = pts[parent]
        length = L[kind]
        if name.endswith("_thigh"):
            if name.startswith("left"):       # both legs at once, when the left thigh's turn comes
                placed = _legs(pts, ray_of, model, L, up, floor_m,
                               pts_uv={j: uv[:, JI[j]] for s in ("left", "right") for j in
                                       (f"{s}_hip", f"{s}_knee", f"{s}_ankle")})
                for side in ("left", "right"):
                    knee, ankle = f"{side}_knee", f"{side}_ankle"
                    k_ok, a_ok = ray_of(knee)[1], ray_of(ankle)[1]
                    fallback_k = pts[f"{side}_hip"] + L["thigh"] * _dir(model[knee] - model[f"{side}_hip"])
                    pts[knee] = np.where(k_ok[:, None], placed[knee], fallback_k)
                    fallback_a = pts[knee] + L["shank"] * _dir(model[ankle] - model[knee])
                    pts[ankle] = np.where((a_ok & k_ok)[:, None], placed[ankle], fallback_a)
            continue
        model_vec = model[child] - model[parent]
        model_dir = model_vec / np.maximum(np.linalg.norm(model_vec, axis=-1, keepdims=True), 1e-9)
        fallback = p + length * model_dir
        if kind in SHORT_KINDS:
            pts[child] = fallback      # too short for the keypoints' noise to set its tilt: the model's direction
        else:
            ray, ok = ray_of(child)
            pts[child] = np.where(ok[:, None], _on_ray(p, ray, length, model_vec[:, 2]), fallback)
        if name in bm._MIRRORED_LINES:
            pts[bm._MIRRORED_LINES[name]] = 2 * p - pts[child]
    out = np.stack([pts[j] for j in JOINTS], axis=1)
    return np.where(np.isfinite(out), out, model_cam) if T else out


def _alike(uv: dict) -> np.ndarray:
    """[T] 1 when the two legs have the same shape in the picture (offsets of knee and ankle from the hip,
    as they are or mirrored left-right), falling to 0 as they differ by a thigh's pixel length."""
    off = {s: np.concatenate([uv[f"{s}_knee"] - uv[f"{s}_hip"], uv[f"{s}_ankle"] - uv[f"{s}_hip"]], -1)
           for s in ("left", "right")}
    mirrored = off["right"] * np.array([-1.0, 1.0, -1.0, 1.0])
    diff = np.minimum(np.linalg.norm(off["left"] - off["right"], axis=-1), np.linalg.norm(off["left"] - mirrored, axis=-1))
    scale = np.maximum(np.linalg.norm(uv["left_knee"] - uv["left_hip"], axis=-1)
                       + np.linalg.norm(uv["right_knee"] - uv["right_hip"], axis=-1), 1e-6) / 2
    return np.exp(-(np.nan_to_num(diff / scale, nan=10.0) / 0.5) ** 2)


def _dir(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def _forward(pts: dict) -> np.ndarray:
    """[T, 3] the chest's forward direction from the lifted hips and shoulders: (left lines) x (trunk)."""
    lateral = (pts["left_shoulder"] - pts["right_shoulder"]) + (pts["left_hip"] - pts["right_hip"])
    return _dir(np.cross(lateral, pts["mid_shoulder"] - pts["mid_hip"]))
