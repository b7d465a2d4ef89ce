"""One person stays one person: a body lying down found twice, a box that changes with posture, pieces."""
from __future__ import annotations

import numpy as np

from tests.tools.people.test_track import BASE, FPS, person
from tools.core.boxes import box_area, box_intersection, box_iou
from tools.core.skeleton import JOINT_INDEX as JI
from tools.core.skeleton import JOINTS
from tools.people.detect import PersonDetection, non_max_suppression, same_body
from tools.people.follow import FollowStats
from tools.people.pieces import PieceConfig, movement_per_frame, split_clip
from tools.people.track import link_tracks


def lying(head_x: float, y: float, length_px: float, leg_raise: float = 0.0, reverse: bool = False,
          keep: slice = slice(None), score: float = 0.8) -> PersonDetection:
    """A figure lying along x (head at head_x), the legs raised by `leg_raise` (fraction of the length);
    `reverse` names the joints head to foot the other way round, `keep` the joints seen."""
    rel = BASE[:, ::-1].copy()                       # standing y -> lying x
    rel[:, 1] *= 0.3
    legs = [JI[j] for j in JOINTS if j.endswith(("knee", "ankle", "heel", "toe"))]
    rel[legs, 1] -= leg_raise * (rel[legs, 0] - 0.0).clip(0)
    uv = np.array([head_x, y]) + (rel - rel[JI["nose"]] * [1, 0]) * length_px
    if reverse:
        uv = uv[::-1]
    conf = np.zeros(len(JOINTS), np.float32)
    conf[keep] = score
    seen = conf > 0
    box = np.concatenate([uv[seen].min(axis=0), uv[seen].max(axis=0)])
    return PersonDetection(box_xyxy=box, score=score, uv=uv.astype(np.float32), conf=conf)


def test_a_lying_body_found_twice_head_to_foot_is_one_person():
    whole = lying(40, 300, 500)
    part = lying(40, 300, 500, reverse=True, keep=slice(0, 14), score=0.6)   # part of it, named backwards
    seen = part.conf > 0
    centre = part.uv[seen].mean(axis=0)
    uv = ((part.uv - centre) * [1.15, 1.0] + centre + [20, -14]).astype(np.float32)   # a looser second fit
    box = np.concatenate([uv[seen].min(axis=0) - [0, 6], uv[seen].max(axis=0)])
    twin = PersonDetection(box_xyxy=box, score=0.6, uv=uv, conf=part.conf)
    iou = float(box_iou(twin.box_xyxy, whole.box_xyxy)[0, 0])
    inside = float(box_intersection(twin.box_xyxy, whole.box_xyxy)[0, 0] / box_area(twin.box_xyxy))
    assert iou < 0.4 and inside < 0.85            # what box overlap alone (before) let through as a 2nd person
    assert same_body(twin, whole)
    kept = non_max_suppression([twin, whole], 0.4)
    assert len(kept) == 1 and kept[0] is whole                          # the fuller view is the one kept


def test_two_people_side_by_side_stay_two():
    a, b = person((200, 300), 300), person((330, 300), 300, score=0.8)
    assert not same_body(a, b) and not same_body(b, a)
    assert len(non_max_suppression([a, b], 0.4)) == 2
    lying_a, lying_b = lying(40, 200, 400), lying(40, 330, 400)          # two people lying one above the other
    assert len(non_max_suppression([lying_a, lying_b], 0.4)) == 2


def test_a_leg_raise_that_triples_the_box_height_stays_one_track():
    dets = {f: [lying(100, 300, 400, leg_raise=r)] for f, r in zip(range(0, 150, 15),
                                                                    (0, 0.2, 0.8, 1.6, 2.4, 2.4, 1.6, 0.8, 0.2, 0))}
    heights = [d[0].height for d in dets.values()]
    assert max(heights) / min(heights) > 2.5
    tracks = link_tracks(dets, FPS)
    assert len(tracks) == 1 and len(tracks[0].frames) == 10


def test_pieces_cover_the_clip_and_seams_move_to_where_the_athlete_is_still():
    pieces = split_clip(300, 30.0, PieceConfig(workers=2))
    assert [(p.start, p.stop, p.warm_start) for p in pieces] == [(0, 150, 0), (150, None, 120)]
    assert len(split_clip(50, 30.0, PieceConfig(workers=4))) == 1      # shorter than two 2 s pieces: whole
    motion = np.full(300, 1.0)
    motion[170] = 0.0                                                   # the athlete pauses at frame 170
    assert split_clip(300, 30.0, PieceConfig(workers=2), motion)[1].start == 170
    frames = [0, 10, 20]
    uv = [person((100, 100), 200).uv, person((100, 100), 200).uv, person((140, 100), 200).uv]
    conf = [np.ones(len(JOINTS))] * 3
    m = movement_per_frame(frames, uv, conf, 30, 200.0)
    assert np.allclose(m[:10], 0) and np.allclose(m[11:20], 40 / 200 / 10) and np.isnan(m[25])
    assert PieceConfig().pose_pieces(300, 30.0) == [pieces[0].__class__(0, None, 0)]   # pose: one pass by default


def test_counts_of_pieces_add_up_and_warm_up_counts_are_left_out():
    a = FollowStats(frames_on_athlete=10, frames_blanked=2, blanked_frames=[3, 4], rechecks=1)
    b = FollowStats(frames_on_athlete=25, frames_blanked=3, blanked_frames=[3, 4, 40], rechecks=1)
    later = b.since(a)
    assert later.frames_on_athlete == 15 and later.frames_blanked == 1 and later.blanked_frames == [40]
    both = FollowStats.combined([a, later])
    assert both.frames_on_athlete == 25 and both.blanked_frames == [3, 4, 40] and both.rechecks == 1


def test_a_track_split_at_a_duplicated_keyframe_is_joined_and_crossing_people_are_not():
    from tools.people.track import Track, join_handoffs
    first = Track(0, [0, 15, 30], [person((200, 300), 300) for _ in range(3)])
    dup = person((200, 270), 260)                                     # the same body found again at frame 30
    second = Track(1, [30, 45, 60], [dup] + [person((205, 300), 300) for _ in range(2)])
    joined = join_handoffs([first, second])
    assert len(joined) == 1 and joined[0].frames == [0, 15, 30, 45, 60] and joined[0].track_id == 0
    a = Track(0, [0, 15, 30], [person((200, 300), 300) for _ in range(3)])
    b = Track(1, [15, 30, 45], [person((260, 300), 300) for _ in range(3)])   # seen together twice: two people
    far = Track(2, [30, 45], [person((600, 300), 300) for _ in range(2)])      # starts where a ends, elsewhere
    assert len(join_handoffs([a, b, far])) == 3
