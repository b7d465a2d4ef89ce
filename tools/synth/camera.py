"""Pinhole cameras for synthetic clips: named views, height and distance, projection.

World = the motion's body frame (x = athlete's left, y up, z the way the
athlete faces at the start, metres, floor y = 0). Image pixels: u right,
v down, origin top-left (OpenCV). Views: "front" (camera in front of the
athlete), "side" (camera on the athlete's left for left/NA samples, on the
right for right samples, so a right sample is the mirror image of a left one),
"45" (front-left / front-right oblique), "back" (behind the athlete: the
view shoulder mobility needs, where the fists meet behind the back).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from tools.core.errors import InputError

VIEWS = ("front", "side", "45", "back")


@dataclass(frozen=True)
class Camera:
    position: tuple[float, float, float]
    target: tuple[float, float, float]
    width: int = 640
    height: int = 480
    hfov_deg: float = 60.0
    view: str = "custom"

    @property
    def focal_px(self) -> float:
        return 0.5 * self.width / np.tan(np.radians(self.hfov_deg) / 2)

    @property
    def rotation(self) -> np.ndarray:
        """World-to-camera rotation [3, 3]: rows are the camera's right, down and forward axes."""
        fwd = np.asarray(self.target, float) - np.asarray(self.position, float)
        fwd /= np.linalg.norm(fwd)
        right = np.cross(fwd, [0.0, 1.0, 0.0])
        if np.linalg.norm(right) < 1e-6:
            raise InputError("camera cannot look straight up or down; lower or raise the target")
        right /= np.linalg.norm(right)
        down = np.cross(fwd, right)
        return np.stack([right, down, fwd])

    @property
    def K(self) -> np.ndarray:
        f = self.focal_px
        return np.array([[f, 0, self.width / 2], [0, f, self.height / 2], [0, 0, 1.0]])

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        return (np.asarray(points) - np.asarray(self.position)) @ self.rotation.T

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pixel coordinates [..., 2] and depth along the optical axis [...] of world points [..., 3]."""
        pc = self.to_camera(points)
        z = pc[..., 2]
        f = self.focal_px
        uv = np.stack([f * pc[..., 0] / z + self.width / 2, f * pc[..., 1] / z + self.height / 2], axis=-1)
        return uv, z

    def ray_directions(self) -> np.ndarray:
        """Unit world-space ray per pixel centre [H, W, 3] (float32)."""
        u = np.arange(self.width) + 0.5 - self.width / 2
        v = np.arange(self.height) + 0.5 - self.height / 2
        uu, vv = np.meshgrid(u, v)
        d = np.stack([uu, vv, np.full_like(uu, self.focal_px)], axis=-1)
        d /= np.linalg.norm(d, axis=-1, keepdims=True)
        return (d @ self.rotation).astype(np.float32)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["position"] = [float(v) for v in self.position]
        d["target"] = [float(v) for v in self.target]
        return d


def view_camera(view: str, side: str = "NA", distance_m: float = 3.0, height_m: float = 0.9,
                target: tuple[float, float, float] = (0.0, 0.85, 0.1), width: int = 640,
                height: int = 480, hfov_deg: float = 60.0, azimuth_offset_deg: float = 0.0) -> Camera:
    """A camera for a named view, `distance_m` from the target, lens at `height_m`.

    `azimuth_offset_deg` turns the camera around the athlete (positive towards
    the athlete's left), e.g. to vary a "front" view by a few degrees.
    """
    if view not in VIEWS:
        raise InputError(f"camera view must be one of {', '.join(VIEWS)}; got {view!r}")
    if not 1.0 <= distance_m <= 15.0:  # noqa: PLR2004
        raise InputError(f"camera distance must be 1-15 m, got {distance_m}")
    # Azimuth 0 = in front (+z), 90 = on the athlete's left (+x).
    azimuth = {"front": 0.0, "side": 90.0, "45": 45.0, "back": 180.0}[view]
    if side == "R":
        azimuth = -azimuth
    azimuth += azimuth_offset_deg
    a = np.radians(azimuth)
    tx, ty, tz = target
    position = (tx + distance_m * np.sin(a), height_m, tz + distance_m * np.cos(a))
    return Camera(position=tuple(float(v) for v in position), target=(float(tx), float(ty), float(tz)),
                  width=width, height=height, hfov_deg=hfov_deg, view=view)
