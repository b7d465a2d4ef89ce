"""The pose contract: what every backend returns (PoseResult, FramePeople) and promises (PoseBackend).

Conventions of a PoseResult:
  uv          float32[T, 23, 2]  pixels, x right, y down, in the upright frame
  conf        float32[T, 23]     0-1; 0 where the joint (or the athlete) was not found
  world_xyz   float32[T, 23, 3]  backend-native world coordinates, or None
  image_size  (width, height)    pixels of the upright frame
A frame without the athlete has NaN uv/world_xyz and conf 0 for every joint.
Joints are the 23 canonical ones of tools.core.skeleton.JOINTS, in that order.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Protocol, runtime_checkable

import numpy as np

from tools.core.skeleton import JOINTS

N_JOINTS = len(JOINTS)


@dataclass
class PoseResult:
    """Per-frame keypoints of one athlete in canonical joint order.

    Shapes: uv [T, 23, 2] px, conf [T, 23], world_xyz [T, 23, 3] (backend-native
    units and axes, see `meta["world_frame"]`) or None.
    """

    uv: np.ndarray
    conf: np.ndarray
    world_xyz: np.ndarray | None
    image_size: tuple[int, int]
    fps: float
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.uv = np.asarray(self.uv, dtype=np.float32)
        self.conf = np.asarray(self.conf, dtype=np.float32)
        if self.uv.ndim != 3 or self.uv.shape[1:] != (N_JOINTS, 2):
            raise ValueError(f"PoseResult uv must have shape [T, {N_JOINTS}, 2], got {self.uv.shape}")
        if self.conf.shape != self.uv.shape[:2]:
            raise ValueError(f"PoseResult conf must have shape {self.uv.shape[:2]}, got {self.conf.shape}")
        if self.world_xyz is not None:
            self.world_xyz = np.asarray(self.world_xyz, dtype=np.float32)
            if self.world_xyz.shape != self.uv.shape[:2] + (3,):
                raise ValueError(f"PoseResult world_xyz must have shape {self.uv.shape[:2] + (3,)}, "
                                 f"got {self.world_xyz.shape}")
        self.image_size = (int(self.image_size[0]), int(self.image_size[1]))
        self.fps = float(self.fps)

    @property
    def n_frames(self) -> int:
        return int(self.uv.shape[0])

    @property
    def detected(self) -> np.ndarray:
        """bool[T]: frames where the backend returned the athlete at all."""
        return (self.conf > 0).any(axis=1)

    @property
    def detection_share(self) -> float:
        return float(self.detected.mean()) if self.n_frames else 0.0


@runtime_checkable
class PoseBackend(Protocol):
    """What every pose backend provides."""

    name: str
    version: str

    def process(self, frames: Iterable[np.ndarray], fps: float) -> PoseResult:
        """Keypoints for a stream of upright RGB uint8 frames [H, W, 3] at `fps`."""
        ...


def empty_arrays(n_frames: int, with_world: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """NaN uv / zero conf / NaN world arrays for `n_frames` frames (nothing detected yet)."""
    uv = np.full((n_frames, N_JOINTS, 2), np.nan, dtype=np.float32)
    conf = np.zeros((n_frames, N_JOINTS), dtype=np.float32)
    world = np.full((n_frames, N_JOINTS, 3), np.nan, dtype=np.float32) if with_world else None
    return uv, conf, world



@dataclass
class FramePeople:
    """Every person a multi-person backend found on one frame: boxes [N, 4] xyxy px, scores [N] 0-1,
    canonical keypoints uv [N, 23, 2] px and conf [N, 23]."""

    boxes_xyxy: np.ndarray
    scores: np.ndarray
    uv: np.ndarray
    conf: np.ndarray

    @classmethod
    def nobody(cls) -> "FramePeople":
        return cls(np.zeros((0, 4)), np.zeros(0), np.zeros((0, N_JOINTS, 2), np.float32),
                   np.zeros((0, N_JOINTS), np.float32))

    def __len__(self) -> int:
        return int(len(self.scores))
