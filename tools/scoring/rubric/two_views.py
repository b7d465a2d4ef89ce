"""Two clips of one repetition (say a front and a side view): each criterion judged from the view that measures it.

One camera view measures some criteria well and others badly (the error budget,
knowledge/error_budget.yaml: knee flexion is good from the side and poor from
the front; knee valgus the other way round). When the physio films the same
repetition from two views, the second clip is scored on its own first, then
the main clip's rule module runs with a `SecondView` on its View; every
criterion it judges goes through `choose()`:

- judged in one clip only (the other view's error budget is outside the
  criterion's margin, or its joints were not seen): that clip's result;
- judged in both and they agree: the result from the view with the smaller
  expected error (ties: the main clip);
- judged in both and they disagree: not judged ("the two clips disagree ..."),
  so the clip goes to a physio with both values: two views that each measure
  well enough cannot both be right;
- judged in neither: unjudged, with both reasons.

Every result says where it came from (`view_source`, and `view_note` when the
choice needs explaining), so the verdict lists which criteria each view decided.
The test's own scoring rule then runs on the chosen results unchanged.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

from tools.scoring.rubric.confidence import ClipView, expected_sd
from tools.scoring.rubric.result import CriterionResult

MAIN_LABEL = "this clip"


@dataclass
class SecondView:
    """The other clip's judged criteria (by id) and where both cameras stood."""

    label: str                                   # how the verdict names the other clip ("side clip")
    criteria: dict[str, CriterionResult]
    main_camera: ClipView
    other_camera: ClipView
    main_view: str                               # front / side / oblique / back of each clip
    other_view: str
    used: dict[str, str] = field(default_factory=dict)   # criterion id -> the label of the clip that decided it
    lag_s: float = 0.0                           # the other clip's moment t shows the main clip's t + lag_s
    main_fps: float = 30.0
    other_fps: float = 30.0
    main_frames: int = 0                         # the main clip's frame count (frames are kept inside it)

    def main_frame(self, other_frame: int | None) -> int | None:
        """The main clip's frame showing the moment of the other clip's `other_frame` (tools.geometry.sync)."""
        if other_frame is None:
            return None
        frame = int(round((other_frame / self.other_fps + self.lag_s) * self.main_fps))
        return min(max(frame, 0), max(self.main_frames - 1, 0))


def _sd(c: CriterionResult, spec: dict, camera: ClipView) -> float | None:
    return expected_sd(c.measure, spec, camera)[0]


def _value(c: CriterionResult) -> str:
    return "not judged" if c.value is None else f"{c.value:.3g} {c.unit}"


def choose(main: CriterionResult, spec: dict, second: SecondView) -> CriterionResult:
    """The result that stands for this criterion over both clips (module docstring)."""
    other = second.criteria.get(main.id)
    main_label = f"{MAIN_LABEL} ({second.main_view})"
    other_label = f"{second.label} ({second.other_view})"
    if other is None or other.measure != main.measure:
        # e.g. the other clip was read on the other side: nothing to compare with
        main.view_source = main_label
        second.used[main.id] = main_label
        return main
    if main.passed is None and other.passed is None:
        main.view_source = "neither clip"
        main.reason = f"{main.reason}; {second.label}: {other.reason}" if other.reason else main.reason
        second.used[main.id] = "neither clip"
        return main
    if other.passed is None:
        main.view_source = main_label
        main.view_note = f"the {second.label} could not judge it ({other.reason})"
        second.used[main.id] = main_label
        return main
    if main.passed is None:
        chosen = _taken(other, second)
        chosen.view_source = other_label
        chosen.view_note = f"{MAIN_LABEL} could not judge it ({main.reason}){chosen.view_note}"
        second.used[main.id] = other_label
        return chosen
    sd_main, sd_other = _sd(main, spec, second.main_camera), _sd(other, spec, second.other_camera)
    if main.passed != other.passed:
        both = (f"{MAIN_LABEL} measures {_value(main)} ({'pass' if main.passed else 'fail'}), the {second.label} "
                f"{_value(other)} ({'pass' if other.passed else 'fail'}) against {main.threshold:.3g} {main.unit}")
        main.passed, main.margin, main.margin_scaled = None, None, None
        main.reason = f"the two clips disagree: {both}; a physio checks it"
        main.view_source = "both clips (disagree)"
        second.used[main.id] = main.view_source
        return main
    other_better = sd_other is not None and (sd_main is None or sd_other < sd_main)
    chosen = _taken(other, second) if other_better else main
    label = other_label if other_better else main_label
    chosen.view_source = label
    chosen.view_note = (f"both clips judged it the same ({_value(main)} here, {_value(other)} on the {second.label}); "
                        f"the {label} measures it with the smaller expected error"
                        + (f" ({min(sd_main or 0, sd_other or 0):.2g} vs {max(sd_main or 0, sd_other or 0):.2g} "
                           f"{main.unit})" if sd_main is not None and sd_other is not None else "")
                        + (chosen.view_note if other_better else ""))
    second.used[main.id] = label
    return chosen


def _taken(other: CriterionResult, second: SecondView) -> CriterionResult:
    """The other clip's result as this clip's: its deciding frame moved onto this clip's timeline (the overlay
    and the trace point at this clip's frames), the other clip's own frame kept in the note."""
    chosen = copy.copy(other)
    chosen.deciding_frame = second.main_frame(other.deciding_frame)
    chosen.view_note = "" if other.deciding_frame is None else \
        f"; read on the {second.label}'s frame {other.deciding_frame}, this clip's frame {chosen.deciding_frame}"
    return chosen


def fused_view(view, second: SecondView):
    """The main clip's View, carrying the second clip for judge_all (tools.scoring.rubric.common)."""
    from tools.scoring.rubric.views import View
    fused = View(str(view), getattr(view, "azimuth_deg", None), getattr(view, "camera_height_m", None),
                 getattr(view, "from_video", False))
    fused.second = second
    return fused
