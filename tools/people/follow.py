"""Keeping the skeleton on the athlete, frame by frame (after tools.people.track and tools.people.athlete).

- IdentityCheck: is this frame's skeleton on the athlete's track? Its box must
  overlap the athlete's box more than any other person's, and the hip centre
  and body size (the skeleton box's longer side, against the change of the
  athlete's own track box since the last accepted frame) must not jump (the
  jump test restarts after the athlete was out of sight: they may come back
  crouched).
- blank_off_athlete: that check applied after the fact to a single-person run;
  frames on someone else are blanked (conf 0, NaN), never kept.
- AthleteFollower: the pose backend's video mode (MediaPipe) on a square crop
  that follows the athlete's track, other people's boxes filled with a flat
  colour, every frame checked; a failed frame gets a fresh person detection,
  then is blanked and the graph re-seeded.
Counts (switches detected / repaired, frames blanked) go into FollowStats.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

import numpy as np

from tools.core.boxes import box_from_keypoints, box_iou, expand_box, union_box
from tools.core.skeleton import JOINT_INDEX
from tools.people.track import TrackConfig
from tools.pose.backends import empty_arrays

_HIPS = [JOINT_INDEX["left_hip"], JOINT_INDEX["right_hip"]]


def _body_size(box: np.ndarray) -> float:
    """A skeleton box's longer side, px: its height standing, its length lying down (a leg raise or a push-up
    changes the box height several-fold while the body stays the same size)."""
    return float(max(box[3] - box[1], box[2] - box[0]))


@dataclass
class FollowStats:
    frames_on_athlete: int = 0
    frames_athlete_absent: int = 0
    frames_blanked: int = 0
    identity_switches_detected: int = 0
    identity_switches_repaired: int = 0
    rechecks: int = 0
    blanked_frames: list[int] = field(default_factory=list)

    def since(self, earlier: "FollowStats") -> "FollowStats":
        """The counts added after `earlier` (a snapshot of these counts taken before)."""
        return FollowStats(**{k: getattr(self, k) - getattr(earlier, k) for k in _COUNTS},
                           blanked_frames=self.blanked_frames[len(earlier.blanked_frames):])

    @classmethod
    def combined(cls, parts: list["FollowStats"]) -> "FollowStats":
        """The counts of consecutive pieces of one clip, added up."""
        return cls(**{k: sum(getattr(p, k) for p in parts) for k in _COUNTS},
                   blanked_frames=[f for p in parts for f in p.blanked_frames])


_COUNTS = ("frames_on_athlete", "frames_athlete_absent", "frames_blanked", "identity_switches_detected",
           "identity_switches_repaired", "rechecks")


def crop_window(boxes: np.ndarray, t: int, half_window: int, margin: float) -> tuple[float, float, float] | None:
    """(x0, y0, side) of the square crop around the union of boxes[t-w .. t+w] grown by `margin` box heights."""
    union = union_box(boxes[max(0, t - half_window): t + half_window + 1])
    if union is None:
        return None
    union = expand_box(union, margin)
    side = max(union[2] - union[0], union[3] - union[1], 16.0)
    cx, cy = (union[:2] + union[2:]) / 2
    return float(cx - side / 2), float(cy - side / 2), float(side)


def identity_ok(skeleton_box: np.ndarray, athlete_box: np.ndarray, other_boxes: np.ndarray) -> bool:
    """True when the skeleton's box overlaps the athlete's box at least as much as anyone else's (and at all)."""
    iou_a = float(box_iou(skeleton_box, athlete_box)[0, 0])
    others = other_boxes[np.isfinite(other_boxes).all(axis=1)] if len(other_boxes) else other_boxes
    iou_o = float(box_iou(skeleton_box, others).max()) if len(others) else 0.0
    return iou_a >= 0.1 and iou_a >= iou_o


class IdentityCheck:
    """Frame-by-frame: is this skeleton still the athlete? (on the athlete's track, no jump since the last good frame)

    Keeps the switch bookkeeping (FollowStats): a run of rejected frames is one switch detected; it is
    repaired when a later frame is accepted again.
    """

    def __init__(self, athlete_boxes: np.ndarray, other_boxes: np.ndarray, fps: float, body_height_px: float,
                 config: TrackConfig | None = None) -> None:
        self.cfg = config or TrackConfig()
        self.athlete = np.asarray(athlete_boxes, dtype=np.float64)       # [T, 4]
        self.others = np.asarray(other_boxes, dtype=np.float64).reshape(len(self.athlete), -1, 4)  # [T, N, 4]
        self.fps = float(fps)
        self.body_h = max(float(body_height_px), 1.0)
        self.stats = FollowStats()
        self._last_ok: tuple[int, np.ndarray, float] | None = None   # frame, hip centre px, body size px
        self._in_switch = False

    def plausible(self, t: int, uv: np.ndarray, conf: np.ndarray) -> bool:
        """The identity test alone (no bookkeeping)."""
        box = box_from_keypoints(uv, conf, 0.5)
        if box is None:
            return True                                   # too little seen to judge; quality reports low conf
        if not identity_ok(box, self.athlete[t], self.others[t]):
            return False
        hip = uv[_HIPS].astype(np.float64).mean(axis=0) if (conf[_HIPS] >= 0.5).all() else None
        if hip is not None and self._last_ok is not None:
            frame0, hip0, body0 = self._last_ok
            dt = (t - frame0 - 1) / self.fps
            allowed = (self.cfg.jump_heights + self.cfg.jump_speed_heights_s * max(dt, 0.0)) * self.body_h
            ratio = _body_size(box) / body0 if body0 > 0 else 1.0
            # measured against the change of the athlete's own track box since that frame: a leg raise or a
            # push-up grows the box of the person search too, someone else's body does not
            a0, a1 = self.athlete[frame0], self.athlete[t]
            if np.isfinite(a0).all() and np.isfinite(a1).all() and _body_size(a0) > 0:
                ratio /= _body_size(a1) / _body_size(a0)
            limit = self.cfg.jump_size_ratio
            if np.linalg.norm(hip - hip0) > allowed or not (1 / limit <= ratio <= limit):
                return False
        return True

    def absent(self, t: int) -> None:
        """Record frame t as one without the athlete; the jump test restarts after the gap."""
        self.stats.frames_athlete_absent += 1
        self._last_ok = None

    def accept(self, t: int, uv: np.ndarray, conf: np.ndarray) -> None:
        """Record frame t as on the athlete."""
        st = self.stats
        if self._in_switch:
            st.identity_switches_repaired += 1
            self._in_switch = False
        st.frames_on_athlete += 1
        box = box_from_keypoints(uv, conf, 0.5)
        if box is not None and (conf[_HIPS] >= 0.5).all():
            self._last_ok = (t, uv[_HIPS].astype(np.float64).mean(axis=0), _body_size(box))

    def reject(self, t: int) -> None:
        """Record frame t as blanked: the skeleton was on someone else."""
        st = self.stats
        if not self._in_switch:
            st.identity_switches_detected += 1
            self._in_switch = True
        st.frames_blanked += 1
        st.blanked_frames.append(int(t))


def blank_off_athlete(uv: np.ndarray, conf: np.ndarray, athlete_boxes: np.ndarray, other_boxes: np.ndarray,
                      fps: float, body_height_px: float, world: np.ndarray | None = None,
                      config: TrackConfig | None = None):
    """Copies of uv [T, 23, 2] / conf [T, 23] (/ world [T, 23, 3]) with every frame whose skeleton is not on
    the athlete's track blanked (NaN, conf 0), and the FollowStats. Frames where the athlete's track is
    absent are blanked too (counted as absent)."""
    uv, conf = np.array(uv, dtype=np.float32), np.array(conf, dtype=np.float32)
    world = None if world is None else np.array(world, dtype=np.float32)
    check = IdentityCheck(athlete_boxes, other_boxes, fps, body_height_px, config)
    for t in range(len(uv)):
        absent = not np.isfinite(check.athlete[t]).all()
        if absent:
            check.absent(t)
        if not (conf[t] > 0).any():
            continue
        if absent or not check.plausible(t, uv[t], conf[t]):
            if not absent:
                check.reject(t)
            uv[t], conf[t] = np.nan, 0.0
            if world is not None:
                world[t] = np.nan
            continue
        check.accept(t, uv[t], conf[t])
    return uv, conf, world, check.stats


class AthleteFollower:
    """A pose backend's video mode on a crop that follows the athlete's track, with a per-frame identity check.

    `backend` is any pose backend with `open_stream(fps)` (tools.pose.mediapipe_pose.MediaPipeStream: one
    frame at a time, re-seedable); its landmarks come back in crop pixels and are mapped to the frame's.
    """

    def __init__(self, backend, athlete_boxes: np.ndarray, other_boxes: np.ndarray, fps: float,
                 body_height_px: float, detector=None, config: TrackConfig | None = None) -> None:
        self.cfg = config or TrackConfig()
        self.backend = backend
        self.check = IdentityCheck(athlete_boxes, other_boxes, fps, body_height_px, self.cfg)
        self.athlete, self.others, self.fps = self.check.athlete, self.check.others, self.check.fps
        self.stats = self.check.stats
        self.detector = detector

    def run(self, frames: Iterable[np.ndarray], first_frame: int = 0, count_from: int | None = None
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[int, int]]:
        """uv [T, 23, 2] px, conf [T, 23], world [T, 23, 3] of the athlete, and the image size.

        `frames` start at clip frame `first_frame` (a piece of the clip, tools.people.pieces); frames before
        `count_from` warm the graph and the identity check up and are left out of the counts (self.stats)."""
        import dataclasses

        import cv2

        n = len(self.athlete)
        uv, conf, world = empty_arrays(n, with_world=True)
        size_px = int(self.cfg.crop_size_px)
        half = max(1, int(round(self.cfg.crop_window_s * self.fps)))
        last_recheck, image_size = -10 ** 9, (0, 0)
        st = self.stats
        snapshot = None
        with self.backend.open_stream(self.fps) as stream:
            for t, frame in enumerate(frames, start=first_frame):
                if t >= n:
                    break
                if count_from is not None and t == count_from:
                    snapshot = dataclasses.replace(st, blanked_frames=list(st.blanked_frames))
                image_size = (frame.shape[1], frame.shape[0])
                win = crop_window(self.athlete, t, half, self.cfg.crop_margin) \
                    if np.isfinite(self.athlete[t]).all() else None
                if win is None:
                    self.check.absent(t)
                    stream.reset()
                    continue
                x0, y0, side = win
                s = size_px / side
                m = np.array([[s, 0, -x0 * s], [0, s, -y0 * s]], dtype=np.float64)
                fill = tuple(int(v) for v in frame.reshape(-1, 3)[:: 97].mean(axis=0))
                crop = cv2.warpAffine(frame, m, (size_px, size_px), flags=cv2.INTER_AREA,
                                      borderMode=cv2.BORDER_CONSTANT, borderValue=fill)
                crop = self._mask_others(crop, t, x0, y0, s, fill)
                found = stream.process(crop, t)
                if found is None:
                    continue
                c_uv, f_conf, f_world = found
                f_uv = (c_uv / np.float32(s) + np.array([x0, y0], np.float32)).astype(np.float32)
                ok = self.check.plausible(t, f_uv, f_conf)
                if not ok and self.detector is not None and t - last_recheck >= self.cfg.recheck_every_frames:
                    last_recheck = t
                    st.rechecks += 1
                    ok = self._recheck(frame, t, f_uv, f_conf)
                if not ok:
                    self.check.reject(t)
                    stream.reset()   # re-seed on the next frame
                    continue
                self.check.accept(t, f_uv, f_conf)
                uv[t], conf[t] = f_uv, f_conf
                if f_world is not None:
                    world[t] = f_world
        if snapshot is not None:
            self.stats = st.since(snapshot)
        return uv, conf, world, image_size

    def _mask_others(self, crop: np.ndarray, t: int, x0: float, y0: float, s: float, fill) -> np.ndarray:
        """Fill every other person's box (grown a little) with `fill`, except where it overlaps the athlete's box."""
        others = self.others[t][np.isfinite(self.others[t]).all(axis=1)]
        if not len(others):
            return crop
        keep = crop.copy()
        to_crop = lambda b: ((b - np.array([x0, y0, x0, y0])) * s).round().astype(int)
        for b in others:
            c = np.clip(to_crop(expand_box(b, self.cfg.other_margin)), 0, crop.shape[0])
            crop[c[1]:c[3], c[0]:c[2]] = fill
        a = np.clip(to_crop(self.athlete[t]), 0, crop.shape[0])
        crop[a[1]:a[3], a[0]:a[2]] = keep[a[1]:a[3], a[0]:a[2]]
        return crop

    def _recheck(self, frame: np.ndarray, t: int, f_uv: np.ndarray, f_conf: np.ndarray) -> bool:
        """Fresh detection on this frame: is the skeleton on the person who continues the athlete's track?"""
        box = box_from_keypoints(f_uv, f_conf, 0.5)
        dets = self.detector.detect(frame)
        if box is None or not dets:
            return False
        boxes = np.stack([d.box_xyxy for d in dets])
        ious = box_iou(box, boxes)[0]
        j = int(np.argmax(ious))
        if ious[j] < 0.5:
            return False
        return identity_ok(boxes[j], self.athlete[t], self.others[t])
