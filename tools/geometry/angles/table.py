"""MEASUREMENTS: the one table of named measurements (name with its unit, joints, view, function).

Every row is defined here and only here; tools.geometry.angles re-exports it (conventions there)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from tools.core.skeleton import Skeleton
from tools.geometry.angles.base import _line_tilt
from tools.geometry.angles.squat import ankle_dorsiflexion, hands_above_head, hands_outside_feet, heel_rise, hip_below_knee, hip_flexion, knee_ankle_separation_ratio, knee_flexion, knee_valgus, pelvis_rotation, tibia_inclination, torso_minus_tibia, trunk_inclination
from tools.geometry.angles.stepping import dowel_off_trunk, foot_lift, hand_height, hands_line_forward_lean, hurdle_clearance, knee_drift_from_line, knee_height, knee_out_of_plane, knee_rise, shoulder_rotation, toe_ahead, toe_shift, trunk_excursion, trunk_forward_lean, trunk_roll
from tools.geometry.angles.reach import fist_gap, fist_gap_hand_lengths
from tools.geometry.angles.floor_tests import arm_elevation, aslr_ankle_fraction, chest_facing_up, elbow_to_knee, pelvis_rise, pushup_hand_level, pushup_lumbar_lag, thigh_elevation


@dataclass(frozen=True)
class MeasurementSpec:
    """One row of the measurement table."""

    name: str
    unit: str            # "deg" or "m"
    joints: tuple[str, ...]
    view: str            # view that judges it best: "side", "front" or "any"
    compute: Callable[[Skeleton], np.ndarray] = field(repr=False, compare=False)


def _bilateral(fmt: str, unit: str, joints: tuple[str, ...], view: str, factory) -> list[MeasurementSpec]:
    return [MeasurementSpec(fmt.format(side=side), unit, tuple(f"{side}_{j}" for j in joints), view, factory(side))
            for side in ("left", "right")]


MEASUREMENTS: tuple[MeasurementSpec, ...] = tuple(
    _bilateral("{side}_knee_flexion_deg", "deg", ("hip", "knee", "ankle"), "side", knee_flexion)
    + _bilateral("{side}_hip_flexion_deg", "deg", ("shoulder", "hip", "knee"), "side", hip_flexion)
    + _bilateral("{side}_ankle_dorsiflexion_deg", "deg", ("knee", "ankle", "heel", "toe"), "side", ankle_dorsiflexion)
    + _bilateral("{side}_tibia_inclination_deg", "deg", ("knee", "ankle"), "side", tibia_inclination)
    + _bilateral("{side}_hip_below_knee_deg", "deg", ("hip", "knee"), "side", hip_below_knee)
    + _bilateral("{side}_heel_rise_m", "m", ("heel", "toe"), "side", heel_rise)
    + _bilateral("{side}_knee_valgus_deg", "deg", ("hip", "knee", "ankle"), "front", knee_valgus)
    + [
        MeasurementSpec("trunk_inclination_deg", "deg",
                        ("left_shoulder", "right_shoulder", "left_hip", "right_hip"), "side", trunk_inclination),
        MeasurementSpec("torso_minus_tibia_deg", "deg",
                        ("left_shoulder", "right_shoulder", "left_hip", "right_hip",
                         "left_knee", "right_knee", "left_ankle", "right_ankle"), "side", torso_minus_tibia),
        MeasurementSpec("hands_outside_feet_m", "m",
                        ("left_hand", "right_hand", "left_heel", "right_heel", "left_toe", "right_toe"),
                        "side", hands_outside_feet),
        MeasurementSpec("knee_ankle_separation_ratio", "ratio",
                        ("left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle"),
                        "front", knee_ankle_separation_ratio),
        MeasurementSpec("hands_above_head_m", "m", ("left_hand", "right_hand", "nose"), "any", hands_above_head),
        MeasurementSpec("pelvis_obliquity_deg", "deg", ("left_hip", "right_hip"), "front",
                        _line_tilt("left_hip", "right_hip")),
        MeasurementSpec("shoulder_tilt_deg", "deg", ("left_shoulder", "right_shoulder"), "front",
                        _line_tilt("left_shoulder", "right_shoulder")),
        MeasurementSpec("pelvis_rotation_deg", "deg", ("left_hip", "right_hip"), "any", pelvis_rotation),
        MeasurementSpec("trunk_excursion_deg", "deg",
                        ("left_shoulder", "right_shoulder", "left_hip", "right_hip"), "any", trunk_excursion),
        MeasurementSpec("hands_line_tilt_deg", "deg", ("left_hand", "right_hand"), "front",
                        _line_tilt("left_hand", "right_hand")),
    ]
    + _bilateral("{side}_foot_lift_m", "m", ("heel", "toe"), "any", foot_lift)
    + _bilateral("{side}_toe_shift_m", "m", ("toe",), "any", toe_shift)
    + _bilateral("{side}_knee_out_of_plane_m", "m", ("hip", "knee", "ankle"), "front", knee_out_of_plane)
    + _bilateral("{side}_hurdle_clearance_m", "m", ("heel", "toe", "knee", "ankle"), "side", hurdle_clearance)
    + _bilateral("{side}_knee_height_m", "m", ("knee",), "side", knee_height)
    + _bilateral("{side}_knee_rise_m", "m", ("knee",), "side", knee_rise)
    + _bilateral("{side}_hand_height_m", "m", ("hand",), "side", hand_height)
    + _bilateral("{side}_toe_ahead_m", "m", ("toe",), "side", toe_ahead)
    + _bilateral("{side}_knee_drift_from_line_m", "m", ("knee", "toe"), "front", knee_drift_from_line)
    + _bilateral("{side}_aslr_ankle_fraction", "fraction", ("ankle", "knee", "hip", "shoulder"), "side",
                 aslr_ankle_fraction)
    + _bilateral("{side}_arm_elevation_deg", "deg", ("shoulder", "hand"), "side", arm_elevation)
    + _bilateral("{side}_thigh_elevation_deg", "deg", ("hip", "knee"), "side", thigh_elevation)
    + _bilateral("{side}_elbow_to_same_knee_m", "m", ("elbow", "knee"), "side", lambda side: elbow_to_knee(side, True))
    + _bilateral("{side}_elbow_to_opposite_knee_m", "m", ("elbow", "knee"), "side",
                 lambda side: elbow_to_knee(side, False))
    + [
        MeasurementSpec("shoulder_rotation_deg", "deg", ("left_shoulder", "right_shoulder"), "any", shoulder_rotation),
        MeasurementSpec("trunk_roll_deg", "deg", ("left_shoulder", "right_shoulder", "left_hip", "right_hip"), "front",
                        trunk_roll),
        MeasurementSpec("trunk_forward_lean_deg", "deg",
                        ("left_shoulder", "right_shoulder", "left_hip", "right_hip"), "side", trunk_forward_lean),
        MeasurementSpec("hands_line_forward_lean_deg", "deg", ("left_hand", "right_hand"), "side",
                        hands_line_forward_lean),
        MeasurementSpec("dowel_off_trunk_deg", "deg",
                        ("left_hand", "right_hand", "left_shoulder", "right_shoulder", "left_hip", "right_hip"),
                        "side", dowel_off_trunk),
        MeasurementSpec("fist_gap_m", "m", ("left_hand", "right_hand"), "any", fist_gap),
        MeasurementSpec("fist_gap_hand_lengths", "hand_lengths",
                        ("left_hand", "right_hand", "left_elbow", "right_elbow", "left_wrist", "right_wrist"),
                        "any", fist_gap_hand_lengths),
        MeasurementSpec("pushup_hand_level", "level",
                        ("left_hand", "right_hand", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
                         "left_hip", "right_hip"), "side", pushup_hand_level),
        MeasurementSpec("pushup_lumbar_lag_deg", "deg",
                        ("left_shoulder", "right_shoulder", "left_hip", "right_hip", "left_ankle", "right_ankle"),
                        "side", pushup_lumbar_lag),
        MeasurementSpec("pelvis_rise_m", "m", ("left_hip", "right_hip"), "side", pelvis_rise),
        MeasurementSpec("chest_facing_up_cos", "cos",
                        ("left_shoulder", "right_shoulder", "left_hip", "right_hip"), "any", chest_facing_up),
    ]
)
SPECS: dict[str, MeasurementSpec] = {m.name: m for m in MEASUREMENTS}
