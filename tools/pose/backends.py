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

The contract (PoseResult and its conventions, PoseBackend, FramePeople) is
tools.pose.result, re-exported here. `run_backend_on_clip` runs one backend
over a video file with nobody else looked for; finding and keeping the athlete
among several people is tools.people (tools.people.athlete_pose.estimate_pose).
"""
from __future__ import annotations

import logging
from pathlib import Path

from tools.core.errors import InputError
from tools.pose.result import (
    N_JOINTS,
    FramePeople,
    PoseBackend,
    PoseResult,
    empty_arrays,
)

__all__ = ["BACKEND_NAMES", "FramePeople", "N_JOINTS", "PoseBackend", "PoseResult", "empty_arrays", "get_backend",
           "run_backend_on_clip"]

log = logging.getLogger(__name__)

BACKEND_NAMES: tuple[str, ...] = ("mediapipe", "yolo")


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


def run_backend_on_clip(video_path: str | Path, backend: str | PoseBackend = "mediapipe",
                        weights: str | Path | None = None, max_frames: int | None = None,
                        every_nth: int = 1) -> PoseResult:
    """One pose backend over a whole video file, frame after frame, with nobody else looked for.

    Frames come upright from tools.video.clip (rotation metadata honoured), decoded
    in a background thread while the backend works. With `every_nth` > 1 only every
    n-th frame is used and the result's fps is divided accordingly. MediaPipe follows
    one person and can jump to another: finding and keeping the athlete among several
    people is tools.people.athlete_pose.estimate_pose, which calls this for select="off".
    """
    from tools.video.clip import decode_ahead, probe_video

    if every_nth < 1:
        raise InputError(f"every_nth must be 1 or more, got {every_nth}")
    # facts only: the caller checked the clip's limits (a whole-screen recording is longer than one test)
    info = probe_video(video_path, max_duration_s=float("inf"), max_size_mb=float("inf"))
    pose_backend = get_backend(backend, weights) if isinstance(backend, str) else backend
    log.info("pose: backend=%s alone, video=%s (%dx%d px, %.2f fps, %.1f s), every_nth=%d, max_frames=%s",
             pose_backend.name, Path(video_path).name, info.width, info.height, info.fps, info.duration_s,
             every_nth, max_frames)
    with decode_ahead(video_path, max_frames=max_frames, every_nth=every_nth) as frames:
        result = pose_backend.process(frames, info.fps / every_nth)
    if result.n_frames == 0:
        raise InputError(f"no frames could be decoded from {video_path}; re-export the clip as H.264 mp4")
    result.meta.update(video=str(video_path), every_nth=every_nth)
    return result
