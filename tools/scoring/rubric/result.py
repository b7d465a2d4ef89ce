"""Result types of the rubric engine: one CriterionResult per criterion, one RubricResult per clip."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field


@dataclass
class CriterionResult:
    """One criterion judged on one clip.

    `passed` is None when the criterion could not be judged (wrong view, joints
    not seen); `reason` then says why. `margin` is signed in the passing
    direction (positive = passes by that much, in `unit`); `margin_scaled` is
    margin / scale, so 1.0 means 'clearly passes', -1.0 'clearly fails'.
    """

    id: str
    description: str
    measure: str
    value: float | None
    unit: str
    threshold: float
    pass_if: str
    passed: bool | None
    margin: float | None
    margin_scaled: float | None
    deciding_frame: int | None
    view_needed: str
    reason: str = ""
    error_sd: float | None = None     # expected measurement error sd at this view, in `unit` (rubric/confidence.py)
    margin_sd: float | None = None    # margin / error_sd: how many error sd the outcome is clear by
    error_source: str = ""            # where error_sd comes from (error budget, noise model, ...)
    view_source: str = ""             # two clips of one repetition: which clip decided it (rubric/two_views.py)
    view_note: str = ""               # ... and why, where the choice needs explaining

    def to_dict(self) -> dict:
        d = asdict(self)
        for key in ("view_source", "view_note"):     # one-clip runs keep their record as it was
            if not d[key]:
                del d[key]
        for key in ("value", "margin", "margin_scaled", "error_sd", "margin_sd"):
            if d[key] is not None:
                d[key] = round(float(d[key]), 4)
        return d


@dataclass
class RubricResult:
    """The rule-based verdict for one clip of one test (one side)."""

    test: str
    side: str                     # "L", "R" or "NA"
    side_inferred: bool
    score: int | None             # 0-3, None when the rules cannot decide
    confidence: float             # 0-1, from criterion margins (pose quality is added by the decision policy)
    review: bool
    reasons: list[str]
    criteria: list[CriterionResult]
    deciding_criterion: str | None
    deciding_frame: int | None
    view: str                     # view estimated from the skeleton (front / side / oblique / unknown)
    inputs: dict = field(default_factory=dict)   # pain, heels_raised, sex, hand length... and whether inferred
    notes: list[str] = field(default_factory=list)
    rubric_version: str = "formscout-rubric-1"
    test_version: str = "FMS original criteria"   # FMS version of the test's rules (rotary stability: original, not 2023)
    key_frame: int | None = None     # the frame that shows the test best (bottom of the squat, top of the lift...)
    recognition: dict | None = None  # which test the clip looks like (tools.scoring.rubric.recognize)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["criteria"] = [c.to_dict() for c in self.criteria]
        d["confidence"] = round(float(self.confidence), 3)
        return d


def judge(cid: str, spec: dict, value: float | None, frame: int | None, view: str,
          unjudged_reason: str = "") -> CriterionResult:
    """Compare a measured value with its threshold from criteria.yaml."""
    needed = spec.get("view", "any")
    base = dict(id=cid, description=spec.get("description", cid), measure=spec["measure"],
                unit=spec["unit"], threshold=float(spec["threshold"]), pass_if=spec["pass_if"],
                view_needed=needed)
    if not view_can_judge(view, needed):
        return CriterionResult(**base, value=value, passed=None, margin=None, margin_scaled=None,
                               deciding_frame=frame,
                               reason=f"needs a {needed} view; this clip looks like a {view} view")
    if value is None or not math.isfinite(value):
        return CriterionResult(**base, value=None, passed=None, margin=None, margin_scaled=None,
                               deciding_frame=frame,
                               reason=unjudged_reason or "the joints it needs were not seen")
    sign = 1.0 if spec["pass_if"] == ">=" else -1.0
    margin = sign * (value - float(spec["threshold"]))
    return CriterionResult(**base, value=float(value), passed=bool(margin >= 0), margin=margin,
                           margin_scaled=margin / float(spec["scale"]), deciding_frame=frame)


def view_can_judge(view: str, needed: str) -> bool:
    """An oblique (about 45 degree) view judges both side and front criteria, with less certainty."""
    if needed == "any" or view == "unknown":
        return True
    return view == needed or view == "oblique"
