"""Named joint-angle and position measurements over a canonical Skeleton.

Every measurement is a time series with a clinical name and a unit in the
name (`left_knee_flexion_deg`, `left_heel_rise_m`), plus the frame of its
extreme. The table MEASUREMENTS is the one place they are defined.

Conventions (skeleton frame: metres, y up, right-handed):
- knee_flexion_deg: 180 - angle(hip, knee, ankle); 0 = straight leg, positive = flexed.
- hip_flexion_deg: 180 - angle(shoulder, hip, knee); 0 = standing tall, positive = flexed.
- ankle_dorsiflexion_deg: 90 - angle(shank ankle->knee, foot heel->toe);
  0 = shank perpendicular to the foot, positive = shank tilted over the toes.
- trunk_inclination_deg: angle of mid-hip -> mid-shoulder from vertical; 0 = upright.
- tibia_inclination_deg: angle of ankle -> knee from vertical; 0 = vertical shank.
- torso_minus_tibia_deg: trunk inclination minus the mean tibia inclination;
  <= 0 means the torso is parallel to the tibia or more upright.
- hip_below_knee_deg: angle of the thigh to horizontal, positive when the hip
  joint centre is below the knee (standing is about -90, thigh level is 0).
- heel_rise_m: heel height above the toe, minus its median over the first
  0.3 s (the standing start); positive = heel lifted.
- knee_valgus_deg: frontal-plane angle at the knee between hip->knee and
  knee->ankle (projected onto the plane of the hip line and vertical);
  positive = knee inside the hip-ankle line (valgus), negative = varus.
- hands_outside_feet_m: how far the fists (dowel grip) are in front of the
  toes or behind the heels, along the direction the feet point; 0 = over the
  base of support.
- knee_ankle_separation_ratio: knee gap / ankle gap along the hip line
  (frontal plane); 1 = knees straight over the ankles, < 1 = knees inside.
  Ankle gaps under 5 cm give NaN (feet together: the ratio means nothing).
- hands_above_head_m: height of the lower fist above the nose; > 0 = overhead.
- pelvis_obliquity_deg / shoulder_tilt_deg: hip / shoulder line from
  horizontal; positive = the athlete's left side higher.
- pelvis_rotation_deg: rotation of the hip line about vertical relative to
  the start of the clip (absolute value), i.e. trunk/pelvis twist.

FMS rows for tests 2-7. "Start" = median over the first 0.3 s; the athlete's
axes (left, facing) come from the summed shoulder and hip lines at the start;
the floor is the mean of the three lowest joints at the start; "outward" is
away from the midline (+ for the athlete's left limb along left, for the right
limb along right).
- trunk_excursion_deg: angle between the trunk (mid-hip -> mid-shoulder) and
  its start direction, any direction; 0 = as at the start.
- hands_line_tilt_deg: fist-to-fist line from horizontal; + = left fist higher.
- {side}_foot_lift_m: lowest of heel/toe above its start height; + = lifted.
- {side}_toe_shift_m: 3D distance of the toe from its start position.
- {side}_knee_out_of_plane_m: knee minus the hip/ankle midpoint, along the
  athlete's left-right axis; + = outward (0 = hip, knee, ankle in line).
- {side}_hurdle_clearance_m: lowest height above the hurdle cord at which a
  point of the middle third of that foot's sole line (heel to toe) passes the
  cord line, the pass interpolated between frames (NaN elsewhere). Cord by
  protocol: 0.93 shank lengths above the standing ankle (tibial tuberosity),
  4 cm ahead of the foremost standing toe (medians over the standing frames).
- {side}_knee_height_m / {side}_hand_height_m: joint height above the floor.
- {side}_knee_rise_m: knee height minus its start height.
- {side}_toe_ahead_m: toe minus the other toe along the facing direction.
- {side}_knee_drift_from_line_m: like knee_out_of_plane, but across the
  toe-to-toe line (in-line lunge: the board line); + = outward.
- shoulder_rotation_deg: shoulder line's turn about vertical from the start.
- trunk_roll_deg: mean tilt of the shoulder and hip lines minus its start
  value; + = the athlete's left side rolled up.
- trunk_forward_lean_deg / hands_line_forward_lean_deg: trunk / lower-to-upper
  fist line from vertical in the sagittal plane; + = top forward.
- dowel_off_trunk_deg: fist line lean minus trunk lean, minus its start value
  (0 = the dowel stays along the spine as at the start).
- fist_gap_m: distance between the fist centres; fist_gap_hand_lengths: the
  same over the estimated hand length (0.74 x median forearm length).
- {side}_aslr_ankle_fraction: that (raised) ankle along the other (down) leg,
  on the body's long axis: 0 = ASIS (6 cm cranial of the hip centre),
  0.5 = mid-thigh, 1 = the down knee's joint line; smaller = higher raise.
- pushup_hand_level: thumb line at rest on a landmark scale 0 = collarbone,
  1 = chin, 2 = forehead (linear between landmarks, extrapolated outside).
- pushup_lumbar_lag_deg: trunk elevation minus leg elevation (sagittal),
  relative to rest; + = the chest rises ahead of the pelvis.
- pelvis_rise_m: mid-hip height above its start.
- {side}_arm_elevation_deg / {side}_thigh_elevation_deg: shoulder->fist /
  hip->knee from straight down; 0 = hanging, 90 = level, 180 = straight up.
- {side}_elbow_to_same_knee_m / _opposite_knee_m: elbow-knee distances.
- chest_facing_up_cos: cosine of the chest normal with vertical; +1 supine,
  -1 prone or on all fours, 0 upright.
"""

from __future__ import annotations

from tools.geometry.angles.base import (UP, _mid, _lateral0, _forward0, _start_median, _floor_y, foot_low_point,
                                        _body_axis0)
from tools.geometry.angles.squat import (knee_flexion, hip_flexion, ankle_dorsiflexion, trunk_inclination,
                                         tibia_inclination, torso_minus_tibia, hip_below_knee, heel_rise,
                                         knee_valgus, hands_outside_feet, knee_ankle_separation_ratio,
                                         hands_above_head, pelvis_rotation)
from tools.geometry.angles.stepping import (HURDLE_CORD_AHEAD_OF_TOES_M, TIBIAL_TUBEROSITY_SHANK_FRACTION,
                                            FOOT_LIFTED_M, trunk_excursion, foot_lift, toe_shift, knee_out_of_plane,
                                            hurdle_cord, hurdle_clearance, shoulder_rotation, trunk_roll,
                                            trunk_forward_lean, hands_line_forward_lean, dowel_off_trunk,
                                            knee_height, knee_rise, hand_height, knee_drift_from_line, toe_ahead)
from tools.geometry.angles.reach import (HAND_TO_FOREARM_RATIO, estimated_hand_length_m, fist_gap,
                                         fist_gap_hand_lengths)
from tools.geometry.angles.floor_tests import (ASIS_CRANIAL_OF_HIP_M, aslr_ankle_fraction,
                                               FOREHEAD_ABOVE_HEAD_CENTRE_R, CHIN_BELOW_HEAD_CENTRE_R,
                                               EAR_GAP_TO_HEAD_RADIUS, COLLARBONE_ABOVE_SHOULDER_M,
                                               THUMB_LINE_BEHIND_KNUCKLES_M, pushup_landmarks, pushup_hand_level,
                                               pushup_lumbar_lag, pelvis_rise, arm_elevation, thigh_elevation,
                                               elbow_to_knee, chest_facing_up)
from tools.geometry.angles.table import (MeasurementSpec, MEASUREMENTS, SPECS)
from tools.geometry.angles.series import (Measurement, measure, save_series_csv)

__all__ = [
    "UP", "_mid", "_lateral0", "_forward0", "_start_median", "_floor_y", "foot_low_point", "_body_axis0",
    "knee_flexion", "hip_flexion", "ankle_dorsiflexion", "trunk_inclination", "tibia_inclination",
    "torso_minus_tibia", "hip_below_knee", "heel_rise", "knee_valgus", "hands_outside_feet",
    "knee_ankle_separation_ratio", "hands_above_head", "pelvis_rotation", "HURDLE_CORD_AHEAD_OF_TOES_M",
    "TIBIAL_TUBEROSITY_SHANK_FRACTION", "FOOT_LIFTED_M", "trunk_excursion", "foot_lift", "toe_shift",
    "knee_out_of_plane", "hurdle_cord", "hurdle_clearance", "shoulder_rotation", "trunk_roll", "trunk_forward_lean",
    "hands_line_forward_lean", "dowel_off_trunk", "knee_height", "knee_rise", "hand_height", "knee_drift_from_line",
    "toe_ahead", "HAND_TO_FOREARM_RATIO", "estimated_hand_length_m", "fist_gap", "fist_gap_hand_lengths",
    "ASIS_CRANIAL_OF_HIP_M", "aslr_ankle_fraction", "FOREHEAD_ABOVE_HEAD_CENTRE_R", "CHIN_BELOW_HEAD_CENTRE_R",
    "EAR_GAP_TO_HEAD_RADIUS", "COLLARBONE_ABOVE_SHOULDER_M", "THUMB_LINE_BEHIND_KNUCKLES_M", "pushup_landmarks",
    "pushup_hand_level", "pushup_lumbar_lag", "pelvis_rise", "arm_elevation", "thigh_elevation", "elbow_to_knee",
    "chest_facing_up", "MeasurementSpec", "MEASUREMENTS", "SPECS", "Measurement", "measure", "save_series_csv",
]
