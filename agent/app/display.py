"""What the page shows about a verdict, in a physio's words: the headline, the criteria table, similar clips.

Every number comes from the verdict (never re-measured or re-scored here). The
headline follows tools.report.headline (not the asked-for test: no score; a
review: "provisional N, physio review" without a confidence figure; an edited
trace: "NOT intact: do not use this result"), criteria are named from the one
table knowledge/criterion_names.csv (tools.report.vocabulary), and CLI flags
in tool messages are put in form words (tools.report.vocabulary.plain_inputs).
Everything user- or tool-supplied is escaped for the page's Markdown.
"""
from __future__ import annotations

import html
import re
from collections.abc import Sequence

from agent.app.paths import DISCLAIMER
from tools.core.fms import TEST_TITLES
from tools.report.headline import decider_label, headline
from tools.report.similar import similar_summary
from tools.report.vocabulary import (
    criterion_name,
    plain_inputs,
    threshold_text,
    value_text,
)

TEST_LABELS: dict[str, str] = dict(TEST_TITLES)
CRITERIA_HEADERS = ["Criterion", "Measured", "Passes at", "Result", "Frame", "What it measures"]
SIMILAR_HEADERS = ["Similarity", "Clip", "Athlete", "Test", "Side", "Physio score", "Notes"]
# the headline's look on the page (elem classes of the verdict Markdown)
HEADLINE_CLASSES = {"score": "verdict-score", "pain": "verdict-score", "provisional": "verdict-provisional",
                    "no_score": "verdict-noscore", "not_the_test": "verdict-noscore", "not_intact": "verdict-broken"}

_ABS_PATH_RE = re.compile(r"(?<![\w.])(?:/[\w.\-]+)+/([\w.\-]+)")


def public_message(message: str) -> str:
    """A message for the page: absolute server paths cut to their file name, CLI flags in form words."""
    return plain_inputs(_ABS_PATH_RE.sub(r"\1", str(message)))


def esc(text) -> str:
    """User-supplied text made safe for the page's Markdown/HTML."""
    return html.escape(str(text), quote=True).replace("|", "&#124;").replace("*", "&#42;") \
        .replace("_", "&#95;").replace("`", "&#96;").replace("[", "&#91;").replace("]", "&#93;")


def criteria_rows(verdict: dict) -> list[list]:
    """One row per criterion: its physio name (the one the verdict points at marked), measured value and pass
    condition with units, pass / FAIL / not judged, frame, and the plain explanation (sign and unit)."""
    rows = []
    label = decider_label(verdict).lower()
    for c in verdict.get("criteria") or []:
        result = {True: "pass", False: "FAIL", None: "not judged"}[c.get("passed")]
        frame = "" if c.get("deciding_frame") is None else str(c["deciding_frame"])
        names = criterion_name(verdict.get("test"), c.get("id"))
        note = names.explanation or c.get("description") or ""
        if c.get("reason"):
            note = f"{public_message(c['reason'])}. {note}"
        if c.get("view_source"):                      # two clips of one repetition: which one decided it
            note = f"Decided by {c['view_source']}. {note}"
        name = names.name + (f" ({label})" if c.get("id") == verdict.get("deciding_criterion") else "")
        rows.append([name, value_text(c.get("value"), c.get("unit")), threshold_text(c), result, frame, note])
    return rows


def similar_rows(hits: Sequence[dict]) -> list[list]:
    return [[f"{float(h.get('similarity', 0.0)):.3f}", h.get("clip_id", ""), h.get("athlete_id", ""),
             TEST_LABELS.get(h.get("test_name", ""), h.get("test_name", "")), h.get("side", ""), h.get("score", ""),
             ("[synthetic] " if h.get("synthetic") else "") + ("pain; " if h.get("pain") else "")
             + str(h.get("compensation_notes") or "")] for h in hits]


def similar_note(hits: Sequence[dict], note: str) -> str:
    """The line above the similar-clips table: where they came from, and what they are (context, not a vote)."""
    summary = similar_summary(hits)
    return f"**Similar physio-scored clips** ({esc(note)}). {esc(summary)}" if summary else \
        f"**Similar physio-scored clips:** {esc(note)}"


def verdict_markdown(verdict: dict, seconds: float | None = None, intact: bool | None = True) -> str:
    """The verdict as a physio reads it: the headline first (tools.report.headline), then why, in plain words."""
    h = headline(verdict, intact=intact)
    lines = [f"## {esc(h.title)}"]
    lines += [esc(line) for line in h.lines]
    if h.kind == "not_intact":
        lines.append(f"*{DISCLAIMER}*")
        return "\n\n".join(lines)
    if verdict.get("side_inferred") and verdict.get("side") in ("L", "R"):
        lines.append("Side detected from the movement.")
    reasons = verdict.get("reasons") or []
    if reasons:
        lines.append("**Why review:**")
        lines += [f"- {esc(public_message(r))}" for r in reasons]
    decider = verdict.get("deciding_criterion")
    if decider and h.kind != "not_the_test":
        crit = next((c for c in verdict.get("criteria") or [] if c["id"] == decider), {})
        when = ""
        if verdict.get("deciding_frame") is not None:
            t = verdict.get("deciding_time_s")
            when = f" at frame {verdict['deciding_frame']}" + (f" ({float(t):.2f} s)" if t is not None else "")
        lines.append(f"**{decider_label(verdict)}:** {esc(criterion_name(verdict.get('test'), decider).name)}: "
                     f"measured {esc(value_text(crit.get('value'), crit.get('unit')))} "
                     f"(pass: {esc(threshold_text(crit))}){when}.")
    elif h.kind == "not_the_test" and verdict.get("criteria"):
        lines.append("The criteria below were measured as if it were this test: they are not a result.")
    for note in verdict.get("notes") or []:
        lines.append(f"- {esc(public_message(note))}")
    q = verdict.get("quality") or {}
    if q:
        lines.append(f"Pose quality: athlete found in {100 * float(q.get('athlete_share', 0)):.0f}% of frames, "
                     f"jitter {float(q.get('jitter_mm') or 0):.1f} mm, identity jumps {q.get('identity_jumps', 0)}; "
                     f"camera view {esc(verdict.get('view') or 'unknown')}.")
    if seconds is not None:
        lines.append(f"Screened in {seconds:.1f} s.")
    lines.append(f"*{DISCLAIMER}*")
    return "\n\n".join(lines)
