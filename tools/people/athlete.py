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

Re-acquisition (reacquire_athlete): the athlete's track ends when they are
hidden or unseen for longer than the tracker bridges (a flip behind a box, a
turn in a push-up); a track that starts later (or ended before the athlete's
began) is joined to the athlete when all of these hold:
  gap      it starts at most `max_gap_s` after the athlete's track ends and
           never overlaps it in time (a person seen at the same time as the
           athlete is somebody else);
  place    its first box centre lies within `reach_heights` +
           `reach_speed_heights_s` x gap (at most `max_reach_heights`) body
           heights of the athlete's last one, or inside the area the athlete
           used (the union of its boxes grown by `region_margin_heights`);
  size     its skeleton height (tools.people.detect.skeleton_height_px: limb lengths,
           the same crouched, lying or standing) lies within the athlete's own
           10th-90th percentile range widened by `scale_tolerance`; without
           keypoints the box diagonal against the athlete's own range of box
           diagonals (widened by `box_tolerance`) stands in. The box's height and
           aspect against the athlete's own range are reported (posture change);
  nobody   no other person's track that ended before it started explains it as
  else     well (place and size, cost below).
The joined track's clothing colours (tools.people.detect.appearance_distance) are
compared with the athlete's: within the athlete's own spread (the
`appearance_spread_pct` percentile of its keyframes' distances to its mean,
at least `appearance_min_distance`) the link is "strong"; colours that differ,
colours not measurable, size judged from the box only, or another candidate
nearly as good make it "weak": kept, but written as a review problem ("check
who was scored"), never silently trusted. Each link and each refusal is
recorded (meta["selection"]["reacquired"] / ["reacquire_refused"]).
Link cost = distance / reach + |ln(skeleton height ratio)|.
"""
from __future__ import annotations

import logging
import warnings
from dataclasses import asdict, dataclass, field

import numpy as np

from tools.core.boxes import box_area, box_intersection, box_iou, xywh_to_xyxy
from tools.core.skeleton import JOINT_INDEX
from tools.people.detect import appearance_distance, mean_appearance, skeleton_height_px
from tools.people.track import Track

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
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a joint never seen: NaN, left out below
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


# ----- re-acquisition -------------------------------------------------------
@dataclass(frozen=True)
class ReacquireConfig:
    """When is a track that starts after the athlete's ended the athlete again? (module docstring)"""

    max_gap_s: float = 4.0
    reach_heights: float = 0.5
    reach_speed_heights_s: float = 1.0     # a brisk walk, body heights per second of absence
    max_reach_heights: float = 3.0
    region_margin_heights: float = 0.5
    scale_tolerance: float = 1.35
    box_tolerance: float = 1.6
    appearance_spread_pct: float = 90.0
    appearance_min_distance: float = 0.35  # Bhattacharyya distance always accepted as "the same colours"
    ambiguous_margin: float = 0.25         # a competing link whose cost is within this makes the link weak
    compared_keyframes: int = 3            # keyframes of the new track whose size and colours are compared


@dataclass
class Reacquisition:
    """The athlete's track with the re-acquired pieces joined in, and the record of every decision."""

    track: Track
    merged_track_ids: list[int] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)      # links made
    refused: list[dict] = field(default_factory=list)     # candidates looked at and not joined
    problems: list[str] = field(default_factory=list)     # weak links, in plain words (review reasons)
    config: dict = field(default_factory=dict)            # the ReacquireConfig used


@dataclass
class _History:
    """What a person looked like over their keyframes: sizes, shapes, colours."""

    skeleton_heights: np.ndarray
    box_heights: np.ndarray
    box_aspects: np.ndarray      # width / height
    box_diagonals: np.ndarray
    boxes: np.ndarray
    body_height_px: float
    appearance: dict
    appearance_same_max: float | None

    @classmethod
    def of(cls, dets: list, cfg: ReacquireConfig) -> "_History":
        boxes = np.stack([d.box_xyxy for d in dets])
        h = np.maximum(boxes[:, 3] - boxes[:, 1], 1.0)
        w = np.maximum(boxes[:, 2] - boxes[:, 0], 1.0)
        sk = np.array([v for v in (skeleton_height_px(d.uv, d.conf) for d in dets) if v is not None])
        app = mean_appearance([d.appearance for d in dets])
        dists = [v for v in (appearance_distance(d.appearance, app) for d in dets) if v is not None]
        same_max = max(float(np.percentile(dists, cfg.appearance_spread_pct)), cfg.appearance_min_distance) \
            if len(dists) >= 2 else None
        body = float(np.median(sk)) if len(sk) else float(np.percentile(h, 90))
        return cls(sk, h, w / h, np.hypot(w, h), boxes, body, app, same_max)


def _link(earlier: Track, later: Track, ref: _History, forward: bool, fps: float,
          cfg: ReacquireConfig) -> dict:
    """Evidence that `later` continues `earlier` after a gap; `ref` is the known person's history (the earlier
    track when forward, the later one when not); the other track is the newcomer."""
    gap_s = (later.frames[0] - earlier.frames[-1]) / fps
    new_dets = later.detections[:cfg.compared_keyframes] if forward else earlier.detections[-cfg.compared_keyframes:]
    a, b = earlier.detections[-1], later.detections[0]
    h = max(ref.body_height_px, 1.0)
    dist = float(np.linalg.norm(b.centre - a.centre)) / h
    reach = min(cfg.max_reach_heights, cfg.reach_heights + cfg.reach_speed_heights_s * max(gap_s, 0.0))
    m = cfg.region_margin_heights * h
    used = np.array([ref.boxes[:, 0].min() - m, ref.boxes[:, 1].min() - m, ref.boxes[:, 2].max() + m,
                     ref.boxes[:, 3].max() + m])
    c = (new_dets[0] if forward else new_dets[-1]).centre
    in_region = bool(used[0] <= c[0] <= used[2] and used[1] <= c[1] <= used[3])
    new = _History.of(new_dets, cfg)
    ev: dict = {"frame": int(later.frames[0] if forward else earlier.frames[-1]),
                "track_id": int((later if forward else earlier).track_id),
                "direction": "after" if forward else "before",
                "lost_frames": [int(earlier.frames[-1]) + 1, int(later.frames[0]) - 1], "gap_s": round(gap_s, 2),
                "distance_body_heights": round(dist, 2), "reach_body_heights": round(reach, 2),
                "inside_used_region": in_region}
    refusals: list[str] = []
    weak: list[str] = []
    if gap_s > cfg.max_gap_s:
        refusals.append(f"gap {gap_s:.1f} s > {cfg.max_gap_s:g} s")
    if dist > reach and not in_region:
        refusals.append(f"too far: {dist:.1f} body heights in {gap_s:.1f} s (reach {reach:.1f}), "
                        "outside the area the athlete used")
    if len(ref.skeleton_heights) and len(new.skeleton_heights):
        lo, hi = np.percentile(ref.skeleton_heights, [10, 90])
        size = float(np.median(new.skeleton_heights))
        ratio = size / ref.body_height_px
        ev.update(size_cue="skeleton height", skeleton_height_ratio=round(ratio, 2),
                  skeleton_height_px=round(size, 1),
                  athlete_skeleton_height_range_px=[round(float(lo), 1), round(float(hi), 1)])
        if not lo / cfg.scale_tolerance <= size <= hi * cfg.scale_tolerance:
            refusals.append(f"body size {ratio:.2f} x the athlete's (limb lengths), outside the athlete's own range")
    else:
        lo, hi = np.percentile(ref.box_diagonals, [10, 90])
        size = float(np.median(new.box_diagonals))
        ratio = size / float(np.median(ref.box_diagonals))
        ev.update(size_cue="box diagonal", box_diagonal_ratio=round(ratio, 2))
        weak.append("body size judged from the box only")
        if not lo / cfg.box_tolerance <= size <= hi * cfg.box_tolerance:
            refusals.append(f"box size {ratio:.2f} x the athlete's, outside the athlete's own range")
    aspect_lo, aspect_hi = float(ref.box_aspects.min()), float(ref.box_aspects.max())
    aspect = float(np.median(new.box_aspects))
    height_ratio = float(np.median(new.box_heights) / np.median(ref.box_heights))
    ev.update(box_height_ratio=round(height_ratio, 2), box_aspect=round(aspect, 2),
              athlete_box_aspect_range=[round(aspect_lo, 2), round(aspect_hi, 2)],
              posture_change=bool(not aspect_lo <= aspect <= aspect_hi
                                  or np.median(new.box_heights) < ref.box_heights.min()))
    app = appearance_distance(new.appearance, ref.appearance)
    ev.update(appearance_distance=None if app is None else round(app, 3),
              appearance_same_max=None if ref.appearance_same_max is None else round(ref.appearance_same_max, 3))
    if app is None or ref.appearance_same_max is None:
        weak.append("clothing colours could not be compared")
    elif app > ref.appearance_same_max:
        weak.append(f"clothing colours differ: distance {app:.2f}, the athlete's own spread up to "
                    f"{ref.appearance_same_max:.2f}")
    scale_term = abs(np.log(max(ev.get("skeleton_height_ratio", ev.get("box_diagonal_ratio", 1.0)), 1e-3)))
    ev["cost"] = round(min(dist / max(reach, 1e-6), 1.0) + float(scale_term), 3)
    ev["refused_because"] = refusals
    ev["weak_because"] = weak
    return ev


def reacquire_athlete(tracks: list[Track], athlete_id: int, fps: float, config: ReacquireConfig | None = None,
                      candidate_ids: list[int] | None = None) -> Reacquisition:
    """Join to the athlete's track the later (or earlier) tracks that are the athlete again after a gap.

    `tracks` are all tracks (other people's too: they are the competing explanations); `candidate_ids` the
    tracks that may be joined (default all; pass the ones seen on enough keyframes to count as people).
    """
    cfg = config or ReacquireConfig()
    by_id = {t.track_id: t for t in tracks}
    chain = Track(track_id=athlete_id, frames=list(by_id[athlete_id].frames),
                  detections=list(by_id[athlete_id].detections))
    out = Reacquisition(track=chain, config=asdict(cfg))
    allowed = set(by_id) if candidate_ids is None else set(candidate_ids)
    done: set[int] = {athlete_id}
    refused: dict[int, dict] = {}       # each candidate's latest refusal (a later join can change the answer)
    histories: dict[int, _History] = {}  # other people's, for the competing explanations
    max_gap = cfg.max_gap_s * fps
    while True:
        ref = _History.of(chain.detections, cfg)
        passing = []
        for t in tracks:
            if t.track_id in done or t.track_id not in allowed:
                continue
            if t.frames[0] - chain.frames[-1] > max_gap or chain.frames[0] - t.frames[-1] > max_gap:
                refused.pop(t.track_id, None)   # too long after (or before) the athlete: not looked at
                continue
            if t.frames[0] > chain.frames[-1]:
                ev = _link(chain, t, ref, True, fps, cfg)
            elif t.frames[-1] < chain.frames[0]:
                ev = _link(t, chain, ref, False, fps, cfg)
            else:
                refused.pop(t.track_id, None)   # seen while the athlete is: somebody else
                continue
            if not ev["refused_because"]:
                _compete(ev, t, tracks, done | {t.track_id}, fps, cfg, histories)
            if ev["refused_because"]:
                refused[t.track_id] = ev
            else:
                passing.append((ev["cost"], t.track_id, ev, t))
        if not passing:
            break
        passing.sort(key=lambda p: (p[0], p[1]))
        cost, _, ev, t = passing[0]
        rivals = [p for p in passing[1:] if p[2]["direction"] == ev["direction"] and p[0] - cost < cfg.ambiguous_margin]
        if rivals:
            ev["weak_because"].append(f"track {rivals[0][1]} could be the athlete nearly as well")
        ev["strength"] = "weak" if ev["weak_because"] else "strong"
        ev["evidence"] = _evidence_words(ev)
        pairs = sorted(zip(chain.frames + t.frames, chain.detections + t.detections), key=lambda p: p[0])
        chain = Track(track_id=athlete_id, frames=[f for f, _ in pairs], detections=[d for _, d in pairs])
        out.track, done = chain, done | {t.track_id}
        refused.pop(t.track_id, None)
        out.merged_track_ids.append(int(t.track_id))
        out.events.append(ev)
        if ev["strength"] == "weak":
            out.problems.append(
                f"the athlete was out of sight for {ev['gap_s']:.1f} s (frames {ev['lost_frames'][0]}-"
                f"{ev['lost_frames'][1]}) and the person seen {'from' if ev['direction'] == 'after' else 'until'} "
                f"frame {ev['frame']} was taken to be the athlete on weak evidence ({'; '.join(ev['weak_because'])}); "
                "check that the right person was scored")
        log.info("athlete re-acquired: track %d at frame %d after %.1f s (%s)", t.track_id, ev["frame"],
                 ev["gap_s"], ev["evidence"])
    out.refused = [refused[k] for k in sorted(refused)]
    return out


def _compete(ev: dict, cand: Track, tracks: list[Track], skip: set[int], fps: float, cfg: ReacquireConfig,
             histories: dict[int, _History]) -> None:
    """Refuse (or weaken) the link when another person's track, ended before the candidate started (or
    starting after it ended, looking backwards), explains the candidate at least as well."""
    forward = ev["direction"] == "after"
    max_gap = cfg.max_gap_s * fps
    for o in tracks:
        if o.track_id in skip:
            continue
        before = forward and 0 < cand.frames[0] - o.frames[-1] <= max_gap
        after = not forward and 0 < o.frames[0] - cand.frames[-1] <= max_gap
        if not (before or after):
            continue
        if o.track_id not in histories:
            histories[o.track_id] = _History.of(o.detections, cfg)
        alt = _link(o, cand, histories[o.track_id], True, fps, cfg) if before else \
            _link(cand, o, histories[o.track_id], False, fps, cfg)
        if alt["refused_because"]:
            continue
        if alt["cost"] <= ev["cost"]:
            ev["refused_because"].append(f"track {o.track_id} (another person) explains it better "
                                         f"(cost {alt['cost']:.2f} <= {ev['cost']:.2f})")
        elif alt["cost"] - ev["cost"] < cfg.ambiguous_margin:
            ev["weak_because"].append(f"track {o.track_id} (another person) could continue into it too")


def _evidence_words(ev: dict) -> str:
    place = (f"{ev['distance_body_heights']:.1f} body heights from where the athlete was last seen"
             + (", inside the area the athlete used" if ev["inside_used_region"] else ""))
    size = (f"limb-length body size {ev['skeleton_height_ratio']:.2f} x the athlete's"
            if "skeleton_height_ratio" in ev else f"box size {ev['box_diagonal_ratio']:.2f} x the athlete's")
    posture = ", posture changed (box height {:.2f} x, aspect {:.2f})".format(
        ev["box_height_ratio"], ev["box_aspect"]) if ev["posture_change"] else ""
    colours = ("clothing colours not compared" if ev["appearance_distance"] is None else
               f"clothing colour distance {ev['appearance_distance']:.2f} (same up to {ev['appearance_same_max']:.2f})"
               if ev["appearance_same_max"] is not None else "clothing colours not compared")
    return f"{place}; {size}{posture}; {colours}"
