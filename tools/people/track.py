"""Person tracks over a clip: keyframe detections linked into one track per person.

Every person is found on keyframes (every `keyframe_interval_s`, and the last
frame; tools.people.detect). Detections are linked into tracks keyframe to
keyframe by the Hungarian assignment (scipy.optimize.linear_sum_assignment) on
a cost of (1 - IoU) + centre distance in body heights between each track's
predicted box (constant centre velocity) and each detection, gated by IoU or by
a speed limit (`max_speed_heights_s`, in body sizes: the box's longer side) and
a size-change limit (box height, box's longer side or limb-length body height:
lying down, raising a leg changes the box, not the limbs). A track unseen
for more than `max_gap_s` ends. `box_series` gives a track's box on every
frame: linear between its keyframes and held for one keyframe interval at its
ends. Choosing the athlete's track is tools.people.athlete; keeping the
skeleton on it, tools.people.follow; the whole clip, tools.people.athlete_pose.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from tools.core.boxes import box_area, box_intersection, box_iou
from tools.people.detect import PersonDetection, skeleton_height_px

log = logging.getLogger(__name__)

_NO_MATCH = 1e6


@dataclass(frozen=True)
class TrackConfig:
    """Tracking and following settings (seconds, body heights, pixels)."""

    keyframe_interval_s: float = 0.5
    max_gap_s: float = 1.0               # a track survives this long unseen (occlusion, missed detection)
    min_iou: float = 0.1                 # IoU that links a detection to a track whatever its speed
    max_speed_heights_s: float = 3.0     # else: centre speed allowed, body heights per second (+0.5 h)
    max_size_ratio: float = 1.8          # box height change allowed between linked keyframes
    min_track_keyframes: int = 2         # a person must be seen on this many keyframes to count
    crop_window_s: float = 0.5
    crop_margin: float = 0.2             # of the box height, on each side
    crop_size_px: int = 512
    other_margin: float = 0.05           # other people's boxes are grown by this before masking
    jump_heights: float = 0.25           # hip-centre jump allowed in one frame, body heights
    jump_speed_heights_s: float = 2.0    # + this per second of gap since the last accepted frame
    jump_size_ratio: float = 1.6
    recheck_every_frames: int = 4        # at most one extra detection per this many frames
    escalate_share: float = 0.1          # one person, but more frames than this fail the identity check: redo

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Track:
    """One person over time: the keyframes where they were detected, with those detections."""

    track_id: int
    frames: list[int] = field(default_factory=list)
    detections: list[PersonDetection] = field(default_factory=list)

    def add(self, frame: int, det: PersonDetection) -> None:
        self.frames.append(int(frame))
        self.detections.append(det)

    @property
    def boxes(self) -> np.ndarray:
        return np.stack([d.box_xyxy for d in self.detections])

    def predict(self, frame: int, max_gap_frames: float) -> np.ndarray:
        """Box expected at `frame`: the last box moved at the centre velocity of the last two keyframes."""
        last = self.detections[-1].box_xyxy
        if len(self.frames) < 2 or self.frames[-1] - self.frames[-2] > max_gap_frames:
            return last
        dt = self.frames[-1] - self.frames[-2]
        v = (self.detections[-1].centre - self.detections[-2].centre) / max(dt, 1)
        return last + np.tile(v * (frame - self.frames[-1]), 2)


def link_tracks(detections: dict[int, list[PersonDetection]], fps: float,
                config: TrackConfig | None = None) -> list[Track]:
    """Tracks from the detections of each keyframe ({frame: [PersonDetection]}), in first-seen order."""
    cfg = config or TrackConfig()
    max_gap_frames = cfg.max_gap_s * fps
    tracks: list[Track] = []
    for frame in sorted(detections):
        dets = detections[frame]
        active = [t for t in tracks if frame - t.frames[-1] <= max_gap_frames]
        matched: set[int] = set()
        if active and dets:
            cost = np.full((len(active), len(dets)), _NO_MATCH)
            for i, t in enumerate(active):
                pred = t.predict(frame, max_gap_frames)
                # body size: the box's longer side (its height when standing; its length lying down)
                h = max(float(pred[3] - pred[1]), float(pred[2] - pred[0]), 1.0)
                allowed = 0.5 + cfg.max_speed_heights_s * (frame - t.frames[-1]) / fps
                ious = box_iou(pred, np.stack([d.box_xyxy for d in dets]))[0]
                last_size = skeleton_height_px(t.detections[-1].uv, t.detections[-1].conf)
                for j, d in enumerate(dets):
                    dist = float(np.linalg.norm(d.centre - (pred[:2] + pred[2:]) / 2)) / h
                    if (ious[j] >= cfg.min_iou or dist <= allowed) and \
                            _same_size(d, float(pred[3] - pred[1]), h, last_size, cfg.max_size_ratio):
                        cost[i, j] = (1 - ious[j]) + dist
            rows, cols = linear_sum_assignment(cost)
            for i, j in zip(rows, cols):
                if cost[i, j] < _NO_MATCH:
                    active[i].add(frame, dets[j])
                    matched.add(j)
        for j, d in enumerate(dets):
            if j not in matched:
                t = Track(track_id=len(tracks))
                t.add(frame, d)
                tracks.append(t)
    return tracks


def join_handoffs(tracks: list[Track], min_iou: float = 0.25, min_cover: float = 0.5) -> list[Track]:
    """Tracks with one person split at a duplicated keyframe joined again.

    A body found twice on one keyframe (two overlapping boxes of one person on all fours, say) can end one
    track there and start another: the two tracks then share exactly that keyframe, where their boxes overlap
    (IoU >= min_iou, or the smaller box covered >= min_cover), and never coexist otherwise. They are joined
    (the earlier track's id; at the shared keyframe the larger box is kept). Two people crossing coexist on
    several keyframes and are left alone."""
    tracks = list(tracks)
    joined = True
    while joined:
        joined = False
        for a in tracks:
            for b in tracks:
                if a is b or b.frames[0] != a.frames[-1]:
                    continue
                if set(a.frames) & set(b.frames) != {b.frames[0]}:
                    continue
                da, db = a.detections[-1], b.detections[0]
                inter = float(box_intersection(da.box_xyxy, db.box_xyxy)[0, 0])
                cover = inter / max(min(float(box_area(da.box_xyxy)), float(box_area(db.box_xyxy))), 1.0)
                if float(box_iou(da.box_xyxy, db.box_xyxy)[0, 0]) < min_iou and cover < min_cover:
                    continue
                keep = da if box_area(da.box_xyxy) >= box_area(db.box_xyxy) else db
                merged = Track(track_id=a.track_id, frames=a.frames[:-1] + b.frames,
                               detections=a.detections[:-1] + [keep] + b.detections[1:])
                tracks = [merged if t is a else t for t in tracks if t is not b]
                joined = True
                break
            if joined:
                break
    return tracks


def _same_size(d: PersonDetection, box_height: float, box_side: float, skeleton_height: float | None,
               max_ratio: float) -> bool:
    """Could `d` be the same body as the track's last box (height / longer side px, limb-length height px)?

    The box height changes with posture (a leg raised lying down, a push-up), so a size is accepted when
    the box height, the box's longer side or the limb-length body height (tools.people.detect.
    skeleton_height_px, which a posture change leaves alone) changed by at most `max_ratio`."""
    ok = lambda r: 1 / max_ratio <= r <= max_ratio  # noqa: E731
    if ok(d.height / max(box_height, 1.0)):
        return True
    if ok(max(d.height, float(d.box_xyxy[2] - d.box_xyxy[0])) / max(box_side, 1.0)):
        return True
    size = skeleton_height_px(d.uv, d.conf)
    return size is not None and skeleton_height is not None and ok(size / skeleton_height)


def box_series(track: Track, n_frames: int, fps: float, hold_frames: int,
               config: TrackConfig | None = None) -> np.ndarray:
    """[T, 4] the track's box per frame: linear between keyframes <= max_gap_s apart, held `hold_frames`
    before its first and after its last keyframe, and on both sides of a longer gap (a re-acquired athlete);
    NaN where the person is absent."""
    cfg = config or TrackConfig()
    out = np.full((n_frames, 4), np.nan)
    frames, boxes = np.asarray(track.frames), track.boxes
    for k, (f, b) in enumerate(zip(frames, boxes)):
        if f < n_frames:
            out[f] = b
        if k + 1 < len(frames) and frames[k + 1] - f <= cfg.max_gap_s * fps:
            g = frames[k + 1]
            w = (np.arange(f, min(g, n_frames)) - f)[:, None] / (g - f)
            out[f:min(g, n_frames)] = (1 - w) * b + w * boxes[k + 1]
        elif k + 1 < len(frames):
            g = int(frames[k + 1])
            mid = (f + 1 + g) // 2
            out[f + 1:min(f + 1 + hold_frames, mid, n_frames)] = b
            out[max(g - hold_frames, mid):min(g, n_frames)] = boxes[k + 1]
    first, last = int(frames[0]), int(frames[-1])
    out[max(0, first - hold_frames):first] = boxes[0]
    out[last + 1:min(n_frames, last + 1 + hold_frames)] = boxes[-1]
    return out
