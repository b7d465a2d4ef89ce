"""Ultralytics YOLO pose backend: COCO-17 keypoints -> the 23 canonical joints.

Runs user-supplied weights (`weights=PATH`, a YOLO pose .pt with 17 keypoints)
fully offline: before ultralytics is first imported, YOLO_OFFLINE=1 (no online
check, so no telemetry, no Sentry, no auto-install of missing packages),
YOLO_AUTOINSTALL=False and a private YOLO_CONFIG_DIR under the FormScout home
(`$FORMSCOUT_HOME`, default ~/.formscout) are set, and settings sync is turned
off in that private settings file. Weights are only ever read from the given
path; a missing path is an InputError, never a download. Nothing is plotted, so
no fonts are fetched; nothing is trained, so no AMP check runs.

Mapping (COCO-17 has no heels, toes or hands):
  heels, toes  NaN with conf 0
  hands        extrapolated from the forearm: wrist + HAND_FOREARM_RATIO * (wrist - elbow),
               conf = the lower of wrist and elbow conf; meta "hand_extrapolated": true.
               HAND_FOREARM_RATIO = 0.4: wrist-to-knuckle length (about 0.057 of
               standing height) over forearm length (about 0.146 of standing
               height, Winter's anthropometric table), rounded.

Several people: `process` (used with select="off") keeps the naive choice:
the detection with the largest box area x confidence in the first frame where
anyone is found; after that the detection whose box centre is nearest the
previous athlete box, as long as it moved less than `max_jump_box_heights`
box heights (else the largest again). The default path (tools.people.athlete_pose)
calls `detect_people` instead: every person's box and keypoints on every frame,
tracked and chosen by tools.people.track / tools.people.athlete.
"""
from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Iterable

import numpy as np

from tools.core.errors import BackendUnavailable, InputError
from tools.core.files import file_sha256
from tools.core.progress import advance
from tools.core.skeleton import JOINT_INDEX, JOINTS
from tools.pose.result import FramePeople, PoseResult, empty_arrays

log = logging.getLogger(__name__)

COCO17: tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)
# Canonical joint -> COCO-17 index, for the joints COCO has (the rest are not listed).
COCO17_TO_CANONICAL: dict[str, int] = {name: i for i, name in enumerate(COCO17)}
MISSING_IN_COCO17: tuple[str, ...] = ("left_heel", "right_heel", "left_toe", "right_toe")
EXTRAPOLATED_HANDS: dict[str, tuple[str, str]] = {"left_hand": ("left_wrist", "left_elbow"),
                                                  "right_hand": ("right_wrist", "right_elbow")}
HAND_FOREARM_RATIO = 0.4


def formscout_home() -> Path:
    """Where FormScout keeps private state (ultralytics config, catalogs): $FORMSCOUT_HOME or ~/.formscout."""
    return Path(os.environ.get("FORMSCOUT_HOME", "~/.formscout")).expanduser()


def coco17_to_canonical(keypoints: np.ndarray, hand_ratio: float = HAND_FOREARM_RATIO
                        ) -> tuple[np.ndarray, np.ndarray]:
    """[..., 17, 3] COCO keypoints (x px, y px, conf) -> [..., 23, 2] canonical uv and [..., 23] conf.

    Heels and toes come out NaN with conf 0; hands are extrapolated along the
    forearm (see module docstring). Joints with conf 0 or non-finite positions
    are NaN with conf 0.
    """
    kp = np.asarray(keypoints, dtype=np.float32)
    if kp.shape[-2:] not in ((17, 3), (17, 2)):
        raise ValueError(f"expected COCO-17 keypoints [..., 17, 3], got {kp.shape}")
    xy = kp[..., :2]
    score = kp[..., 2] if kp.shape[-1] == 3 else np.ones(kp.shape[:-1], np.float32)
    uv = np.full(kp.shape[:-2] + (len(JOINTS), 2), np.nan, dtype=np.float32)
    conf = np.zeros(kp.shape[:-2] + (len(JOINTS),), dtype=np.float32)
    for name, i in COCO17_TO_CANONICAL.items():
        uv[..., JOINT_INDEX[name], :] = xy[..., i, :]
        conf[..., JOINT_INDEX[name]] = score[..., i]
    for hand, (wrist, elbow) in EXTRAPOLATED_HANDS.items():
        w, e = uv[..., JOINT_INDEX[wrist], :], uv[..., JOINT_INDEX[elbow], :]
        uv[..., JOINT_INDEX[hand], :] = w + hand_ratio * (w - e)
        conf[..., JOINT_INDEX[hand]] = np.minimum(conf[..., JOINT_INDEX[wrist]], conf[..., JOINT_INDEX[elbow]])
    bad = ~np.isfinite(uv).all(axis=-1) | (conf <= 0)
    uv[bad] = np.nan
    conf[bad] = 0.0
    return uv, np.clip(conf, 0.0, 1.0)


def select_athlete(boxes: np.ndarray, scores: np.ndarray, previous_box: np.ndarray | None,
                   max_jump_box_heights: float = 0.5) -> int | None:
    """Index of the athlete among N detections (boxes [N, 4] xyxy px, scores [N]), or None if N == 0."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if len(boxes) == 0:
        return None
    if previous_box is not None:
        centres = (boxes[:, :2] + boxes[:, 2:]) / 2
        prev_centre = (previous_box[:2] + previous_box[2:]) / 2
        dist = np.linalg.norm(centres - prev_centre, axis=1)
        nearest = int(np.argmin(dist))
        if dist[nearest] <= max_jump_box_heights * max(previous_box[3] - previous_box[1], 1.0):
            return nearest
    area = np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0, None)
    return int(np.argmax(area * scores))


def _checked_frame(frame, image_size: tuple[int, int] | None) -> tuple[np.ndarray, tuple[int, int]]:
    """The frame as an array and its (w, h); InputError for a non-RGB frame or a size change mid-clip."""
    frame = np.asarray(frame)
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise InputError(f"pose frames must be uint8 RGB [H, W, 3], got {frame.dtype} {frame.shape}")
    size = (frame.shape[1], frame.shape[0])
    if image_size is not None and size != image_size:
        raise InputError(f"frame size changed mid-clip from {image_size} to {size}")
    return frame, size


def _import_yolo():
    """Import ultralytics.YOLO with every network path switched off (see module docstring)."""
    config_dir = formscout_home() / "ultralytics"
    config_dir.mkdir(parents=True, exist_ok=True)
    if "ultralytics" in sys.modules and os.environ.get("YOLO_OFFLINE") != "1":
        log.warning("ultralytics was imported before FormScout set YOLO_OFFLINE=1; "
                    "its online check may already have run")
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["YOLO_AUTOINSTALL"] = "False"
    os.environ["YOLO_CONFIG_DIR"] = str(config_dir)
    omp_before = os.environ.get("OMP_NUM_THREADS")
    try:
        import torch  # noqa: F401  before ultralytics, whose OMP_NUM_THREADS=1 would pin torch to one thread
        import ultralytics  # sets OMP_NUM_THREADS=1 when unset; undone below
        from ultralytics import YOLO
        from ultralytics.utils import SETTINGS
    except ImportError as exc:
        raise BackendUnavailable("the yolo pose backend needs ultralytics: pip install ultralytics==8.4.190") from exc
    finally:
        if omp_before is None:
            os.environ.pop("OMP_NUM_THREADS", None)
    if SETTINGS.get("sync", False):
        SETTINGS.update(sync=False)
    return YOLO, ultralytics.__version__


class YoloPoseBackend:
    """Ultralytics YOLO pose (COCO-17) from a local weights file, on CPU."""

    name = "yolo"

    def __init__(self, weights: str | Path | None, imgsz: int = 640, min_conf: float = 0.25,
                 batch_size: int = 4, device: str = "cpu", num_threads: int | None = None) -> None:
        if weights is None:
            raise InputError("the yolo pose backend needs your weights file: pass --pose-weights PATH "
                             "(a YOLO pose .pt with 17 COCO keypoints, e.g. yolo26n-pose.pt); "
                             "FormScout never downloads weights")
        path = Path(weights).expanduser()
        if not path.is_file():
            raise InputError(f"YOLO pose weights not found: {path}. Download a YOLO pose .pt yourself "
                             "(e.g. yolo26n-pose.pt) and pass its path with --pose-weights; "
                             "FormScout never downloads weights")
        YOLO, self.version = _import_yolo()
        try:
            self._model = YOLO(str(path.resolve()), task="pose")
        except Exception as exc:  # torch/pickle/ultralytics raise many types for a bad file
            raise InputError(f"cannot load YOLO weights {path}: {exc}. Pass a YOLO pose .pt file") from exc
        kpt_shape = tuple(getattr(self._model.model, "kpt_shape", None) or ()) if hasattr(self._model, "model") else ()
        if self._model.task != "pose" or tuple(kpt_shape[:1]) != (17,):
            raise InputError(f"{path} is a YOLO {self._model.task} model with keypoints {kpt_shape or 'none'}; "
                             "FormScout needs a YOLO pose model with 17 COCO keypoints")
        self.weights = path
        self.imgsz = int(imgsz)
        self.min_conf = float(min_conf)
        self.batch_size = max(1, int(batch_size))
        self.device = device
        # ultralytics sets torch to cpu_count - 1 threads process-wide on its first prediction; we run
        # inference on `num_threads` (default the same cpu_count - 1, which leaves a core for decoding and
        # degrades far less than all cores when the machine is busy) and restore the caller's setting after.
        self.num_threads = max(1, int(num_threads or (os.cpu_count() or 2) - 1))
        log.info("yolo pose: weights=%s, imgsz=%d px, min_conf=%.2f, device=%s, %d CPU threads", path.name,
                 self.imgsz, self.min_conf, device, self.num_threads)

    def meta(self) -> dict:
        return {
            "backend": self.name,
            "backend_version": self.version,
            "version": self.version,
            "model": self.weights.name,
            "model_file": self.weights.name,
            "model_sha256": file_sha256(str(self.weights.resolve())),
            "model_files": {self.weights.name: file_sha256(str(self.weights.resolve()))},
            "imgsz_px": self.imgsz,
            "min_conf": self.min_conf,
            "device": self.device,
            "cpu_threads": self.num_threads,
            "keypoints": "COCO-17",
            "heels_toes": "not estimated (COCO-17 has none): NaN, conf 0",
            "hand": f"extrapolated from the forearm: wrist + {HAND_FOREARM_RATIO} x (wrist - elbow)",
            "hand_extrapolated": True,
            "hand_forearm_ratio": HAND_FOREARM_RATIO,
            "athlete_selection": "largest box x conf, then nearest to the previous box",
        }

    def process(self, frames: Iterable[np.ndarray], fps: float) -> PoseResult:
        """Keypoints of the athlete in each upright RGB uint8 frame [H, W, 3]."""
        import torch

        if not fps or fps <= 0:
            raise InputError(f"fps must be positive, got {fps}")
        threads_before = torch.get_num_threads()
        try:
            torch.set_num_threads(self.num_threads)
            uv, conf, image_size = self._track(frames)
        finally:
            torch.set_num_threads(threads_before)
        return PoseResult(uv=uv, conf=conf, world_xyz=None, image_size=image_size, fps=fps, meta=self.meta())

    def detect_people(self, frames: Iterable[np.ndarray]) -> tuple[list[FramePeople], tuple[int, int]]:
        """Every person on every frame (one tools.pose.backends.FramePeople per frame), and the image size."""
        import torch

        per_frame: list[FramePeople] = []
        image_size = (0, 0)
        threads_before = torch.get_num_threads()
        batch: list[np.ndarray] = []

        def flush() -> None:
            results = self._model.predict([f[..., ::-1] for f in batch], imgsz=self.imgsz, conf=self.min_conf,
                                          device=self.device, verbose=False)
            torch.set_num_threads(self.num_threads)
            for res in results:
                people = FramePeople.nobody()
                if res.keypoints is not None and len(res.boxes):
                    kps = res.keypoints.data.cpu().numpy()
                    uv, conf = coco17_to_canonical(kps)
                    people = FramePeople(boxes_xyxy=res.boxes.xyxy.cpu().numpy().astype(np.float64),
                                         scores=res.boxes.conf.cpu().numpy().astype(np.float64), uv=uv, conf=conf)
                per_frame.append(people)
            batch.clear()

        try:
            torch.set_num_threads(self.num_threads)
            for frame in frames:
                frame, image_size = _checked_frame(frame, image_size if image_size != (0, 0) else None)
                batch.append(frame)
                advance("pose")
                if len(batch) >= self.batch_size:
                    flush()
            if batch:
                flush()
        finally:
            torch.set_num_threads(threads_before)
        return per_frame, image_size

    def _track(self, frames: Iterable[np.ndarray]) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
        """uv [T, 23, 2], conf [T, 23] of the selected athlete per frame, and the image size."""
        import torch

        uv_rows, conf_rows = [], []
        image_size = None
        previous_box = None
        batch: list[np.ndarray] = []

        def flush() -> None:
            nonlocal previous_box
            results = self._model.predict([f[..., ::-1] for f in batch], imgsz=self.imgsz, conf=self.min_conf,
                                          device=self.device, verbose=False)  # ultralytics wants BGR arrays
            torch.set_num_threads(self.num_threads)  # its first call resets the thread count
            for res in results:
                uv, conf, _ = empty_arrays(1, with_world=False)
                if res.keypoints is not None and len(res.boxes):
                    boxes = res.boxes.xyxy.cpu().numpy()
                    pick = select_athlete(boxes, res.boxes.conf.cpu().numpy(), previous_box)
                    if pick is not None:
                        kp = res.keypoints.data[pick].cpu().numpy()
                        uv[0], conf[0] = coco17_to_canonical(kp)
                        previous_box = boxes[pick]
                uv_rows.append(uv[0])
                conf_rows.append(conf[0])
            batch.clear()

        for frame in frames:
            frame, image_size = _checked_frame(frame, image_size)
            batch.append(frame)
            advance("pose")
            if len(batch) >= self.batch_size:
                flush()
        if batch:
            flush()
        if image_size is None:
            uv, conf, _ = empty_arrays(0, with_world=False)
            return uv, conf, (0, 0)
        return np.stack(uv_rows), np.stack(conf_rows), image_size
