"""The deterministic FMS rubric: every score names the criterion that decided it.

`score_test(skel, test, ...)` measures the clip (tools.geometry.angles), judges each
criterion of that test against knowledge/criteria.yaml, and returns a
RubricResult: score 0-3 (or None), confidence from criterion margins, the
deciding criterion and frame, and `review: true` with reasons when the rules
cannot stand behind the score (low margin, wrong view, joints not seen, the
clip does not look like the test asked for, a needed input missing).

Pain reported by the athlete, during the test or during the clearing test that
follows it (shoulder clearing after shoulder mobility, spinal extension after
the push-up, spinal flexion after rotary stability), always gives 0; the tool
never infers pain from video. Bilateral tests take a side; without one, the
side is inferred from the motion and `side_inferred` says so.

Rules per test live in one module each (deep_squat.py, hurdle_step.py, ...);
rotary stability applies the original (pre-2023) version and says so in
`test_version`.
"""
from __future__ import annotations

import importlib
import logging

from tools.scoring.criteria import load_criteria
from tools.core.errors import InputError
from tools.core.fms import CLEARING_TESTS, check_sex, check_test_and_side
from tools.scoring.rubric.common import Context, TestJudgement
from tools.scoring.rubric.result import CriterionResult, RubricResult
from tools.scoring.rubric.two_views import SecondView, fused_view
from tools.scoring.rubric.views import estimate_view
from tools.core.skeleton import Skeleton

log = logging.getLogger(__name__)

RUBRIC_VERSION = "formscout-rubric-2"


def from_monocular_video(skel: Skeleton) -> bool:
    """True for skeletons lifted from one camera's video by a pose backend (meta written by tools.geometry.lift3d)."""
    return "pose" in skel.meta or skel.meta.get("backend") in ("mediapipe", "yolo")


def check_hand_length(hand_length_m: float | None) -> float | None:
    if hand_length_m is None:
        return None
    try:
        value = float(hand_length_m)
    except (TypeError, ValueError) as exc:
        raise InputError(f"hand length must be a number of metres (got {hand_length_m!r})") from exc
    if value <= 0:
        return None
    if not 0.10 <= value <= 0.30:
        raise InputError(f"hand length {value} m is outside 0.10-0.30 m: give it in metres "
                         "(wrist crease to middle fingertip, e.g. 0.19)")
    return value


def _criterion_z(c: CriterionResult) -> float | None:
    """How many expected-error sd the criterion's outcome is clear by (margin_sd; without an error model,
    margin_scaled x SCALE_IN_SD, the old convention scale = 3.5 noise sd)."""
    from tools.scoring.rubric.confidence import SCALE_IN_SD
    if c.margin_sd is not None:
        return abs(float(c.margin_sd))
    if c.margin_scaled is not None:
        return abs(float(c.margin_scaled)) * SCALE_IN_SD
    return None


def _pivotal_confidence(j: TestJudgement) -> tuple[float, CriterionResult | None]:
    """Confidence from the margins of the criteria the score hangs on (tools/scoring/rubric/confidence.py).

    Each judged criterion's outcome is right with probability Phi(|margin| / error sd).
    A criterion is pivotal when flipping its outcome alone changes the score; the
    weakest pivotal criterion sets the confidence (0.5 at the threshold, 0.84 one
    error sd away, 0.98 at two). When no single flip changes the score (several
    clear failures), the clearest failure stands for it.
    """
    from tools.scoring.rubric.confidence import phi
    judged = [c for c in j.criteria if c.passed is not None and _criterion_z(c) is not None]
    if j.score is None or not judged:
        return 0.0, None
    base = {c.id: c.passed for c in j.criteria}
    pivotal = []
    for c in judged:
        flipped = dict(base)
        flipped[c.id] = not c.passed
        if j.score_fn(flipped) != j.score:
            pivotal.append(c)
    if pivotal:
        weakest = min(pivotal, key=_criterion_z)
        return phi(_criterion_z(weakest)), weakest
    failed = [c for c in judged if not c.passed]
    if failed:
        clearest = max(failed, key=_criterion_z)
        return phi(_criterion_z(clearest)), clearest
    return 1.0, None


def _judge(test: str, skel: Skeleton, criteria: dict, view: str, ctx: Context) -> TestJudgement:
    module = importlib.import_module(f"tools.scoring.rubric.{test}")
    return module.judge(skel, criteria, view, ctx)


def judge_clip(skel: Skeleton, test: str, side: str | None = None, *, heels_raised: bool | None = None,
               sex: str | None = None, hand_length_m: float | None = None, criteria: dict | None = None,
               criteria_file: str | None = None) -> TestJudgement:
    """The rule module's raw judgement (criteria with values, score, scoring rule), without the
    engine's pain/recognition/confidence layer; threshold fitting (tools.study.fit_criteria) re-uses it."""
    side = check_test_and_side(test, side)
    criteria = criteria if criteria is not None else load_criteria(criteria_file)
    view, _ = estimate_view(skel)
    ctx = Context(side=side, heels_raised=heels_raised, sex=check_sex(sex), hand_length_m=check_hand_length(hand_length_m))
    return _judge(test, skel, criteria, view, ctx)


def score_test(skel: Skeleton, test: str, side: str | None = None, *, pain: bool = False,
               heels_raised: bool | None = None, criteria: dict | None = None,
               criteria_file: str | None = None, sex: str | None = None,
               hand_length_m: float | None = None, clearing_pain: bool = False,
               recognize: bool = True, second_view: Skeleton | None = None,
               second_view_label: str = "side clip", second_view_lag_s: float = 0.0) -> RubricResult:
    """Score one clip of one FMS test with the deterministic rubric.

    side: "L"/"R" for bilateral tests (None = infer from the motion), None/"NA" otherwise.
    pain / clearing_pain: reported by the athlete; either gives 0 (clearing_pain only for
      the tests that have a clearing test).
    sex: "M"/"F", sets the push-up hand levels (missing -> physio review).
    hand_length_m: measured hand length for shoulder mobility (missing -> estimated).
    recognize: check that the clip looks like `test` (a mismatch sends it to review).
    second_view: another clip of the same repetition from another camera (say the side); each
      criterion is then judged from the view that measures it (tools/scoring/rubric/two_views.py)
      and the result's `views` says which clip decided which criterion. `second_view_lag_s`
      (tools.geometry.sync.align_clips) puts the second clip's deciding frames on this clip's timeline.
    """
    side = check_test_and_side(test, side)
    sex = check_sex(sex)
    hand_length_m = check_hand_length(hand_length_m)
    if clearing_pain and test not in CLEARING_TESTS:
        raise InputError(f"{test} has no clearing test; clearing pain belongs to "
                         + ", ".join(f"{t} ({c})" for t, c in CLEARING_TESTS.items()))
    criteria = criteria if criteria is not None else load_criteria(criteria_file)
    view, _ = estimate_view(skel)
    ctx = Context(side=side, heels_raised=heels_raised, sex=sex, hand_length_m=hand_length_m)
    recognition, mismatch = None, None
    if recognize:
        from tools.scoring.rubric.recognize import asked_test_check, mismatch_reason, recognize_test
        recognition = recognize_test(skel)
        recognition.update(asked_test_check(test, recognition))
        mismatch = mismatch_reason(test, recognition)
    from tools.scoring.rubric.confidence import annotate, clip_view
    camera = clip_view(skel, from_monocular_video(skel))
    second, second_refused = None, ""
    try:
        j = _judge(test, skel, criteria, view, ctx)
    except InputError as exc:
        if mismatch:   # e.g. no stepping leg to infer the side from: the clip is another test
            raise InputError(f"{mismatch}; {exc}") from exc
        raise
    if second_view is not None:
        try:
            second = _second_view(second_view, second_view_label, float(second_view_lag_s or 0.0), test, criteria,
                                  skel, view, camera, ctx, j.side)
        except InputError as exc:     # the second clip cannot be read as this test: this clip is scored alone
            second_refused = f"the {second_view_label} was not used: {exc}"
        else:
            j = _judge(test, skel, criteria, fused_view(view, second), ctx)

    reasons = list(j.reasons)
    notes = list(j.notes) + ([second_refused] if second_refused else [])
    inputs = {"pain": bool(pain), **j.inputs, "test_version": j.test_version, "rubric_version": RUBRIC_VERSION}
    if test in CLEARING_TESTS:
        inputs["clearing_pain"] = bool(clearing_pain)
        inputs["clearing_test"] = CLEARING_TESTS[test]
    if mismatch:
        reasons.append(mismatch)
    if from_monocular_video(skel) and not criteria[test].get("video_validated", False):
        reasons.append(f"the rules for {test} are not yet validated on skeletons from monocular video "
                       "(pose errors on rendered clips exceed the thresholds' margins): a physio confirms the score")

    # results taken from the second clip carry that clip's own error (annotated when it was judged)
    annotate([c for c in j.criteria if second is None or not c.view_source.startswith(second.label)],
             criteria.get(test, {}), camera)
    confidence, weakest = _pivotal_confidence(j)
    decider_id = j.deciding or (weakest.id if weakest is not None else None)
    decider = next((c for c in j.criteria if c.id == decider_id), None)
    score = j.score
    review_cfg = criteria.get("review", {})
    min_conf = float(review_cfg.get("min_confidence", 0.65))
    if pain or clearing_pain:
        what = "pain reported during the test" if pain else f"pain reported in the {CLEARING_TESTS[test]}"
        notes.append(f"{what}: score 0 (the movement was still measured for the record)")
        score, confidence = 0, 1.0
        # pain decides the score; the movement's own review reasons no longer apply to it
        reasons = [r for r in reasons if r.startswith("asked for")]
    elif score is not None and confidence < min_conf and weakest is not None:
        clear_by = f", {weakest.margin_sd:+.1f} error sd" if weakest.margin_sd is not None else ""
        reasons.append(f"borderline: {weakest.id} is {weakest.value:.3g} {weakest.unit} against a threshold of "
                       f"{weakest.threshold:.3g} {weakest.unit}{clear_by} (confidence {confidence:.2f} < {min_conf:.2f})")
    if score is None:
        reasons.append("the rules could not reach a score")
    if second is not None:
        inputs["views"] = {"main": {"clip": "this clip", "view": str(view), "azimuth_deg": camera.azimuth_deg},
                           "second": {"clip": second.label, "view": second.other_view,
                                      "azimuth_deg": second.other_camera.azimuth_deg, "lag_s": second.lag_s},
                           "decided_by": dict(second.used)}
        notes.append(_views_note(second))
    return RubricResult(
        test=test, side=j.side, side_inferred=j.side_inferred, score=score, confidence=confidence,
        review=bool(reasons), reasons=reasons, criteria=j.criteria,
        deciding_criterion=decider.id if decider else None,
        deciding_frame=decider.deciding_frame if decider and decider.deciding_frame is not None else j.key_frame,
        view=view, inputs=inputs, notes=notes, rubric_version=RUBRIC_VERSION,
        test_version=j.test_version, key_frame=j.key_frame,
        recognition=recognition)


def _second_view(other: Skeleton, label: str, lag_s: float, test: str, criteria: dict, main: Skeleton, main_view,
                 main_camera, ctx: Context, side: str) -> SecondView:
    """The second clip judged on its own, on the side the main clip was read on, with its own camera's errors,
    and the timing that puts its frames on the main clip's timeline."""
    from tools.scoring.rubric.confidence import annotate, clip_view
    other_view, _ = estimate_view(other)
    other_ctx = Context(side=side if side in ("L", "R") else ctx.side, heels_raised=ctx.heels_raised,
                        sex=ctx.sex, hand_length_m=ctx.hand_length_m)
    jo = _judge(test, other, criteria, other_view, other_ctx)
    other_camera = clip_view(other, from_monocular_video(other))
    annotate(jo.criteria, criteria.get(test, {}), other_camera)
    return SecondView(label=label, criteria={c.id: c for c in jo.criteria}, main_camera=main_camera,
                      other_camera=other_camera, main_view=str(main_view), other_view=str(other_view),
                      lag_s=lag_s, main_fps=main.fps, other_fps=other.fps, main_frames=main.n_frames)


def _views_note(second: SecondView) -> str:
    """One line: which clip decided which criteria."""
    by: dict[str, list[str]] = {}
    for cid, where in second.used.items():
        by.setdefault(where, []).append(cid)
    return "two clips of one repetition: " + "; ".join(f"{where} decided {', '.join(ids)}" for where, ids in by.items())
