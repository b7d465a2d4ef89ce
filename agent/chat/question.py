"""What a physio's question names, read by rules: the test, the side, a score it mentions, and whether it
asks about something FormScout never answers (injury prediction, diagnosis, treatment).

The question's *intent* (why this score, why review, ...) is recognised from
its meaning by agent.chat.intents; this module only picks out the named
things, so the answer can be bound to the right run.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from tools.core.fms import TESTS

# phrase -> test; longer phrases are tried first
TEST_SYNONYMS: dict[str, str] = {
    "deep squat": "deep_squat", "overhead squat": "deep_squat", "squat": "deep_squat",
    "hurdle step": "hurdle_step", "hurdle": "hurdle_step",
    "in-line lunge": "inline_lunge", "in line lunge": "inline_lunge", "inline lunge": "inline_lunge",
    "lunge": "inline_lunge",
    "shoulder mobility": "shoulder_mobility", "shoulder reach": "shoulder_mobility", "shoulder": "shoulder_mobility",
    "active straight leg raise": "active_straight_leg_raise", "active straight-leg raise": "active_straight_leg_raise",
    "straight leg raise": "active_straight_leg_raise", "straight-leg raise": "active_straight_leg_raise",
    "leg raise": "active_straight_leg_raise", "aslr": "active_straight_leg_raise", "slr": "active_straight_leg_raise",
    "trunk stability push-up": "trunk_stability_pushup", "trunk stability pushup": "trunk_stability_pushup",
    "trunk stability push up": "trunk_stability_pushup", "push-up": "trunk_stability_pushup",
    "pushup": "trunk_stability_pushup", "push up": "trunk_stability_pushup", "press-up": "trunk_stability_pushup",
    "press up": "trunk_stability_pushup", "tspu": "trunk_stability_pushup",
    "rotary stability": "rotary_stability", "rotary": "rotary_stability", "quadruped": "rotary_stability",
    "bird dog": "rotary_stability",
}
for _t in TESTS:
    TEST_SYNONYMS.setdefault(_t.replace("_", " "), _t)
    TEST_SYNONYMS.setdefault(_t, _t)
NUMBER_WORDS = {"zero": 0, "one": 1, "two": 2, "three": 3}
SCORE_RE = re.compile(r"\b(?:an?|score[sd]?(?:\s+(?:of|was|is))?|scored|got|gets|get|given|gave|only|not|"
                      r"why|rated|mark(?:ed)?)\s+(?:a\s+)?([0-3]|zero|one|two|three)\b(?!\s*(?:deg|cm|m\b|%|s\b))"
                      r"|\b([0-3])\s*(?:/|out of)\s*3\b", re.I)
# "right" as a side, not as in "the right athlete / test" (correct)
SIDE_RIGHT = r"\bright\b(?! (athlete|test|person|one|clip|movement|player)\b)"
OUTSIDE_RE = re.compile(r"\b(injur\w*|diagnos\w*|prescri\w*|treat\w*|rehab\w*|surgery|medication|return to play|"
                        r"contract|salary|weather|diet|eat|sleep|predict\w*)\b", re.I)


@dataclass
class Question:
    text: str
    test: str | None = None
    side: str | None = None
    score: int | None = None
    outside: bool = False          # about injury, diagnosis, treatment...: never answered
    both_sides: bool = False       # names left and right together ("left vs right")
    intent: str = ""               # agent.chat.intents
    intent_similarity: float | None = None
    intent_by: str = ""            # "minilm", a brain's model id, or "rules"

    def to_dict(self) -> dict:
        return asdict(self)


def parse_question(text: str) -> Question:
    """Test, side and mentioned score of a physio's question, by rules (see the module docstring)."""
    q = Question(text=text)
    low = " " + re.sub(r"\s+", " ", text.lower()) + " "
    for phrase in sorted(TEST_SYNONYMS, key=len, reverse=True):
        if re.search(rf"(?<![a-z]){re.escape(phrase)}(?![a-z])", low):
            q.test = TEST_SYNONYMS[phrase]
            break
    left = bool(re.search(r"\bleft\b", low) or re.search(r"\bL\b", text))
    right = bool(re.search(SIDE_RIGHT, low) or re.search(r"\bR\b", text))
    q.side = "L" if left and not right else "R" if right and not left else None
    q.both_sides = left and right
    m = SCORE_RE.search(text)
    if m:
        word = (m.group(1) or m.group(2)).lower()
        q.score = NUMBER_WORDS[word] if word in NUMBER_WORDS else int(word)
    q.outside = bool(OUTSIDE_RE.search(text))
    return q
