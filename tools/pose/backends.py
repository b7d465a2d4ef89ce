"""2D pose estimation: one interface over several pose backends.

A backend turns a stream of upright RGB frames into a `PoseResult`: image
keypoints for the 23 canonical joints of tools.core.skeleton.JOINTS, a confidence
per joint, and (when the backend has them) its own world coordinates. Turning
that into the canonical metric Skeleton is tools.geometry.lift3d's job.

Backends (each imported only when chosen, so nothing heavy loads on import):
  mediapipe  MediaPipe BlazePose "full" (shipped inside the mediapipe 0.10.14
             wheel, runs offline, video mode, with world landmarks). Default.
  yolo       Ultralytics YOLO pose, COCO-17 keypoints, from user-supplied weights
             (`weights=PATH`); 2D only, heels/toes missing, hands extrapolated.

Conventions of a PoseResult:
  uv          float32[T, 23, 2]  pixels, x right, y down, in the upright frame
  conf        float32[T, 23]     0-1; 0 where the joint (or the athlete) was not found
  world_xyz   float32[T, 23, 3]  backend-native world coordinates, or None
  image_size  (width, height)    pixels of the upright frame
A frame without the athlete has NaN uv/world_xyz and conf 0 for every joint.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Protocol, runtime_checkable

import numpy as np

from tools.core.errors import InputError
from tools.core.skeleton import JOINTS

log = logging.getLogger(__name__)

N_JOINTS = len(JOINTS)
BACKEND_NAMES: tuple[str, ...] = ("mediapipe", "yolo")


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


def get_backend(backend: str = "mediapipe", weights: str | Path | None = None) -> PoseBackend:
    """Build a pose backend by name. `weights` is required for (and only used by) "yolo"."""
    name = str(backend).lower()
    if name == "mediapipe":
        if weights is not None:
            raise InputError("the mediapipe backend uses the model shipped in the mediapipe wheel; "
                             "drop --pose-weights, or choose --pose yolo to use your own weights")
        from tools.pose.mediapipe_pose import MediaPipePoseBackend
        return MediaPipePoseBackend()
    if name == "yolo":
        from tools.pose.yolo_pose import YoloPoseBackend
        return YoloPoseBackend(weights)
    raise InputError(f"unknown pose backend {backend!r}; choose one of {', '.join(BACKEND_NAMES)}")


def estimate_pose(video_path: str | Path, backend: str = "mediapipe", weights: str | Path | None = None,
                  max_frames: int | None = None, every_nth: int = 1,
                  athlete_box: tuple[float, float, float, float] | None = None,
                  athlete_point: tuple[float, float] | None = None, keyframe: int = 0,
                  select: str = "auto") -> PoseResult:
    """Run a pose backend over a video file and return the athlete's keypoints.

    Frames come upright from tools.video.clip (rotation metadata honoured). With
    `every_nth` > 1 only every n-th frame is used and the result's fps is
    divided accordingly.

    Athlete selection (tools.people.track, tools.people.athlete): with select="auto" (default)
    every person is found and tracked and the athlete chosen: the person in
    `athlete_box` (x, y, w, h px) or under `athlete_point` (x, y px) on video
    frame `keyframe` (0 = first frame; a box found by SAM 3 on a keyframe is
    passed the same way), else the person doing the test; the skeleton is kept
    on them and the choice, candidates and identity checks are in
    meta["selection"]. select="off" runs the backend alone, as before tracking
    existed (MediaPipe follows one person and can jump to another).
    """
    from tools.video.clip import iter_frames, probe_video

    if every_nth < 1:
        raise InputError(f"every_nth must be 1 or more, got {every_nth}")
    if select not in ("auto", "off"):
        raise InputError(f"select must be 'auto' or 'off', got {select!r}")
    if select == "off" and (athlete_box is not None or athlete_point is not None):
        raise InputError("an athlete box or point needs athlete selection: drop select='off'")
    info = probe_video(video_path)
    name = str(backend).lower()
    log.info("pose: backend=%s, video=%s (%dx%d px, %.2f fps, %.1f s), every_nth=%d, max_frames=%s, select=%s",
             name, Path(video_path).name, info.width, info.height, info.fps, info.duration_s, every_nth,
             max_frames, select)
    if select == "auto":
        if name not in BACKEND_NAMES:
            raise InputError(f"unknown pose backend {backend!r}; choose one of {', '.join(BACKEND_NAMES)}")
        if name == "mediapipe" and weights is not None:
            get_backend(name, weights)  # raises the usual "drop --pose-weights" error
        from tools.people.track import track_athlete
        result = track_athlete(video_path, backend=name, weights=weights, max_frames=max_frames,
                               every_nth=every_nth, athlete_box=athlete_box, athlete_point=athlete_point,
                               keyframe=keyframe)
    else:
        pose_backend = get_backend(backend, weights)
        result = pose_backend.process(iter_frames(video_path, max_frames=max_frames, every_nth=every_nth),
                                      info.fps / every_nth)
        result.meta["selection"] = {"method": "off", "mode": "backend alone (no tracking)", "problems": []}
    if result.n_frames == 0:
        raise InputError(f"no frames could be decoded from {video_path}; re-export the clip as H.264 mp4")
    result.meta.update(video=str(video_path), every_nth=every_nth)
    log.info("pose: %d frames, athlete detected in %.0f%%", result.n_frames, 100 * result.detection_share)
    return result
