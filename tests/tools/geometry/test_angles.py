"""Angles on analytic geometry: a skeleton with known angles gives those angles."""
import numpy as np
import pytest

from tests.skeleton_factory import squat_clip, squat_pose
from tools.geometry.angles import MEASUREMENTS, SPECS, measure
from tools.core.skeleton import JOINTS, Skeleton


def one_frame(xyz):
    x = xyz[None].astype(np.float32)
    return Skeleton(xyz=x, conf=np.ones(x.shape[:2], np.float32), fps=30.0)


@pytest.mark.parametrize("alpha,beta,phi", [(0, 0, -90), (30, 35, 10), (15, 40, -5), (45, 20, 20)])
def test_sagittal_angles_match_closed_form(alpha, beta, phi):
    m = measure(one_frame(squat_pose(alpha, beta, phi)))
    for side in ("left", "right"):
        assert m[f"{side}_knee_flexion_deg"].values[0] == pytest.approx(90 + phi + beta, abs=1e-3)
        assert m[f"{side}_hip_flexion_deg"].values[0] == pytest.approx(90 + alpha + phi, abs=1e-3)
        assert m[f"{side}_tibia_inclination_deg"].values[0] == pytest.approx(beta, abs=1e-3)
        assert m[f"{side}_hip_below_knee_deg"].values[0] == pytest.approx(phi, abs=1e-3)
    assert m["trunk_inclination_deg"].values[0] == pytest.approx(alpha, abs=1e-3)
    assert m["torso_minus_tibia_deg"].values[0] == pytest.approx(alpha - beta, abs=1e-3)


def test_knee_valgus_sign_and_ratio():
    straight = measure(one_frame(squat_pose(20, 30, -30)))
    caved = measure(one_frame(squat_pose(20, 30, -30, knee_in_m=0.08)))
    assert straight["knee_ankle_separation_ratio"].values[0] == pytest.approx(1.0, abs=1e-6)
    # knees 8 cm in each from a 32 cm ankle gap: (0.32 - 0.16) / 0.32
    assert caved["knee_ankle_separation_ratio"].values[0] == pytest.approx(0.5, abs=1e-6)
    assert caved["left_knee_valgus_deg"].values[0] > 5
    assert caved["right_knee_valgus_deg"].values[0] > 5
    assert abs(straight["left_knee_valgus_deg"].values[0]) < 0.01


def test_heel_rise_relative_to_standing_start():
    clip = squat_clip(heel_lift_m=0.05)
    m = measure(clip)
    assert np.nanmax(m["left_heel_rise_m"].values) == pytest.approx(0.05, abs=2e-3)
    assert m["left_heel_rise_m"].values[0] == pytest.approx(0.0, abs=2e-3)


def test_hands_outside_feet():
    over = measure(one_frame(squat_pose(0, 0, -90, hands_forward_m=0.0)))
    ahead = measure(one_frame(squat_pose(0, 0, -90, hands_forward_m=0.5)))
    assert over["hands_outside_feet_m"].values[0] == 0.0
    assert ahead["hands_outside_feet_m"].values[0] == pytest.approx(0.34, abs=1e-4)


def test_extreme_frames_found():
    clip = squat_clip(depth_deg=12, seconds=2.0)
    m = measure(clip)
    bottom = m["left_knee_flexion_deg"].max_frame
    assert abs(bottom - clip.n_frames // 2) <= 1
    summary = m["left_hip_below_knee_deg"].summary()
    assert summary["max"] == pytest.approx(12, abs=0.5)
    assert summary["unit"] == "deg"


def test_measurement_table_uses_canonical_joints_and_units():
    for spec in MEASUREMENTS:
        assert set(spec.joints) <= set(JOINTS), spec.name
        assert spec.name.endswith("_" + spec.unit) or spec.unit == "ratio", spec.name
        assert spec.view in ("side", "front", "any")
    assert len(SPECS) == len(MEASUREMENTS)


def test_missing_joints_give_nan_not_crash():
    xyz = squat_pose(10, 10, -20)
    xyz[[JOINTS.index("left_knee")]] = np.nan
    m = measure(one_frame(xyz))
    assert np.isnan(m["left_knee_flexion_deg"].values[0])
    assert m["left_knee_flexion_deg"].max_frame is None
    assert np.isfinite(m["right_knee_flexion_deg"].values[0])
