"""Synthetic multi-person clips with ground truth: who is the athlete, where, and how much of them shows.

    python -m tools.synth.crowd --out /tmp/crowd/crossing_front --scenario crossing_front [--seed 0]
    python -m tools.synth.crowd --sheet docs/crowd_scenarios.png

Scenarios (the athlete performs one FMS test; world frame = the athlete's body
frame, x = their left, y up, z the way they face, metres):
- crossing_front: a passer hugging a gym ball walks across close to the camera mid-movement
  and hides the athlete (nearly) completely for a few frames.
- crossing_behind: a passer walks across behind the athlete (the athlete hides the passer).
- two_athletes: two people of similar size side by side, both doing the same test
  (nothing in the picture says which one is being screened).
- athlete_leaves: the athlete does the test, turns and walks out; the last part of the clip is empty.
- bystander: someone stands near the edge of the frame with a little idle sway.

People who are not screened wear street clothes (tools.synth.body.Bystander). Walking
is a parametric gait (60 % stance, 40 % swing, minimum-jerk swing, pelvis bob and
yaw, arms swinging against the legs) built with the rig's two-bone IK, so every
person's joints come in the canonical 23-joint order with exact bone lengths.

Files written by `make_crowd_clip(out_dir, ...)`:
- clip.mp4: H.264, `fps` frames per second.
- truth.npz: athlete_uv [T,23,2] px; athlete_box_xyxy [T,4] px (box of the projected joints,
  clipped to the image, NaN when no joint is inside); athlete_mask_box_xyxy [T,4] (box of the
  athlete's visible pixels, NaN when none); athlete_joint_visible [T,23] bool (inside the image
  and not behind another person); athlete_visible_share [T]; athlete_pixels [T]; others_uv
  [P,T,23,2]; others_box_xyxy [P,T,4]; others_mask_box_xyxy [P,T,4]; others_pixels [P,T];
  others_role [P] str; fps; image_size (w, h); joints [23] str; scenario; seed; camera (JSON).
- truth_skeleton.npz: the athlete's exact Skeleton (tools.core.skeleton format, with uv).
"""
from __future__ import annotations

import argparse
import json
import logging
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from tools.core.errors import InputError
from tools.core.skeleton import JOINT_INDEX, JOINTS
from tools.synth import rig
from tools.synth.body import Athlete, make_athlete, make_bystander
from tools.synth.camera import VIEWS, Camera
from tools.core.fms import BILATERAL
from tools.synth.library import Sample, auto_camera, make_sample, truth_skeleton
from tools.synth.props import Box, Capsule
from tools.synth.render import Person, Renderer
from tools.synth.timing import min_jerk, sway

log = logging.getLogger(__name__)

SCENARIOS = ("crossing_front", "crossing_behind", "two_athletes", "athlete_leaves", "bystander")

STANCE_SHARE = 0.6          # share of a gait cycle a foot is on the ground
SWING_CLEARANCE_M = 0.06    # peak lift of the swinging ankle above its standing height
ARM_SWING_DEG = 20.0        # shoulder flexion/extension amplitude while walking
WALK_SPEED_MPS = (1.2, 1.5)
FRONT_PASSER_DEPTH_SHARE = 0.4   # crossing_front: the passer's distance from the camera / the athlete's
GYM_BALL_RGB = (70, 150, 215)
GYM_BALL_RADIUS_M = 0.375         # a 75 cm gym ball, carried by the crossing_front passer
BEHIND_PASSER_EXTRA_M = 1.4       # crossing_behind: how far behind the athlete the passer walks


# ----- people that are not doing the test ---------------------------------------------------------

def _person(athlete: Athlete, mid_hip: np.ndarray, heading: np.ndarray, pelvis_yaw_rad: np.ndarray,
            ankle_l: np.ndarray, ankle_r: np.ndarray, pitch_l_rad: np.ndarray, pitch_r_rad: np.ndarray,
            arm_l_rad: np.ndarray, arm_r_rad: np.ndarray, elbow_rad: tuple[np.ndarray, np.ndarray],
            trunk_lean_rad: float, head_forward: np.ndarray, fps: float) -> rig.Motion:
    """Joints of an upright person from pelvis, heading [T,3] (horizontal unit), ankle targets and angles.

    Foot pitch > 0 lifts the toes; arm angle > 0 swings the arm forward; elbows flex forward.
    """
    T = len(mid_hip)
    d = rig.unit(heading * np.array([1.0, 0.0, 1.0]))
    left = np.cross(np.broadcast_to(rig.Y, d.shape), d)
    left_p = rig.rotate(left, rig.Y, pelvis_yaw_rad)
    hip_l = mid_hip + left_p * athlete.hip_half_width_m
    hip_r = mid_hip - left_p * athlete.hip_half_width_m

    legs = {}
    for side, hip, ankle_t, pitch in (("left", hip_l, ankle_l, pitch_l_rad), ("right", hip_r, ankle_r, pitch_r_rad)):
        knee, ankle = rig.two_bone(hip, ankle_t, athlete.thigh_m, athlete.shank_m, d)
        c, s = np.cos(pitch)[:, None], np.sin(pitch)[:, None]
        foot = rig.foot_from_ankle(ankle, c * d + s * rig.Y, -s * d + c * rig.Y, athlete)
        legs.update({f"{side}_hip": hip, f"{side}_knee": knee, f"{side}_ankle": ankle,
                     f"{side}_heel": foot["heel"], f"{side}_toe": foot["toe"]})

    trunk_dir = rig.unit(rig.Y + d * np.tan(trunk_lean_rad))
    left_s = rig.rotate(left, rig.Y, -0.6 * pelvis_yaw_rad)       # shoulders counter-rotate
    sh = rig.shoulders_from_trunk(mid_hip, trunk_dir, left_s, athlete, shrug_m=0.0)
    arms = {}
    for side, sign, angle, elbow in (("left", 1.0, arm_l_rad, elbow_rad[0]), ("right", -1.0, arm_r_rad, elbow_rad[1])):
        a, e = angle[:, None], (angle + elbow)[:, None]
        upper = -rig.Y * np.cos(a) + d * np.sin(a) + sign * left * 0.08
        fore = -rig.Y * np.cos(e) + d * np.sin(e) + sign * left * 0.05
        arm = rig.arm_fk(sh[f"{side}_shoulder"], upper, fore, athlete)
        arms.update({f"{side}_shoulder": sh[f"{side}_shoulder"], f"{side}_elbow": arm["elbow"],
                     f"{side}_wrist": arm["wrist"], f"{side}_hand": arm["hand"]})
    head = rig.head_points(sh["mid_shoulder"], rig.unit(rig.Y + 0.05 * d), head_forward, athlete)
    parts = {**legs, **arms, **{k: v for k, v in head.items() if k != "head_centre"}}
    return rig.Motion(joints=rig.assemble(parts, T), spine_mid=sh["spine_mid"], fps=fps)


def _ankle_lift(pitch: np.ndarray, athlete: Athlete) -> np.ndarray:
    """Ankle height of a pitched foot touching the floor (toes up: on the heel; heel up: on the toes)."""
    L, h = athlete.foot_m, athlete.ankle_height_m
    on_heel = rig.HEEL_TO_ANKLE_FRACTION * L * np.sin(pitch) + h * np.cos(pitch)
    on_toe = (1 - rig.HEEL_TO_ANKLE_FRACTION) * L * np.sin(-pitch) + h * np.cos(pitch)
    return np.where(pitch >= 0, on_heel, on_toe)


def walk_motion(athlete: Athlete, through_xz: tuple[float, float], direction_xz: tuple[float, float],
                n_frames: int, fps: float = 30.0, speed_mps: float = 1.35, at_frame: float = 0.0,
                gait_phase: float = 0.0, carry_ball_radius_m: float = 0.0) -> rig.Motion:
    """A person walking in a straight line at `speed_mps`, the pelvis passing `through_xz` at frame `at_frame`.

    Stride length 0.8 x stature scaled by (speed / 1.3 m/s)^0.4, so cadence comes out near
    110-130 steps/min at 1.2-1.5 m/s (taller people take fewer, longer steps).
    `gait_phase` (0-1) shifts where in the cycle the walk starts.
    With `carry_ball_radius_m` > 0 they hug a gym ball to their chest (a prop of the motion)
    instead of swinging their arms.
    """
    if not 0.3 <= speed_mps <= 2.5:
        raise InputError(f"walking speed must be 0.3-2.5 m/s, got {speed_mps}")
    d = rig.unit(np.array([direction_xz[0], 0.0, direction_xz[1]], float))
    left = np.cross(rig.Y, d)
    stride = 0.8 * athlete.height_m * (speed_mps / 1.3) ** 0.4
    freq = speed_mps / stride
    t = (np.arange(n_frames) - at_frame) / fps
    cycle = freq * t + 0.3 + gait_phase                       # pelvis over the origin when cycle = 0.3 + phase
    pelvis_s = speed_mps * t

    def foot(c: np.ndarray, offset: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        u = c - np.floor(c)
        swing = np.clip((u - STANCE_SHARE) / (1 - STANCE_SHARE), 0, 1)
        along = stride * (np.floor(c) + min_jerk(swing)) - stride * (offset + gait_phase)
        pitch = np.radians(np.interp(u, [0, 0.1, 0.45, STANCE_SHARE, 0.75, 1.0], [12, 0, 0, -30, -5, 12]))
        lift = SWING_CLEARANCE_M * np.sin(np.pi * swing)
        return along, pitch, _ankle_lift(pitch, athlete) + lift

    s_l, pitch_l, y_l = foot(cycle, 0.0)
    s_r, pitch_r, y_r = foot(cycle + 0.5, 0.5)
    origin = np.array([through_xz[0], 0.0, through_xz[1]], float)
    half_step = 0.9 * athlete.hip_half_width_m
    ankle_l = origin + s_l[:, None] * d + left * half_step + y_l[:, None] * rig.Y
    ankle_r = origin + s_r[:, None] * d - left * half_step + y_r[:, None] * rig.Y
    hip_y = 0.955 * athlete.hip_height_m + 0.012 * np.cos(4 * np.pi * (cycle - 0.3))
    mid_hip = origin + pelvis_s[:, None] * d + hip_y[:, None] * rig.Y
    phase = 2 * np.pi * cycle
    arm_r = np.radians(ARM_SWING_DEG) * np.cos(phase)          # right arm forward with the left leg
    arm_l = -arm_r
    elbow = tuple(np.radians(15.0 + 12.0 * np.clip(a / np.radians(ARM_SWING_DEG), 0, 1)) for a in (arm_l, arm_r))
    heading = np.broadcast_to(d, (n_frames, 3))
    motion = _person(athlete, mid_hip, heading, -np.radians(4.0) * np.cos(phase), ankle_l, ankle_r,
                     pitch_l, pitch_r, arm_l, arm_r, elbow, np.radians(4.0), heading, fps)
    motion.events = {"at_frame": int(round(at_frame))}
    if carry_ball_radius_m > 0:
        _carry_ball(motion, athlete, heading, carry_ball_radius_m)
    return motion


def _carry_ball(motion: rig.Motion, athlete: Athlete, heading: np.ndarray, radius_m: float) -> None:
    """Put a gym ball in front of the chest and the hands on its sides (arms re-solved by IK), in place."""
    J, r = motion.joints, radius_m
    d = rig.unit(heading)
    left = np.cross(np.broadcast_to(rig.Y, d.shape), d)
    ls, rs = J[:, JOINT_INDEX["left_shoulder"]], J[:, JOINT_INDEX["right_shoulder"]]
    centre = 0.5 * (ls + rs) + d * (0.12 + r) - rig.Y * 0.42
    for side, sign, sh in (("left", 1.0, ls), ("right", -1.0, rs)):
        arm = rig.arm_to(sh, centre + sign * left * 0.92 * r - d * 0.05 * r, rig.unit(sign * left - rig.Y), athlete)
        for k in ("elbow", "wrist", "hand"):
            J[:, JOINT_INDEX[f"{side}_{k}"]] = arm[k]
    ends = np.stack([centre - 5e-4 * rig.Y, centre + 5e-4 * rig.Y], axis=1)
    motion.props.append(Capsule("gym_ball", ends, r, GYM_BALL_RGB))


def idle_motion(athlete: Athlete, position_xz: tuple[float, float], facing_xz: tuple[float, float],
                n_frames: int, fps: float, rng: np.random.Generator) -> rig.Motion:
    """Someone standing still: feet planted, a little postural sway, arms hanging, the head looking around."""
    d0 = rig.unit(np.array([facing_xz[0], 0.0, facing_xz[1]], float))
    left = np.cross(rig.Y, d0)
    origin = np.array([position_xz[0], 0.0, position_xz[1]], float)
    zeros = np.zeros(n_frames)
    foot_y = _ankle_lift(zeros, athlete)
    ankle_l = origin + left * 1.15 * athlete.hip_half_width_m + foot_y[:, None] * rig.Y
    ankle_r = origin - left * 1.15 * athlete.hip_half_width_m + foot_y[:, None] * rig.Y
    body = sway(rng, n_frames, fps, 0.02, freq_hz=(0.1, 0.4))
    mid_hip = (origin + 0.985 * athlete.hip_height_m * rig.Y + body[:, :1] * left
               + 0.5 * body[:, 1:2] * d0 + 0.005 * body[:, 2:3] * rig.Y)
    arms = sway(rng, n_frames, fps, np.radians(6.0), freq_hz=(0.1, 0.5), dims=2)
    look = sway(rng, n_frames, fps, np.radians(25.0), freq_hz=(0.05, 0.2), dims=1)[:, 0]
    heading = np.broadcast_to(d0, (n_frames, 3))
    head_fwd = rig.rotate(heading, rig.Y, look)
    elbow = (np.full(n_frames, np.radians(12.0)), np.full(n_frames, np.radians(12.0)))
    return _person(athlete, mid_hip, heading, 0.3 * look, ankle_l, ankle_r, zeros, zeros,
                   arms[:, 0], arms[:, 1], elbow, np.radians(2.0), head_fwd, fps)


# ----- motion bookkeeping -----------------------------------------------------------------------

def _shift_prop(prop, offset: np.ndarray):
    if isinstance(prop, Capsule):
        return Capsule(prop.name, prop.ends + offset, prop.radius_m, prop.rgb)
    return Box(prop.name, tuple(float(v) for v in np.asarray(prop.centre) + offset), prop.half_size, prop.rgb)


def shifted(motion: rig.Motion, offset_xyz: tuple[float, float, float]) -> rig.Motion:
    """The same motion moved by a constant offset (metres), props included."""
    off = np.asarray(offset_xyz, float)
    return rig.Motion(motion.joints + off, motion.spine_mid + off, motion.fps,
                      [_shift_prop(p, off) for p in motion.props], dict(motion.events))


def padded(motion: rig.Motion, n_frames: int) -> rig.Motion:
    """The motion held still on its last frame until it is `n_frames` long."""
    extra = n_frames - motion.n_frames
    if extra <= 0:
        return motion
    hold = lambda a: np.concatenate([a, np.repeat(a[-1:], extra, axis=0)])  # noqa: E731
    props = [Capsule(p.name, hold(p.ends), p.radius_m, p.rgb) if isinstance(p, Capsule) and p.ends.ndim == 3 else p
             for p in motion.props]
    return rig.Motion(hold(motion.joints), hold(motion.spine_mid), motion.fps, props, dict(motion.events))


def _yaw(v: np.ndarray) -> np.ndarray:
    return np.arctan2(v[..., 0], v[..., 2])


def _to_local(joints: np.ndarray, origin: np.ndarray, yaw: float) -> np.ndarray:
    return rig.rotate(joints - origin, rig.Y, -yaw)


def leave_motion(sample: Sample, direction_xz: tuple[float, float], n_walk: int, speed_mps: float = 1.35,
                 turn_s: float = 0.6) -> rig.Motion:
    """The sample's movement, then a turn towards `direction_xz` and a walk of `n_walk` frames.

    During the turn the pelvis and heading ease over, the body blends between the last
    standing pose and the walking pose, and the arms are re-solved by IK (hands swinging
    down in front), so bone lengths stay exact. The dowel ends up in the right hand.
    """
    m, a = sample.motion, sample.athlete
    fps, T0 = m.fps, m.n_frames
    n_turn = max(2, int(round(turn_s * fps)))
    d = rig.unit(np.array([direction_xz[0], 0.0, direction_xz[1]], float))
    last = m.joints[-1]
    hip0 = 0.5 * (last[JOINT_INDEX["left_hip"]] + last[JOINT_INDEX["right_hip"]])
    yaw0 = float(_yaw(np.cross(last[JOINT_INDEX["left_hip"]] - last[JOINT_INDEX["right_hip"]], rig.Y)))
    walk = walk_motion(a, (hip0[0], hip0[2]), direction_xz, T0 + n_turn + n_walk, fps, speed_mps,
                       at_frame=T0, gait_phase=0.2)
    yaw1 = float(_yaw(d))
    dyaw = (yaw1 - yaw0 + np.pi) % (2 * np.pi) - np.pi
    end = T0 + n_turn
    B = walk.joints[end]
    hip1 = 0.5 * (B[JOINT_INDEX["left_hip"]] + B[JOINT_INDEX["right_hip"]])
    local_a, local_b = _to_local(last, hip0, yaw0), _to_local(B, hip1, yaw1)
    sp_a, sp_b = _to_local(m.spine_mid[-1], hip0, yaw0), _to_local(walk.spine_mid[end], hip1, yaw1)
    w = min_jerk((np.arange(n_turn) + 0.5) / n_turn)
    turn_j, turn_sp = [], []
    for wi in w:
        yaw, hip = yaw0 + wi * dyaw, (1 - wi) * hip0 + wi * hip1
        local = (1 - wi) * local_a + wi * local_b
        for s in ("left", "right"):   # arms: slerp the hand direction, keep the reach, IK the elbow
            sh = local[JOINT_INDEX[f"{s}_shoulder"]]
            ha = local_a[JOINT_INDEX[f"{s}_hand"]] - _sh(local_a, s)
            hb = local_b[JOINT_INDEX[f"{s}_hand"]] - _sh(local_b, s)
            direction = _slerp(rig.unit(ha), rig.unit(hb), wi)
            reach = (1 - wi) * np.linalg.norm(ha) + wi * np.linalg.norm(hb)
            sign = 1.0 if s == "left" else -1.0
            arm = rig.arm_to(sh, sh + direction * reach, rig.unit(np.array([0.5 * sign, 0.0, -1.0])), a)
            for k in ("elbow", "wrist", "hand"):
                local[JOINT_INDEX[f"{s}_{k}"]] = arm[k]
        for s in ("left", "right"):   # legs: IK the knee from the blended hip and ankle
            hp, an = local[JOINT_INDEX[f"{s}_hip"]], local[JOINT_INDEX[f"{s}_ankle"]]
            knee, ankle = rig.two_bone(hp, an, a.thigh_m, a.shank_m, rig.Z)
            local[JOINT_INDEX[f"{s}_knee"]], local[JOINT_INDEX[f"{s}_ankle"]] = knee, ankle
        turn_j.append(rig.rotate(local, rig.Y, yaw) + hip)
        turn_sp.append(rig.rotate((1 - wi) * sp_a + wi * sp_b, rig.Y, yaw) + hip)
    joints = np.concatenate([m.joints, np.stack(turn_j), walk.joints[end:]])
    spine = np.concatenate([m.spine_mid, np.stack(turn_sp), walk.spine_mid[end:]])
    props = []
    for p in m.props:
        if isinstance(p, Capsule) and p.ends.ndim == 3:   # the dowel: from both fists to a staff in the right hand
            T = len(joints)
            centre_a, axis_a = p.ends[-1].mean(axis=0), rig.unit(p.ends[-1][1] - p.ends[-1][0])
            ends = [p.ends]
            for i in range(T0, T):
                wi = w[i - T0] if i < end else 1.0
                hand = joints[i, JOINT_INDEX["right_hand"]]
                centre = (1 - wi) * centre_a + wi * (hand + 0.15 * rig.Y)
                axis = rig.unit((1 - wi) * axis_a + wi * rig.unit(rig.Y + 0.15 * d))
                half = 0.5 * np.linalg.norm(p.ends[-1][1] - p.ends[-1][0])
                ends.append(np.stack([centre - half * axis, centre + half * axis])[None])
            props.append(Capsule(p.name, np.concatenate(ends), p.radius_m, p.rgb))
        else:
            props.append(p)
    events = dict(m.events, turn_to_leave=T0, walk_out=end)
    return rig.Motion(joints, spine, fps, props, events)


def _sh(local: np.ndarray, side: str) -> np.ndarray:
    return local[JOINT_INDEX[f"{side}_shoulder"]]


def _slerp(a: np.ndarray, b: np.ndarray, w: float) -> np.ndarray:
    cos = float(np.clip(np.dot(a, b), -1.0, 1.0))
    ang = np.arccos(cos)
    if ang < 1e-4:
        return a
    if ang > np.pi - 1e-3:          # opposite: go round through the front (+z)
        mid = rig.unit(rig.Z - np.dot(rig.Z, a) * a)
        return _slerp(a, mid, 2 * w) if w < 0.5 else _slerp(mid, b, 2 * w - 1)
    return (np.sin((1 - w) * ang) * a + np.sin(w * ang) * b) / np.sin(ang)


# ----- scenes -------------------------------------------------------------------------------------

@dataclass
class CrowdScene:
    """Everything needed to render and score one clip: camera, the athlete, the other people."""

    scenario: str
    seed: int
    camera: Camera
    sample: Sample                       # the athlete (its motion may be longer than the test: padding, walk-out)
    people: list[Person] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    keyframe: int = 0                    # the frame that shows the scenario best (contact sheet)

    @property
    def n_frames(self) -> int:
        return self.sample.motion.n_frames

    @property
    def fps(self) -> float:
        return self.sample.motion.fps


def _fit_camera(sample: Sample, view: str, size: tuple[int, int], extra_points: np.ndarray | None = None,
                fill: float = 0.85) -> Camera:
    """auto_camera over the athlete's movement plus `extra_points` [N, 3] (people who must be in frame)."""
    if extra_points is None:
        return auto_camera(sample, view, width=size[0], height=size[1], fill=fill)
    pts = np.concatenate([sample.motion.joints.reshape(-1, 3), extra_points.reshape(-1, 3)])
    probe = replace(sample, motion=rig.Motion(pts[None], np.zeros((1, 3)), sample.motion.fps, sample.motion.props))
    return auto_camera(probe, view, width=size[0], height=size[1], fill=fill)


def _camera_axes(camera: Camera) -> tuple[np.ndarray, np.ndarray]:
    """Horizontal unit vectors: the camera's right and its viewing direction."""
    fwd = np.asarray(camera.target, float) - np.asarray(camera.position, float)
    fwd = rig.unit(fwd * np.array([1.0, 0.0, 1.0]))
    return np.cross(fwd, rig.Y), fwd


def _sample_for(test: str, seed: int, athlete: Athlete | None = None, fps: float = 30.0) -> Sample:
    side = "L" if test in BILATERAL else "NA"
    return make_sample(test, seed=seed, side=side, athlete=athlete, fps=fps)


def build_scene(scenario: str, test: str = "deep_squat", seed: int = 0, view: str = "front",
                size: tuple[int, int] = (640, 480), fps: float = 30.0) -> CrowdScene:
    """The people, movements and camera of one scenario. Same arguments -> the same scene."""
    if scenario not in SCENARIOS:
        raise InputError(f"unknown crowd scenario {scenario!r}; use one of: {', '.join(SCENARIOS)}")
    if view not in VIEWS:
        raise InputError(f"view must be one of {', '.join(VIEWS)}; got {view!r}")
    rng = np.random.default_rng(np.random.SeedSequence([seed, SCENARIOS.index(scenario), 7]))
    sample = _sample_for(test, seed, fps=fps)
    T = sample.motion.n_frames
    hip = 0.5 * (sample.motion.joints[:, JOINT_INDEX["left_hip"]] + sample.motion.joints[:, JOINT_INDEX["right_hip"]])
    sign = 1.0 if rng.random() < 0.5 else -1.0

    if scenario in ("crossing_front", "crossing_behind"):
        camera = _fit_camera(sample, view, size)
        right, fwd = _camera_axes(camera)
        cam_xz = np.asarray(camera.position, float) * np.array([1.0, 0.0, 1.0])
        at = T // 2
        to_athlete = hip[at] * np.array([1.0, 0.0, 1.0]) - cam_xz
        dist = float(np.linalg.norm(to_athlete))
        depth = (max(0.6, FRONT_PASSER_DEPTH_SHARE * dist) if scenario == "crossing_front"
                 else dist + BEHIND_PASSER_EXTRA_M)
        through = cam_xz + rig.unit(to_athlete) * depth
        passer = make_bystander(rng, index=1, avoid=sample.athlete)
        walk = walk_motion(passer, (through[0], through[2]), tuple(sign * right[[0, 2]]), T, fps,
                           float(rng.uniform(*WALK_SPEED_MPS)), at_frame=at, gait_phase=float(rng.random()),
                           carry_ball_radius_m=GYM_BALL_RADIUS_M if scenario == "crossing_front" else 0.0)
        key = at
        if walk.props:    # the ball leads the passer: show the frame where it is over the athlete's hips
            ball_u = camera.project(walk.props[0].ends[:, 0])[0][:, 0]
            key = int(np.argmin(np.abs(ball_u - camera.project(hip)[0][:, 0])))
        return CrowdScene(scenario, seed, camera, sample, [Person(passer, walk)], ["passer"], keyframe=key)

    if scenario == "two_athletes":
        other_body = make_athlete(rng, index=2, sex=sample.athlete.sex,
                                  height_m=float(np.clip(sample.athlete.height_m + rng.uniform(-0.04, 0.04), 1.3, 2.1)))
        other = _sample_for(test, seed + 100_003, athlete=other_body, fps=fps)
        n = max(T, other.motion.n_frames)
        gap = 0.5 * max(1.5, 2 * sample.athlete.shoulder_half_width_m + 1.0)
        me = shifted(padded(sample.motion, n), (sign * gap, 0.0, 0.0))
        them = shifted(padded(other.motion, n), (-sign * gap, 0.0, 0.0))
        sample = replace(sample, motion=me)
        camera = _fit_camera(sample, view, size, them.joints)
        key = int(sample.motion.events.get("bottom", n // 2))
        return CrowdScene(scenario, seed, camera, sample, [Person(other.athlete, them)], ["second_athlete"],
                          keyframe=min(key + 5, n - 1))

    if scenario == "athlete_leaves":
        camera = _fit_camera(sample, view, size)
        right, _ = _camera_axes(camera)
        n_walk = int(round(3.0 * fps))      # about 1.5 s to leave the picture, then an empty room
        motion = leave_motion(sample, tuple(sign * right[[0, 2]]), n_walk, float(rng.uniform(*WALK_SPEED_MPS)))
        sample = replace(sample, motion=motion)
        return CrowdScene(scenario, seed, camera, sample, [], [], keyframe=motion.events["walk_out"] + int(0.5 * fps))

    # bystander: near the edge of the picture, a little behind the athlete's line, facing the camera-ish
    camera0 = _fit_camera(sample, view, size)
    right, fwd = _camera_axes(camera0)
    body = make_bystander(rng, index=3, avoid=sample.athlete)
    spot = (hip[0] * np.array([1.0, 0.0, 1.0]) + sign * right * float(rng.uniform(1.5, 1.8))
            + fwd * float(rng.uniform(0.2, 0.6)))
    facing = rig.unit(-fwd - 0.5 * sign * right)
    idle = idle_motion(body, (spot[0], spot[2]), (facing[0], facing[2]), T, fps, rng)
    camera = _fit_camera(sample, view, size, idle.joints, fill=0.92)
    key = int(sample.motion.events.get("bottom", T // 2))
    return CrowdScene(scenario, seed, camera, sample, [Person(body, idle)], ["bystander"], keyframe=min(key + 5, T - 1))


# ----- truth ------------------------------------------------------------------------------------

def joint_box(uv: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Box [x0, y0, x1, y1] of the joints [23, 2] that fall inside the image, clipped to it; NaN if none."""
    w, h = size
    inside = (uv[:, 0] >= 0) & (uv[:, 0] < w) & (uv[:, 1] >= 0) & (uv[:, 1] < h)
    if not inside.any():
        return np.full(4, np.nan, np.float32)
    x0, y0 = uv[:, 0].min(), uv[:, 1].min()
    x1, y1 = uv[:, 0].max(), uv[:, 1].max()
    return np.array([max(x0, 0.0), max(y0, 0.0), min(x1, w - 1.0), min(y1, h - 1.0)], np.float32)


def _mask_box(mask: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return np.full(4, np.nan, np.float32)
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float32)


def joint_visibility(joints: np.ndarray, uv: np.ndarray, others_depth: np.ndarray, camera: Camera) -> np.ndarray:
    """Per joint [23] bool: inside the image and nearer the camera than any other person's surface there."""
    w, h = camera.width, camera.height
    ok = ~np.isnan(uv).any(axis=1)
    u = np.where(ok, np.floor(np.nan_to_num(uv[:, 0], nan=-1)), -1).astype(int)
    v = np.where(ok, np.floor(np.nan_to_num(uv[:, 1], nan=-1)), -1).astype(int)
    inside = ok & (u >= 0) & (u < w) & (v >= 0) & (v < h)
    dist = np.linalg.norm(joints - np.asarray(camera.position), axis=1)
    front = np.zeros(len(joints), bool)
    front[inside] = dist[inside] <= others_depth[v[inside], u[inside]]
    return inside & front


def render_scene(scene: CrowdScene, frames: list[int] | None = None):
    """Yield (index, RGB frame, per-frame truth dict) for `frames` (default all)."""
    cam, size = scene.camera, (scene.camera.width, scene.camera.height)
    renderer = Renderer(cam, scene.sample.athlete, scene.sample.motion, extra_people=scene.people)
    athlete_uv, _ = cam.project(scene.sample.motion.joints)
    others_uv = [cam.project(p.motion.joints)[0] for p in scene.people]
    for i in (range(scene.n_frames) if frames is None else frames):
        out = renderer.render(i)
        vis = joint_visibility(scene.sample.motion.joints[i], athlete_uv[i], out.others_depth, cam)
        yield i, out.rgb, {
            "athlete_joint_visible": vis,
            "athlete_box_xyxy": joint_box(athlete_uv[i], size),
            "athlete_mask_box_xyxy": _mask_box(out.owner == 0),
            "athlete_pixels": int((out.owner == 0).sum()),
            "others_box_xyxy": [joint_box(uv[i], size) for uv in others_uv],
            "others_mask_box_xyxy": [_mask_box(out.owner == k) for k in range(1, len(scene.people) + 1)],
            "others_pixels": [int((out.owner == k).sum()) for k in range(1, len(scene.people) + 1)],
        }


def make_crowd_clip(out_dir: str | Path, scenario: str, test: str = "deep_squat", seed: int = 0,
                    view: str = "front", size: tuple[int, int] = (640, 480), fps: float = 30.0,
                    crf: int = 20) -> dict:
    """Render one scenario to out_dir/clip.mp4 with out_dir/truth.npz and out_dir/truth_skeleton.npz.

    Deterministic for (scenario, test, seed, view, size, fps). Returns a JSON-friendly summary.
    """
    from tools.video.clip import write_video
    scene = build_scene(scenario, test, seed, view, tuple(size), fps)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    T, P = scene.n_frames, len(scene.people)
    rows: list[dict] = []

    def frames():
        for _, rgb, row in render_scene(scene):
            rows.append(row)
            yield rgb

    started = time.perf_counter()
    write_video(out / "clip.mp4", frames(), fps=fps, crf=crf)
    seconds = time.perf_counter() - started
    cam = scene.camera
    athlete_uv = cam.project(scene.sample.motion.joints)[0].astype(np.float32)
    others_uv = (np.stack([cam.project(p.motion.joints)[0] for p in scene.people]).astype(np.float32)
                 if P else np.zeros((0, T, len(JOINTS), 2), np.float32))
    visible = np.stack([r["athlete_joint_visible"] for r in rows])
    stack = lambda key: np.stack([r[key] for r in rows]).astype(np.float32)  # noqa: E731
    def per_other(key: str) -> np.ndarray:
        if not P:
            return np.zeros((0, T, 4), np.float32)
        return np.stack([np.stack([r[key][k] for r in rows]) for k in range(P)]).astype(np.float32)
    truth = {
        "athlete_uv": athlete_uv, "athlete_box_xyxy": stack("athlete_box_xyxy"),
        "athlete_mask_box_xyxy": stack("athlete_mask_box_xyxy"), "athlete_joint_visible": visible,
        "athlete_visible_share": visible.mean(axis=1).astype(np.float32),
        "athlete_pixels": np.array([r["athlete_pixels"] for r in rows], np.int32),
        "others_uv": others_uv, "others_box_xyxy": per_other("others_box_xyxy"),
        "others_mask_box_xyxy": per_other("others_mask_box_xyxy"),
        "others_pixels": (np.array([[r["others_pixels"][k] for r in rows] for k in range(P)], np.int32)
                          if P else np.zeros((0, T), np.int32)),
        "others_role": np.array(scene.roles, dtype=str), "fps": np.float64(fps),
        "image_size": np.array([cam.width, cam.height], np.int32), "joints": np.array(JOINTS),
        "scenario": np.array(scenario), "test_name": np.array(test), "seed": np.int64(seed),
        "camera": np.array(json.dumps(cam.to_dict())),
    }
    np.savez_compressed(out / "truth.npz", **truth)
    skel = truth_skeleton(scene.sample, cam)
    skel.meta.update(crowd_scenario=scenario, others=[{"role": r, "athlete": p.athlete.to_dict()}
                                                      for r, p in zip(scene.roles, scene.people)])
    skel.save(out / "truth_skeleton.npz")
    share = truth["athlete_visible_share"]
    summary = {
        "scenario": scenario, "test": test, "seed": seed, "view": view, "size": [cam.width, cam.height],
        "n_frames": T, "fps": fps, "people": 1 + P, "roles": ["athlete"] + scene.roles,
        "keyframe": scene.keyframe, "render_seconds": round(seconds, 2),
        "frames_per_s": round(T / seconds, 1) if seconds > 0 else None,
        "athlete_visible_share_min": float(share.min()),
        "frames_athlete_out_of_frame": int(np.isnan(truth["athlete_box_xyxy"][:, 0]).sum()),
        "frames_athlete_half_hidden": int((share < 0.5).sum()),
        "files": {"video": str(out / "clip.mp4"), "truth": str(out / "truth.npz"),
                  "truth_skeleton": str(out / "truth_skeleton.npz")},
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    log.info("crowd %s seed %d: %d frames in %.1f s -> %s", scenario, seed, T, seconds, out)
    return summary


# ----- contact sheet ----------------------------------------------------------------------------

def contact_sheet(path: str | Path, seed: int = 0, view: str = "front", cell: tuple[int, int] = (320, 240)) -> Path:
    """One keyframe per scenario in a row, the athlete's truth box green, other people's red."""
    cells = []
    for scenario in SCENARIOS:
        scene = build_scene(scenario, seed=seed, view=view, size=cell)
        _, rgb, row = next(render_scene(scene, [scene.keyframe]))
        img = np.ascontiguousarray(rgb)
        boxes = [(row["athlete_box_xyxy"], (40, 200, 60))] + [(b, (220, 50, 50)) for b in row["others_box_xyxy"]]
        for box, colour in boxes:
            if not np.isnan(box).any():
                cv2.rectangle(img, (int(box[0]), int(box[1])), (int(box[2]), int(box[3])), colour, 1)
        share = row["athlete_joint_visible"].mean()
        captions = (scenario.replace("_", " "), f"frame {scene.keyframe}, athlete joints seen {share:.0%}")
        for y, text in zip((16, 32), captions):
            cv2.putText(img, text, (6, y), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (255, 255, 255), 3, cv2.LINE_AA)
            cv2.putText(img, text, (6, y), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (20, 20, 20), 1, cv2.LINE_AA)
        cells.append(img)
    sheet = np.concatenate(cells, axis=1)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="output folder for clip.mp4, truth.npz, truth_skeleton.npz")
    parser.add_argument("--scenario", choices=SCENARIOS)
    parser.add_argument("--test", default="deep_squat")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--view", default="front", choices=VIEWS)
    parser.add_argument("--size", default="640x480", help="WxH pixels (default 640x480)")
    parser.add_argument("--sheet", help="write a contact sheet PNG (one keyframe per scenario) here instead")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.sheet:
        print(contact_sheet(args.sheet, seed=args.seed, view=args.view))
        return 0
    if not (args.out and args.scenario):
        parser.error("give --out and --scenario (or --sheet PATH)")
    try:
        w, h = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        parser.error(f"--size must look like 640x480, got {args.size!r}")
    print(json.dumps(make_crowd_clip(args.out, args.scenario, args.test, args.seed, args.view, (w, h)), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
