"""Which of the seven FMS tests a clip shows, by rules on the skeleton (no learning).

Each test gets a score in [0, 1]: the product of soft conditions on posture
and motion features (a soft ramp between two values per condition), e.g. the
in-line lunge is "upright" x "feet split along the line at the start" x "one
knee drops near the floor". The best-scoring test is the recognised one; a
clip filed under another test whose own score is low gets a review reason
("asked for hurdle step, this looks like an in-line lunge").

Features (tools.geometry.angles measurements, medians over the clip unless said):
- trunk from vertical (upright < 35 deg, lying > 60 deg) and which way the
  chest faces (up = supine, down = prone or on all fours);
- knee flexion (on all fours ~90 deg, push-up plank ~0-20 deg);
- fists above the head (dowel overhead), foot lift, split stance at the start,
  lowest knee height, fists close together behind the back.
"""
from __future__ import annotations

import warnings

import numpy as np

from tools.scoring.rubric.common import measured, robust_extreme, start_baseline
from tools.core.skeleton import Skeleton

TEST_LABELS = {
    "deep_squat": "a deep squat", "hurdle_step": "a hurdle step", "inline_lunge": "an in-line lunge",
    "shoulder_mobility": "a shoulder mobility reach", "active_straight_leg_raise": "an active straight-leg raise",
    "trunk_stability_pushup": "a trunk stability push-up", "rotary_stability": "a rotary stability (quadruped) test",
}
TEST_NAMES = {
    "deep_squat": "deep squat", "hurdle_step": "hurdle step", "inline_lunge": "in-line lunge",
    "shoulder_mobility": "shoulder mobility", "active_straight_leg_raise": "active straight-leg raise",
    "trunk_stability_pushup": "trunk stability push-up", "rotary_stability": "rotary stability",
}
MATCH = 0.5        # a test scoring at least this is a plausible match
MISMATCH = 0.25    # the asked-for test scoring below this, with another >= MATCH, is a mismatch


def ramp(x: float | None, zero_at: float, one_at: float) -> float:
    """0 at `zero_at`, 1 at `one_at`, linear between (either direction); None -> 0."""
    if x is None or not np.isfinite(x):
        return 0.0
    t = (x - zero_at) / (one_at - zero_at)
    return float(np.clip(t, 0.0, 1.0))


def _median(v: np.ndarray) -> float | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(np.nanmedian(v)) if np.isfinite(v).any() else None


def features(skel: Skeleton) -> dict[str, float | None]:
    """The posture and motion numbers the recognition rules read (JSON-ready)."""
    m = measured(skel)
    fps = skel.fps
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # frames with neither knee seen give NaN
        knee_flex = np.nanmean(np.stack([m["left_knee_flexion_deg"].values, m["right_knee_flexion_deg"].values]), 0)
    flex_range = {s: (robust_extreme(m[f"{s}_knee_flexion_deg"].values, fps, "max")[0] or 0.0)
                  - (robust_extreme(m[f"{s}_knee_flexion_deg"].values, fps, "min")[0] or 0.0)
                  for s in ("left", "right")}
    lift = {s: robust_extreme(m[f"{s}_foot_lift_m"].values, fps, "max")[0] for s in ("left", "right")}
    lifts = sorted([v for v in lift.values() if v is not None])
    overhead = m["hands_above_head_m"].values
    gap, gap_frame = robust_extreme(m["fist_gap_m"].values, fps, "min")
    behind = None
    if gap_frame is not None:
        from tools.geometry.angles import _forward0, _mid
        fwd = _forward0(skel)
        rel = _mid(skel, "left_hand", "right_hand")[gap_frame] - _mid(skel, "left_shoulder", "right_shoulder")[gap_frame]
        behind = float(-np.dot(rel, fwd)) if np.isfinite(rel).all() and np.isfinite(fwd).all() else None
    split = start_baseline(np.abs(m["left_toe_ahead_m"].values), fps)
    knee_low = [robust_extreme(m[f"{s}_knee_height_m"].values, fps, "min")[0] for s in ("left", "right")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return {
            "trunk_from_vertical_deg": _median(m["trunk_inclination_deg"].values),
            "chest_facing_up_cos": _median(m["chest_facing_up_cos"].values),
            "knee_flexion_deg": _median(knee_flex),
            "knee_flexion_range_deg": min(flex_range.values()),
            "hands_overhead_share": float(np.mean(overhead[np.isfinite(overhead)] > 0)) if np.isfinite(overhead).any() else None,
            "highest_foot_lift_m": lifts[-1] if lifts else None,
            "other_foot_lift_m": lifts[0] if len(lifts) == 2 else None,
            "split_stance_m": split,
            "lowest_knee_height_m": min((k for k in knee_low if k is not None), default=None),
            "closest_fist_gap_m": gap,
            "fists_behind_shoulders_m": behind,
        }


def test_scores(f: dict) -> dict[str, float]:
    """Per test, the product of its soft conditions (see the module docstring)."""
    upright = ramp(f["trunk_from_vertical_deg"], 60.0, 35.0)
    lying = ramp(f["trunk_from_vertical_deg"], 50.0, 70.0)
    face_up = ramp(f["chest_facing_up_cos"], 0.3, 0.7)
    face_down = ramp(f["chest_facing_up_cos"], -0.3, -0.7)
    split = ramp(f["split_stance_m"], 0.25, 0.45)
    one_foot_up = ramp(f["highest_foot_lift_m"], 0.15, 0.30) * ramp(f["other_foot_lift_m"], 0.15, 0.08)
    legs_still = ramp(f["knee_flexion_range_deg"], 35.0, 20.0) * ramp(f["highest_foot_lift_m"], 0.12, 0.06)
    return {
        "deep_squat": upright * ramp(f["hands_overhead_share"], 0.3, 0.6) * ramp(f["knee_flexion_range_deg"], 40.0, 70.0)
        * (1 - split),
        "hurdle_step": upright * one_foot_up * (1 - split) * ramp(f["hands_overhead_share"], 0.5, 0.2),
        "inline_lunge": upright * split * ramp(f["lowest_knee_height_m"], 0.35, 0.20),
        "shoulder_mobility": upright * legs_still * (1 - split) * ramp(f["closest_fist_gap_m"], 0.75, 0.55)
        * ramp(f["fists_behind_shoulders_m"], 0.0, 0.06),
        "active_straight_leg_raise": lying * face_up * ramp(f["highest_foot_lift_m"], 0.15, 0.30),
        "trunk_stability_pushup": lying * face_down * ramp(f["knee_flexion_deg"], 45.0, 25.0),
        "rotary_stability": ramp(f["trunk_from_vertical_deg"], 40.0, 60.0) * face_down
        * ramp(f["knee_flexion_deg"], 45.0, 70.0),
    }


def _describe(test: str, f: dict) -> str:
    def fmt(key: str, unit: str, digits: int = 2) -> str:
        v = f.get(key)
        return "?" if v is None else f"{v:.{digits}f} {unit}".strip()
    posture = (f"trunk {fmt('trunk_from_vertical_deg', 'deg', 0)} from vertical, "
               f"chest facing {'up' if (f.get('chest_facing_up_cos') or 0) > 0.3 else 'down' if (f.get('chest_facing_up_cos') or 0) < -0.3 else 'forward'}")
    detail = {
        "deep_squat": f"fists overhead in {100 * (f.get('hands_overhead_share') or 0):.0f}% of frames, "
                      f"knees bend through {fmt('knee_flexion_range_deg', 'deg', 0)}",
        "hurdle_step": f"one foot lifts {fmt('highest_foot_lift_m', 'm')}, the other {fmt('other_foot_lift_m', 'm')}",
        "inline_lunge": f"feet split {fmt('split_stance_m', 'm')} along the line, a knee drops to "
                        f"{fmt('lowest_knee_height_m', 'm')} above the floor",
        "shoulder_mobility": f"fists come within {fmt('closest_fist_gap_m', 'm')} of each other behind the back",
        "active_straight_leg_raise": f"lying, one foot lifts {fmt('highest_foot_lift_m', 'm')}",
        "trunk_stability_pushup": f"lying face down, knees at {fmt('knee_flexion_deg', 'deg', 0)}",
        "rotary_stability": f"on all fours, knees at {fmt('knee_flexion_deg', 'deg', 0)}",
    }[test]
    return f"{posture}; {detail}"


def recognize_test(skel: Skeleton) -> dict:
    """{test, scores (per test, 0-1), reason, features}: which FMS test the clip looks like."""
    f = features(skel)
    scores = {t: round(v, 3) for t, v in test_scores(f).items()}
    best = max(scores, key=scores.get)
    if scores[best] < MATCH:
        return {"test": None, "scores": scores, "features": f,
                "reason": f"no test matches clearly (best: {best} {scores[best]:.2f}); {_describe(best, f)}"}
    return {"test": best, "scores": scores, "features": f,
            "reason": f"looks like {TEST_LABELS[best]}: {_describe(best, f)}"}


def asked_test_check(asked: str, recognition: dict) -> dict:
    """Whether the clip looks like the asked-for test: {asked, asked_score, looks_like, matches_asked}.

    `matches_asked` is False when the asked-for test scores below MISMATCH, whether another test
    matches (`looks_like` names it) or none does (`looks_like` None): the movement is not the test.
    """
    best = recognition.get("test")
    asked_score = float(recognition.get("scores", {}).get(asked, 0.0))
    return {"asked": asked, "asked_score": round(asked_score, 3), "looks_like": best,
            "matches_asked": best == asked or asked_score >= MISMATCH}


def mismatch_reason(asked: str, recognition: dict) -> str | None:
    """A review reason when the clip does not look like the test asked for (else None)."""
    best = recognition.get("test")
    if asked_test_check(asked, recognition)["matches_asked"]:
        return None
    if best is None:
        return (f"asked for {TEST_NAMES[asked]}, but the movement does not look like one "
                f"({_describe(asked, recognition['features'])}): check the test name and the clip")
    return (f"asked for {TEST_NAMES[asked]}, this looks like {TEST_LABELS[best]} "
            f"({_describe(best, recognition['features'])}): check the test name")
