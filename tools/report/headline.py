"""The one reading of a verdict that every page shows first: what the result is, in words that cannot be misread.

`headline(verdict, intact)` turns a verdict (verdict.json / the trace's
verdict, never re-scored here) into a `Headline`, in this order of precedence:

1. `not_intact`: the trace failed verification (hash chain or schema). Title
   "NOT intact: do not use this result"; no score, no badge, no confidence.
2. `pain`: the athlete reported pain: "0 (pain reported)"; pain is an input
   and always gives 0, whatever the video shows.
3. `not_the_test`: test recognition says the movement is not the asked-for
   test (verdict["test_recognition"]["matches_asked"] is False): "This does
   not look like a deep squat: no score". The rules' number is not shown.
4. `no_score`: no score could be reached: "no score, physio review".
5. `provisional`: a score with a physio-review flag: "provisional 1, physio
   review", styled as provisional; no confidence figure beside it.
6. `score`: a score FormScout stands behind: "score 3 of 3", with the
   decision's confidence (verdict["confidence"], from agent/screening/decide.py).

`decider_label(verdict)` names the criterion the verdict points at:
"Deciding criterion" when it failed or decided a lower score, "Closest to
failing" when it passed (on a pass the rubric points at the smallest margin).
The CLI, the app, the published trace page, the session report and the chat
all use this module, so a result reads the same everywhere.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from tools.core.fms import TEST_TITLES, test_title

NOT_INTACT = "NOT intact: do not use this result"
ARTICLE_NAMES: dict[str, str] = {
    "deep_squat": "a deep squat", "hurdle_step": "a hurdle step", "inline_lunge": "an in-line lunge",
    "shoulder_mobility": "a shoulder mobility test", "active_straight_leg_raise": "an active straight-leg raise",
    "trunk_stability_pushup": "a trunk stability push-up", "rotary_stability": "a rotary stability test",
}


@dataclass(frozen=True)
class Headline:
    """What a page shows first about one verdict."""

    kind: str                      # not_intact | pain | not_the_test | no_score | provisional | score
    title: str                     # "Deep squat: score 3 of 3"
    badge: str | None              # text of the score badge ("3", "provisional 1", "review"); None: no badge
    score: int | None = None       # the score shown as a result (None unless kind is score or pain)
    provisional: int | None = None  # the rules' score shown as provisional (kind provisional)
    confidence: float | None = None  # the decision's confidence, shown only beside a score it stands behind
    lines: list[str] = field(default_factory=list)   # one-line explanations under the title

    @property
    def is_result(self) -> bool:
        """True when a score may be written down as the athlete's result."""
        return self.kind in ("score", "pain")

    def to_dict(self) -> dict:
        return asdict(self) | {"is_result": self.is_result}


def not_the_test(verdict: dict) -> bool:
    """True when the verdict's test recognition says the movement is not the asked-for test."""
    rec = verdict.get("test_recognition") or {}
    return rec.get("matches_asked") is False


def headline(verdict: dict, intact: bool | None = True) -> Headline:
    """The headline of one verdict (see the module docstring); `intact` False = the trace failed verification."""
    test = verdict.get("test")
    title = test_title(test, verdict.get("side"))
    score = verdict.get("score")
    if intact is False:
        return Headline("not_intact", NOT_INTACT, None, lines=[
            (f"{title}: the trace of this run was changed after it was recorded, so nothing in it can be trusted. "
             "Use the original trace, or screen the clip again.")])
    pain = bool((verdict.get("inputs") or {}).get("pain"))
    if pain and score == 0:
        lines = ["The athlete reported pain: the score is 0 whatever the movement shows; the physio follows it up."]
        if not_the_test(verdict):
            lines.append(_not_the_test_line(verdict))
        return Headline("pain", f"{title}: 0 (pain reported)", "0", score=0, lines=lines)
    if not_the_test(verdict):
        name = ARTICLE_NAMES.get(str(test), str(test).replace("_", " "))
        return Headline("not_the_test", f"This does not look like {name}: no score", None,
                        lines=[_not_the_test_line(verdict),
                               "Check that the right test was chosen and that the clip shows the whole movement."])
    if score is None:
        return Headline("no_score", f"{title}: no score, physio review", "review",
                        lines=["FormScout could not reach a score it can stand behind: a physio scores this clip."])
    if verdict.get("review"):
        return Headline("provisional", f"{title}: provisional {score}, physio review", f"provisional {score}",
                        provisional=int(score),
                        lines=[(f"The rules read {score}, but FormScout does not stand behind it (reasons below): "
                                "a physio confirms or changes the score.")])
    confidence = float(verdict.get("confidence") or 0.0)
    return Headline("score", f"{title}: score {score} of 3", str(score), score=int(score), confidence=confidence,
                    lines=[(f"Confidence {confidence:.2f} (the decision's: criterion margins, pose quality and the "
                            "second opinions).")])


def _not_the_test_line(verdict: dict) -> str:
    rec = verdict.get("test_recognition") or {}
    asked = TEST_TITLES.get(str(verdict.get("test")), str(verdict.get("test")))
    looks = rec.get("looks_like")
    match = rec.get("asked_score")
    how = f" (match with {asked.lower()} {float(match):.2f} on a 0-1 scale)" if isinstance(match, (int, float)) else ""
    if looks:
        return (f"Test recognition: the movement looks more like {ARTICLE_NAMES.get(looks, looks)} than the "
                f"{asked.lower()} that was asked for{how}.")
    return f"Test recognition: the movement does not match the {asked.lower()} that was asked for{how}."


def decider_label(verdict: dict) -> str:
    """'Closest to failing' when the criterion the verdict points at passed, else 'Deciding criterion'."""
    decider = verdict.get("deciding_criterion")
    crit = next((c for c in verdict.get("criteria") or [] if c.get("id") == decider), None)
    if crit is not None and crit.get("passed") is True:
        return "Closest to failing"
    return "Deciding criterion"
