"""Which way the athlete faces the camera, the athlete's own left/right kept through every frame, and the view azimuth.

A single camera cannot tell a person from their mirror image seen from the
other side: the same picture is an athlete facing the camera with their left
hand on the image right, or one facing away with their left hand on the image
left. The pose model decides from appearance (the face, the feet) and, on a
figure standing still, changes its mind for runs of frames: on rendered front
views MediaPipe turned the whole body around (left and right swapped in 2D
and its 3D facing away) for 20-35 % of the frames of a squat. `relabel_facing`
keeps one facing for the clip, because no FMS test has the athlete turn round:

1. per frame, the pose model's own facing: the z component (camera axes) of
   its chest's forward direction (left x up, from the shoulder and hip lines
   and the trunk), < 0 = towards the camera;
2. the clip's facing: the weighted vote of those frames, each weighted by how
   sure it is (|z|) and by how far the body is from a symmetric standing pose
   (the pose model reads facing better on a bent body: knees, hips, trunk);
3. every frame that disagrees with the clip's facing (|z| >= MIN_FACING_Z), and
   any unsure frames between two such frames, is relabelled: left and right
   swapped in 2D, and the 3D reflected in depth (z -> -z about the hips) with
   left and right swapped, which is the same picture seen with the other facing.

`view_azimuth_deg(xyz, camera_position)` is the camera's direction seen from
the athlete at the start of the clip, about the vertical: 0 = in front, +90 =
on the athlete's left, -90 on their right, +-180 behind (tools.geometry.error_budget
uses the same convention). "In front" is the chest's forward direction for an
upright body and the head's direction for a lying or kneeling one (the synthetic
push-up and quadruped face +z head first).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from tools.core.skeleton import JOINT_INDEX as JI, MIRROR_INDEX

MIN_FACING_Z = 0.3          # |z| of the chest's forward direction below which a frame does not vote


@dataclass
class FacingReport:
    facing: str                 # "camera" (the athlete faces it), "away", or "unknown"
    frames_relabelled: int
    share_relabelled: float
    vote: float                 # weighted vote in [-1, 1]: -1 = all frames say towards the camera
    frames_voting: int

    def to_dict(self) -> dict:
        return asdict(self)


def _pt(a: np.ndarray, name: str) -> np.ndarray:
    return a[:, JI[name]]


def chest_forward(xyz: np.ndarray) -> np.ndarray:
    """[T, 3] unit forward direction of the chest: (left lines) x (hips-to-shoulders), in any right-handed axes."""
    lateral = (_pt(xyz, "left_shoulder") - _pt(xyz, "right_shoulder")) + (_pt(xyz, "left_hip") - _pt(xyz, "right_hip"))
    trunk = ((_pt(xyz, "left_shoulder") + _pt(xyz, "right_shoulder")) - (_pt(xyz, "left_hip") + _pt(xyz, "right_hip"))) / 2
    fwd = np.cross(lateral, trunk)
    with np.errstate(invalid="ignore", divide="ignore"):
        return fwd / np.linalg.norm(fwd, axis=-1, keepdims=True)


def _bentness(world: np.ndarray) -> np.ndarray:
    """[T] 0 for a straight standing body, ~1 for knees/hips bent 90 deg (mean of the four joints)."""
    def flex(a, b, c):
        u, v = a - b, c - b
        with np.errstate(invalid="ignore", divide="ignore"):
            cos = np.sum(u * v, -1) / (np.linalg.norm(u, axis=-1) * np.linalg.norm(v, axis=-1))
        return 180 - np.degrees(np.arccos(np.clip(cos, -1, 1)))
    parts = []
    for s in ("left", "right"):
        parts.append(flex(_pt(world, f"{s}_hip"), _pt(world, f"{s}_knee"), _pt(world, f"{s}_ankle")))
        parts.append(flex(_pt(world, f"{s}_shoulder"), _pt(world, f"{s}_hip"), _pt(world, f"{s}_knee")))
    return np.clip(np.nanmean(np.stack(parts), axis=0) / 90.0, 0.0, 1.5)


def relabel_facing(uv: np.ndarray, conf: np.ndarray, world: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                                                FacingReport]:
    """(uv, conf, world) with every frame in the clip's facing (module docstring), and the report.

    uv [T, 23, 2] px, conf [T, 23], world [T, 23, 3] the pose model's 3D in camera axes
    (x right, y down, z away, hip-centred); returns copies.
    """
    fwd_z = chest_forward(world)[:, 2]
    sure = np.isfinite(fwd_z) & (np.abs(fwd_z) >= MIN_FACING_Z)
    weight = np.where(sure, np.abs(np.nan_to_num(fwd_z)) * (0.5 + np.nan_to_num(_bentness(world))), 0.0)
    total = float(weight.sum())
    vote = float(np.sum(weight * np.sign(np.nan_to_num(fwd_z))) / total) if total > 0 else 0.0
    uv, conf, world = uv.copy(), conf.copy(), world.copy()
    if total <= 0 or vote == 0:
        return uv, conf, world, FacingReport("unknown", 0, 0.0, round(vote, 3), int(sure.sum()))
    clip_sign = 1.0 if vote > 0 else -1.0
    wrong = sure & (np.sign(np.nan_to_num(fwd_z)) != clip_sign)
    flip = _fill_between(wrong, sure)
    if flip.any():
        uv[flip] = uv[flip][:, MIRROR_INDEX]
        conf[flip] = conf[flip][:, MIRROR_INDEX]
        mirrored = world[flip][:, MIRROR_INDEX]
        mirrored[..., 2] *= -1
        world[flip] = mirrored
    n = int(flip.sum())
    return uv, conf, world, FacingReport("away" if clip_sign > 0 else "camera", n,
                                         round(n / max(len(flip), 1), 4), round(vote, 3), int(sure.sum()))


def _fill_between(wrong: np.ndarray, sure: np.ndarray) -> np.ndarray:
    """Frames to flip: the wrong ones, plus unsure frames whose nearest sure frames on both sides are wrong."""
    out = wrong.copy()
    sure_idx = np.flatnonzero(sure)
    if sure_idx.size == 0:
        return out
    for t in np.flatnonzero(~sure):
        before = sure_idx[sure_idx < t]
        after = sure_idx[sure_idx > t]
        prev = wrong[before[-1]] if before.size else None
        nxt = wrong[after[0]] if after.size else None
        if (prev is None or prev) and (nxt is None or nxt) and (prev or nxt):
            out[t] = True
    return out


def view_azimuth_deg(xyz: np.ndarray, camera_position: np.ndarray, fps: float, start_s: float = 1.5) -> float | None:
    """Camera azimuth seen from the athlete at the start of the clip (module docstring); None if unseen.

    xyz [T, 23, 3] world frame (y up); camera_position [3] in the same frame. The body's left is the
    median of the per-frame horizontal unit left vectors over the first `start_s` seconds: the pose
    model's first frames of a clip can turn the hip line by tens of degrees for a few frames (seen on
    rendered side views: 78 -> -20 -> 79 deg within half a second), which a median over 0.3 s followed.
    """
    n = max(1, int(round(start_s * fps)))
    lateral = (_pt(xyz, "left_shoulder") - _pt(xyz, "right_shoulder")) + (_pt(xyz, "left_hip") - _pt(xyz, "right_hip"))
    trunk = ((_pt(xyz, "left_shoulder") + _pt(xyz, "right_shoulder")) - (_pt(xyz, "left_hip") + _pt(xyz, "right_hip"))) / 2
    root = (_pt(xyz, "left_hip") + _pt(xyz, "right_hip")) / 2
    ok = np.isfinite(lateral).all(-1) & np.isfinite(trunk).all(-1)
    if not ok.any():
        return None
    pick = np.flatnonzero(ok)[:n]
    flat = lateral[pick] * np.array([1.0, 0.0, 1.0])
    norm = np.linalg.norm(flat, axis=-1, keepdims=True)
    lat = np.nanmedian(flat / np.where(norm > 1e-9, norm, np.nan), axis=0)
    up_trunk = np.nanmedian(trunk[pick], axis=0)
    centre = np.nanmedian(root[pick], axis=0)
    lat[1] = 0.0
    if np.linalg.norm(lat) < 1e-6:
        return None
    lat /= np.linalg.norm(lat)
    unit_trunk = up_trunk / max(np.linalg.norm(up_trunk), 1e-9)
    if abs(unit_trunk[1]) >= math.cos(math.radians(45)):      # upright: the chest's forward direction
        fwd = np.cross(lat, [0.0, 1.0, 0.0])
    else:                                                      # lying / on all fours: head first
        fwd = np.array([up_trunk[0], 0.0, up_trunk[2]])
        fwd -= np.dot(fwd, lat) * lat
    if np.linalg.norm(fwd) < 1e-6:
        return None
    fwd /= np.linalg.norm(fwd)
    to_cam = np.asarray(camera_position, float) - centre
    to_cam[1] = 0.0
    if np.linalg.norm(to_cam) < 1e-6:
        return None
    return round(math.degrees(math.atan2(float(np.dot(to_cam, lat)), float(np.dot(to_cam, fwd)))), 1)
