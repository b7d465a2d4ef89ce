"""Choose the athlete among the tracked people: the one the user pointed at, or the one doing the test.

Three ways, in order of authority:
  box    `athlete_box` (x, y, w, h px, drawn on frame `keyframe`, default the
         first frame; or found there by SAM 3): the track whose box at that
         frame overlaps it most (IoU). A drawn box that holds less than
         `min_box_cover` of every person's box contains nobody: the choice
         falls back to automatic and says so (a review reason, not a crash).
  point  `athlete_point` (x, y px, a click in the app on frame `keyframe`):
         the track whose box there contains the point (the smallest such box
         when boxes nest: the person in front is usually the one clicked).
  auto   the person performing the test: present in most frames, moving
         within their own body (joints relative to the hip centre, in body
         heights), while their body root stays in place. Passers-by (root
         travels, short presence) and idle bystanders (little motion) lose:
           score = presence x stay / (1 + max(0, travel - free_travel)) x motion / (motion + MOTION_HALF)
         presence: share of the clip's frames the track covers;
         stay: share of the track's keyframes whose hip centre lies within
               `stay_radius_heights` body heights of the track's median hip centre;
         travel: extent of the hip-centre path in body heights (a lunge or a
               hurdle step travels less than `free_travel_heights`);
         motion: mean over joints of the std of (joint - hip centre) / body height.
         When the runner-up scores at least `ambiguous_ratio` of the winner the
         choice is ambiguous (a review reason: rerun with --athlete-box).
Every candidate's figures are returned (auditable in the trace).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from tools.people import box_area, box_intersection, box_iou, xywh_to_xyxy
from tools.skeleton import JOINT_INDEX
from tools.track import Track

log = logging.getLogger(__name__)

MOTION_HALF = 0.04   # within-body motion (body heights) that earns half the motion term
_HIPS = (JOINT_INDEX["left_hip"], JOINT_INDEX["right_hip"])
_MOTION_JOINTS = tuple(JOINT_INDEX[j] for j in (
    "nose", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_knee", "right_knee", "left_ankle", "right_ankle"))


@dataclass(frozen=True)
class ChoiceConfig:
    min_box_cover: float = 0.3         # share of a person's box inside the drawn box for it to "contain" them
    stay_radius_heights: float = 0.5
    free_travel_heights: float = 1.0
    ambiguous_ratio: float = 0.8
    min_joint_conf: float = 0.5


@dataclass
class AthleteChoice:
    """Which track is the athlete, how it was chosen, and every candidate's figures."""

    track_id: int | None
    method: str                         # box / point / auto / none
    candidates: list[dict]
    problems: list[str] = field(default_factory=list)
    ambiguous: bool = False

    def to_dict(self) -> dict:
        return {"track_id": self.track_id, "method": self.method, "ambiguous": self.ambiguous,
                "problems": list(self.problems), "candidates": self.candidates}


def candidate_figures(track: Track, n_frames: int, boxes: np.ndarray, cfg: ChoiceConfig) -> dict:
    """Presence, stay, within-body motion and score of one track (see module docstring)."""
    present = np.isfinite(boxes).all(axis=1)
    presence = float(present.mean()) if n_frames else 0.0
    heights = np.array([d.height for d in track.detections])
    body_h = float(np.percentile(heights, 90)) if len(heights) else 1.0
    roots, rel = [], []
    for d in track.detections:
        root = d.centre
        if d.uv is not None and d.conf is not None and (d.conf[list(_HIPS)] >= cfg.min_joint_conf).all():
            root = d.uv[list(_HIPS)].mean(axis=0)
        roots.append(root)
        if d.uv is not None and d.conf is not None:
            r = (d.uv[list(_MOTION_JOINTS)] - root) / max(body_h, 1.0)
            r[d.conf[list(_MOTION_JOINTS)] < cfg.min_joint_conf] = np.nan
            rel.append(r)
    roots = np.asarray(roots, dtype=np.float64)
    median_root = np.median(roots, axis=0)
    stay = float((np.linalg.norm(roots - median_root, axis=1) <= cfg.stay_radius_heights * body_h).mean())
    travel = float(np.linalg.norm(np.ptp(roots, axis=0)) / max(body_h, 1.0)) if len(roots) > 1 else 0.0
    motion = 0.0
    if len(rel) >= 3:
        with np.errstate(invalid="ignore"):
            std = np.nanstd(np.stack(rel), axis=0)          # [J, 2]
        per_joint = np.sqrt(np.nansum(std ** 2, axis=-1))   # [J]
        seen = np.isfinite(std).all(axis=-1)
        motion = float(per_joint[seen].mean()) if seen.any() else 0.0
    score = presence * stay / (1 + max(0.0, travel - cfg.free_travel_heights)) * motion / (motion + MOTION_HALF)
    return {"track_id": track.track_id, "score": round(score, 4), "presence_share": round(presence, 3),
            "stay_share": round(stay, 3), "root_travel_body_heights": round(travel, 2),
            "within_body_motion_body_heights": round(motion, 4), "body_height_px": round(body_h, 1),
            "n_keyframes_seen": len(track.detections),
            "first_frame": int(track.frames[0]), "last_frame": int(track.frames[-1])}


def _box_at(boxes: np.ndarray, frame: int) -> np.ndarray | None:
    """The track's box at `frame`, or the nearest frame where it has one."""
    present = np.flatnonzero(np.isfinite(boxes).all(axis=1))
    if not len(present):
        return None
    return boxes[present[np.argmin(np.abs(present - frame))]] if not np.isfinite(boxes[frame]).all() \
        else boxes[frame]


def choose_athlete(tracks: list[Track], box_series: dict[int, np.ndarray], n_frames: int,
                   athlete_box: tuple[float, float, float, float] | None = None,
                   athlete_point: tuple[float, float] | None = None, keyframe: int = 0,
                   config: ChoiceConfig | None = None) -> AthleteChoice:
    """Pick the athlete's track. `box_series[track_id]` is that track's box per frame [T, 4] (NaN = absent).

    `keyframe` is the (pose) frame the box or point refers to; tracks absent
    there are compared by their box at the nearest frame where they are seen.
    """
    cfg = config or ChoiceConfig()
    if not tracks:
        return AthleteChoice(None, "none", [], ["nobody was found in the clip: film the athlete's whole body "
                                                "in good light"])
    keyframe = int(np.clip(keyframe, 0, max(n_frames - 1, 0)))
    candidates = [candidate_figures(t, n_frames, box_series[t.track_id], cfg) for t in tracks]
    ranked = sorted(candidates, key=lambda c: -c["score"])
    problems: list[str] = []
    if athlete_box is not None:
        drawn = xywh_to_xyxy(athlete_box)
        best, best_iou = None, 0.0
        for t, c in zip(tracks, candidates):
            b = _box_at(box_series[t.track_id], keyframe)
            if b is None:
                continue
            iou = float(box_iou(drawn, b)[0, 0])
            cover = float(box_intersection(drawn, b)[0, 0] / max(box_area(b), 1.0))
            c.update(box_iou=round(iou, 3), box_cover_share=round(cover, 3))
            if cover >= cfg.min_box_cover and iou > best_iou:
                best, best_iou = t.track_id, iou
        if best is not None:
            return AthleteChoice(best, "box", candidates)
        problems.append("the box you drew contains nobody; draw it around the athlete "
                        "(--athlete-box x,y,w,h in pixels of the first frame)")
    elif athlete_point is not None:
        px, py = float(athlete_point[0]), float(athlete_point[1])
        hits = []
        for t, c in zip(tracks, candidates):
            b = _box_at(box_series[t.track_id], keyframe)
            if b is not None and b[0] <= px <= b[2] and b[1] <= py <= b[3]:
                c["contains_point"] = True
                hits.append((float(box_area(b)), t.track_id))
        if hits:
            return AthleteChoice(min(hits)[1], "point", candidates)
        problems.append("the point you clicked is on nobody; click on the athlete's body")
    top = ranked[0]
    ambiguous = len(ranked) > 1 and top["score"] > 0 and ranked[1]["score"] >= cfg.ambiguous_ratio * top["score"]
    if top["score"] <= 0 and len(ranked) > 1:
        ambiguous = True
    if ambiguous:
        problems.append(f"two people could be the athlete (tracks {top['track_id']} and {ranked[1]['track_id']}, "
                        f"scores {top['score']:.2f} and {ranked[1]['score']:.2f}); rerun with "
                        "--athlete-box x,y,w,h around the athlete (or click the athlete in the app)")
    return AthleteChoice(int(top["track_id"]), "auto", candidates, problems, ambiguous)
