"""Machine-readable FMS criterion ids that synthetic labels use, and the label record.

One table, per test: criterion id -> what it means. The rubric engine and
docs/SYNTHETIC.md use the same ids. A sample's label is the FMS score its knobs
imply, with the ids of the criteria it fails. "pain" marks a score-0 sample
(pain is reported by the athlete, so the movement itself is unchanged).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

PAIN = "pain"

CRITERIA: dict[str, dict[str, str]] = {
    "deep_squat": {
        "thigh_below_horizontal": "thigh below horizontal at the bottom (hip joint centre lower than the knee)",
        "torso_parallel_tibia": "torso parallel to the tibia or more upright at the bottom",
        "knee_valgus": "knees track over the feet (fails when the knees collapse inward)",
        "dowel_over_feet": "dowel stays over the feet (fails when it drifts ahead of the toes)",
        "heels_stay_down": "heels stay on their support (floor or board)",
        "heel_board_needed": "the criteria are met only with the heels raised on a 2x6 board (caps the score at 2)",
    },
    "hurdle_step": {
        "sagittal_alignment": "hip, knee and ankle of the stepping leg stay in the sagittal plane",
        "lumbar_stability": "little or no lumbar/pelvic movement",
        "dowel_parallel": "dowel across the shoulders stays parallel to the hurdle",
        "hurdle_clearance": "the stepping foot clears the hurdle (fails on a touch: score 1)",
        "balance": "balance kept on the stance leg (fails on a loss of balance: score 1)",
    },
    "inline_lunge": {
        "dowel_contacts": "dowel keeps its three contacts (head, thoracic spine, sacrum)",
        "dowel_vertical": "dowel stays vertical",
        "torso_still": "no torso movement (rotation or sway)",
        "sagittal_alignment": "dowel and feet stay in the sagittal plane (front knee does not drift sideways)",
        "back_knee_touch": "the back knee touches the board behind the front heel",
        "balance": "balance kept, position reached (fails: score 1)",
    },
    "shoulder_mobility": {
        "fists_within_1_hand": "fists within one hand length (score 3)",
        "fists_within_1_5_hands": "fists within 1.5 hand lengths (score 2; failing both: score 1)",
    },
    "active_straight_leg_raise": {
        "ankle_past_mid_thigh": "raised ankle passes the mid-thigh-to-ASIS region of the down leg (score 3)",
        "ankle_past_knee": "raised ankle passes the knee joint line (score 2; failing both: score 1)",
        "down_leg_flat": "the down leg stays flat and neutral (fails when it lifts or rotates)",
    },
    "trunk_stability_pushup": {
        "hands_at_level_3": "push-up done with thumbs at the score-3 level (men forehead, women chin)",
        "hands_at_level_2": "push-up done with thumbs at the score-2 level (men chin, women collarbone)",
        "body_rises_as_unit": "chest and pelvis rise together (no lag in the lower back)",
        "body_lifts": "the body leaves the floor (the push-up is completed)",
    },
    "rotary_stability": {
        "unilateral_pattern": "same-side arm and leg repetition done correctly (score 3)",
        "diagonal_pattern": "diagonal (opposite arm and leg) repetition done correctly (score 2; failing: score 1)",
        "elbow_knee_touch": "elbow and knee meet under the body",
        "trunk_level": "the trunk stays level (no roll about its long axis)",
        "balance": "balance kept: the moving hand does not touch down",
    },
}

@dataclass(frozen=True)
class Label:
    """The score a sample's knobs imply and the criterion ids it fails (ids from CRITERIA)."""

    test_name: str
    side: str                     # "L", "R" or "NA"
    score: int                    # 0-3
    failed: tuple[str, ...] = ()
    pain: bool = False
    notes: tuple[str, ...] = field(default=())

    def compensation_notes(self) -> str:
        """Human-readable, for labels.csv: the failed criteria as ids with their meaning."""
        if not self.failed:
            return "none"
        table = CRITERIA[self.test_name]
        parts = [f"{cid} ({table.get(cid, 'pain reported')})" if cid != PAIN else "pain reported"
                 for cid in self.failed]
        return "; ".join(parts)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["failed"] = list(self.failed)
        d["notes"] = list(self.notes)
        return d
