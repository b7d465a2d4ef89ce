"""The FMS session scorecard from per-clip verdicts: L/R scores, composite, asymmetries, clearing tests.

Rules (knowledge/rubric/scoring.md):
- several clips of the same test and side: the best score counts (the FMS
  scores the best of up to three repetitions);
- bilateral tests: the lower of L and R counts toward the composite; a side
  with no scored clip leaves the test incomplete;
- the composite 0-21 is only `complete` when all seven tests have a counted
  score; otherwise it is reported as a partial sum with the missing tests;
- asymmetry: a bilateral test with both sides scored and L != R;
- pain during a test, or in the clearing test that follows it, scores it 0.
  Shoulder clearing is per side (it clears that side's shoulder mobility);
  spinal extension clears the push-up; spinal flexion clears rotary stability
  on both sides. Pain is an input, never inferred.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from tools.core.fms import BILATERAL, CLEARING_TESTS, TESTS

SIDE_SPECIFIC_CLEARING = {"shoulder_mobility"}


@dataclass
class ClipResult:
    """One manifest row after screening (or the error that stopped it)."""

    line: int
    clip: str
    test: str
    side: str                       # "L", "R", "NA", or "?" when the run failed before a side was known
    side_inferred: bool = False
    score: int | None = None        # the verdict's score (pain during the test already applied)
    confidence: float = 0.0
    review: bool = True
    reasons: list[str] = field(default_factory=list)
    pain: bool = False
    clearing_pain: bool = False
    deciding_criterion: str | None = None
    deciding_frame: int | None = None
    criteria: list[dict] = field(default_factory=list)
    run_dir: str | None = None
    angles_csv: str | None = None
    deciding_frame_png: str | None = None
    test_version: str | None = None
    error: str | None = None
    test_recognition: dict | None = None   # the verdict's test recognition (matches_asked False: not this test)
    trace_intact: bool | None = None       # the run's trace verified after the run (False: do not use)
    repetitions: list[dict] = field(default_factory=list)   # every repetition in the clip: status, score, frames

    def to_dict(self) -> dict:
        return asdict(self)


def _best(clips: list[ClipResult]) -> ClipResult | None:
    scored = [c for c in clips if c.score is not None]
    if not scored:
        return None
    return max(scored, key=lambda c: (c.score, c.confidence, not c.review))


def build_scorecard(results: list[ClipResult], athlete_id: str = "", sex: str | None = None) -> dict:
    """The session scorecard (JSON-ready); see the module docstring for the rules."""
    clearing_by_test = {t: [c for c in results if c.test == t and c.clearing_pain] for t in CLEARING_TESTS}
    adjusted: list[ClipResult] = []
    for c in results:
        notes = []
        cleared_pain = False
        if c.test in CLEARING_TESTS:
            if c.test in SIDE_SPECIFIC_CLEARING:
                cleared_pain = c.clearing_pain
            else:
                cleared_pain = bool(clearing_by_test[c.test])
        if cleared_pain and c.score is not None and c.score != 0:
            notes.append(f"pain in the {CLEARING_TESTS[c.test]}: scored 0 (was {c.score})")
            c = ClipResult(**{**c.to_dict(), "score": 0, "confidence": 1.0,
                              "reasons": list(c.reasons) + notes})
        adjusted.append(c)

    tests: dict[str, dict] = {}
    counted: dict[str, int | None] = {}
    asymmetries, missing, review = [], [], []
    for test in TESTS:
        clips = [c for c in adjusted if c.test == test]
        if test in BILATERAL:
            sides = {}
            for s in ("L", "R"):
                best = _best([c for c in clips if c.side == s])
                sides[s] = None if best is None else _summary(best)
            scores = [sides[s]["score"] if sides[s] else None for s in ("L", "R")]
            count = min(scores) if None not in scores else None
            asym = None not in scores and scores[0] != scores[1]
            if asym:
                asymmetries.append({"test": test, "L": scores[0], "R": scores[1], "difference": abs(scores[0] - scores[1])})
            missing_sides = [s for s, v in zip(("L", "R"), scores) if v is None]
            tests[test] = {"bilateral": True, "L": sides["L"], "R": sides["R"], "counted": count,
                           "asymmetry": asym, "missing_sides": missing_sides, "clips": len(clips)}
            flagged = any(sides[s] and sides[s]["review"] for s in ("L", "R"))
        else:
            best = _best(clips)
            count = None if best is None else best.score
            tests[test] = {"bilateral": False, "score": None if best is None else _summary(best), "counted": count,
                           "clips": len(clips)}
            flagged = bool(best and best.review)
        counted[test] = count
        if count is None:
            missing.append(test)
        if flagged:
            review.append(test)
        tests[test]["review"] = flagged
        tests[test]["errors"] = [{"line": c.line, "clip": c.clip, "error": c.error} for c in clips if c.error]

    complete = not missing
    total = sum(v for v in counted.values() if v is not None)
    clearing = []
    for test, name in CLEARING_TESTS.items():
        rows = [c for c in adjusted if c.test == test]
        clearing.append({"test": test, "clearing_test": name,
                         "pain": any(c.clearing_pain for c in rows) if rows else None,
                         "sides_with_pain": sorted({c.side for c in rows if c.clearing_pain}),
                         "recorded": bool(rows)})
    return {
        "athlete_id": athlete_id or None,
        "sex": sex,
        "tests": tests,
        "composite": {"score": total, "max": 21, "complete": complete,
                      "tests_counted": 7 - len(missing),
                      "label": f"{total}/21" if complete else f"incomplete: {total} from {7 - len(missing)} of 7 tests"},
        "missing_tests": missing,
        "asymmetries": asymmetries,
        "clearing_tests": clearing,
        "review_tests": review,
        "pain_tests": sorted({c.test for c in adjusted if c.pain or c.clearing_pain}),
        "clips": [c.to_dict() for c in adjusted],
        "notes": [
            "bilateral tests count the lower of L and R; several clips of one side count the best",
            "the composite is a screening summary: the <= 14 injury-risk cut-off is not supported well enough "
            "to use (knowledge: scoring.cutoff)",
        ],
    }


def _summary(c: ClipResult) -> dict:
    return {"score": c.score, "confidence": round(float(c.confidence), 3), "review": c.review,
            "reasons": c.reasons, "side_inferred": c.side_inferred, "line": c.line, "clip": c.clip,
            "deciding_criterion": c.deciding_criterion, "deciding_frame": c.deciding_frame,
            "pain": c.pain, "clearing_pain": c.clearing_pain}
