"""Person tracks over a clip, and the athlete's skeleton kept on the athlete.

1. Keyframes (every `keyframe_interval_s`, and the last frame): every person
   is found (tools.people.detect). Detections are linked into tracks frame to frame
   by the Hungarian assignment (scipy.optimize.linear_sum_assignment) on a
   cost of (1 - IoU) + centre distance in body heights between each track's
   predicted box (constant centre velocity) and each detection, gated by IoU
   or by a speed limit (`max_speed_heights_s`) and a size-change limit. A track
   unseen for more than `max_gap_s` ends. Boxes are interpolated linearly
   between a track's keyframes and held for one keyframe interval at its ends.
2. tools.people.athlete chooses the athlete's track (box, point or automatic), then
   re-acquires the athlete after a gap the tracker does not bridge (hidden
   behind something, a flip, lying down): later tracks that appear within
   reach of where the athlete was last seen, with the athlete's limb-length
   body size whatever the posture, and that no other person's track explains
   better, are joined to the athlete's track (tools.people.athlete.reacquire_athlete;
   clothing colours, measured on every keyframe detection, decide whether the
   link is strong or a review problem). Every link and refusal goes into
   meta["selection"]["reacquired"] / ["reacquire_refused"].
3. The athlete's per-frame skeleton (tools.people.follow):
   - one person ever found: full-frame MediaPipe video mode, exactly as before,
     then the identity check below after the fact: frames whose skeleton is
     not on the athlete's track (another body, a jump) are blanked. When more
     than `escalate_share` of the frames fail, those frames get fresh
     detections; the strangers found there are tracked and the clip is redone
     as below, keeping whichever result has more frames on the athlete;
   - several people: MediaPipe video mode on a square crop that follows the
     athlete's track (the union of its boxes over +-`crop_window_s`, grown by
     `crop_margin` box heights, resized to `crop_size_px`), with every other
     track's box (outside the athlete's own box) filled with a flat colour.
     Landmarks are mapped back to full-frame pixels and checked every frame:
     the skeleton's box must overlap the athlete's track more than any other
     track's, and the hip centre / body size must not jump. A failed check
     is re-examined with a fresh person detection on that frame (an extra
     keyframe); if the skeleton is still on someone else, the frame is blanked
     (conf 0, NaN) and the graph re-seeded. Switches detected / repaired,
     frames blanked and the share of frames on the athlete go into
     PoseResult.meta["selection"].
   Frames where the athlete's track is absent (out of frame) are blanked; the
   jump test restarts after such a gap (the athlete may come back crouched).
With the YOLO backend every frame is a keyframe: YOLO's own multi-person
boxes and keypoints are tracked and the athlete's track gives the keypoints.
"""
from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np
from scipy.optimize import linear_sum_assignment

from tools.core.errors import InputError
from tools.people.follow import AthleteFollower, FollowStats, blank_off_athlete
from tools.people.detect import PersonDetection, box_iou

log = logging.getLogger(__name__)

SELECT_MODES = ("auto", "off")
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
                h = max(float(pred[3] - pred[1]), 1.0)
                allowed = 0.5 + cfg.max_speed_heights_s * (frame - t.frames[-1]) / fps
                ious = box_iou(pred, np.stack([d.box_xyxy for d in dets]))[0]
                for j, d in enumerate(dets):
                    dist = float(np.linalg.norm(d.centre - (pred[:2] + pred[2:]) / 2)) / h
                    ratio = d.height / h
                    if (ious[j] >= cfg.min_iou or dist <= allowed) and \
                            1 / cfg.max_size_ratio <= ratio <= cfg.max_size_ratio:
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


# ----- the whole job ---------------------------------------------------------
def track_athlete(video_path: str | Path, backend: str = "mediapipe", weights: str | Path | None = None,
                  max_frames: int | None = None, every_nth: int = 1,
                  athlete_box: tuple[float, float, float, float] | None = None,
                  athlete_point: tuple[float, float] | None = None, keyframe: int = 0,
                  config: TrackConfig | None = None):
    """The athlete's PoseResult from a video, with the tracks, the choice and the identity checks in
    meta["selection"]. `athlete_box` (x, y, w, h px) / `athlete_point` (x, y px) refer to video frame
    `keyframe` (0 = the first frame), in upright pixels."""
    from tools.people.detect import MediaPipePeopleDetector, appearance_histograms
    from tools.pose.backends import PoseResult, get_backend
    from tools.video.clip import iter_frames, probe_video

    cfg = config or TrackConfig()
    info = probe_video(video_path)
    fps = info.fps / every_nth
    frames = lambda: iter_frames(video_path, max_frames=max_frames, every_nth=every_nth)  # noqa: E731
    hint = dict(athlete_box=athlete_box, athlete_point=athlete_point, keyframe=int(keyframe) // every_nth)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    if backend == "yolo":
        return _track_yolo(get_backend("yolo", weights), frames, fps, hint, cfg, keyframe)
    detector = MediaPipePeopleDetector()
    interval = max(1, int(round(cfg.keyframe_interval_s * fps)))
    detections, n_frames, image_size, last = {}, 0, (0, 0), None
    for i, frame in enumerate(frames()):
        n_frames, image_size, last = i + 1, (frame.shape[1], frame.shape[0]), frame
        if i % interval == 0:
            detections[i] = _with_appearance(frame, detector.detect(frame), appearance_histograms)
    if last is not None and (n_frames - 1) not in detections:
        detections[n_frames - 1] = _with_appearance(last, detector.detect(last), appearance_histograms)
    if n_frames == 0:
        raise InputError(f"no frames could be decoded from {video_path}; re-export the clip as H.264 mp4")
    _check_inside(athlete_box, athlete_point, image_size)
    timings["detect_s"] = time.perf_counter() - t0
    tracks, series, people, choice, reacq = _choose(detections, n_frames, fps, interval, hint, cfg)
    selection = _selection_header(choice, hint, keyframe, detector.config(), interval, detections, people, tracks, cfg,
                                  reacq)
    t1 = time.perf_counter()
    stats, extra = None, 0
    if len(people) <= 1 or choice.track_id is None:
        # One person: full-frame MediaPipe video mode exactly as before, then the identity check after the
        # fact (frames whose skeleton is not the athlete are left out). If that leaves out more than
        # `escalate_share` of the frames, those frames get fresh detections (extra keyframes); the people
        # found there who are not the athlete are tracked, and the clip is redone with the crop that
        # follows the athlete; the redo is kept when it puts the skeleton on the athlete in more frames.
        result = get_backend("mediapipe").process(frames(), fps)
        selection["mode"] = "single person: full-frame MediaPipe video mode"
        if choice.track_id is not None:
            athlete_boxes = series[choice.track_id]
            uv, conf, world, stats = blank_off_athlete(result.uv, result.conf, athlete_boxes,
                                                       _other_boxes(tracks, series, choice.track_id, n_frames),
                                                       fps, _body_height(choice), result.world_xyz, cfg)
            result = PoseResult(uv=uv, conf=conf, world_xyz=world, image_size=result.image_size, fps=fps,
                                meta=result.meta)
            if stats.frames_blanked:
                selection["mode"] += ", frames failing the identity check left out"
            if stats.frames_blanked > cfg.escalate_share * n_frames:
                extra_dets: dict = {}
                extra = _detect_more(frames(), stats.blanked_frames, detector, extra_dets, cfg)
                strangers = {f: [d for d in ds if not np.isfinite(athlete_boxes[f]).all()
                                 or box_iou(d.box_xyxy, athlete_boxes[f])[0, 0] < 0.5] for f, ds in extra_dets.items()}
                more = link_tracks(strangers, fps, cfg)
                if more:
                    others = np.concatenate([_other_boxes(tracks, series, choice.track_id, n_frames),
                                             np.stack([box_series(t, n_frames, fps, cfg.recheck_every_frames, cfg)
                                                       for t in more], axis=1)], axis=1)
                    with MediaPipePeopleDetector() as rechecker:
                        follower = AthleteFollower(athlete_boxes, others, fps, _body_height(choice),
                                                   detector=rechecker, config=cfg)
                        f_uv, f_conf, f_world, _ = follower.run(frames())
                    if follower.stats.frames_on_athlete > stats.frames_on_athlete:
                        stats = follower.stats
                        result = PoseResult(uv=f_uv, conf=f_conf, world_xyz=f_world, image_size=image_size,
                                            fps=fps, meta=backend_meta_for_crop(get_backend("mediapipe").meta(), cfg))
                        selection["mode"] = ("MediaPipe video mode on a crop following the athlete's track "
                                             f"(redone: {len(more)} more people found on frames that failed "
                                             "the identity check)")
                    selection["people_found_on_extra_keyframes"] = len(more)
    else:
        others = _other_boxes(tracks, series, choice.track_id, n_frames)
        with MediaPipePeopleDetector() as rechecker:
            follower = AthleteFollower(series[choice.track_id], others, fps, _body_height(choice),
                                       detector=rechecker, config=cfg)
            uv, conf, world, _ = follower.run(frames())
        stats = follower.stats
        meta = backend_meta_for_crop(get_backend("mediapipe").meta(), cfg)
        result = PoseResult(uv=uv, conf=conf, world_xyz=world, image_size=image_size, fps=fps, meta=meta)
        selection["mode"] = "MediaPipe video mode on a crop following the athlete's track"
    detector.close()
    timings["pose_s"] = time.perf_counter() - t1
    selection["extra_keyframes"] = extra
    _add_stats(selection, stats, n_frames)
    selection["seconds"] = {k: round(v, 2) for k, v in timings.items()}
    result.meta["selection"] = selection
    log.info("athlete selection: %s, %d people, athlete track %s (%s), mode: %s, problems: %s",
             choice.method, len(people), choice.track_id, "ambiguous" if choice.ambiguous else "clear",
             selection["mode"], "; ".join(choice.problems) or "none")
    return result


def _with_appearance(frame: np.ndarray, dets: list[PersonDetection], histograms) -> list[PersonDetection]:
    """The detections with their clothing-colour histograms (tools.people.detect.appearance_histograms) filled in."""
    for d in dets:
        d.appearance = histograms(frame, d)
    return dets


def _choose(detections: dict, n_frames: int, fps: float, hold: int, hint: dict, cfg: TrackConfig):
    """Tracks, their box series, the people among them (seen on enough keyframes), the athlete choice and the
    re-acquisition record. Tracks re-acquired as the athlete are joined into the athlete's track (same id) and
    leave the track, series and people lists."""
    from tools.people.athlete import choose_athlete, reacquire_athlete
    tracks = link_tracks(detections, fps, cfg)
    series = {t.track_id: box_series(t, n_frames, fps, hold, cfg) for t in tracks}
    people = [t for t in tracks if len(t.frames) >= cfg.min_track_keyframes] or tracks
    choice = choose_athlete(people, series, n_frames, **hint)
    if choice.track_id is None:
        return tracks, series, people, choice, None
    reacq = reacquire_athlete(tracks, choice.track_id, fps, candidate_ids=[t.track_id for t in people])
    if reacq.merged_track_ids:
        gone = set(reacq.merged_track_ids)
        swap = lambda ts: [reacq.track if t.track_id == choice.track_id else t  # noqa: E731
                           for t in ts if t.track_id not in gone]
        tracks, people = swap(tracks), swap(people)
        series = {k: v for k, v in series.items() if k not in gone}
        series[choice.track_id] = box_series(reacq.track, n_frames, fps, hold, cfg)
    return tracks, series, people, choice, reacq


def _detect_more(frames: Iterable[np.ndarray], wanted: list[int], detector, detections: dict,
                 cfg: TrackConfig, max_extra: int = 30) -> int:
    """Add detections on frames whose skeleton failed the identity check (every few, at most max_extra)."""
    picked: list[int] = []
    for f in sorted(wanted):
        if f not in detections and (not picked or f - picked[-1] >= cfg.recheck_every_frames):
            picked.append(f)
    picked = picked[:max_extra]
    todo = set(picked)
    for i, frame in enumerate(frames):
        if i in todo:
            detections[i] = detector.detect(frame)
        if i >= max(picked, default=-1):
            break
    return len(picked)


def _other_boxes(tracks: list[Track], series: dict, athlete_id: int, n_frames: int) -> np.ndarray:
    """[T, N, 4] every other track's box per frame (NaN where absent)."""
    others = [series[t.track_id] for t in tracks if t.track_id != athlete_id]
    return np.stack(others, axis=1) if others else np.full((n_frames, 0, 4), np.nan)


def _body_height(choice) -> float:
    return float(next(c["body_height_px"] for c in choice.candidates if c["track_id"] == choice.track_id))


def _selection_header(choice, hint: dict, keyframe: int, detector_cfg: dict, interval: int, detections: dict,
                      people: list, tracks: list, cfg: TrackConfig, reacq=None) -> dict:
    merged = set(reacq.merged_track_ids) if reacq is not None else set()
    candidates = [dict(c, reacquired_as_athlete=True) if c["track_id"] in merged else c for c in choice.candidates]
    return {
        "method": choice.method, "athlete_track_id": choice.track_id, "ambiguous": choice.ambiguous,
        "problems": list(choice.problems) + (list(reacq.problems) if reacq is not None else []),
        "candidates": candidates,
        "reacquired": list(reacq.events) if reacq is not None else [],
        "reacquired_track_ids": sorted(merged),
        "reacquire_refused": list(reacq.refused[:10]) if reacq is not None else [],
        "reacquire_settings": reacq.config if reacq is not None else None,
        "athlete_box_xywh": [float(v) for v in hint["athlete_box"]] if hint["athlete_box"] is not None else None,
        "athlete_point_xy": [float(v) for v in hint["athlete_point"]] if hint["athlete_point"] is not None else None,
        "keyframe": int(keyframe), "detector": detector_cfg, "keyframe_interval_frames": interval,
        "n_keyframes": len(detections), "people_found": len(people), "tracks_found": len(tracks),
        "tracking": cfg.to_dict(),
    }


def _add_stats(selection: dict, stats: FollowStats | None, n_frames: int) -> None:
    if stats is None:
        return
    present = n_frames - stats.frames_athlete_absent
    selection.update(
        identity_switches_detected=stats.identity_switches_detected,
        identity_switches_repaired=stats.identity_switches_repaired,
        frames_blanked=stats.frames_blanked, blanked_frames=stats.blanked_frames[:200],
        frames_athlete_absent=stats.frames_athlete_absent,
        athlete_absent_share=round(stats.frames_athlete_absent / n_frames, 4) if n_frames else 0.0,
        frames_on_athlete=stats.frames_on_athlete, rechecks=stats.rechecks,
        share_on_athlete=round(stats.frames_on_athlete / present, 4) if present else 0.0)


def _track_yolo(yolo, frames, fps: float, hint: dict, cfg: TrackConfig, keyframe: int):
    """YOLO: every frame is a keyframe; the athlete's track gives the keypoints, other frames are blank."""
    from tools.pose.backends import PoseResult, empty_arrays
    t0 = time.perf_counter()
    per_frame, image_size = yolo.detect_people(frames())
    n_frames = len(per_frame)
    if n_frames == 0:
        raise InputError("no frames could be decoded from the clip; re-export it as H.264 mp4")
    _check_inside(hint["athlete_box"], hint["athlete_point"], image_size)
    detections = {i: d for i, d in enumerate(per_frame)}
    hold = max(1, int(round(cfg.keyframe_interval_s * fps)))
    tracks, series, people, choice, reacq = _choose(detections, n_frames, fps, hold, hint, cfg)
    selection = _selection_header(choice, hint, keyframe, {"detector": "yolo-pose (every frame)"}, 1, detections,
                                  people, tracks, cfg, reacq)
    uv, conf, _ = empty_arrays(n_frames, with_world=False)
    athlete = next((t for t in people if t.track_id == choice.track_id), None)
    if athlete is not None:
        for f, d in zip(athlete.frames, athlete.detections):
            uv[f], conf[f] = d.uv, d.conf
    stats = FollowStats(frames_on_athlete=int((conf > 0).any(axis=1).sum()))
    if athlete is not None:
        stats.frames_athlete_absent = int((~np.isfinite(series[athlete.track_id]).all(axis=1)).sum())
    selection["mode"] = "yolo multi-person tracks"
    _add_stats(selection, stats, n_frames)
    selection["seconds"] = {"detect_and_pose_s": round(time.perf_counter() - t0, 2)}
    result = PoseResult(uv=uv, conf=conf, world_xyz=None, image_size=image_size, fps=fps, meta=yolo.meta())
    result.meta["selection"] = selection
    return result


def backend_meta_for_crop(meta: dict, cfg: TrackConfig) -> dict:
    meta = dict(meta)
    meta["mode"] = (f"video (static_image_mode=False) on a {cfg.crop_size_px} px square crop following the "
                    "athlete's track; landmarks mapped back to full-frame pixels")
    return meta


def _check_inside(athlete_box, athlete_point, image_size: tuple[int, int]) -> None:
    """A box or point outside the frame is a user error (InputError) that says what to do."""
    w, h = image_size
    if athlete_box is not None:
        x, y, bw, bh = (float(v) for v in athlete_box)
        if bw <= 0 or bh <= 0:
            raise InputError(f"--athlete-box {x:g},{y:g},{bw:g},{bh:g}: width and height must be positive")
        if x >= w or y >= h or x + bw <= 0 or y + bh <= 0:
            raise InputError(f"--athlete-box {x:g},{y:g},{bw:g},{bh:g} lies outside the {w}x{h} px frame; "
                             "give x,y,w,h in pixels of the first frame")
    if athlete_point is not None:
        x, y = (float(v) for v in athlete_point)
        if not (0 <= x < w and 0 <= y < h):
            raise InputError(f"--athlete-point {x:g},{y:g} lies outside the {w}x{h} px frame; "
                             "give x,y in pixels of the first frame")
