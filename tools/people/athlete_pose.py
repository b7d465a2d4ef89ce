"""The athlete's pose over a whole clip: find everyone, choose the athlete, keep the skeleton on them.

`estimate_pose(video, backend=...)` is the clip-level entry (the screening step
and the library call it). It runs in stages; each stage decodes the clip at
most once (tools.video.clip.decode_ahead: a background thread decodes while
the pose model works) and uses the pose backend it was given:

1. survey_people: every person on keyframes (every `keyframe_interval_s` and
   the last frame; tools.people.detect), with their clothing colours; the
   clip is searched in pieces, one per core (tools.people.pieces: each piece
   decodes its own frames, keyframes stand alone, so the detections are the
   same as in one pass).
2. choose_athlete_track (no decoding): tracks (tools.people.track; two tracks
   split where one body was found twice on a keyframe are joined again), the
   athlete's track chosen (box, point or automatic) and re-acquired after a
   gap (tools.people.athlete).
3. the athlete's skeleton on every frame:
   - pose_one_person: nobody else was ever seen: the backend's video mode on
     the whole frame, exactly as without tracking, then the identity check
     after the fact (tools.people.follow.blank_off_athlete): frames whose
     skeleton jumped or is not on the athlete's track are left out;
   - pose_following: several people: video mode on a crop that follows the
     athlete's track, other people masked, every frame checked
     (tools.people.follow.AthleteFollower);
   - redo_on_a_crop: one person, but the whole-frame pass did not find them in
     more than `escalate_share` of the frames where the person search did (a
     body lying feet to the camera): followed on a crop as for several people
     (one decode), kept when it puts the skeleton on the athlete in more frames;
   - redo_with_more_people: one person, but more than `escalate_share` of the
     frames failed the identity check: those frames get fresh detections
     (one decode, stopped at the last frame wanted); strangers found there are
     tracked and the clip is followed as for several people (one decode); the
     redo is kept when it puts the skeleton on the athlete in more frames.
   With a multi-person backend (YOLO) every frame is a keyframe: one decode
   gives every person's keypoints, the athlete's track gives the skeleton
   (pose_from_backend_tracks).
The pose pass runs over the whole clip in one piece by default (a video-mode
graph's tracking depends on its past; PieceConfig(pose_in_pieces=True) splits
it too, see tools.people.pieces). Everything decided (the choice, candidates,
re-acquisitions, identity checks, frames left out, seconds per stage, decoding
passes, pieces) goes into
PoseResult.meta["selection"]. `select="off"` runs the backend alone
(tools.pose.backends.run_backend_on_clip): MediaPipe follows one person and
can jump to another.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tools.core.boxes import box_iou
from tools.core.errors import InputError
from tools.core.progress import advance
from tools.people.athlete import (
    AthleteChoice,
    Reacquisition,
    choose_athlete,
    reacquire_athlete,
)
from tools.people.detect import (
    MediaPipePeopleDetector,
    PersonDetection,
    appearance_histograms,
    detections_from_backend,
)
from tools.people.follow import FollowStats, blank_off_athlete
from tools.people.pieces import (
    Piece,
    PieceConfig,
    follow_athlete,
    movement_per_frame,
    pose_whole_frames,
    run_pieces,
    split_clip,
)
from tools.people.track import Track, TrackConfig, box_series, join_handoffs, link_tracks
from tools.pose.backends import (
    BACKEND_NAMES,
    PoseResult,
    empty_arrays,
    get_backend,
    run_backend_on_clip,
)
from tools.video.clip import decode_ahead, probe_video

log = logging.getLogger(__name__)

SELECT_MODES = ("auto", "off")


@dataclass
class ClipFrames:
    """Which frames of which clip the stages read: every `every_nth` frame, at most `max_frames`, at `fps`."""

    video_path: str
    every_nth: int
    max_frames: int | None
    fps: float
    decodes: int = 0

    def open(self, start: int = 0, stop: int | None = None) -> decode_ahead:
        """Frames [start, stop) (all by default), decoded ahead in a background thread (a context manager);
        counted in `decodes` (a clip read in pieces counts each piece)."""
        self.decodes += 1
        return decode_ahead(self.video_path, max_frames=self.max_frames, every_nth=self.every_nth, start=start,
                            stop=stop)


@dataclass
class Survey:
    """Stage 1: the people on each keyframe ({frame: [PersonDetection]}), and the clip's size in frames and px."""

    detections: dict[int, list[PersonDetection]]
    n_frames: int
    image_size: tuple[int, int]
    interval: int
    detector: dict


@dataclass
class TrackChoice:
    """Stage 2: tracks, their per-frame boxes, the people among them, the athlete and the re-acquisitions."""

    tracks: list[Track]
    series: dict[int, np.ndarray]
    people: list[Track]
    choice: AthleteChoice
    reacquisition: Reacquisition | None = None

    @property
    def athlete_boxes(self) -> np.ndarray:
        return self.series[self.choice.track_id]

    def other_boxes(self, n_frames: int) -> np.ndarray:
        """[T, N, 4] every other track's box per frame (NaN where absent)."""
        others = [self.series[t.track_id] for t in self.tracks if t.track_id != self.choice.track_id]
        return np.stack(others, axis=1) if others else np.full((n_frames, 0, 4), np.nan)

    @property
    def body_height_px(self) -> float:
        """The athlete's body size for the identity check: the 90th percentile over keyframes of the box's
        longer side (its height standing; its length lying down, where the box height is a fraction of it
        and a leg raise would look like a jump)."""
        track = next((t for t in self.tracks if t.track_id == self.choice.track_id), None)
        standing = float(next(c["body_height_px"] for c in self.choice.candidates
                              if c["track_id"] == self.choice.track_id))
        if track is None:
            return standing
        sides = [max(d.height, float(d.box_xyxy[2] - d.box_xyxy[0])) for d in track.detections]
        return max(standing, float(np.percentile(sides, 90)))

    def athlete_movement(self, n_frames: int) -> np.ndarray | None:
        """float[T] how fast the athlete moves around each frame (tools.people.pieces.movement_per_frame)."""
        track = next((t for t in self.tracks if t.track_id == self.choice.track_id), None)
        if track is None:
            return None
        return movement_per_frame(track.frames, [d.uv for d in track.detections],
                                  [d.conf for d in track.detections], n_frames, self.body_height_px)


@dataclass
class AthletePose:
    """Stage 3: the athlete's keypoints, how they were obtained, and the identity-check counts."""

    result: PoseResult
    mode: str
    stats: FollowStats | None
    extra: dict = field(default_factory=dict)


# ----- the stages -------------------------------------------------------------
def survey_people(clip: ClipFrames, config: TrackConfig, expected_frames: int,
                  pieces: PieceConfig | None = None) -> Survey:
    """Stage 1 (one decode, in pieces on several cores): every person on the keyframes, with clothing colours
    (for re-finding them). `expected_frames` (the header's count) only sets where the pieces are cut."""
    interval = max(1, int(round(config.keyframe_interval_s * clip.fps)))

    def work(piece: Piece):
        found: dict[int, list[PersonDetection]] = {}
        n_seen, size, last = piece.start, (0, 0), None
        with MediaPipePeopleDetector() as detector, clip.open(start=piece.start, stop=piece.stop) as frames:
            for i, frame in enumerate(frames, start=piece.start):
                n_seen, size, last = i + 1, (frame.shape[1], frame.shape[0]), frame
                advance("decode")
                if i % interval == 0:
                    found[i] = _with_appearance(frame, detector.detect(frame))
            if piece.stop is None and last is not None and (n_seen - 1) not in found:
                found[n_seen - 1] = _with_appearance(last, detector.detect(last))
            return found, n_seen, size, detector.config()

    parts = run_pieces(work, split_clip(expected_frames, clip.fps, pieces))
    detections = {f: d for found, _, _, _ in parts for f, d in found.items()}
    n_frames = max(n for _, n, _, _ in parts)
    image_size = next((size for _, n, size, _ in parts if size != (0, 0)), (0, 0))
    if n_frames == 0:
        raise InputError(f"no frames could be decoded from {clip.video_path}; re-export the clip as H.264 mp4")
    return Survey(dict(sorted(detections.items())), n_frames, image_size, interval, parts[0][3])


def choose_athlete_track(detections: dict[int, list[PersonDetection]], n_frames: int, fps: float, hold: int,
                         hint: dict, config: TrackConfig) -> TrackChoice:
    """Stage 2 (no decoding): tracks, their box series, the people (seen on enough keyframes), the athlete
    and the re-acquisition record. Tracks re-acquired as the athlete are joined into the athlete's track
    (same id) and leave the track, series and people lists."""
    tracks = join_handoffs(link_tracks(detections, fps, config))
    series = {t.track_id: box_series(t, n_frames, fps, hold, config) for t in tracks}
    people = [t for t in tracks if len(t.frames) >= config.min_track_keyframes] or tracks
    choice = choose_athlete(people, series, n_frames, **hint)
    if choice.track_id is None:
        return TrackChoice(tracks, series, people, choice)
    reacq = reacquire_athlete(tracks, choice.track_id, fps, candidate_ids=[t.track_id for t in people])
    if reacq.merged_track_ids:
        gone = set(reacq.merged_track_ids)
        swap = lambda ts: [reacq.track if t.track_id == choice.track_id else t  # noqa: E731
                           for t in ts if t.track_id not in gone]
        tracks, people = swap(tracks), swap(people)
        series = {k: v for k, v in series.items() if k not in gone}
        series[choice.track_id] = box_series(reacq.track, n_frames, fps, hold, config)
    return TrackChoice(tracks, series, people, choice, reacq)


def pose_one_person(clip: ClipFrames, backend, chosen: TrackChoice, n_frames: int,
                    config: TrackConfig, pieces: PieceConfig | None = None) -> AthletePose:
    """Stage 3, one person ever seen (one decode, in pieces on several cores): the backend's video mode on the
    whole frame, then the identity check."""
    if hasattr(backend, "open_stream"):
        motion = chosen.athlete_movement(n_frames) if chosen.choice.track_id is not None else None
        result = pose_whole_frames(clip, backend, (pieces or PieceConfig()).pose_pieces(n_frames, clip.fps, motion))
    else:
        with clip.open() as frames:
            result = backend.process(frames, clip.fps)
    mode = f"single person: full-frame {_backend_title(backend)} video mode"
    if chosen.choice.track_id is None:
        return AthletePose(result, mode, None)
    uv, conf, world, stats = blank_off_athlete(result.uv, result.conf, chosen.athlete_boxes,
                                               chosen.other_boxes(n_frames), clip.fps, chosen.body_height_px,
                                               result.world_xyz, config)
    result = PoseResult(uv=uv, conf=conf, world_xyz=world, image_size=result.image_size, fps=clip.fps,
                        meta=result.meta)
    if stats.frames_blanked:
        mode += ", frames failing the identity check left out"
    return AthletePose(result, mode, stats)


def pose_following(clip: ClipFrames, backend, athlete_boxes: np.ndarray, other_boxes: np.ndarray,
                   body_height_px: float, image_size: tuple[int, int], config: TrackConfig,
                   pieces: PieceConfig | None = None, motion: np.ndarray | None = None) -> AthletePose:
    """Stage 3, several people (one decode, in pieces on several cores): video mode on a crop that follows the
    athlete's track. `motion` (float[T]) places the seams between pieces where the athlete moves least."""
    uv, conf, world, stats = follow_athlete(clip, backend, athlete_boxes, other_boxes, body_height_px, config,
                                            (pieces or PieceConfig()).pose_pieces(len(athlete_boxes), clip.fps,
                                                                                  motion),
                                            MediaPipePeopleDetector)
    result = PoseResult(uv=uv, conf=conf, world_xyz=world, image_size=image_size, fps=clip.fps,
                        meta=backend_meta_for_crop(backend.meta(), config))
    return AthletePose(result, f"{_backend_title(backend)} video mode on a crop following the athlete's track",
                       stats)


def redo_with_more_people(clip: ClipFrames, backend, detector: MediaPipePeopleDetector, chosen: TrackChoice,
                          single: AthletePose, n_frames: int, image_size: tuple[int, int],
                          config: TrackConfig, pieces: PieceConfig | None = None) -> AthletePose:
    """Stage 3, one person but many frames failed the identity check: look again on those frames (one decode,
    up to the last frame wanted); strangers found there are tracked and the athlete followed (one decode).
    Returns the better of the two (more frames on the athlete)."""
    extra_dets: dict[int, list[PersonDetection]] = {}
    n_extra = _detect_more(clip, single.stats.blanked_frames, detector, extra_dets, config)
    athlete_boxes = chosen.athlete_boxes
    strangers = {f: [d for d in ds if not np.isfinite(athlete_boxes[f]).all()
                     or box_iou(d.box_xyxy, athlete_boxes[f])[0, 0] < 0.5] for f, ds in extra_dets.items()}
    more = link_tracks(strangers, clip.fps, config)
    extra = {"extra_keyframes": n_extra}
    if not more:
        return AthletePose(single.result, single.mode, single.stats, extra)
    extra["people_found_on_extra_keyframes"] = len(more)
    others = np.concatenate([chosen.other_boxes(n_frames),
                             np.stack([box_series(t, n_frames, clip.fps, config.recheck_every_frames, config)
                                       for t in more], axis=1)], axis=1)
    followed = pose_following(clip, backend, athlete_boxes, others, chosen.body_height_px, image_size, config,
                              pieces, chosen.athlete_movement(n_frames))
    if followed.stats.frames_on_athlete > single.stats.frames_on_athlete:
        return AthletePose(followed.result, f"{followed.mode} (redone: {len(more)} more people found on frames "
                                            "that failed the identity check)", followed.stats, extra)
    return AthletePose(single.result, single.mode, single.stats, extra)


def redo_on_a_crop(clip: ClipFrames, backend, chosen: TrackChoice, single: AthletePose, n_frames: int,
                   image_size: tuple[int, int], config: TrackConfig, pieces: PieceConfig | None = None) -> AthletePose:
    """Stage 3, one person whom the whole-frame pass often missed although the person search saw them (a body
    lying with its feet to the camera, small in the frame): the pass again on a crop that follows their track
    (one decode). Returns the better of the two (more frames on the athlete)."""
    followed = pose_following(clip, backend, chosen.athlete_boxes, chosen.other_boxes(n_frames),
                              chosen.body_height_px, image_size, config, pieces, chosen.athlete_movement(n_frames))
    if followed.stats.frames_on_athlete > single.stats.frames_on_athlete:
        return AthletePose(followed.result, f"{followed.mode} (redone: the whole frame missed the athlete in "
                                            f"{100 * _missed_share(single, chosen):.0f}% of the frames where "
                                            "the person search saw them)", followed.stats,
                           {"whole_frame_missed_share": round(_missed_share(single, chosen), 3)})
    return single


def _missed_share(pose: AthletePose, chosen: TrackChoice) -> float:
    """Share of the frames with the athlete's track present where the pose has no skeleton and none was left
    out by the identity check (the backend did not find the athlete at all)."""
    present = np.isfinite(chosen.athlete_boxes).all(axis=1)
    missed = present & ~pose.result.detected
    missed[list(pose.stats.blanked_frames)] = False
    return float(missed.sum() / present.sum()) if present.any() else 0.0


def pose_from_backend_tracks(clip: ClipFrames, backend, hint: dict, config: TrackConfig, keyframe: int,
                             seconds: dict) -> PoseResult:
    """A multi-person backend (YOLO), one decode: every frame is a keyframe; the athlete's track gives the
    keypoints, other frames are blank."""
    t0 = time.perf_counter()
    with clip.open() as frames:
        per_frame, image_size = backend.detect_people(frames)
    n_frames = len(per_frame)
    if n_frames == 0:
        raise InputError("no frames could be decoded from the clip; re-export it as H.264 mp4")
    _check_inside(hint["athlete_box"], hint["athlete_point"], image_size)
    detections = {i: detections_from_backend(p) for i, p in enumerate(per_frame)}
    seconds["detect_and_pose_s"] = time.perf_counter() - t0
    hold = max(1, int(round(config.keyframe_interval_s * clip.fps)))
    chosen = choose_athlete_track(detections, n_frames, clip.fps, hold, hint, config)
    selection = _selection_header(chosen, hint, keyframe, {"detector": f"{backend.name}-pose (every frame)"}, 1,
                                  detections, config)
    uv, conf, _ = empty_arrays(n_frames, with_world=False)
    athlete = next((t for t in chosen.people if t.track_id == chosen.choice.track_id), None)
    if athlete is not None:
        for f, d in zip(athlete.frames, athlete.detections):
            uv[f], conf[f] = d.uv, d.conf
    stats = FollowStats(frames_on_athlete=int((conf > 0).any(axis=1).sum()))
    if athlete is not None:
        stats.frames_athlete_absent = int((~np.isfinite(chosen.series[athlete.track_id]).all(axis=1)).sum())
    selection["mode"] = f"{backend.name} multi-person tracks"
    _add_stats(selection, stats, n_frames)
    result = PoseResult(uv=uv, conf=conf, world_xyz=None, image_size=image_size, fps=clip.fps, meta=backend.meta())
    result.meta["selection"] = selection
    return result


# ----- the whole clip -----------------------------------------------------------
def estimate_pose(video_path: str | Path, backend: str = "mediapipe", weights: str | Path | None = None,
                  max_frames: int | None = None, every_nth: int = 1,
                  athlete_box: tuple[float, float, float, float] | None = None,
                  athlete_point: tuple[float, float] | None = None, keyframe: int = 0,
                  select: str = "auto", config: TrackConfig | None = None,
                  pieces: PieceConfig | None = None) -> PoseResult:
    """The athlete's keypoints over a video file (see the module docstring for the stages).

    `athlete_box` (x, y, w, h px) or `athlete_point` (x, y px) on video frame
    `keyframe` (0 = first frame; a box found by SAM 3 on a keyframe is passed
    the same way) name the athlete; else the person doing the test is chosen.
    With `every_nth` > 1 only every n-th frame is used and the result's fps is
    divided accordingly. select="off" runs the backend alone.
    """
    if every_nth < 1:
        raise InputError(f"every_nth must be 1 or more, got {every_nth}")
    if select not in SELECT_MODES:
        raise InputError(f"select must be 'auto' or 'off', got {select!r}")
    if select == "off" and (athlete_box is not None or athlete_point is not None):
        raise InputError("an athlete box or point needs athlete selection: drop select='off'")
    name = str(backend).lower()
    if name not in BACKEND_NAMES:
        raise InputError(f"unknown pose backend {backend!r}; choose one of {', '.join(BACKEND_NAMES)}")
    # facts only: the caller checked the clip's limits (a whole-screen recording is longer than one test)
    info = probe_video(video_path, max_duration_s=float("inf"), max_size_mb=float("inf"))
    log.info("pose: backend=%s, video=%s (%dx%d px, %.2f fps, %.1f s), every_nth=%d, max_frames=%s, select=%s",
             name, Path(video_path).name, info.width, info.height, info.fps, info.duration_s, every_nth,
             max_frames, select)
    pose_backend = get_backend(name, weights)
    if select == "off":
        result = run_backend_on_clip(video_path, pose_backend, max_frames=max_frames, every_nth=every_nth)
        result.meta["selection"] = {"method": "off", "mode": "backend alone (no tracking)", "problems": []}
    else:
        result = track_athlete_pose(video_path, pose_backend, info.fps, max_frames=max_frames, every_nth=every_nth,
                                    athlete_box=athlete_box, athlete_point=athlete_point, keyframe=keyframe,
                                    config=config, expected_frames=_expected_frames(info.n_frames, every_nth,
                                                                                    max_frames), pieces=pieces)
    if result.n_frames == 0:
        raise InputError(f"no frames could be decoded from {video_path}; re-export the clip as H.264 mp4")
    result.meta.update(video=str(video_path), every_nth=every_nth)
    log.info("pose: %d frames, athlete detected in %.0f%%", result.n_frames, 100 * result.detection_share)
    return result


def track_athlete_pose(video_path: str | Path, backend, video_fps: float, max_frames: int | None = None,
                       every_nth: int = 1, athlete_box: tuple[float, float, float, float] | None = None,
                       athlete_point: tuple[float, float] | None = None, keyframe: int = 0,
                       config: TrackConfig | None = None, expected_frames: int | None = None,
                       pieces: PieceConfig | None = None) -> PoseResult:
    """Stages 1-3 with a built pose backend; the choice, identity checks and timings in meta["selection"].
    `expected_frames` (the header's frame count after every_nth / max_frames) sets where the clip is cut
    into pieces for the cores (tools.people.pieces); without it the person search runs in one piece."""
    cfg = config or TrackConfig()
    pieces = pieces or PieceConfig()
    clip = ClipFrames(str(video_path), every_nth, max_frames, video_fps / every_nth)
    hint = dict(athlete_box=athlete_box, athlete_point=athlete_point, keyframe=int(keyframe) // every_nth)
    seconds: dict[str, float] = {}
    if hasattr(backend, "detect_people"):
        result = pose_from_backend_tracks(clip, backend, hint, cfg, keyframe, seconds)
        result.meta["selection"]["seconds"] = {k: round(v, 2) for k, v in seconds.items()}
        result.meta["selection"]["decoding_passes"] = clip.decodes
        return result
    t0 = time.perf_counter()
    survey = survey_people(clip, cfg, expected_frames or 0, pieces)
    n_frames, image_size = survey.n_frames, survey.image_size
    _check_inside(athlete_box, athlete_point, image_size)
    seconds["detect_s"] = time.perf_counter() - t0
    chosen = choose_athlete_track(survey.detections, n_frames, clip.fps, survey.interval, hint, cfg)
    selection = _selection_header(chosen, hint, keyframe, survey.detector, survey.interval, survey.detections, cfg)
    t1 = time.perf_counter()
    if len(chosen.people) <= 1 or chosen.choice.track_id is None:
        pose = pose_one_person(clip, backend, chosen, n_frames, cfg, pieces)
        if pose.stats is not None and pose.stats.frames_blanked > cfg.escalate_share * n_frames:
            with MediaPipePeopleDetector() as detector:
                pose = redo_with_more_people(clip, backend, detector, chosen, pose, n_frames, image_size, cfg,
                                             pieces)
        elif pose.stats is not None and _missed_share(pose, chosen) > cfg.escalate_share:
            pose = redo_on_a_crop(clip, backend, chosen, pose, n_frames, image_size, cfg, pieces)
    else:
        pose = pose_following(clip, backend, chosen.athlete_boxes, chosen.other_boxes(n_frames),
                              chosen.body_height_px, image_size, cfg, pieces, chosen.athlete_movement(n_frames))
    seconds["pose_s"] = time.perf_counter() - t1
    selection["pieces"] = {"person_search": len(split_clip(n_frames, clip.fps, pieces)),
                           "pose": len(pieces.pose_pieces(n_frames, clip.fps))}
    selection["mode"] = pose.mode
    selection["extra_keyframes"] = pose.extra.get("extra_keyframes", 0)
    if "people_found_on_extra_keyframes" in pose.extra:
        selection["people_found_on_extra_keyframes"] = pose.extra["people_found_on_extra_keyframes"]
    _add_stats(selection, pose.stats, n_frames)
    selection["seconds"] = {k: round(v, 2) for k, v in seconds.items()}
    selection["decoding_passes"] = clip.decodes
    result = pose.result
    result.meta["selection"] = selection
    log.info("athlete selection: %s, %d people, athlete track %s (%s), mode: %s, problems: %s",
             chosen.choice.method, len(chosen.people), chosen.choice.track_id,
             "ambiguous" if chosen.choice.ambiguous else "clear", selection["mode"],
             "; ".join(chosen.choice.problems) or "none")
    return result


# ----- helpers -----------------------------------------------------------------
def _expected_frames(n_frames: int, every_nth: int, max_frames: int | None) -> int:
    """Frames the stages will read: every every_nth of the header's n_frames, at most max_frames."""
    n = -(-int(n_frames) // every_nth)
    return n if max_frames is None else min(n, int(max_frames))


def backend_meta_for_crop(meta: dict, cfg: TrackConfig) -> dict:
    meta = dict(meta)
    meta["mode"] = (f"video (static_image_mode=False) on a {cfg.crop_size_px} px square crop following the "
                    "athlete's track; landmarks mapped back to full-frame pixels")
    return meta


def _backend_title(backend) -> str:
    return {"mediapipe": "MediaPipe", "yolo": "YOLO"}.get(backend.name, backend.name)


def _with_appearance(frame: np.ndarray, dets: list[PersonDetection]) -> list[PersonDetection]:
    """The detections with their clothing-colour histograms (tools.people.detect.appearance_histograms)."""
    for d in dets:
        d.appearance = appearance_histograms(frame, d)
    return dets


def _detect_more(clip: ClipFrames, wanted: list[int], detector, detections: dict, cfg: TrackConfig,
                 max_extra: int = 30) -> int:
    """Add detections on frames whose skeleton failed the identity check (every few, at most max_extra)."""
    picked: list[int] = []
    for f in sorted(wanted):
        if f not in detections and (not picked or f - picked[-1] >= cfg.recheck_every_frames):
            picked.append(f)
    picked = picked[:max_extra]
    if not picked:
        return 0
    todo = set(picked)
    with clip.open() as frames:
        for i, frame in enumerate(frames):
            if i in todo:
                detections[i] = detector.detect(frame)
            if i >= picked[-1]:
                break
    return len(picked)


def _selection_header(chosen: TrackChoice, hint: dict, keyframe: int, detector_cfg: dict, interval: int,
                      detections: dict, cfg: TrackConfig) -> dict:
    choice, reacq = chosen.choice, chosen.reacquisition
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
        "n_keyframes": len(detections), "people_found": len(chosen.people), "tracks_found": len(chosen.tracks),
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
