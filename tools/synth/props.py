"""FMS kit props as renderable geometry: dowel, 2x6 board, hurdle, lunge board/line.

Props live in the same body frame as the motion (x = athlete's left, y up,
z facing direction, metres). A moving prop (the dowel) stores its endpoints
per frame [T, 2, 3]; static props are boxes. FMS kit sizes: dowel 4 ft
(1.22 m, ~2.5 cm thick); 2x6 board 1.5 x 5.5 in (38 x 140 mm); the hurdle is
two uprights with a cord set at the athlete's tibial-tuberosity height.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tools.synth.rig import BOARD_2X6_HEIGHT_M, BOARD_2X6_WIDTH_M, DOWEL_LENGTH_M

DOWEL_RGB = (205, 160, 95)
BOARD_RGB = (185, 150, 105)
HURDLE_RGB = (40, 40, 40)
CORD_RGB = (230, 40, 40)


@dataclass
class Capsule:
    """A rod: endpoints [T, 2, 3] (or [2, 3] when static), radius in metres."""

    name: str
    ends: np.ndarray
    radius_m: float
    rgb: tuple[int, int, int]

    @classmethod
    def dowel(cls, centre: np.ndarray, axis: np.ndarray, length_m: float = DOWEL_LENGTH_M) -> "Capsule":
        centre = np.asarray(centre, dtype=float)
        axis = np.asarray(axis, dtype=float)
        half = 0.5 * length_m * axis
        return cls("dowel", np.stack([centre - half, centre + half], axis=-2), 0.0125, DOWEL_RGB)

    def at(self, frame: int) -> np.ndarray:
        return self.ends if self.ends.ndim == 2 else self.ends[frame]

    def mirrored(self) -> "Capsule":
        ends = self.ends.copy()
        ends[..., 0] *= -1
        return Capsule(self.name, ends, self.radius_m, self.rgb)

    def to_dict(self) -> dict:
        return {"kind": "capsule", "name": self.name, "radius_m": self.radius_m,
                "static": self.ends.ndim == 2}


@dataclass
class Box:
    """A static axis-aligned box: centre (x, y, z) and half sizes, metres."""

    name: str
    centre: tuple[float, float, float]
    half_size: tuple[float, float, float]
    rgb: tuple[int, int, int]

    @classmethod
    def board_2x6(cls, centre_xz: tuple[float, float], along: str = "x", length_m: float = 0.9,
                  name: str = "board_2x6") -> "Box":
        """A 2x6 board lying flat on the floor, its long side along x or z."""
        half = (length_m / 2, BOARD_2X6_HEIGHT_M / 2, BOARD_2X6_WIDTH_M / 2)
        if along == "z":
            half = (half[2], half[1], half[0])
        return cls(name, (centre_xz[0], BOARD_2X6_HEIGHT_M / 2, centre_xz[1]), half, BOARD_RGB)

    def at(self, frame: int) -> "Box":
        return self

    def mirrored(self) -> "Box":
        c = self.centre
        return Box(self.name, (-c[0], c[1], c[2]), self.half_size, self.rgb)

    def to_dict(self) -> dict:
        return {"kind": "box", "name": self.name, "centre_m": list(self.centre),
                "half_size_m": list(self.half_size)}


def hurdle(centre_z: float, height_m: float, width_m: float = 0.75) -> list:
    """Two uprights and a cord across x at `height_m`, centred at (0, z)."""
    post = 0.02
    half_w = width_m / 2
    half_h = (height_m + 0.06) / 2
    parts: list = [
        Box("hurdle_post_left", (half_w, half_h, centre_z), (post, half_h, post), HURDLE_RGB),
        Box("hurdle_post_right", (-half_w, half_h, centre_z), (post, half_h, post), HURDLE_RGB),
        Box("hurdle_foot_left", (half_w, 0.012, centre_z), (0.03, 0.012, 0.12), HURDLE_RGB),
        Box("hurdle_foot_right", (-half_w, 0.012, centre_z), (0.03, 0.012, 0.12), HURDLE_RGB),
        Capsule("hurdle_cord", np.array([[-half_w, height_m, centre_z], [half_w, height_m, centre_z]]), 0.006,
                CORD_RGB),
    ]
    return parts
