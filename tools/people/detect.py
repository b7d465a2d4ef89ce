"""Find every person in one frame: boxes and keypoints, before anyone is called the athlete.

Default detector (no downloads): MediaPipe BlazePose "full" in static-image
mode, "tile, detect and mask". The frame is covered by overlapping square
tiles as tall as the frame (across a landscape frame, down a portrait one;
one for a square frame), because BlazePose's person detector
sees a 224 px letterboxed image and misses people smaller than about half the
frame height on a full wide frame (on sports2d_demo.mp4 it found nobody on
frame 0 full-frame, and the athlete on the box in every tiled keyframe).
Neighbouring tiles overlap by at least 40 % (2 tiles on 4:3, 3 on 16:9).
In each tile the graph finds one person; that person's expanded box is
filled with the tile's mean colour and the graph runs again, up to
`max_people_per_tile` times or until nobody is found. Detections from
overlapping tiles are merged by box IoU (non-maximum suppression).

With `--pose yolo --pose-weights W` the YOLO model's own multi-person boxes
are used instead (tools.pose.yolo_pose.YoloPoseBackend.detect_people).

Boxes are xyxy pixels in the full upright frame: (x0, y0, x1, y1), x right,
y down. A person's box is the extent of their visible keypoints (conf >=
`box_min_conf`), so it is a little tighter than a drawn box (no hair, no
shoe tips).

Cues for re-finding the same person after a gap (tools.people.athlete.reacquire_athlete):
  skeleton_height_px     a body size that does not change with posture: each
                         limb segment seen (upper arm, forearm, thigh, shank,
                         shoulder-to-hip) divided by its usual share of standing
                         height (Winter, Biomechanics and Motor Control of Human
                         Movement, 4th ed., fig. 4.1), the median over segments
                         (a segment pointing at the camera looks short; the
                         median ignores one or two of those). A crouching or
                         lying athlete keeps it; a smaller person or one further
                         away does not.
  appearance_histograms  colour of the clothes: hue-saturation histograms
                         (OpenCV calcHist, 18 x 8 bins, L1-normalised) of the
                         torso (shoulders-hips quadrilateral) and the thighs
                         (hips-knees), shrunk by 20 % towards their centre so
                         background at the edges counts less.
  appearance_distance    mean Bhattacharyya distance (cv2.compareHist, 0 = the
                         same colours, 1 = no overlap) over the regions both have.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from tools.core.boxes import (
    box_area,
    box_from_keypoints,
    box_intersection,
    box_iou,
    expand_box,
)
from tools.core.errors import InputError
from tools.core.skeleton import JOINT_INDEX

log = logging.getLogger(__name__)


@dataclass
class PersonDetection:
    """One person in one frame: box xyxy px [4], detector score 0-1, canonical keypoints uv [23, 2] / conf [23]."""

    box_xyxy: np.ndarray
    score: float
    uv: np.ndarray | None = None
    conf: np.ndarray | None = None
    meta: dict = field(default_factory=dict)
    appearance: dict[str, np.ndarray] | None = None   # region -> H-S histogram (appearance_histograms)

    def __post_init__(self) -> None:
        self.box_xyxy = np.asarray(self.box_xyxy, dtype=np.float64).reshape(4)
        self.score = float(self.score)

    @property
    def height(self) -> float:
        return float(self.box_xyxy[3] - self.box_xyxy[1])

    @property
    def centre(self) -> np.ndarray:
        return (self.box_xyxy[:2] + self.box_xyxy[2:]) / 2


def non_max_suppression(dets: list[PersonDetection], iou_threshold: float = 0.5) -> list[PersonDetection]:
    """Keep the best-scoring detection of each group overlapping by IoU > iou_threshold (or one inside another,
    or two views of one body: `same_body`)."""
    order = sorted(dets, key=lambda d: -d.score)
    kept: list[PersonDetection] = []
    for d in order:
        if not kept:
            kept.append(d)
            continue
        boxes = np.stack([k.box_xyxy for k in kept])
        iou = box_iou(d.box_xyxy, boxes)[0]
        inside = box_intersection(d.box_xyxy, boxes)[0] / max(box_area(d.box_xyxy), 1.0)
        if (iou > iou_threshold).any() or (inside > 0.85).any():
            continue
        twin = next((i for i, k in enumerate(kept) if same_body(d, k) or same_body(k, d)), None)
        if twin is not None:
            if box_area(d.box_xyxy) > box_area(kept[twin].box_xyxy):   # keep the fuller view of the body
                kept[twin] = d
            continue
        kept.append(d)
    return kept


def same_body(a: PersonDetection, b: PersonDetection, min_joints: int = 4, max_offset: float = 0.1,
              min_conf: float = 0.5) -> bool:
    """`b` is a second view of `a`'s body: the joints `b` saw (conf >= min_conf, at least `min_joints`) lie,
    in the median, within `max_offset` x the body's size (the larger box's longer side) of a joint `a` saw,
    whatever their names.

    A body lying down (a push-up seen from the side) is found twice: once as it is and once more, after the
    first find is masked or in the neighbouring tile, as a second skeleton laid over the same limbs,
    sometimes head to foot (on a rendered push-up: boxes with IoU 0.14, joints of the same name 480 px
    apart, yet the second's joints a median 27 px from the first's, on a 502 px body). Two people side by side do not share
    their joints' places like that."""
    if a.uv is None or b.uv is None or a.conf is None or b.conf is None:
        return False
    pa = a.uv[(a.conf >= min_conf) & np.isfinite(a.uv).all(-1)]
    pb = b.uv[(b.conf >= min_conf) & np.isfinite(b.uv).all(-1)]
    if len(pa) < min_joints or len(pb) < min_joints:
        return False
    size = max(float(np.max(a.box_xyxy[2:] - a.box_xyxy[:2])), float(np.max(b.box_xyxy[2:] - b.box_xyxy[:2])), 1.0)
    gaps = np.linalg.norm(pb[:, None] - pa[None], axis=-1)          # [Nb, Na] px
    return float(np.median(gaps.min(axis=1))) <= max_offset * size


def square_tiles(width: int, height: int) -> list[tuple[int, int, int]]:
    """(x0, y0, side) of overlapping square tiles, side = the short edge, covering the frame."""
    side = min(width, height)
    long_edge = max(width, height)
    # neighbouring tiles overlap by at least 40 % of a tile, so a person is whole in at least one of them
    n = 1 if long_edge - side < 0.05 * side else int(np.ceil((long_edge - side) / (0.6 * side))) + 1
    starts = np.linspace(0, long_edge - side, n).round().astype(int) if n > 1 else np.array([0])
    if width >= height:
        return [(int(s), 0, side) for s in starts]
    return [(0, int(s), side) for s in starts]


# ----- cues for re-finding a person ----------------------------------------
# Segment (joint pair, left and right) -> its length as a share of standing height (Winter fig. 4.1:
# upper arm 0.186, forearm 0.146, thigh 0.245, shank 0.246; shoulder 0.818 - hip 0.530 = 0.288).
SEGMENT_SHARE_OF_HEIGHT: dict[tuple[str, str], float] = {
    ("shoulder", "elbow"): 0.186, ("elbow", "wrist"): 0.146, ("hip", "knee"): 0.245,
    ("knee", "ankle"): 0.246, ("shoulder", "hip"): 0.288}
APPEARANCE_REGIONS: dict[str, tuple[str, ...]] = {
    "torso": ("left_shoulder", "right_shoulder", "right_hip", "left_hip"),
    "thighs": ("left_hip", "right_hip", "right_knee", "left_knee")}
HIST_BINS = (18, 8)          # hue, saturation
REGION_SHRINK = 0.8          # region corners pulled towards their centre


def skeleton_height_px(uv: np.ndarray | None, conf: np.ndarray | None, min_conf: float = 0.5) -> float | None:
    """Standing height in px implied by the limb segments seen (uv [23, 2], conf [23]); None if fewer than 2."""
    if uv is None or conf is None:
        return None
    estimates = []
    for (a, b), share in SEGMENT_SHARE_OF_HEIGHT.items():
        lengths = [float(np.linalg.norm(uv[JOINT_INDEX[f"{s}_{a}"]] - uv[JOINT_INDEX[f"{s}_{b}"]]))
                   for s in ("left", "right")
                   if conf[JOINT_INDEX[f"{s}_{a}"]] >= min_conf and conf[JOINT_INDEX[f"{s}_{b}"]] >= min_conf]
        lengths = [v for v in lengths if np.isfinite(v)]
        if lengths:
            estimates.append(max(lengths) / share)
    return float(np.median(estimates)) if len(estimates) >= 2 else None


def appearance_histograms(frame: np.ndarray, det: PersonDetection, min_conf: float = 0.5) -> dict[str, np.ndarray]:
    """{region: H-S histogram [18 * 8] float32, sum 1} of the regions of `det` whose corners are seen,
    from the upright RGB uint8 frame [H, W, 3] the detection came from."""
    import cv2

    out: dict[str, np.ndarray] = {}
    if det.uv is None or det.conf is None:
        return out
    height, width = frame.shape[:2]
    for region, names in APPEARANCE_REGIONS.items():
        idx = [JOINT_INDEX[n] for n in names]
        pts = np.asarray(det.uv[idx], dtype=np.float64)
        if (det.conf[idx] < min_conf).any() or not np.isfinite(pts).all():
            continue
        centre = pts.mean(axis=0)
        pts = centre + (pts - centre) * REGION_SHRINK
        x0, y0 = np.maximum(np.floor(pts.min(axis=0)).astype(int), 0)
        x1, y1 = np.minimum(np.ceil(pts.max(axis=0)).astype(int), (width, height))
        if x1 - x0 < 4 or y1 - y0 < 4:
            continue
        sub = np.ascontiguousarray(frame[y0:y1, x0:x1])
        mask = np.zeros(sub.shape[:2], np.uint8)
        cv2.fillPoly(mask, [np.round(pts - (x0, y0)).astype(np.int32)], 255)
        if not mask.any():
            continue
        hsv = cv2.cvtColor(sub, cv2.COLOR_RGB2HSV)
        hist = cv2.calcHist([hsv], [0, 1], mask, list(HIST_BINS), [0, 180, 0, 256]).ravel()
        if hist.sum() > 0:
            out[region] = (hist / hist.sum()).astype(np.float32)
    return out


def mean_appearance(histograms: list[dict[str, np.ndarray] | None]) -> dict[str, np.ndarray]:
    """Region-wise mean of several detections' histograms (regions nobody has are left out)."""
    out: dict[str, np.ndarray] = {}
    for region in APPEARANCE_REGIONS:
        seen = [h[region] for h in histograms if h and region in h]
        if seen:
            out[region] = np.mean(seen, axis=0).astype(np.float32)
    return out


def appearance_distance(a: dict[str, np.ndarray] | None, b: dict[str, np.ndarray] | None) -> float | None:
    """Mean Bhattacharyya distance over the regions both have (0 = same colours, 1 = none shared); None if none."""
    import cv2
    if not a or not b:
        return None
    shared = [r for r in a if r in b]
    if not shared:
        return None
    return float(np.mean([cv2.compareHist(np.asarray(a[r], np.float32), np.asarray(b[r], np.float32),
                                          cv2.HISTCMP_BHATTACHARYYA) for r in shared]))


# ----- MediaPipe detect-and-mask ------------------------------------------
class MediaPipePeopleDetector:
    """Every person in a frame with BlazePose "full" in static-image mode: tile, detect, mask, repeat.

    Tiles larger than `detect_size_px` (640) are shrunk to it first (INTER_AREA):
    the BlazePose detector sees a 224 px picture and the landmark model a 256 px
    crop of the person, so a 994 px tile carries little more for them than a
    640 px one, and each call costs about 10 ms less on 1080p (keypoints are
    mapped back to full-frame pixels). On sports2d_demo.mp4, 640 px gives the
    same people, athlete and re-acquisition as full-size tiles; 512 px did not
    (the athlete's track ran on through his flip). Use as a context manager (or
    call close()); one instance serves a whole clip.
    """

    name = "mediapipe-tile-detect-mask"

    def __init__(self, max_people_per_tile: int = 3, min_detection_confidence: float = 0.5,
                 mask_margin: float = 0.12, box_min_conf: float = 0.3, nms_iou: float = 0.4,
                 detect_size_px: int = 640) -> None:
        from tools.pose.mediapipe_pose import StaticPoseFinder
        self.max_people_per_tile = int(max_people_per_tile)
        self.mask_margin = float(mask_margin)
        self.box_min_conf = float(box_min_conf)
        self.nms_iou = float(nms_iou)
        self.min_detection_confidence = float(min_detection_confidence)
        self.detect_size_px = int(detect_size_px)
        self._finder = StaticPoseFinder(min_detection_confidence)

    @property
    def calls(self) -> int:
        return self._finder.calls

    def __enter__(self) -> "MediaPipePeopleDetector":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._finder.close()

    def config(self) -> dict:
        return {"detector": self.name, "max_people_per_tile": self.max_people_per_tile,
                "mask_margin_box_heights": self.mask_margin, "box_min_conf": self.box_min_conf,
                "nms_iou": self.nms_iou, "min_detection_confidence": self.min_detection_confidence,
                "detect_size_px": self.detect_size_px}

    def detect(self, frame: np.ndarray) -> list[PersonDetection]:
        """People in one upright RGB uint8 frame [H, W, 3], best score first."""
        import cv2

        frame = np.asarray(frame)
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise InputError(f"frames must be uint8 RGB [H, W, 3], got {frame.dtype} {frame.shape}")
        height, width = frame.shape[:2]
        found: list[PersonDetection] = []
        for x0, y0, side in square_tiles(width, height):
            tile = np.ascontiguousarray(frame[y0:y0 + side, x0:x0 + side]).copy()
            scale = 1.0
            if side > self.detect_size_px:
                scale = self.detect_size_px / side
                tile = cv2.resize(tile, (self.detect_size_px, self.detect_size_px), interpolation=cv2.INTER_AREA)
            tile_side = tile.shape[0]
            for _ in range(self.max_people_per_tile):
                seen = self._finder.find(tile)
                if seen is None:
                    break
                uv, conf = seen
                box = box_from_keypoints(uv, conf, self.box_min_conf)
                if box is None:
                    break
                mask = expand_box(box, self.mask_margin, (tile_side, tile_side)).round().astype(int)
                region = tile[mask[1]:mask[3], mask[0]:mask[2]]
                if region.size == 0:
                    break
                region[...] = tile.reshape(-1, 3).mean(axis=0).astype(np.uint8)
                offset = np.array([x0, y0], dtype=np.float32)
                uv_full = (uv / np.float32(scale) + offset).astype(np.float32)
                found.append(PersonDetection(box_xyxy=box / scale + np.tile(offset, 2), score=float(np.mean(conf)),
                                             uv=uv_full, conf=conf, meta={"tile": [x0, y0, side]}))
        return non_max_suppression(found, self.nms_iou)


def detections_from_backend(people) -> list[PersonDetection]:
    """A multi-person backend's people on one frame (tools.pose.backends.FramePeople) as PersonDetections."""
    return [PersonDetection(box_xyxy=people.boxes_xyxy[i], score=float(people.scores[i]), uv=people.uv[i],
                            conf=people.conf[i]) for i in range(len(people))]
