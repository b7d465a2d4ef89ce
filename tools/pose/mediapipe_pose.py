"""MediaPipe BlazePose backend: 33 landmarks -> the 23 canonical joints.

Uses the legacy `mediapipe.solutions.pose` graph in video mode
(static_image_mode=False: detect once, then track) with model_complexity=1,
the "full" landmark model shipped inside the mediapipe 0.10.14 wheel. The
"lite" (0) and "heavy" (2) models are NOT shipped: selecting them makes
mediapipe download them at run time, so this module refuses them.

Confidence of a joint = landmark visibility (times presence when the graph
fills it in; the 0.10.14 legacy graph does not). A canonical joint built from
two landmarks (the hand) gets the lower of the two.

MediaPipe's native libraries (TFLite, absl) print start-up banners straight to
the process's stderr when a graph starts ("Created TensorFlow Lite XNNPACK
delegate", "Feedback manager requires a model with a single signature");
they are silenced while a graph starts and runs its first frame, unless this
module's logger is enabled for INFO (the CLI's --verbose).

World landmarks (kept in PoseResult.world_xyz): metres, origin at the centre
of the hips, x to the image right, y DOWN, z away from the camera (smaller z
= closer). tools.geometry.lift3d converts them to the canonical y-up frame.
"""
from __future__ import annotations

import contextlib
import logging
import os
import sys
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from tools.core.errors import BackendUnavailable, InputError
from tools.core.files import file_sha256
from tools.core.progress import advance
from tools.core.skeleton import JOINTS
from tools.pose.result import PoseResult, empty_arrays

log = logging.getLogger(__name__)

# BlazePose landmark indices (mediapipe.solutions.pose.PoseLandmark).
MP_LANDMARKS: tuple[str, ...] = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_pinky", "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)

# Canonical joint -> the BlazePose landmark(s) it is made of (mean position when
# more than one). Hands: centre of the index (19/20) and pinky (17/18) knuckles.
MEDIAPIPE_TO_CANONICAL: dict[str, tuple[int, ...]] = {
    "nose": (0,), "left_eye": (2,), "right_eye": (5,), "left_ear": (7,), "right_ear": (8,),
    "left_shoulder": (11,), "right_shoulder": (12,), "left_elbow": (13,), "right_elbow": (14,),
    "left_wrist": (15,), "right_wrist": (16,), "left_hip": (23,), "right_hip": (24,),
    "left_knee": (25,), "right_knee": (26,), "left_ankle": (27,), "right_ankle": (28,),
    "left_heel": (29,), "right_heel": (30,), "left_toe": (31,), "right_toe": (32,),
    "left_hand": (19, 17), "right_hand": (20, 18),
}

MODEL_COMPLEXITY = 1  # "full": the only landmark model shipped in the wheel
_MODEL_FILES = ("modules/pose_landmark/pose_landmark_full.tflite", "modules/pose_detection/pose_detection.tflite")
_MISSING_MODEL_HINT = "reinstall it with `pip install mediapipe==0.10.14` (that wheel ships the full model)"


def map_landmarks(points: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """[..., 33, C] landmarks and [..., 33] scores -> [..., 23, C] canonical joints and [..., 23] conf."""
    points = np.asarray(points, dtype=np.float32)
    scores = np.asarray(scores, dtype=np.float32)
    if points.shape[-2] != len(MP_LANDMARKS):
        raise ValueError(f"expected {len(MP_LANDMARKS)} MediaPipe landmarks, got {points.shape[-2]}")
    out = np.empty(points.shape[:-2] + (len(JOINTS), points.shape[-1]), dtype=np.float32)
    conf = np.empty(scores.shape[:-1] + (len(JOINTS),), dtype=np.float32)
    for j, name in enumerate(JOINTS):
        idx = list(MEDIAPIPE_TO_CANONICAL[name])
        out[..., j, :] = points[..., idx, :].mean(axis=-2)
        conf[..., j] = scores[..., idx].min(axis=-1)
    return out, conf


class MediaPipePoseBackend:
    """BlazePose "full" in video mode. One instance can process many clips (each starts fresh)."""

    name = "mediapipe"

    def __init__(self, model_complexity: int = MODEL_COMPLEXITY, min_detection_confidence: float = 0.5,
                 min_tracking_confidence: float = 0.5, smooth_landmarks: bool = True) -> None:
        if model_complexity != MODEL_COMPLEXITY:
            raise InputError(
                f"MediaPipe model_complexity={model_complexity} is not available offline: only the 'full' model "
                f"(model_complexity={MODEL_COMPLEXITY}) ships in the mediapipe wheel; the others would be "
                "downloaded at run time, which FormScout never does")
        try:
            import mediapipe
            from mediapipe.python.solutions import pose as mp_pose
        except ImportError as exc:
            raise BackendUnavailable(f"the mediapipe pose backend needs mediapipe: {_MISSING_MODEL_HINT}") from exc
        root = Path(mediapipe.__file__).parent
        self._model_paths = [root / rel for rel in _MODEL_FILES]
        missing = [str(p) for p in self._model_paths if not p.exists()]
        if missing:
            raise BackendUnavailable(f"mediapipe is installed but its pose model is missing ({missing[0]}); "
                                     f"{_MISSING_MODEL_HINT}")
        self._mp_pose = mp_pose
        self.version = mediapipe.__version__
        self.min_detection_confidence = float(min_detection_confidence)
        self.min_tracking_confidence = float(min_tracking_confidence)
        self.smooth_landmarks = bool(smooth_landmarks)

    def meta(self) -> dict:
        return {
            "backend": self.name,
            "backend_version": self.version,
            "version": self.version,
            "model": "BlazePose GHUM full (pose_landmark_full.tflite + pose_detection.tflite)",
            "model_file": self._model_paths[0].name,
            "model_sha256": file_sha256(str(self._model_paths[0])),
            "model_files": {p.name: file_sha256(str(p)) for p in self._model_paths},
            "model_complexity": MODEL_COMPLEXITY,
            "mode": "video (static_image_mode=False)",
            "min_detection_confidence": self.min_detection_confidence,
            "min_tracking_confidence": self.min_tracking_confidence,
            "smooth_landmarks": self.smooth_landmarks,
            "hand": "centre of index and pinky knuckles",
            "hand_extrapolated": False,
            "world_frame": "mediapipe_world: metres, origin hip centre, x image-right, y down, z away from camera",
        }

    def open_stream(self, fps: float) -> "MediaPipeStream":
        """A video-mode graph fed one frame at a time (see MediaPipeStream); close it when done."""
        return MediaPipeStream(self, fps)

    def process(self, frames: Iterable[np.ndarray], fps: float) -> PoseResult:
        """Landmarks for each upright RGB uint8 frame [H, W, 3]; fps feeds the graph's time stamps."""
        if not fps or fps <= 0:
            raise InputError(f"fps must be positive, got {fps}")
        uv_rows, conf_rows, world_rows = [], [], []
        image_size = None
        with self.open_stream(fps) as stream:
            for i, frame in enumerate(frames):
                frame = check_frame(frame, image_size)
                image_size = (frame.shape[1], frame.shape[0])
                uv, conf, world = empty_arrays(1, with_world=True)
                found = stream.process(frame, i)
                if found is not None:
                    uv[0], conf[0], w = found
                    if w is not None:
                        world[0] = w
                uv_rows.append(uv[0])
                conf_rows.append(conf[0])
                world_rows.append(world[0])
        if image_size is None:
            uv, conf, world = empty_arrays(0, with_world=True)
            return PoseResult(uv=uv, conf=conf, world_xyz=world, image_size=(0, 0), fps=fps, meta=self.meta())
        return PoseResult(uv=np.stack(uv_rows), conf=np.stack(conf_rows), world_xyz=np.stack(world_rows),
                          image_size=image_size, fps=fps, meta=self.meta())


class MediaPipeStream:
    """One BlazePose video-mode graph fed frame by frame, for callers that choose each frame (a crop that
    follows the athlete, a graph re-seeded after a wrong person).

    `process(image, index)` returns (uv [23, 2] px of `image`, conf [23], world [23, 3] or None) or None when
    nobody was found; `index` is the clip frame, so the smoothing filter sees the clip's real time stamps
    counted from the frame where the graph (re)started. `reset()` closes the graph: the next frame starts a
    fresh one (detection, then tracking). Use as a context manager.
    """

    def __init__(self, backend: MediaPipePoseBackend, fps: float) -> None:
        if not fps or fps <= 0:
            raise InputError(f"fps must be positive, got {fps}")
        self._backend = backend
        self.fps = float(fps)
        self._graph = None
        self._start = 0

    def __enter__(self) -> "MediaPipeStream":
        return self

    def __exit__(self, *exc) -> None:
        self.reset()

    def reset(self) -> None:
        if self._graph is not None:
            self._graph.close()
        self._graph = None

    close = reset

    def process(self, image: np.ndarray, index: int):
        advance("pose")          # tools.core.progress: one more frame posed (a no-op when nobody listens)
        b = self._backend
        if self._graph is None:
            with native_banners_silenced():
                self._graph = b._mp_pose.Pose(static_image_mode=False, model_complexity=MODEL_COMPLEXITY,
                                              smooth_landmarks=b.smooth_landmarks, enable_segmentation=False,
                                              min_detection_confidence=b.min_detection_confidence,
                                              min_tracking_confidence=b.min_tracking_confidence)
                self._start = int(index)
                set_graph_timestamp(self._graph, 0, self.fps)
                res = self._graph.process(image)
        else:
            set_graph_timestamp(self._graph, int(index) - self._start, self.fps)
            res = self._graph.process(image)
        if res.pose_landmarks is None:
            return None
        height, width = image.shape[:2]
        lms = res.pose_landmarks.landmark
        pts = np.array([(lm.x * width, lm.y * height) for lm in lms], dtype=np.float32)
        score = np.array([landmark_score(lm) for lm in lms], dtype=np.float32)
        uv, conf = map_landmarks(pts, score)
        world = None
        if res.pose_world_landmarks is not None:
            wl = res.pose_world_landmarks.landmark
            world, _ = map_landmarks(np.array([(p.x, p.y, p.z) for p in wl], np.float32), score)
        return uv, conf, world


class StaticPoseFinder:
    """BlazePose "full" in static-image mode: the one most prominent person in an image, or nobody.

    `find(image)` -> (uv [23, 2] px of `image`, conf [23]) or None; conf is the landmark visibility.
    Used by tools.people.detect to find every person (tile, find, mask, repeat). Use as a context manager.
    """

    def __init__(self, min_detection_confidence: float = 0.5) -> None:
        try:
            from mediapipe.python.solutions import pose as mp_pose
        except ImportError as exc:
            raise BackendUnavailable(f"person detection needs mediapipe: {_MISSING_MODEL_HINT}") from exc
        self.min_detection_confidence = float(min_detection_confidence)
        self._mp_pose = mp_pose
        self._graph = None
        self.calls = 0

    def __enter__(self) -> "StaticPoseFinder":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._graph is not None:
            self._graph.close()
        self._graph = None

    def find(self, image: np.ndarray):
        self.calls += 1
        if self._graph is None:
            with native_banners_silenced():
                self._graph = self._mp_pose.Pose(static_image_mode=True, model_complexity=MODEL_COMPLEXITY,
                                                 enable_segmentation=False,
                                                 min_detection_confidence=self.min_detection_confidence)
                res = self._graph.process(image)
        else:
            res = self._graph.process(image)
        if res.pose_landmarks is None:
            return None
        height, width = image.shape[:2]
        lms = res.pose_landmarks.landmark
        pts = np.array([(lm.x * width, lm.y * height) for lm in lms], dtype=np.float32)
        vis = np.array([lm.visibility for lm in lms], dtype=np.float32)
        return map_landmarks(pts, np.clip(vis, 0, 1))


class _Stderr:
    """The process's one stderr (file descriptor 2), pointed at /dev/null while any graph starts.

    File descriptor 2 belongs to the whole process, so threads that start graphs at the same time (pieces
    of a clip on several cores) share one redirection: the first in points it at /dev/null, the last out
    points it back. This is the one piece of process-wide state here, as fd 2 itself is process-wide.
    """

    def __init__(self) -> None:
        import threading
        self._lock = threading.Lock()
        self._users = 0
        self._saved: int | None = None
        self._devnull: int | None = None

    def enter(self) -> bool:
        with self._lock:
            if self._users == 0:
                try:
                    sys.stderr.flush()
                    self._saved = os.dup(2)
                except (OSError, ValueError):  # no real stderr (an embedded interpreter): nothing to silence
                    return False
                self._devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(self._devnull, 2)
            self._users += 1
            return True

    def leave(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users == 0:
                os.dup2(self._saved, 2)
                os.close(self._saved)
                os.close(self._devnull)
                self._saved = self._devnull = None


_STDERR = _Stderr()


@contextlib.contextmanager
def native_banners_silenced() -> Iterator[None]:
    """Point the process's stderr at /dev/null while MediaPipe's native code starts up, unless this module
    logs at INFO (--verbose). Python-level errors raised inside still propagate."""
    if log.isEnabledFor(logging.INFO) or not _STDERR.enter():
        yield
        return
    try:
        yield
    finally:
        _STDERR.leave()


def landmark_score(landmark) -> float:
    """Visibility, times presence when the graph reports it."""
    score = landmark.visibility if landmark.HasField("visibility") else 1.0
    if landmark.HasField("presence"):
        score *= landmark.presence
    return float(np.clip(score, 0.0, 1.0))


def check_frame(frame: np.ndarray, previous_size: tuple[int, int] | None) -> np.ndarray:
    """The frame as a contiguous RGB uint8 array; InputError for anything else or a size change mid-clip."""
    frame = np.asarray(frame)
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise InputError(f"pose frames must be RGB images [H, W, 3], got shape {frame.shape}")
    if frame.dtype != np.uint8:
        raise InputError(f"pose frames must be uint8 RGB, got {frame.dtype}")
    if previous_size is not None and (frame.shape[1], frame.shape[0]) != previous_size:
        raise InputError(f"frame size changed mid-clip from {previous_size} to {(frame.shape[1], frame.shape[0])}")
    return np.ascontiguousarray(frame)


def set_graph_timestamp(graph, index: int, fps: float) -> None:
    """Feed the clip's real time stamps to the landmark smoothing filter.

    The legacy SolutionBase adds a fixed 33 333 us (30 fps) before each frame;
    setting its counter first makes frame `index` arrive at index/fps seconds,
    so 60 or 25 fps clips are filtered at their true rate.
    """
    if hasattr(graph, "_simulated_timestamp"):
        graph._simulated_timestamp = int(round(index * 1e6 / fps)) + 1 - 33333
    elif index == 0:
        log.warning("mediapipe graph has no time stamp counter; landmark smoothing assumes 30 fps")
