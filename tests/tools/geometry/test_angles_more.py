"""The FMS measurement rows added for tests 2-7, on hand-built geometry with closed-form answers."""
import numpy as np
import pytest

from tests.tools.scoring.test_rubric_poses import FOREARM, JOINT_INDEX, _skel, hurdle_clip, move, set_joint, standing
from tools.geometry.angles import (ASIS_CRANIAL_OF_HIP_M, HAND_TO_FOREARM_RATIO, MEASUREMENTS, SPECS, estimated_hand_length_m,
                          measure, pushup_landmarks)
from tools.core.skeleton import JOINTS


def series(skel, name):
    return measure(skel, [name])[name].values


def ramp(n, top, still=10):
    """0 for the first `still` frames (the start position the rows measure from), then linear to `top`."""
    return np.concatenate([np.zeros(still), np.linspace(0, top, n - still)])


def test_every_new_row_names_real_joints_and_a_unit():
    for spec in MEASUREMENTS:
        assert set(spec.joints) <= set(JOINTS), spec.name
        assert spec.unit in spec.name or spec.unit in ("ratio", "cos", "level", "fraction"), spec.name
        assert spec.view in ("front", "side", "any")
    assert len(SPECS) == len(MEASUREMENTS)


def test_foot_lift_and_toe_shift():
    xyz = standing(40)
    move(xyz, "left_heel", np.stack([np.zeros(40), ramp(40, 0.3), np.zeros(40)], -1))
    move(xyz, "left_toe", np.stack([np.zeros(40), ramp(40, 0.3), np.zeros(40)], -1))
    move(xyz, "right_toe", np.stack([ramp(40, 0.1), np.zeros(40), np.zeros(40)], -1))
    s = _skel(xyz)
    assert series(s, "left_foot_lift_m")[-1] == pytest.approx(0.3, abs=1e-6)
    assert np.nanmax(np.abs(series(s, "right_foot_lift_m"))) < 1e-6
    assert series(s, "right_toe_shift_m")[-1] == pytest.approx(0.1, abs=1e-6)
    assert series(s, "left_toe_shift_m")[0] == pytest.approx(0.0, abs=1e-6)


def test_knee_out_of_plane_sign_is_outward_positive():
    xyz = standing(10)
    # put each knee exactly on its hip-ankle midpoint, then push it sideways
    for side in ("left", "right"):
        set_joint(xyz, f"{side}_knee", (xyz[0, JOINT_INDEX[f"{side}_hip"]] + xyz[0, JOINT_INDEX[f"{side}_ankle"]]) / 2)
    move(xyz, "left_knee", np.array([0.07, 0.0, 0.0]))     # left knee towards +x = outward
    move(xyz, "right_knee", np.array([0.04, 0.0, 0.0]))    # right knee towards +x = inward
    s = _skel(xyz)
    assert series(s, "left_knee_out_of_plane_m")[0] == pytest.approx(0.07, abs=1e-6)
    assert series(s, "right_knee_out_of_plane_m")[0] == pytest.approx(-0.04, abs=1e-6)


@pytest.mark.parametrize("clearance", [0.08, 0.0, -0.02])
def test_hurdle_clearance_is_sole_height_over_the_protocol_cord(clearance):
    s = hurdle_clip(clearance_m=clearance)
    v = series(s, "left_hurdle_clearance_m")
    assert np.isfinite(v).any()
    assert np.nanmin(v) == pytest.approx(clearance, abs=1e-4)
    assert not np.isfinite(series(s, "right_hurdle_clearance_m")).any()   # the stance foot never crosses


def test_trunk_excursion_roll_rotation_and_hand_tilt():
    n = 30
    s = hurdle_clip(trunk_sway_deg=10.0, dowel_tilt_deg=0.0, n=n * 3)
    assert np.nanmax(series(s, "trunk_excursion_deg")) == pytest.approx(10.0, abs=0.05)
    # the fists sit on the shoulders: a 10 deg sideways sway tilts their line 10 deg too
    tilt = series(s, "hands_line_tilt_deg")
    assert np.nanmax(np.abs(tilt - tilt[0])) == pytest.approx(10.0, abs=0.05)
    xyz = standing(n)
    a = np.radians(ramp(n, 15))
    for side, sx in (("left", 1.0), ("right", -1.0)):    # turn the shoulder line 15 deg about vertical
        sh = xyz[0, JOINT_INDEX[f"{side}_shoulder"]]
        r = abs(sh[0])
        set_joint(xyz, f"{side}_shoulder", np.stack([sx * r * np.cos(a), np.full(n, sh[1]), sx * r * np.sin(a)], -1))
    assert series(_skel(xyz), "shoulder_rotation_deg")[-1] == pytest.approx(15.0, abs=1e-3)
    xyz = standing(n)
    move(xyz, "left_shoulder", np.stack([np.zeros(n), ramp(n, 0.38 * np.tan(np.radians(8))), np.zeros(n)], -1))
    move(xyz, "left_hip", np.stack([np.zeros(n), ramp(n, 0.18 * np.tan(np.radians(8))), np.zeros(n)], -1))
    assert series(_skel(xyz), "trunk_roll_deg")[-1] == pytest.approx(8.0, abs=1e-3)


def test_sagittal_leans_and_dowel_off_trunk():
    n = 30
    xyz = standing(n)
    # fists held one above the other behind the back: a vertical 'dowel'
    set_joint(xyz, "right_hand", [0.0, 1.55, -0.15])
    set_joint(xyz, "left_hand", [0.0, 1.05, -0.15])
    lean = np.radians(ramp(n, 12))
    mid_hip = (xyz[0, JOINT_INDEX["left_hip"]] + xyz[0, JOINT_INDEX["right_hip"]]) / 2
    for j in ("left_shoulder", "right_shoulder"):
        p = xyz[0, JOINT_INDEX[j]] - mid_hip
        set_joint(xyz, j, mid_hip + np.stack([np.full(n, p[0]), p[1] * np.cos(lean), p[1] * np.sin(lean)], -1))
    s = _skel(xyz)
    assert series(s, "trunk_forward_lean_deg")[-1] == pytest.approx(12.0, abs=1e-3)
    assert series(s, "hands_line_forward_lean_deg")[-1] == pytest.approx(0.0, abs=1e-6)
    assert series(s, "dowel_off_trunk_deg")[-1] == pytest.approx(-12.0, abs=1e-3)


def test_heights_above_the_floor_and_knee_rise():
    xyz = standing(10)
    s = _skel(xyz)
    knee_y = xyz[0, JOINT_INDEX["left_knee"], 1]
    assert series(s, "left_knee_height_m")[0] == pytest.approx(knee_y, abs=1e-6)   # heels/toes at y = 0
    assert series(s, "left_hand_height_m")[0] == pytest.approx(xyz[0, JOINT_INDEX["left_hand"], 1], abs=1e-6)
    xyz = standing(30)
    move(xyz, "right_knee", np.stack([np.zeros(30), ramp(30, 0.05), np.zeros(30)], -1))
    assert series(_skel(xyz), "right_knee_rise_m")[-1] == pytest.approx(0.05, abs=1e-6)


def test_split_stance_toe_ahead_and_knee_drift_from_the_line():
    xyz = standing(10, feet_half=0.0)
    move(xyz, "left_toe", np.array([0.0, 0.0, 0.5]))
    move(xyz, "left_heel", np.array([0.0, 0.0, 0.5]))
    move(xyz, "left_ankle", np.array([0.0, 0.0, 0.5]))
    s = _skel(xyz)
    assert series(s, "left_toe_ahead_m")[0] == pytest.approx(0.5, abs=1e-6)
    assert series(s, "right_toe_ahead_m")[0] == pytest.approx(-0.5, abs=1e-6)
    move(xyz, "left_knee", np.array([0.03, 0.0, 0.0]))
    hip, ankle = xyz[0, JOINT_INDEX["left_hip"]], xyz[0, JOINT_INDEX["left_ankle"]]
    expected = xyz[0, JOINT_INDEX["left_knee"], 0] - (hip[0] + ankle[0]) / 2
    assert series(_skel(xyz), "left_knee_drift_from_line_m")[0] == pytest.approx(expected, abs=1e-6)


def test_fist_gap_in_estimated_hand_lengths():
    xyz = standing(5)
    s = _skel(xyz)
    hand = estimated_hand_length_m(s)
    assert hand == pytest.approx(HAND_TO_FOREARM_RATIO * FOREARM, abs=1e-6)
    set_joint(xyz, "left_hand", [0.0, 1.4, -0.15])
    set_joint(xyz, "right_hand", [0.0, 1.4 - 1.2 * hand, -0.15])
    s = _skel(xyz)
    assert series(s, "fist_gap_m")[0] == pytest.approx(1.2 * hand, abs=1e-5)
    assert series(s, "fist_gap_hand_lengths")[0] == pytest.approx(1.2, abs=1e-4)


def supine(n=30, raise_deg=0.0):
    """Lying on the back along +z (head at -z): hips at z=0, knees at +0.44; left leg raised by raise_deg."""
    xyz = np.zeros((n, len(JOINTS), 3))
    for side, sx in (("left", 1.0), ("right", -1.0)):
        set_joint(xyz, f"{side}_hip", [sx * 0.09, 0.10, 0.0])
        set_joint(xyz, f"{side}_shoulder", [sx * 0.19, 0.09, -0.50])
        set_joint(xyz, f"{side}_knee", [sx * 0.09, 0.08, 0.44])
        set_joint(xyz, f"{side}_ankle", [sx * 0.09, 0.07, 0.86])
        set_joint(xyz, f"{side}_heel", [sx * 0.09, 0.02, 0.90])
        set_joint(xyz, f"{side}_toe", [sx * 0.09, 0.20, 0.92])
        for j, z in (("elbow", -0.2), ("wrist", 0.05), ("hand", 0.12)):
            set_joint(xyz, f"{side}_{j}", [sx * 0.25, 0.05, z])
        set_joint(xyz, f"{side}_ear", [sx * 0.09, 0.12, -0.72])
        set_joint(xyz, f"{side}_eye", [sx * 0.035, 0.20, -0.78])
    set_joint(xyz, "nose", [0.0, 0.22, -0.76])
    a = np.radians(raise_deg)
    hip = xyz[0, JOINT_INDEX["left_hip"]]
    for j, d in (("knee", 0.44), ("ankle", 0.86)):
        set_joint(xyz, f"left_{j}", hip + np.array([0.0, d * np.sin(a), d * np.cos(a)]))
    return xyz


def test_aslr_ankle_fraction_runs_asis_to_knee():
    # ASIS sits 6 cm cranial of the hip centre (z = -0.06); the down knee is at z = 0.44
    span = 0.44 + ASIS_CRANIAL_OF_HIP_M
    for target in (0.2, 0.5, 1.0):
        ankle_z = -ASIS_CRANIAL_OF_HIP_M + target * span
        angle = np.degrees(np.arccos(ankle_z / 0.86))
        xyz = supine(raise_deg=0.0)
        raised = supine(raise_deg=angle)
        xyz[10:] = raised[10:]
        v = series(_skel(xyz), "left_aslr_ankle_fraction")
        assert v[-1] == pytest.approx(target, abs=1e-4)
    assert np.nanmedian(series(_skel(supine()), "chest_facing_up_cos")) == pytest.approx(1.0, abs=0.05)


def prone(n=30, trunk_deg=0.0, legs_deg=0.0, hands_z=0.0):
    """Face down along +z (head at +z): ankles at z=0, hips at z=0.9; trunk/legs raised by the given angles."""
    xyz = np.zeros((n, len(JOINTS), 3))
    legs, trunk = np.radians(legs_deg), np.radians(trunk_deg)
    for side, sx in (("left", 1.0), ("right", -1.0)):
        ankle = np.array([sx * 0.06, 0.05, 0.0])
        hip = ankle + 0.9 * np.array([0, np.sin(legs), np.cos(legs)])
        hip[0] = sx * 0.09
        knee = (ankle + hip) / 2
        sh = hip + 0.5 * np.array([0, np.sin(trunk), np.cos(trunk)])
        sh[0] = sx * 0.19
        for j, p in (("ankle", ankle), ("hip", hip), ("knee", knee), ("shoulder", sh)):
            set_joint(xyz, f"{side}_{j}", p)
        set_joint(xyz, f"{side}_heel", ankle + [0, 0.05, -0.05])
        set_joint(xyz, f"{side}_toe", ankle + [0, -0.05, 0.1])
        set_joint(xyz, f"{side}_hand", [sx * 0.27, 0.02, hands_z])
        set_joint(xyz, f"{side}_wrist", [sx * 0.27, 0.03, hands_z - 0.08])
        set_joint(xyz, f"{side}_elbow", [sx * 0.3, 0.2, hands_z - 0.1])
        set_joint(xyz, f"{side}_ear", sh * [0.09 / 0.19, 1, 1] + [0, 0.05, 0.25])
        set_joint(xyz, f"{side}_eye", sh * [0.035 / 0.19, 1, 1] + [0, -0.02, 0.33])
    set_joint(xyz, "nose", (xyz[0, JOINT_INDEX["left_shoulder"]] + xyz[0, JOINT_INDEX["right_shoulder"]]) / 2 + [0, -0.05, 0.33])
    return xyz


def test_pushup_hand_level_scale_and_lag():
    base = prone()
    s = _skel(base)
    lm = pushup_landmarks(s)
    assert lm["collarbone"] < lm["chin"] < lm["forehead"]
    for level, z in ((0.0, lm["collarbone"]), (1.0, lm["chin"]), (2.0, lm["forehead"])):
        s = _skel(prone(hands_z=z + 0.02))     # the fist joint sits 2 cm beyond the thumb line
        assert series(s, "pushup_hand_level")[0] == pytest.approx(level, abs=1e-4)
    xyz = prone(n=30)
    xyz[15:] = prone(n=15, trunk_deg=20, legs_deg=5)
    s = _skel(xyz)
    assert series(s, "pushup_lumbar_lag_deg")[-1] == pytest.approx(15.0, abs=0.3)
    assert series(s, "pelvis_rise_m")[-1] > 0.05
    assert np.nanmedian(series(_skel(prone()), "chest_facing_up_cos")) == pytest.approx(-1.0, abs=0.05)


def test_limb_elevations_and_elbow_knee_distances():
    xyz = standing(5)
    sh = xyz[0, JOINT_INDEX["left_shoulder"]]
    set_joint(xyz, "left_hand", sh + [0.0, 0.0, 0.6])          # arm straight forward
    hip = xyz[0, JOINT_INDEX["right_hip"]]
    set_joint(xyz, "right_knee", hip + [0.0, 0.0, -0.44])       # thigh straight back
    s = _skel(xyz)
    assert series(s, "left_arm_elevation_deg")[0] == pytest.approx(90.0, abs=1e-3)
    assert series(s, "right_arm_elevation_deg")[0] == pytest.approx(0.0, abs=1e-3)
    assert series(s, "right_thigh_elevation_deg")[0] == pytest.approx(90.0, abs=1e-3)
    elbow = xyz[0, JOINT_INDEX["left_elbow"]]
    assert series(s, "left_elbow_to_same_knee_m")[0] == pytest.approx(
        np.linalg.norm(elbow - xyz[0, JOINT_INDEX["left_knee"]]), abs=1e-5)
    assert series(s, "left_elbow_to_opposite_knee_m")[0] == pytest.approx(
        np.linalg.norm(elbow - xyz[0, JOINT_INDEX["right_knee"]]), abs=1e-5)
    assert series(s, "chest_facing_up_cos")[0] == pytest.approx(0.0, abs=1e-6)
