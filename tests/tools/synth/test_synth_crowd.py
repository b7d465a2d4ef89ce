"""Multi-person synthetic clips: extra bodies share the z-buffer, walkers walk, the truth says who is where."""
from __future__ import annotations

import numpy as np
import pytest

from tools.core.errors import InputError
from tools.core.skeleton import JOINT_INDEX as J
from tools.core.skeleton import Skeleton
from tools.synth import crowd
from tools.synth.body import Bystander, make_bystander
from tools.synth.library import auto_camera, make_sample
from tools.synth.render import Person, Renderer
from tools.synth.rig import Motion

SMALL = (160, 120)
BONES = (("left_hip", "left_knee"), ("left_knee", "left_ankle"), ("right_hip", "right_knee"),
         ("right_knee", "right_ankle"), ("left_shoulder", "left_elbow"), ("right_elbow", "right_wrist"))


def _mid_hip(joints: np.ndarray) -> np.ndarray:
    return 0.5 * (joints[..., J["left_hip"], :] + joints[..., J["right_hip"], :])


def test_no_extra_people_or_an_absent_one_leaves_the_frame_unchanged():
    s = make_sample("deep_squat", seed=3, score=2)
    cam = auto_camera(s, "45", width=160, height=120)
    absent = Motion(np.full_like(s.motion.joints, np.nan), np.full_like(s.motion.spine_mid, np.nan), s.motion.fps)
    ghost = Person(make_bystander(np.random.default_rng(0), avoid=s.athlete), absent)
    for i in (0, s.motion.events["bottom"]):
        plain = Renderer(cam, s.athlete, s.motion).frame(i)
        assert np.array_equal(plain, Renderer(cam, s.athlete, s.motion, extra_people=[]).frame(i))
        out = Renderer(cam, s.athlete, s.motion, extra_people=[ghost]).render(i)
        assert np.array_equal(plain, out.rgb)
        assert np.isinf(out.others_depth).all() and (out.owner <= 0).all() and (out.owner == 0).any()


def test_extra_people_need_as_many_frames():
    s = make_sample("deep_squat", seed=3, score=3)
    short = Motion(s.motion.joints[:5], s.motion.spine_mid[:5], s.motion.fps)
    with pytest.raises(InputError, match="frames"):
        Renderer(auto_camera(s, "front", 80, 60), s.athlete, s.motion, extra_people=[Person(s.athlete, short)])


def test_walk_is_a_plausible_gait():
    body = make_bystander(np.random.default_rng(4))
    assert isinstance(body, Bystander) and body.trousers and body.long_sleeves
    fps, speed = 30.0, 1.35
    m = crowd.walk_motion(body, (0.0, 0.0), (1.0, 0.0), 120, fps, speed, at_frame=60)
    j = m.joints
    assert j.shape == (120, 23, 3) and not np.isnan(j).any()
    hip = _mid_hip(j)
    np.testing.assert_allclose(np.diff(hip[:, 0]) * fps, speed, atol=1e-6)       # straight line, steady pace
    np.testing.assert_allclose(hip[60, [0, 2]], [0.0, 0.0], atol=1e-9)             # through the given point
    for a, b in BONES:                                                              # rigid bones
        length = np.linalg.norm(j[:, J[a]] - j[:, J[b]], axis=-1)
        assert np.ptp(length) < 1e-6
    feet = j[:, [J["left_heel"], J["left_toe"], J["right_heel"], J["right_toe"]], 1]
    assert feet.min() > -0.02 and feet.min(axis=1).max() < 0.03                    # always a foot on the floor
    # a planted foot does not slide: when the left toe is on the floor it stays put
    toe = j[:, J["left_toe"]]
    planted = toe[:, 1] < 0.01
    assert planted.mean() > 0.3
    step = np.linalg.norm(np.diff(toe, axis=0), axis=1)[planted[1:] & planted[:-1]]
    assert np.median(step) < 0.01
    # legs swing: each ankle travels ahead of and behind the pelvis; arms swing against the legs
    ahead_l = j[:, J["left_ankle"], 0] - hip[:, 0]
    assert ahead_l.max() > 0.2 and ahead_l.min() < -0.2
    arm_l = j[:, J["left_wrist"], 0] - j[:, J["left_shoulder"], 0]
    assert np.corrcoef(ahead_l, arm_l)[0, 1] < -0.5
    # upright trunk, cadence 100-135 steps/min (left heel strikes = when the left ankle is furthest ahead)
    trunk = j[:, J["left_shoulder"]] + j[:, J["right_shoulder"]] - 2 * hip
    assert np.degrees(np.arccos(trunk[:, 1] / np.linalg.norm(trunk, axis=1))).max() < 10
    peaks = [i for i in range(1, 119) if ahead_l[i] >= ahead_l[i - 1] and ahead_l[i] > ahead_l[i + 1]]
    cadence = 2 * 60 * fps / np.mean(np.diff(peaks))
    assert 100 < cadence < 135


@pytest.fixture(scope="module")
def front_scene():
    return crowd.build_scene("crossing_front", seed=0, size=SMALL)


def test_crossing_front_hides_the_athlete_behind_the_passer(front_scene):
    sc = front_scene
    k = sc.keyframe
    frames = list(range(max(0, k - 15), min(sc.n_frames, k + 16), 3)) + [0]
    rows = {i: (rgb, row) for i, rgb, row in crowd.render_scene(sc, frames)}
    share = {i: row["athlete_joint_visible"].mean() for i, (_, row) in rows.items()}
    assert share[0] > 0.8                      # before the crossing the athlete is in full view
    hidden = [i for i in frames if share[i] < 0.5]
    assert len(hidden) >= 2 and min(share.values()) < 0.15
    # where the athlete is hidden, the pixel at their hips is the passer's: the same colour as a picture
    # with the athlete taken out
    m = sc.sample.motion
    nobody = Motion(np.full_like(m.joints, np.nan), np.full_like(m.spine_mid, np.nan), m.fps)
    passer_only = Renderer(sc.camera, sc.sample.athlete, nobody, extra_people=sc.people)
    uv = sc.camera.project(_mid_hip(m.joints))[0]
    for i in hidden:
        u, v = np.floor(uv[i]).astype(int)
        out = passer_only.render(i)
        assert np.array_equal(rows[i][0][v, u], out.rgb[v, u])
        assert out.others_depth[v, u] < np.linalg.norm(_mid_hip(m.joints[i]) - sc.camera.position)


def test_crossing_behind_never_hides_the_athlete():
    sc = crowd.build_scene("crossing_behind", seed=1, size=SMALL)
    rows = list(crowd.render_scene(sc, list(range(0, sc.n_frames, 4))))
    assert min(row["athlete_joint_visible"].mean() for _, _, row in rows) > 0.95
    passer_px = [row["others_pixels"][0] for _, _, row in rows]
    assert max(passer_px) > 100                # the passer does show, between entering and leaving
    assert passer_px[0] == 0 or passer_px[-1] == 0


def test_clip_files_truth_boxes_and_skeleton(tmp_path):
    import av
    summary = crowd.make_crowd_clip(tmp_path, "bystander", seed=2, size=SMALL)
    t = np.load(tmp_path / "truth.npz")
    T = summary["n_frames"]
    assert t["athlete_uv"].shape == (T, 23, 2) and t["others_uv"].shape == (1, T, 23, 2)
    assert t["athlete_box_xyxy"].shape == (T, 4) and t["others_box_xyxy"].shape == (1, T, 4)
    assert t["athlete_visible_share"].shape == (T,) and float(t["fps"]) == 30.0
    assert list(t["image_size"]) == list(SMALL) and str(t["others_role"][0]) == "bystander"
    uv = t["athlete_uv"]
    inside = ((uv >= 0) & (uv < np.array(SMALL))).all(axis=-1).all(axis=-1)
    assert inside.all()                        # the bystander scene keeps everyone in the picture
    np.testing.assert_allclose(t["athlete_box_xyxy"][:, :2], uv.min(axis=1), atol=1e-4)
    np.testing.assert_allclose(t["athlete_box_xyxy"][:, 2:], uv.max(axis=1), atol=1e-4)
    np.testing.assert_allclose(t["others_box_xyxy"][0, :, :2], t["others_uv"][0].min(axis=1), atol=1e-4)
    # the visible pixels' box sits around the joint box (the body is wider than its joint centres)
    mb, jb = t["athlete_mask_box_xyxy"], t["athlete_box_xyxy"]
    assert (mb[:, :2] <= jb[:, :2] + 2).all() and (mb[:, 2:] >= jb[:, 2:] - 2).all()
    skel = Skeleton.load(tmp_path / "truth_skeleton.npz")
    assert skel.n_frames == T and skel.meta["crowd_scenario"] == "bystander"
    np.testing.assert_allclose(skel.uv, uv, atol=1e-3)
    # the bystander barely moves
    pelvis = _mid_hip(np.asarray(crowd.build_scene("bystander", seed=2, size=SMALL).people[0].motion.joints))
    assert np.ptp(pelvis, axis=0).max() < 0.1
    with av.open(str(tmp_path / "clip.mp4")) as c:
        n = sum(1 for _ in c.decode(video=0))
    assert n == T


def test_same_seed_same_clip_other_seed_other_clip():
    def frames(seed):
        sc = crowd.build_scene("crossing_front", seed=seed, size=(80, 60))
        return [rgb for _, rgb, _ in crowd.render_scene(sc, [0, sc.keyframe])], sc.people[0].motion.joints
    (a, ja), (b, jb), (_, jc) = frames(5), frames(5), frames(6)
    assert all(np.array_equal(x, y) for x, y in zip(a, b)) and np.array_equal(ja, jb)
    assert not np.array_equal(ja[: len(jc)], jc[: len(ja)])


def test_two_athletes_look_alike_and_both_squat():
    sc = crowd.build_scene("two_athletes", seed=0, size=SMALL)
    me, other = sc.sample.motion.joints, sc.people[0].motion.joints
    assert not isinstance(sc.people[0].athlete, Bystander)
    assert me.shape == other.shape
    for j in (me, other):
        assert np.ptp(_mid_hip(j)[:, 1]) > 0.3          # both go down into a squat
    uv_me, uv_other = sc.camera.project(me)[0], sc.camera.project(other)[0]
    h_me, h_other = np.ptp(uv_me[0, :, 1]), np.ptp(uv_other[0, :, 1])
    assert 0.85 < h_me / h_other < 1.18                  # same size on screen
    box_me, box_other = crowd.joint_box(uv_me[0], SMALL), crowd.joint_box(uv_other[0], SMALL)
    assert box_me[2] < box_other[0] or box_other[2] < box_me[0]   # side by side, not overlapping


def test_athlete_leaves_the_picture():
    sc = crowd.build_scene("athlete_leaves", seed=0, size=SMALL)
    j = sc.sample.motion.joints
    boxes = np.stack([crowd.joint_box(uv, SMALL) for uv in sc.camera.project(j)[0]])
    gone = np.isnan(boxes[:, 0])
    assert gone.mean() > 0.2 and not gone[: sc.sample.motion.events["walk_out"]].any()
    assert gone[-1]
    for a, b in BONES:                                    # bones stay rigid through the turn and the walk
        length = np.linalg.norm(j[:, J[a]] - j[:, J[b]], axis=-1)
        assert np.ptp(length) < 1e-3
    assert sc.people == []


def test_unknown_scenario_is_an_input_error():
    with pytest.raises(InputError, match="crossing_front"):
        crowd.build_scene("stampede")


def test_synth_crowd_flag_refuses_an_unknown_scenario_with_the_list(tmp_path, capsys):
    from agent.cli.main import main
    rc = main(["synth", "--out", str(tmp_path / "c"), "--crowd", "marathon"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "unknown crowd scenario" in err and "crossing_front" in err
    assert not (tmp_path / "c" / "clip.mp4").exists()
