"""The Functional Movement Screen as data: the seven tests, which are scored per side, clearing tests.

This is the one definition of the screen that every room uses (rubric, ST-GCN,
synthetic library, reports, chat). Sides are the athlete's own: for a
bilateral test "L" is the leg that steps (hurdle step), the front leg (in-line
lunge), the arm on top (shoulder mobility), the raised leg (ASLR) or the
moving arm (rotary stability); a test scored once has side "NA".
"""
from __future__ import annotations

from tools.core.errors import InputError

TESTS: tuple[str, ...] = (
    "deep_squat", "hurdle_step", "inline_lunge", "shoulder_mobility",
    "active_straight_leg_raise", "trunk_stability_pushup", "rotary_stability",
)
BILATERAL: frozenset[str] = frozenset({"hurdle_step", "inline_lunge", "shoulder_mobility",
                                       "active_straight_leg_raise", "rotary_stability"})
# the name a physio reads, per test
TEST_TITLES: dict[str, str] = {
    "deep_squat": "Deep squat", "hurdle_step": "Hurdle step", "inline_lunge": "In-line lunge",
    "shoulder_mobility": "Shoulder mobility", "active_straight_leg_raise": "Active straight-leg raise",
    "trunk_stability_pushup": "Trunk stability push-up", "rotary_stability": "Rotary stability",
}
# clearing test done right after a test; pain in it scores that test 0
CLEARING_TESTS: dict[str, str] = {
    "shoulder_mobility": "shoulder clearing test",
    "trunk_stability_pushup": "spinal extension clearing test",
    "rotary_stability": "spinal flexion clearing test",
}
SIDES: tuple[str, ...] = ("L", "R", "NA")
SEXES = {"M": "M", "MALE": "M", "MAN": "M", "F": "F", "FEMALE": "F", "WOMAN": "F"}


def test_title(test: str, side: str | None = None) -> str:
    """'Hurdle step, left' for a physio; unknown tests fall back to their id with spaces."""
    title = TEST_TITLES.get(test, str(test).replace("_", " "))
    if side in ("L", "R"):
        title += ", left" if side == "L" else ", right"
    return title


def check_test_and_side(test: str, side: str | None) -> str | None:
    """Validate a test name and side; returns the side as 'L'/'R'/'NA' (None = infer later)."""
    if test not in TESTS:
        raise InputError(f"unknown test {test!r}; choose one of: {', '.join(TESTS)}")
    if side is not None and str(side).strip() != "":
        side = str(side).strip().upper()
        side = {"LEFT": "L", "RIGHT": "R", "N/A": "NA"}.get(side, side)
        if side not in SIDES:
            raise InputError(f"side must be L or R (got {side!r})")
    else:
        side = None
    if test not in BILATERAL:
        if side in ("L", "R"):
            raise InputError(f"{test} is scored once, not per side: leave out --side")
        return "NA"
    if side == "NA":
        raise InputError(f"{test} is scored per side: give --side L or R (or leave it out to detect it)")
    return side


def check_sex(sex: str | None) -> str | None:
    """'M' / 'F' (sets the push-up hand levels) or None when not given."""
    if sex is None or str(sex).strip() == "":
        return None
    key = str(sex).strip().upper()
    if key not in SEXES:
        raise InputError(f"sex must be M or F (got {sex!r}); it sets the push-up hand levels")
    return SEXES[key]
