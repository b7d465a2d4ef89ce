"""Keeping the chat honest: every number an answer states must be in the record it rests on.

`ungrounded_numbers(text, source)` lists the numbers stated in `text` that no
number in `source` rounds to at the precision stated (ids and the run's date
and time copied from the record are not statements). `phrase_with_brain`
lets a VLM brain re-word an answer and keeps the wording only when it states
no ungrounded number.
"""
from __future__ import annotations

import json
import math
import re

from agent.chat.facts import Answer
from agent.chat.render import DISCLAIMER
from tools.core.errors import InputError

NUMBER_RE = re.compile(r"(?<![\w.\-])\d+(?:\.\d+)?(?![\w\-])")
DATE_TIME_RE = re.compile(r"\b(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}:\d{2}))?(?: UTC)?")


def _numbers_in(obj, out: list[float]) -> list[float]:
    if isinstance(obj, bool) or obj is None:
        return out
    if isinstance(obj, (int, float)):
        if math.isfinite(obj):
            out.append(abs(float(obj)))
    elif isinstance(obj, str):
        out += [float(x) for x in NUMBER_RE.findall(obj)]
    elif isinstance(obj, dict):
        for v in obj.values():
            _numbers_in(v, out)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _numbers_in(v, out)
    return out


def _strings_in(obj, out: list[str]) -> list[str]:
    if isinstance(obj, str):
        out.append(obj)
    elif isinstance(obj, dict):
        for v in obj.values():
            _strings_in(v, out)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _strings_in(v, out)
    return out


def ungrounded_numbers(text: str, source) -> list[str]:
    """Numbers stated in `text` that no number in `source` rounds to (at the precision stated).

    Numbers inside identifiers (run ids, passage ids, clip ids) and dates / times copied from the
    record (a run's start) are not statements and are skipped.
    """
    known = _numbers_in(source, [])
    strings = _strings_in(source, [])
    joined = " ".join(strings)
    text = DATE_TIME_RE.sub(lambda m: "" if m.group(1) in joined and (m.group(2) is None or
                                                                        m.group(2) in joined) else m.group(0), text)
    bad = []
    for token in NUMBER_RE.findall(text):
        if len(token) >= 6 and any(token in s for s in strings):   # an id copied from the record
            continue
        decimals = len(token.split(".")[1]) if "." in token else 0
        x = float(token)
        if not any(round(k, decimals) == x or (decimals == 0 and k == x) for k in known):
            bad.append(token)
    return bad


def phrase_with_brain(answer: Answer, brain) -> Answer:
    """Let a VLM brain word the answer; keep its wording only if every number it states is in the answer."""
    if answer.status != "answered":
        return answer
    structured = {k: v for k, v in answer.to_dict().items() if k not in ("text", "phrased_by", "phrasing_rejected")}
    system = ("You explain a Functional Movement Screen result to a physiotherapist in at most 120 words. Use only "
              "the facts and numbers in the JSON; never add a number, a measurement or advice. Answer the question "
              f"asked. End with: {DISCLAIMER}")
    user = ("Question: " + answer.question["text"] + "\nFacts (JSON):\n" + json.dumps(structured, default=str)
            + "\nDraft answer:\n" + answer.text)
    try:
        wording = brain.complete(system, user).strip()
    except InputError as exc:
        answer.notes.append(f"the {type(brain).__name__} brain could not phrase the answer ({exc}); plain wording kept")
        return answer
    bad = ungrounded_numbers(wording, structured)
    if not wording or bad:
        answer.phrasing_rejected = bad or ["(empty)"]
        return answer
    answer.text, answer.phrased_by = wording, getattr(brain, "model_id", type(brain).__name__)
    return answer
