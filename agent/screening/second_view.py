"""A second clip of the same repetition (`formscout screen CLIP --side-clip CLIP2`): can it stand beside the main one?

The step measure_second_view (agent/screening/steps.py) measures the second
clip as the protocol measures the main one (pose, 3D lift, the fit with its own
camera and floor, fill / smooth / quality, repetitions) in a folder of its own
inside the run folder (second_view/), and checks that the two clips show one
movement (test recognition on the second clip, and tools.geometry.sync.align_clips
for the time offset). `not_used_reason` says why the second clip cannot be fused
with the main one: the athlete is not found well enough in it, it does not look
like the asked-for test, the two clips do not move together, or either holds several
repetitions (a pair of clips must show one repetition each, or it is unclear
which matches which). The main clip is then scored alone, as without a second
clip, and the verdict's notes say why. Otherwise score_rubric fuses the two
per criterion (tools/scoring/rubric/two_views.py).
"""
from __future__ import annotations

SECOND_VIEW_DIR = "second_view"
SECOND_VIEW_LABEL = "side clip"
MIN_ATHLETE_SHARE = 0.5          # the athlete must be found in at least this share of the second clip's frames


def not_used_reason(quality: dict, alignment, n_repetitions: int, main_repetitions: int,
                    not_the_test: str = "") -> str:
    """Why the second clip cannot be fused with the main one ('' when it can); `not_the_test` is test
    recognition's reason when the second clip does not look like the asked-for test."""
    if quality.get("athlete_share", 0.0) < MIN_ATHLETE_SHARE or quality.get("selection_problems"):
        trouble = list(quality.get("selection_problems") or []) + list(quality.get("problems") or [])
        return ("the athlete is not found well enough in it (" + ("; ".join(trouble) or
                f"seen in {100 * quality.get('athlete_share', 0.0):.0f}% of frames") + ")")
    if not_the_test:
        return f"it does not show the same test ({not_the_test})"
    if not alignment.same_movement:
        return alignment.reason + ": check that both clips show the same repetition"
    if n_repetitions > 1 or main_repetitions > 1:
        return (f"a pair of clips must show one repetition each (this clip holds {main_repetitions}, the "
                f"{SECOND_VIEW_LABEL} {n_repetitions}): film one repetition per pair, or screen the clips one at a time")
    return ""
