"""Chat facts about repetitions: which repetition counted, and the other side of a clip that holds both.

A clip of several repetitions is scored repetition by repetition and the best
counts (agent/screening/repetitions.py); "why a 2 on left hurdle step?" then
names the repetition that counted (its number, side, times, score) and what
the others scored or why they were ignored. A clip with both sides answers for
the side asked about (the verdict's `sides`), not the verdict's top line.
Everything comes from the verdict in the trace.
"""
from __future__ import annotations


def side_of_verdict(verdict: dict, side: str | None) -> dict:
    """The verdict as seen for `side` when the clip holds both sides (else the verdict as it is)."""
    from agent.screening.repetitions import side_view
    if not side or side == verdict.get("side") or side not in (verdict.get("sides") or {}):
        return verdict
    return side_view(verdict, side)


def repetition_facts(verdict: dict) -> dict | None:
    """{n, counted, side, others[]} for a clip scored by repetition (None for a single-repetition clip)."""
    reps = verdict.get("repetitions") or []
    if not verdict.get("repetition_mode") or len(reps) < 2:
        return None
    side = verdict.get("side")
    counted_index = verdict.get("counted_repetition")
    same = [r for r in reps if side in (None, "NA") or r.get("side") in (side, None, "NA")]
    keep = ("index", "side", "status", "score", "start_s", "end_s", "ignored_reason", "variant")
    counted = next((r for r in reps if r.get("index") == counted_index), None)
    return {"n": len(same), "n_in_clip": len(reps), "side": side,
            "counted": None if counted is None else {k: counted.get(k) for k in keep},
            "others": [{k: r.get(k) for k in keep} for r in same if r.get("index") != counted_index]}


def repetition_lines(facts: dict | None) -> list[str]:
    """The sentence naming the repetition that counted, and one on the others."""
    if not facts or not facts.get("counted"):
        return []
    c = facts["counted"]
    side = {"L": "left", "R": "right"}.get(c.get("side") or "", "")
    when = f", {c['start_s']:.1f}-{c['end_s']:.1f} s" if c.get("start_s") is not None else ""
    lines = [f"Counted: repetition {c['index']} ({side + ' side, ' if side else ''}score {c['score']}{when}), "
             f"the best of {facts['n']} in the clip{' on this side' if side else ''} (the best repetition counts)."]
    others = []
    for r in facts["others"]:
        if r.get("status") == "ignored":
            others.append(f"#{r['index']} ignored ({r.get('ignored_reason') or 'not scored'})")
        else:
            others.append(f"#{r['index']} scored {r.get('score')}")
    if others:
        lines.append("The others: " + "; ".join(others) + ".")
    return lines
