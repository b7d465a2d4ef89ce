"""Bad camera input gives a plain-language problem, never a silent wrong angle (issue 16, tools.geometry.fit_checks)."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from tools.core.skeleton import JOINT_INDEX as JI, JOINTS
from tools.geometry.fit_checks import FEET, check_fit


def _clip(t: int = 30, feet_conf: float = 0.9):
    rng = np.random.default_rng(0)
    xyz = rng.normal(size=(t, len(JOINTS), 3)).astype(np.float32)
    uv = np.stack([np.linspace(100, 300, len(JOINTS)), np.linspace(50, 400, len(JOINTS))], -1)
    uv = np.repeat(uv[None], t, 0) + rng.normal(scale=0.5, size=(t, len(JOINTS), 2))
    conf = np.full((t, len(JOINTS)), 0.9)
    conf[:, FEET] = feet_conf
    return xyz, uv, conf


def _report(pitch=5.0, roll=0.0, residual=2.0, contacts=None):
    return SimpleNamespace(pitch_deg=pitch, roll_deg=roll, residual_px_median=residual, facing={},
                           contacts={"left_heel": 0.8} if contacts is None else contacts)


def test_good_clip_has_no_problem():
    assert check_fit(*_clip(), _report())[0] == []


def test_feet_never_seen():
    problems, _ = check_fit(*_clip(feet_conf=0.1), _report())
    assert len(problems) == 1 and problems[0].startswith("the feet are seen in only 0% of the frames")
    assert "film the whole body, feet included" in problems[0]


def test_steep_view_from_above():
    problems, _ = check_fit(*_clip(), _report(pitch=48.0))
    assert problems == [p for p in problems if "from above at 48 deg" in p] and problems


def test_picture_turned_without_rotation_tag():
    problems, _ = check_fit(*_clip(), _report(roll=88.0))
    assert len(problems) == 1 and "the picture is turned 88 deg from upright" in problems[0]


def test_keypoints_that_do_not_fit_one_body():
    xyz, uv, conf = _clip()
    problems, _ = check_fit(xyz, uv, conf, _report(residual=40.0))
    assert any("do not fit one body" in p for p in problems)
    assert JI["left_ankle"] in FEET


def test_no_floor_contact_in_any_frame():
    problems, _ = check_fit(*_clip(), _report(contacts={}))
    assert len(problems) == 1 and problems[0].startswith("no foot (or other body part) was found resting on the floor")


def _standing_model(tilt_deg: float, t: int = 20):
    """Pose-model joints (y down, z away from the lens) of a 1.4 m ankles-to-shoulders body tilted towards the lens,
    and its upright image keypoints."""
    world = np.zeros((t, len(JOINTS), 3))
    uv = np.zeros((t, len(JOINTS), 2))
    a = np.radians(tilt_deg)
    for side, dx in (("left", 0.1), ("right", -0.1)):
        world[:, JI[f"{side}_ankle"]] = [dx, 0.7, 0.0]
        world[:, JI[f"{side}_shoulder"]] = [dx, 0.7 - 1.4 * np.cos(a), -1.4 * np.sin(a)]
        world[:, JI[f"{side}_knee"]] = [dx, 0.7 - 0.45 * np.cos(a), -0.45 * np.sin(a)]
        world[:, JI[f"{side}_hip"]] = [dx, 0.7 - 0.9 * np.cos(a), -0.9 * np.sin(a)]
        uv[:, JI[f"{side}_ankle"]] = [200 + 100 * dx, 400]
        uv[:, JI[f"{side}_shoulder"]] = [200 + 100 * dx, 100]
    return world, uv


def test_steep_view_from_above_seen_in_the_pose_models_tilt():
    xyz, _, conf = _clip(t=20)
    for tilt, flagged in ((30.0, True), (12.0, False), (85.0, False)):       # 85: a lying body, not a camera
        world, uv = _standing_model(tilt)
        problems, _ = check_fit(xyz, uv, conf, _report(), world)
        assert any("look down on the athlete steeply" in p for p in problems) is flagged, tilt
