"""Floor contact and standing frames of a fitted body (world frame, y up, floor at y = 0).

`find_contacts(joints, fps)` says which joints rest on the floor in which
frames: a joint that can bear weight (heels and toes, knees, fists, elbows,
hips, shoulders, the back of the head) is in contact where its height above
the floor is within CONTACT_BAND_M of its resting height (CONTACT_HEIGHT_M:
how far that joint's centre sits above the surface it rests on) and it moves
slower than CONTACT_SPEED_M_S. The floor level used is the clip's own: the
5th percentile of the lowest joint's height over the frames, so a floor that
the current camera estimate puts a few centimetres off still finds the feet.

`standing_frames(joints)` marks the frames where the athlete stands tall: both
knees and hips straight within STRAIGHT_DEG and the ankles-to-shoulders line
within UPRIGHT_DEG of vertical. With the 2D keypoints (`uv`, `w`), straight
legs are read from the image instead, where depth cannot bend them: the
ankles-to-shoulders distance in pixels is within TALL_SHARE of its clip-wide
95th percentile (the athlete at full height; a fitted body whose too-long
thigh folds out of the image plane would never pass the 3D test, so the
frames that should straighten it were never found), with the 3D line still
within UPRIGHT_DEG of vertical (which keeps lying and kneeling tests out).
"""
from __future__ import annotations

import numpy as np

from tools.core.skeleton import JOINT_INDEX as JI, JOINTS

# Height of each weight-bearing joint's centre above the floor when it rests on it (metres):
# heel and toe keypoints lie on the sole; a kneeling knee's joint centre ~5 cm up; a fist ~3 cm;
# lying: hip joint centres ~9 cm (half the pelvis depth), shoulder joints ~7 cm, ears ~8 cm.
CONTACT_HEIGHT_M: dict[str, float] = {
    "heel": 0.01, "toe": 0.01, "knee": 0.05, "hand": 0.03, "elbow": 0.04, "hip": 0.09, "shoulder": 0.07, "ear": 0.08,
}
CONTACT_BAND_M = 0.04
CONTACT_SPEED_M_S = 0.3
TOE_BAND_M = 0.05            # a toe this close to the floor (and slow) is planted
HEEL_BAND_M = 0.025          # a planted foot's heel this close to the floor is down too
FOOT_SPEED_M_S = 0.5
STRAIGHT_DEG = 15.0
TALL_SHARE = 0.95
UPRIGHT_DEG = 20.0
# Every joint stays at least this far above the floor (its centre cannot sink into it): 0 for the
# sole points, 2 cm for the rest.
CONTACT_CLEARANCE_M = np.array([0.0 if j.endswith(("heel", "toe")) else 0.02 for j in JOINTS])


def _kind(joint: str) -> str | None:
    tail = joint.split("_")[-1]
    return tail if tail in CONTACT_HEIGHT_M else None


def _smoothed(joints: np.ndarray, half: int = 2) -> np.ndarray:
    """Moving average over +-half frames (NaN-aware), for heights and speeds of a noisy body."""
    T = joints.shape[0]
    if T < 2 * half + 1:
        return joints
    out = np.empty_like(joints)
    for t in range(T):
        lo, hi = max(0, t - half), min(T, t + half + 1)
        with np.errstate(invalid="ignore"):
            out[t] = np.nanmean(joints[lo:hi], axis=0) if np.isfinite(joints[lo:hi]).any() else np.nan
    return out


def find_contacts(joints: np.ndarray, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """(mask bool [T, J], contact height [T, J] metres) of the joints resting on the floor.

    On the body smoothed over +-2 frames: a toe is planted within TOE_BAND_M of the floor and slower
    than FOOT_SPEED_M_S; its heel is down too when it is within HEEL_BAND_M (a heel rising off the floor is
    then left free, so heel rise stays measurable); other weight-bearing joints within CONTACT_BAND_M of
    their resting height and slower than CONTACT_SPEED_M_S.
    """
    T, J = joints.shape[:2]
    mask = np.zeros((T, J), bool)
    heights = np.zeros((T, J))
    if T == 0 or not np.isfinite(joints[..., 1]).any():
        return mask, heights
    smooth = _smoothed(joints)
    y = smooth[..., 1]
    sole = np.fmin(y[:, [JI["left_heel"], JI["right_heel"]]], y[:, [JI["left_toe"], JI["right_toe"]]]).min(axis=1)
    everything = np.nanmin(np.where(np.isfinite(y), y, np.inf), axis=1)
    low = np.where(np.isfinite(sole), sole, everything)
    low = low[np.isfinite(low)]
    floor = float(np.percentile(low, 10)) if low.size else 0.0
    speed = np.zeros((T, J))
    if T > 1:
        step = np.linalg.norm(np.diff(smooth, axis=0), axis=-1) * fps
        speed[1:] = step
        speed[:-1] = np.fmax(speed[:-1], step)
    for j, name in enumerate(JOINTS):
        kind = _kind(name)
        if kind is None or kind in ("heel", "toe"):
            continue
        rest = CONTACT_HEIGHT_M[kind]
        mask[:, j] = (np.abs(y[:, j] - floor - rest) <= CONTACT_BAND_M) & (speed[:, j] <= CONTACT_SPEED_M_S)
        heights[:, j] = rest
    for side in ("left", "right"):
        toe, heel = JI[f"{side}_toe"], JI[f"{side}_heel"]
        planted = (y[:, toe] - floor - CONTACT_HEIGHT_M["toe"] <= TOE_BAND_M) & (speed[:, toe] <= FOOT_SPEED_M_S)
        mask[:, toe] = planted
        mask[:, heel] = planted & (y[:, heel] - floor - CONTACT_HEIGHT_M["heel"] <= HEEL_BAND_M)
        heights[:, toe], heights[:, heel] = CONTACT_HEIGHT_M["toe"], CONTACT_HEIGHT_M["heel"]
    return mask, heights


def _angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = np.sum(a * b, -1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))
    return np.degrees(np.arccos(np.clip(cos, -1, 1)))


def standing_frames(joints: np.ndarray, uv: np.ndarray | None = None, w: np.ndarray | None = None) -> np.ndarray:
    """bool [T]: the athlete stands tall (module docstring); uv [T, 23, 2] px and w [T, 23] the keypoints."""
    p = lambda n: joints[:, JI[n]]  # noqa: E731
    ok = np.ones(joints.shape[0], bool)
    if uv is not None and w is not None:
        need = [JI[n] for n in ("left_ankle", "right_ankle", "left_shoulder", "right_shoulder")]
        seen = (w[:, need] > 0).all(1)
        span = np.linalg.norm((uv[:, need[2]] + uv[:, need[3]]) / 2 - (uv[:, need[0]] + uv[:, need[1]]) / 2, axis=-1)
        if seen.sum() < 3:
            return np.zeros(joints.shape[0], bool)
        ok &= seen & (span >= TALL_SHARE * np.percentile(span[seen], 95))
        axis = (p("left_shoulder") + p("right_shoulder")) / 2 - (p("left_ankle") + p("right_ankle")) / 2
        ok &= _angle_deg(axis, np.broadcast_to([0.0, 1.0, 0.0], axis.shape)) < UPRIGHT_DEG
        return ok & np.isfinite(axis).all(-1)
    for s in ("left", "right"):
        knee = 180 - _angle_deg(p(f"{s}_hip") - p(f"{s}_knee"), p(f"{s}_ankle") - p(f"{s}_knee"))
        hip = 180 - _angle_deg(p(f"{s}_shoulder") - p(f"{s}_hip"), p(f"{s}_knee") - p(f"{s}_hip"))
        ok &= (knee < STRAIGHT_DEG) & (hip < STRAIGHT_DEG)
    axis = (p("left_shoulder") + p("right_shoulder")) / 2 - (p("left_ankle") + p("right_ankle")) / 2
    ok &= _angle_deg(axis, np.broadcast_to([0.0, 1.0, 0.0], axis.shape)) < UPRIGHT_DEG
    return ok & np.isfinite(axis).all(-1)
