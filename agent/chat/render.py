"""The chat's wording: one deterministic text per intent, every number taken from the structured answer.

Every answered text starts with the run it is about, by its one name
("About: SYN-QSET-01, Hurdle step, left, 2026-05-01 10:00 UTC (run fa9f6314)")
and the headline (tools.report.headline), then answers the question asked:

- why_score: the criterion the verdict points at (deciding, or closest to
  failing on a pass) measured against its threshold, the other criteria, the
  review reasons, the rubric passages quoted with text and id, similar clips;
- why_review: the review reasons, or that there was none;
- is_test: test recognition (rules, and the ST-GCN when it ran), who was scored;
- what_to_film: what the run could not judge or trust, and the capture passages;
- left_right: both sides' results and whether they differ;
- change_since: the earlier screens of this test and side against this one;
- criterion_meaning: the criterion's plain explanation, threshold and passage.
A trace that does not verify gets only "NOT intact: do not use this result".
"""
from __future__ import annotations

from agent.chat.facts import Answer, fmt
from tools.report.vocabulary import threshold_text

DISCLAIMER = "Screening aid, not a diagnosis: the physio decides."
QUOTE_CHARS = 240


def _u(c: dict) -> str:
    return str(c.get("unit") or "").replace("_", " ")


def quote(p: dict) -> str:
    """A passage quoted with its id: [deep_squat.score1] "Even with the heels raised, ..." """
    text = " ".join(str(p.get("text") or "").split())
    if len(text) > QUOTE_CHARS:
        text = text[: QUOTE_CHARS - 3].rsplit(" ", 1)[0] + "..."
    return f"[{p['passage_id']}] {p.get('title') or ''}: \"{text}\"" if text else f"[{p['passage_id']}]"


def _criterion_line(label: str, d: dict) -> str:
    verb = {True: "passed", False: "failed", None: "could not be judged"}[d["passed"]]
    name = f"{d.get('name') or d['id']} ({d['id']})"
    if d.get("value") is None:
        return f"{label}: {name} {verb}: {d.get('reason') or 'not measured'}."
    margin = "" if d.get("margin") is None else (
        f", {'inside' if d['margin'] >= 0 else 'outside'} it by {fmt(abs(d['margin']))} {_u(d)}")
    when = f" at frame {d['deciding_frame']}" if d.get("deciding_frame") is not None else ""
    if when and d.get("time_s") is not None:
        when += f" ({fmt(d['time_s'])} s)"
    where = f", decided by {d['view_source']}" if d.get("view_source") else ""   # two clips of one repetition
    return (f"{label}: {name} {verb}: measured {fmt(d['value'])} {_u(d)} against a threshold of "
            f"{threshold_text(d)}{margin}{when}{where}.")


def _head(a: Answer) -> list[str]:
    h = a.headline or {}
    lines = [f"About: {a.run_name}."]
    title = h.get("title", "")
    if h.get("kind") == "score" and a.confidence is not None:
        title += f" (confidence {float(a.confidence):.2f})"
    elif h.get("kind") == "pain":
        title += " The athlete reported pain: pain always gives 0 and the physio assesses it; the movement was " \
                 "still measured, for the record"
    if a.claimed_score is not None and a.score_matches is False:
        shown = h.get("score") if h.get("kind") in ("score", "pain") else h.get("provisional")
        title = (f"It was not a {a.claimed_score}. " if shown is not None else
                 f"There was no {a.claimed_score}. ") + title
    lines.append(title + ".")
    return lines


def _tail(a: Answer) -> list[str]:
    return [f"Note: {n}." for n in a.notes] + [DISCLAIMER]


def _passages(a: Answer) -> list[str]:
    if not a.passages:
        return []
    src = "" if a.passages_source == "trace" else " (from the knowledge base; not retrieved in the run)"
    return [f"Rubric passages{src}:"] + [f"- {quote(p)}" for p in a.passages]


def _neighbours(a: Answer) -> list[str]:
    if a.neighbours:
        near = "; ".join(f"{n['clip_id']} scored {n['score']}"
                         + (f" ({n['compensation_notes']})" if n.get("compensation_notes") else "")
                         + f", similarity {fmt(n['similarity'])}" for n in a.neighbours[:3])
        return [f"Most similar physio-scored clips (context, not a vote on the score): {near}."]
    if a.neighbours == []:
        return ["No physio-scored clip of this test and side was in the library."]
    return [f"No similar clips: {a.neighbours_note}."]


def _selection(sel: dict | None) -> list[str]:
    from agent.chat.facts import fmt as f
    if not sel:
        return []
    chosen_by = {"box": "the box drawn around the athlete", "point": "the point clicked on the athlete",
                 "auto": "the movement (the person doing the test)"}
    parts = []
    if sel["people_found"] > 1:
        cands = ", ".join(f"track {c['track_id']} {f(c['score'])}" for c in sel["candidates"]
                          if c.get("score") is not None)
        who = (f"{sel['people_found']} people were in frame; the athlete (track {sel['athlete_track_id']}) was "
               f"chosen by {chosen_by.get(sel['method'], str(sel['method']))}")
        parts.append(who + (f" (candidate scores: {cands})" if cands and sel["method"] == "auto" else ""))
        if sel["ambiguous"]:
            parts.append("two people were nearly equally likely, so the physio must confirm who was scored")
    if sel["identity_switches_detected"]:
        parts.append(f"the skeleton strayed to someone else {sel['identity_switches_detected']} time(s), "
                     f"{sel['identity_switches_repaired']} repaired; {sel['frames_blanked']} frame(s) were left out "
                     "rather than scored on the wrong body")
    for r in sel["reacquired"]:
        parts.append(f"the athlete was re-found at frame {r['frame']} after {f(r['gap_s'])} s out of sight "
                     f"({r['strength']} evidence)")
    return ["Who was scored: " + "; ".join(parts) + "."]


def _why_score(a: Answer) -> list[str]:
    lines = []
    if (a.headline or {}).get("kind") == "not_the_test":
        lines.append("The criteria were measured as if it were this test; they are not a result.")
    if a.deciding:
        lines.append(_criterion_line(a.decider_label or "Deciding criterion", a.deciding))
    from agent.chat.repetitions import repetition_lines
    lines += repetition_lines(a.repetitions)          # several repetitions: the one that counted
    for c in a.failed_criteria:
        frame = f" (frame {c['deciding_frame']})" if c.get("deciding_frame") is not None else ""
        value = "not measured" if c["value"] is None else f"{fmt(c['value'])} {_u(c)}"
        lines.append(f"Also failed: {c['name']} ({c['id']}): {value} against {threshold_text(c)}{frame}.")
    if a.passed_criteria:
        lines.append("Passed: " + ", ".join(f"{c['name']} ({c['id']})" for c in a.passed_criteria) + ".")
    if a.unjudged_criteria:
        lines.append("Not judged: " + "; ".join(f"{c['name']} ({c.get('reason') or 'not measured'})"
                                                 for c in a.unjudged_criteria) + ".")
    lines += _selection(a.athlete_selection)
    if a.review and a.review_reasons:
        lines.append("Why review: " + "; ".join(a.review_reasons) + ".")
    return lines + _passages(a) + _neighbours(a)


def _why_review(a: Answer) -> list[str]:
    if not a.review:
        lines = ["It was not sent to physio review: every criterion was clear of its threshold by enough, pose "
                 "quality was good enough and the second opinions did not disagree."]
        if a.deciding:
            lines.append(_criterion_line(a.decider_label or "Deciding criterion", a.deciding))
        return lines
    lines = ["It went to physio review because:"] + [f"- {r}" for r in a.review_reasons]
    if a.deciding:
        lines.append(_criterion_line(a.decider_label or "Deciding criterion", a.deciding))
    review_passage = [p for p in a.passages if p["passage_id"].startswith("scoring.review")]
    return lines + [f"- {quote(p)}" for p in review_passage]


def _is_test(a: Answer) -> list[str]:
    rec = a.recognition or {}
    lines = []
    asked = str(a.run.get("test") or "").replace("_", " ")
    if rec.get("matches_asked") is False:
        looks = rec.get("looks_like")
        lines.append(f"No: test recognition says the movement does not look like a {asked}"
                     + (f"; it looks more like {str(looks).replace('_', ' ')}" if looks else "")
                     + (f" (match with the {asked} {fmt(rec['asked_score'])} on a 0-1 scale)"
                        if rec.get("asked_score") is not None else "") + ". No score is shown as a result.")
    elif rec.get("matches_asked") is True:
        lines.append(f"Yes: test recognition says the movement looks like a {asked}"
                     + (f" (match {fmt(rec['asked_score'])} on a 0-1 scale)" if rec.get("asked_score") is not None
                        else "") + ".")
    elif rec.get("reason"):
        lines.append(f"Test recognition: {rec['reason']}.")
    else:
        lines.append("This run's record holds no test recognition, so I cannot say whether it is the test.")
    if rec.get("reason") and rec.get("matches_asked") is not None:
        lines.append(f"The rules read: {rec['reason']}.")
    if rec.get("stgcn_test"):
        agree = "agrees" if rec["stgcn_test"] == a.run.get("test") else "reads it differently"
        lines.append(f"The ST-GCN second opinion {agree}: it recognises {str(rec['stgcn_test']).replace('_', ' ')} "
                     f"(P={fmt(rec.get('stgcn_test_confidence'))}).")
    return lines + (_selection(a.athlete_selection) or ["Only one person was found in the frame."])


def _what_to_film(a: Answer) -> list[str]:
    lines = []
    if a.film:
        lines.append("From this run:")
        lines += [f"- {f}" for f in a.film]
    else:
        lines.append("This run judged every criterion from a clip of good enough quality; for the next clip keep "
                     "the same set-up.")
    from agent.chat.facts import FILM_PASSAGES
    from knowledge.passages import get_passage
    lines.append("From the capture protocol:")
    lines += [f"- {quote({'passage_id': p.id, 'title': p.title, 'text': p.text})}"
              for p in (get_passage(pid) for pid in FILM_PASSAGES)]
    return lines


def _left_right(a: Answer) -> list[str]:
    if a.sides is None:
        return ["This test is scored once, not per side, so there is no left against right."]
    if len(a.sides) < 2:
        have = ", ".join({"L": "left", "R": "right"}[s["side"]] for s in a.sides) or "no side"
        return [f"Only the {have} side of this test was screened; screen the other side to compare them."]
    lines = [f"{'Left' if s['side'] == 'L' else 'Right'}: {s['headline']} ({s['run_name']})." for s in a.sides]
    left, right = (s.get("score") for s in a.sides)
    if left is not None and right is not None:
        lines.append("Asymmetry: left and right differ; the lower side counts toward the composite." if left != right
                     else "No asymmetry: both sides scored the same.")
    else:
        lines.append("At least one side has no score FormScout stands behind, so no asymmetry can be stated yet.")
    for s in a.sides:
        if s.get("deciding"):
            lines.append(_criterion_line(f"{'Left' if s['side'] == 'L' else 'Right'}", s["deciding"]))
    return lines


def _change_since(a: Answer) -> list[str]:
    hist = a.history or []
    if len(hist) < 2:
        return ["This is the only screen of this test and side on record, so there is no change to report yet."]
    first, last = hist[0], hist[-1]
    lines = [f"Earliest: {first['headline']} ({first['run_name']}).", f"Latest: {last['headline']} ({last['run_name']})."]
    if first.get("score") is not None and last.get("score") is not None:
        change = last["score"] - first["score"]
        lines.append("No change in score." if change == 0 else
                     f"The score went {'up' if change > 0 else 'down'} by {abs(change)}.")
    else:
        lines.append("One of the screens has no score FormScout stands behind, so the scores are not compared.")
    if first.get("deciding") and last.get("deciding") and first["deciding"]["id"] == last["deciding"]["id"]:
        d0, d1 = first["deciding"], last["deciding"]
        if d0.get("value") is not None and d1.get("value") is not None:
            lines.append(f"{d1['name']}: {fmt(d0['value'])} {_u(d0)} then, {fmt(d1['value'])} {_u(d1)} now.")
    lines.append(f"{len(hist)} screens of this test and side are on record.")
    return lines


def _criterion_meaning(a: Answer) -> list[str]:
    c = a.criterion
    if not c:
        return ["Which criterion do you mean? Name it (e.g. knee valgus, heel rise, dowel over the feet)."]
    lines = [f"{c['name']} ({c['id']}): {c['explanation']}"]
    if c.get("threshold") is not None:
        lines.append(f"It passes when it is {threshold_text(c)}" + (" (this run's threshold)" if c.get("from_run")
                                                                      else "") + ".")
    if c.get("from_run") and c.get("value") is not None:
        verb = {True: "passed", False: "failed", None: "was not judged"}[c.get("passed")]
        lines.append(f"In this run it measured {fmt(c['value'])} {_u(c)} and {verb}.")
    if c.get("passage"):
        lines.append(quote(c["passage"]))
    return lines


BODIES = {"why_score": _why_score, "why_review": _why_review, "is_test": _is_test, "what_to_film": _what_to_film,
          "left_right": _left_right, "change_since": _change_since, "criterion_meaning": _criterion_meaning}


def render_text(a: Answer) -> str:
    """The deterministic wording of an answered question (every number from the structured answer)."""
    if a.intact is False:
        return "\n".join([f"About: {a.run_name}.", (a.headline or {}).get("title", "NOT intact") + "."] + _tail(a))
    body = BODIES.get(a.intent, _why_score)(a)
    return "\n".join(_head(a) + body + _tail(a))
