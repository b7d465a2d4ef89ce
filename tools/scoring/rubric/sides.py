"""Which side a bilateral test was done on, from the motion, and a check of a side that was given.

Each test names its side by a limb (the leg that steps over, the front leg,
the arm on top, the raised leg, the moving arm). The rule module measures one
number per side that is larger on the test side (foot lift, forward position,
fist height, ...); `resolve_side` picks the larger when no side was given, and
when one was given checks that the motion agrees.
"""
from __future__ import annotations

from dataclasses import dataclass

from tools.core.errors import InputError


@dataclass(frozen=True)
class SideEvidence:
    """Per-side evidence: value for L and R (None = not seen), the unit, and what it measures."""

    left: float | None
    right: float | None
    unit: str
    what: str              # e.g. "highest foot lift"
    min_value: float       # the test side must reach at least this
    min_difference: float  # and beat the other side by this much to be told apart


def resolve_side(test: str, asked: str | None, ev: SideEvidence) -> tuple[str, bool, list[str]]:
    """(side, inferred, review reasons). Raises InputError when no side was given and none can be inferred."""
    values = {"L": ev.left, "R": ev.right}
    seen = {k: v for k, v in values.items() if v is not None}
    best = max(seen, key=seen.get) if seen else None
    other = {"L": "R", "R": "L"}
    clear = (best is not None and seen[best] >= ev.min_value
             and (seen.get(other[best]) is None or seen[best] - seen[other[best]] >= ev.min_difference))
    shown = ", ".join(f"{k} {v:.3g} {ev.unit}" for k, v in seen.items()) or "neither side seen"
    if asked is None:
        if not clear:
            raise InputError(f"{test}: side not given and it cannot be told from the motion "
                             f"({ev.what}: {shown}); give --side L or R")
        return best, True, []
    reasons = []
    if clear and best != asked:
        reasons.append(f"side given as {asked}, but the motion looks like the {best} side "
                       f"({ev.what}: {shown}); check the side")
    return asked, False, reasons
