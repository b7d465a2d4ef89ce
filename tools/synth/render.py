"""Shaded 3D mannequin renderer (numpy ray casting, no GL): body, props, floor and wall.

Each frame the body is rebuilt from the skeleton as primitives (capsules for
limbs, ellipsoids for torso, pelvis and head, spheres for joints, a face hint
and hair), and every primitive is ray-cast only inside its own screen bounding
box, with a z-buffer, so cost grows with the figure's pixel area, not the
image size. The floor, the wall and the static props are cast once per
camera. Shading: Lambert key light from above the camera, a soft fill and
ambient, plus a blob shadow on the floor. Output frames are RGB uint8 [H, W, 3].

Extra people (passers-by, a second athlete; see tools.synth.crowd) share the
z-buffer, so whoever is nearer the camera hides the other; `render(i)` also
returns which person owns each pixel and the depth of the nearest surface of
anyone but the athlete, for ground-truth visibility. With no extra people the
frames are exactly what they were before.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import cv2
import numpy as np

from tools.core.errors import InputError
from tools.core.skeleton import JOINT_INDEX
from tools.synth import props as P
from tools.synth.body import Athlete
from tools.synth.camera import Camera
from tools.synth.rig import Motion, unit

# The smallest 4:3 frame at which MediaPipe BlazePose (the default pose model) still gets the detail it reads:
# its landmark model looks at a 256x256 crop around the person (about 1.25x the figure), and a library clip's
# figure fills 0.7-0.9 of the frame height, so at 288 px the crop is 250-320 px, resampled to 256 either way.
# Measured against 640x480 on rendered clips (docs/BENCHMARKS.md, issue 20): the same detection rate,
# 2D error 1.4-2.8 % of the figure's height (1.2-2.7 % at 640x480), angle MAE within 2 degrees, while
# rendering costs a third. YOLO pose reads 640 px on the long side: render at 640x480 for it.
POSE_SIZE = (384, 288)

FLOOR_RGB = np.array([170, 160, 148], np.float32)
WALL_TOP_RGB = np.array([214, 218, 222], np.float32)
WALL_BOTTOM_RGB = np.array([188, 192, 198], np.float32)
EYE_RGB = (35, 30, 30)
MOUTH_RGB = (150, 70, 70)


@dataclass
class Prim:
    """One primitive: kind 'capsule' (a, b, r), 'sphere' (c, r), 'ellipsoid' (c, axes [3,3] cols, radii), 'box'."""

    kind: str
    rgb: tuple
    a: np.ndarray
    b: np.ndarray | None = None
    r: float = 0.0
    axes: np.ndarray | None = None
    radii: np.ndarray | None = None
    shine: float = 0.0

    def bounds(self) -> tuple[np.ndarray, float]:
        if self.kind == "capsule":
            return 0.5 * (self.a + self.b), 0.5 * float(np.linalg.norm(self.b - self.a)) + self.r
        if self.kind == "sphere":
            return self.a, self.r
        if self.kind == "ellipsoid":
            return self.a, float(np.max(self.radii))
        return self.a, float(np.linalg.norm(self.radii))  # box: centre, half sizes


def _j(joints: np.ndarray, name: str) -> np.ndarray:
    return joints[JOINT_INDEX[name]]


def _frame_axes(up: np.ndarray, left_hint: np.ndarray) -> np.ndarray:
    """Columns: left, up, forward (x = left, y = up, z = forward, right-handed)."""
    up = unit(up)
    left = unit(left_hint - np.dot(left_hint, up) * up)
    fwd = np.cross(left, up)
    return np.stack([left, up, fwd], axis=1)


def body_primitives(joints: np.ndarray, spine_mid: np.ndarray, athlete: Athlete) -> list[Prim]:
    """Primitives of the mannequin for one frame. joints [23, 3] metres."""
    if np.isnan(joints).any():
        return []
    g = athlete.girth
    skin, shirt, shorts = athlete.skin_rgb, athlete.shirt_rgb, athlete.shorts_rgb
    H = athlete.height_m / 1.75
    # Street clothes (a Bystander): long sleeves and trousers instead of bare arms and legs.
    sleeve = shirt if getattr(athlete, "long_sleeves", False) else skin
    leg = shorts if getattr(athlete, "trousers", False) else skin
    prims: list[Prim] = []
    cap = lambda a, b, r, rgb, shine=0.0: prims.append(Prim("capsule", rgb, a, b, r, shine=shine))  # noqa: E731
    sph = lambda c, r, rgb: prims.append(Prim("sphere", rgb, c, r=r))  # noqa: E731

    ls, rs = _j(joints, "left_shoulder"), _j(joints, "right_shoulder")
    lh, rh = _j(joints, "left_hip"), _j(joints, "right_hip")
    mid_sh, mid_hip = 0.5 * (ls + rs), 0.5 * (lh + rh)
    left_sh, left_hip = ls - rs, lh - rh

    # Trunk: chest and abdomen follow the two spine halves; pelvis follows the hips.
    chest_ax = _frame_axes(mid_sh - spine_mid, left_sh)
    chest_len = np.linalg.norm(mid_sh - spine_mid)
    prims.append(Prim("ellipsoid", shirt, spine_mid + chest_ax[:, 1] * 0.45 * chest_len - chest_ax[:, 2] * 0.01,
                      axes=chest_ax, radii=np.array([athlete.shoulder_half_width_m * 0.98 * g,
                                                     0.72 * chest_len + 0.02, 0.105 * g * H])))
    abd_ax = _frame_axes(spine_mid - mid_hip, left_hip)
    abd_len = np.linalg.norm(spine_mid - mid_hip)
    prims.append(Prim("ellipsoid", shirt, mid_hip + abd_ax[:, 1] * 0.62 * abd_len,
                      axes=abd_ax, radii=np.array([(athlete.hip_half_width_m + 0.06) * g,
                                                   0.55 * abd_len, 0.095 * g * H])))
    prims.append(Prim("ellipsoid", shorts, mid_hip + abd_ax[:, 1] * 0.04,
                      axes=abd_ax, radii=np.array([(athlete.hip_half_width_m + 0.075) * g, 0.12 * H, 0.10 * g * H])))

    cap(ls, rs, 0.062 * g * H, shirt)   # shoulder girdle

    # Head: skull, hair cap, eyes, nose, mouth, ears; neck.
    le, re_ = _j(joints, "left_ear"), _j(joints, "right_ear")
    ears = 0.5 * (le + re_)
    eyes = 0.5 * (_j(joints, "left_eye") + _j(joints, "right_eye"))
    nose = _j(joints, "nose")
    A, B = eyes - ears, nose - ears
    fwd = unit(0.22 * A + 0.10 * B)
    up = unit(A - np.dot(A, fwd) * fwd)
    r = athlete.head_radius_m
    left = unit(np.cross(up, fwd))
    head_axes = np.stack([left, up, fwd], axis=1)
    centre = ears + fwd * 0.05 * r
    cap(mid_sh + up * 0.0, centre - up * 0.55 * r, 0.42 * r, skin)
    prims.append(Prim("ellipsoid", skin, centre + up * 0.08 * r, axes=head_axes,
                      radii=np.array([0.86, 1.12, 0.98]) * r))
    prims.append(Prim("ellipsoid", athlete.hair_rgb, centre + up * 0.22 * r - fwd * 0.12 * r, axes=head_axes,
                      radii=np.array([0.93, 1.0, 0.97]) * r))
    for eye in ("left_eye", "right_eye"):
        sph(_j(joints, eye) + fwd * 0.02 * r, 0.13 * r, EYE_RGB)
        sph(_j(joints, eye) + up * 0.22 * r + fwd * 0.02 * r, 0.10 * r, athlete.hair_rgb)  # brow hint
    sph(nose, 0.2 * r, skin)
    prims.append(Prim("ellipsoid", MOUTH_RGB, centre + fwd * 0.86 * r - up * 0.52 * r, axes=head_axes,
                      radii=np.array([0.28, 0.07, 0.1]) * r))
    sph(le, 0.2 * r, skin)
    sph(re_, 0.2 * r, skin)

    # Arms: short sleeves, skin below; fists.
    for s in ("left", "right"):
        sh, el, wr, hd = (_j(joints, f"{s}_{n}") for n in ("shoulder", "elbow", "wrist", "hand"))
        sph(sh, 0.058 * g * H, shirt)
        cap(sh, sh + 0.45 * (el - sh), 0.056 * g * H, shirt)
        cap(sh, el, 0.046 * g * H, sleeve)
        cap(el, wr, 0.037 * g * H, sleeve)
        cap(wr, hd, 0.036 * g * H, skin)
        sph(hd, 0.043 * g * H, skin)
    # Legs: shorts over the upper thigh, skin below; shoes.
    for s in ("left", "right"):
        hp, kn, an, he, to = (_j(joints, f"{s}_{n}") for n in ("hip", "knee", "ankle", "heel", "toe"))
        cap(hp, hp + 0.5 * (kn - hp), 0.092 * g * H, shorts)
        cap(hp, kn, 0.076 * g * H, leg)
        cap(kn, kn + 0.45 * (an - kn), 0.060 * g * H, leg)
        cap(kn, an, 0.048 * g * H, leg)
        sole_n = unit(an - (he + 0.22 * (to - he)))
        cap(he + sole_n * 0.035, to + sole_n * 0.028 - unit(to - he) * 0.02, 0.036 * H, athlete.shoes_rgb, shine=0.3)
        cap(an, an + sole_n * 0.0 - unit(to - he) * 0.0 + (he - an) * 0.4, 0.042 * H, athlete.shoes_rgb, shine=0.3)
    return prims


@dataclass
class Person:
    """An extra body in the scene: its look and its movement (world frame, as many frames as the athlete's)."""

    athlete: Athlete
    motion: Motion


@dataclass
class RenderedFrame:
    """One frame and its bookkeeping: RGB uint8 [H, W, 3]; owner int8 [H, W] (-1 = scene or prop,
    0 = the athlete, k = extra person k, 1-based; props, even carried ones, are -1); depth [H, W] ray
    distance (m) of the visible surface; others_depth [H, W] ray distance of the nearest surface of any
    extra person or of a prop they carry (inf where none)."""

    rgb: np.ndarray
    owner: np.ndarray
    depth: np.ndarray
    others_depth: np.ndarray


def prop_primitives(props: list, frame: int) -> list[Prim]:
    out = []
    for prop in props:
        if isinstance(prop, P.Capsule):
            ends = prop.at(frame)
            out.append(Prim("capsule", prop.rgb, ends[0], ends[1], prop.radius_m, shine=0.2))
        elif isinstance(prop, P.Box):
            out.append(Prim("box", prop.rgb, np.asarray(prop.centre, float), radii=np.asarray(prop.half_size, float)))
    return out


# ----- ray casting ------------------------------------------------------------------------------

def _hit(prim: Prim, ro: np.ndarray, rd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ray parameter t [N] (inf = miss) and unit normals [N, 3] for rays ro + t rd (rd [N, 3])."""
    inf = np.float32(np.inf)
    if prim.kind == "sphere":
        oc = ro - prim.a
        b = rd @ oc
        h = b * b - (oc @ oc - prim.r ** 2)
        t = np.where(h >= 0, -b - np.sqrt(np.maximum(h, 0)), inf)
        p = ro + t[:, None] * rd
        return t, (p - prim.a) / prim.r
    if prim.kind == "capsule":
        a, b, r = prim.a, prim.b, prim.r
        ba, oa = b - a, ro - a
        baba, baoa, oaoa = ba @ ba, ba @ oa, oa @ oa
        bard, rdoa = rd @ ba, rd @ oa
        A = baba - bard * bard
        Bq = baba * rdoa - baoa * bard
        C = baba * oaoa - baoa * baoa - r * r * baba
        h = Bq * Bq - A * C
        with np.errstate(divide="ignore", invalid="ignore"):
            t_body = (-Bq - np.sqrt(np.maximum(h, 0))) / A
        y = baoa + t_body * bard
        body_ok = (h >= 0) & (y > 0) & (y < baba) & (A > 1e-12)
        use_a = y <= 0
        oc = np.where(use_a[:, None], oa, ro - b)
        b2 = np.sum(rd * oc, axis=1)
        h2 = b2 * b2 - (np.sum(oc * oc, axis=1) - r * r)
        t_cap = -b2 - np.sqrt(np.maximum(h2, 0))
        t = np.where(body_ok, t_body, np.where((h >= 0) & (h2 >= 0), t_cap, inf))
        p = ro + np.where(np.isfinite(t), t, 0)[:, None] * rd
        w = np.clip(((p - a) @ ba) / baba, 0, 1)
        q = a + w[:, None] * ba
        return t, (p - q) / r
    if prim.kind == "ellipsoid":
        R, rad = prim.axes, prim.radii
        o = ((ro - prim.a) @ R) / rad
        d = (rd @ R) / rad
        aq = np.sum(d * d, axis=1)
        bq = d @ o
        cq = o @ o - 1.0
        h = bq * bq - aq * cq
        t = np.where(h >= 0, (-bq - np.sqrt(np.maximum(h, 0))) / aq, inf)
        p = o + np.where(np.isfinite(t), t, 0)[:, None] * d
        n = (p / rad) @ R.T
        return t, n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-9)
    # axis-aligned box
    lo, hi = prim.a - prim.radii, prim.a + prim.radii
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / np.where(np.abs(rd) < 1e-9, 1e-9, rd)
        t1, t2 = (lo - ro) * inv, (hi - ro) * inv
    tmin_axes = np.minimum(t1, t2)
    tmin, tmax = tmin_axes.max(axis=1), np.maximum(t1, t2).min(axis=1)
    t = np.where((tmax >= np.maximum(tmin, 0)) & (tmin > 0), tmin, inf)
    axis = np.argmax(tmin_axes, axis=1)
    n = np.zeros_like(rd)
    n[np.arange(len(rd)), axis] = -np.sign(rd[np.arange(len(rd)), axis])
    return t, n


class Renderer:
    """Renders frames of one motion from one camera. Build once per (camera, athlete), call `frame(i)`."""

    def __init__(self, camera: Camera, athlete: Athlete, motion: Motion, shadow: bool = True,
                 extra_people: list[Person] | None = None):
        self.camera, self.athlete, self.motion, self.shadow = camera, athlete, motion, shadow
        self.extra_people = list(extra_people or [])
        for k, person in enumerate(self.extra_people, start=1):
            if person.motion.n_frames < motion.n_frames:
                raise InputError(f"extra person {k} has {person.motion.n_frames} frames but the athlete has "
                                 f"{motion.n_frames}; give every person at least as many frames (NaN = absent)")
        all_props = list(motion.props) + [p for person in self.extra_people for p in person.motion.props]
        self.ro = np.asarray(camera.position, np.float64)
        self.rays = camera.ray_directions().astype(np.float64)
        R = self.R = camera.rotation
        self.f, self.cx, self.cy = camera.focal_px, camera.width / 2, camera.height / 2
        # Key light from above and slightly left of the camera, a weaker fill from the other side.
        self.key = unit(-R[2] * 0.8 - R[1] * 1.0 - R[0] * 0.35)
        self.fill = unit(-R[2] * 0.6 + R[0] * 0.8 - R[1] * 0.2)
        self.static_rgb, self.static_depth, self.floor_xz = self._static_scene(
            [p for p in all_props if isinstance(p, P.Box) or (isinstance(p, P.Capsule) and p.ends.ndim == 2)])
        self.floor_mask = (~np.isnan(self.floor_xz[..., 0])).astype(np.float32)
        self.dynamic_props = [p for p in motion.props if isinstance(p, P.Capsule) and p.ends.ndim == 3]
        self.extra_dynamic_props = [[p for p in person.motion.props if isinstance(p, P.Capsule) and p.ends.ndim == 3]
                                    for person in self.extra_people]

    def _shade(self, rgb: tuple, n: np.ndarray, rd: np.ndarray, shine: float) -> np.ndarray:
        base = np.asarray(rgb, np.float64) / 255.0
        diff = np.clip(n @ self.key, 0, 1) * 0.72 + np.clip(n @ self.fill, 0, 1) * 0.22 + 0.28
        rim = np.clip(1.0 + np.sum(n * rd, axis=1), 0, 1) ** 3 * 0.08
        out = base[None, :] * diff[:, None] + rim[:, None]
        if shine:
            h = unit(self.key - rd)
            out += shine * np.clip(np.sum(n * h, axis=1), 0, 1)[:, None] ** 20
        return np.clip(out * 255.0, 0, 255)

    def _static_scene(self, static_props: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        cam = self.camera
        H, W = cam.height, cam.width
        rd = self.rays.reshape(-1, 3)
        ro = self.ro
        fwd_h = unit(np.asarray(cam.target) - ro) * np.array([1.0, 0.0, 1.0])
        fwd_h = unit(fwd_h)
        wall_dist = np.linalg.norm((np.asarray(cam.target) - ro) * np.array([1, 0, 1])) + 3.0
        with np.errstate(divide="ignore", invalid="ignore"):
            t_floor = np.where(rd[:, 1] < -1e-6, -ro[1] / rd[:, 1], np.inf)
            along = rd @ fwd_h
            t_wall = np.where(along > 1e-6, wall_dist / along, np.inf)
        floor = t_floor < t_wall
        t = np.minimum(t_floor, t_wall)
        p = ro + np.where(np.isfinite(t), t, 0)[:, None] * rd
        rgb = np.empty((H * W, 3), np.float64)
        # Wall: vertical gradient; floor: flat colour with faint 0.5 m tiles, darker with distance.
        height_frac = np.clip(p[:, 1] / 3.0, 0, 1)[:, None]
        rgb[:] = WALL_BOTTOM_RGB * (1 - height_frac) + WALL_TOP_RGB * height_frac
        tiles = ((np.floor(p[:, 0] / 0.5) + np.floor(p[:, 2] / 0.5)) % 2) * 6.0
        dist = np.linalg.norm(p - ro, axis=1)
        shade = np.clip(1.05 - 0.03 * dist, 0.75, 1.0)
        rgb[floor] = (FLOOR_RGB[None, :] + tiles[floor, None]) * shade[floor, None]
        depth = t.copy()
        for prim in prop_primitives(static_props, 0):
            th, n = _hit(prim, ro, rd)
            m = th < depth
            if m.any():
                depth[m] = th[m]
                rgb[m] = self._shade(prim.rgb, n[m], rd[m], prim.shine)
                floor[m] = False
        floor_xz = np.where(floor[:, None], p[:, [0, 2]], np.nan)
        return (rgb.reshape(H, W, 3).astype(np.float32), depth.reshape(H, W),
                floor_xz.reshape(H, W, 2))

    def _bbox(self, prim: Prim) -> tuple[int, int, int, int] | None:
        """Pixel box that holds the primitive: tight (projected endpoints) for capsules, else its bounding sphere."""
        if prim.kind == "capsule":
            pts, rad = np.stack([prim.a, prim.b]), prim.r
        else:
            c, rad = prim.bounds()
            pts = c[None, :]
        if not np.isfinite(pts).all():
            return None
        pc = (pts - self.ro) @ self.R.T
        if (pc[:, 2] <= rad + 0.05).any():
            return None
        u = self.f * pc[:, 0] / pc[:, 2] + self.cx
        v = self.f * pc[:, 1] / pc[:, 2] + self.cy
        zmin = pc[:, 2].min()
        pr = self.f * rad / np.sqrt(zmin ** 2 - rad ** 2) + 2
        x0, x1 = int(max(0, u.min() - pr)), int(min(self.camera.width, u.max() + pr + 1))
        y0, y1 = int(max(0, v.min() - pr)), int(min(self.camera.height, v.max() + pr + 1))
        if x0 >= x1 or y0 >= y1:
            return None
        return x0, x1, y0, y1

    def _shadow(self, rgb: np.ndarray, joints: np.ndarray) -> None:
        """Soft blob shadow: darken floor pixels near the body's floor footprint (computed at 1/4 size)."""
        pts = joints[~np.isnan(joints).any(axis=1)]
        if len(pts) == 0:
            return
        xz = self.floor_xz[::4, ::4]
        ok = ~np.isnan(xz[..., 0])
        lo, hi = pts[:, [0, 2]].min(0) - 0.4, pts[:, [0, 2]].max(0) + 0.4
        box = ok & (xz[..., 0] > lo[0]) & (xz[..., 0] < hi[0]) & (xz[..., 1] > lo[1]) & (xz[..., 1] < hi[1])
        if not box.any():
            return
        q = xz[box]
        w = np.exp(-1.5 * np.maximum(pts[:, 1], 0.0))
        d2 = (q[:, None, 0] - pts[None, :, 0]) ** 2 + (q[:, None, 1] - pts[None, :, 2]) ** 2
        small = np.zeros(xz.shape[:2], np.float32)
        small[box] = (w[None, :] * np.exp(-d2 / (2 * 0.09 ** 2))).max(axis=1)
        H, W = rgb.shape[:2]
        dark = cv2.resize(small, (small.shape[1] * 4, small.shape[0] * 4), interpolation=cv2.INTER_LINEAR)[:H, :W]
        rgb *= (1 - 0.35 * dark * self.floor_mask)[..., None]

    def frame(self, index: int) -> np.ndarray:
        """RGB uint8 [H, W, 3] of frame `index`."""
        return self.render(index).rgb

    def render(self, index: int) -> RenderedFrame:
        """Frame `index` with its owner map and depths (see RenderedFrame)."""
        joints = self.motion.joints[index]
        rgb = self.static_rgb.copy()
        depth = self.static_depth.copy()
        owner = np.full(depth.shape, -1, np.int8)
        others_depth = np.full(depth.shape, np.inf)
        if self.shadow:
            self._shadow(rgb, joints)
            for person in self.extra_people:
                self._shadow(rgb, person.motion.joints[index])
        items = [(prim, 0) for prim in body_primitives(joints, self.motion.spine_mid[index], self.athlete)]
        items += [(prim, -1) for prim in prop_primitives(self.dynamic_props, index)]
        for k, (person, dyn) in enumerate(zip(self.extra_people, self.extra_dynamic_props), start=1):
            m = person.motion
            items += [(prim, k) for prim in body_primitives(m.joints[index], m.spine_mid[index], person.athlete)]
            items += [(prim, -k - 1) for prim in prop_primitives(dyn, index)]
        for prim, who in items:
            box = self._bbox(prim)
            if box is None:
                continue
            x0, x1, y0, y1 = box
            rd = self.rays[y0:y1, x0:x1].reshape(-1, 3)
            t, n = _hit(prim, self.ro, rd)
            if who > 0 or who < -1:    # an extra person's body, or what they carry (-k - 1)
                od = others_depth[y0:y1, x0:x1]
                others_depth[y0:y1, x0:x1] = np.minimum(od, np.where(t > 0, t, np.inf).reshape(od.shape))
            sub = depth[y0:y1, x0:x1].reshape(-1)
            m = (t > 0) & (t < sub)
            if not m.any():
                continue
            idx = np.flatnonzero(m)
            sub[idx] = t[idx]
            colour = self._shade(prim.rgb, n[idx], rd[idx], prim.shine)
            region = rgb[y0:y1, x0:x1].reshape(-1, 3)
            region[idx] = colour
            rgb[y0:y1, x0:x1] = region.reshape(y1 - y0, x1 - x0, 3)
            depth[y0:y1, x0:x1] = sub.reshape(y1 - y0, x1 - x0)
            own = owner[y0:y1, x0:x1].reshape(-1)
            own[idx] = max(who, -1)
            owner[y0:y1, x0:x1] = own.reshape(y1 - y0, x1 - x0)
        return RenderedFrame(np.clip(rgb, 0, 255).astype(np.uint8), owner, depth, others_depth)

    def frames(self) -> Iterator[np.ndarray]:
        for i in range(self.motion.n_frames):
            yield self.frame(i)


def project_motion(motion: Motion, camera: Camera) -> np.ndarray:
    """Pixel coordinates [T, 23, 2] of the motion's joints in `camera`."""
    uv, _ = camera.project(motion.joints)
    return uv.astype(np.float32)
