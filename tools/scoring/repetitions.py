"""Each repetition scored on its own, and the test's score by the protocol: the best repetition counts.

`score_repetitions(skel, test, segmentation, ...)` takes the repetitions that
tools.geometry.repetitions found, cuts each one's own clip (its slice: rest
before and after, so the rules read its own start pose), scores it with the
deterministic rubric (tools.scoring.rubric.score_test: criteria, deciding frame,
confidence) and picks, per side, the repetition that counts:

- ignored, and named: a partial repetition (aborted part-way) and a repetition
  that is not the asked-for movement (the rule-based recogniser,
  tools.scoring.rubric.recognize, says it looks like another test);
- the best score counts; ties go to a repetition that decides the test by itself
  (a failed flat-heel squat, a failed push-up at the score-3 hand position and
  a failed unilateral rotary repetition do not: the fallback variant does), then
  to the higher confidence, then to the earlier one;
- protocol variants in the same clip: a heels-raised deep squat (heels on the
  2x6 board) can give 2 at most and a flat-heel 3 beats anything (the rubric's
  own rule, per repetition); a push-up at the lower hand position, the diagonal
  rotary pattern likewise. Heels on the board are read per repetition when the
  physio did not say (heels_raised None): a repetition whose standing heel
  sits >= `HEEL_BOARD_STEP_M` higher above its toe than the clip's flattest one
  is heels-raised (the board is not reliably visible in a skeleton, but the
  step between repetitions of one clip is, on good skeletons: not on monocular
  video, where the heel landmark's own error hides it). When the step is not
  seen, a 3 that follows a failed repetition goes to review (it may be the
  board repetition, which gives 2 at most);
- sides: bilateral repetitions are grouped by the side the rules infer from
  each one (the leg that steps, the arm on top...); a clip with both sides
  gives both sides' scores. The result's own fields describe one side: the
  asked one, else the lower (the one that counts toward the composite).

The result has the keys of RubricResult.to_dict() (the counted repetition's,
every frame a frame of the whole clip) plus `repetitions` (every repetition:
frames, status counted / scored / ignored and why, variant, score, criteria),
`counted_repetition`, `sides` and `protocol` (how the score was chosen).
"""
from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import numpy as np

from tools.core.errors import InputError
from tools.core.fms import BILATERAL
from tools.core.skeleton import JOINT_INDEX, Skeleton

log = logging.getLogger(__name__)

HEEL_BOARD_STEP_M = 0.025     # a 2x6 board is 0.038 m; pose noise on a 0.3 s median is under 1 cm
OTHER_SIDE = {"L": "R", "R": "L"}


@dataclass(frozen=True)
class RepetitionInputs:
    """What the physio gave for the test (as score_test takes it)."""

    side: str | None = None
    pain: bool = False
    heels_raised: bool | None = None
    criteria_file: str | None = None
    sex: str | None = None
    hand_length_m: float | None = None
    clearing_pain: bool = False


def repetition_slice(skel: Skeleton, rep: dict) -> Skeleton:
    """A repetition's own clip: frames [slice_start, slice_end) of the whole clip."""
    a, b = int(rep["slice_start"]), int(rep["slice_end"])
    meta = dict(skel.meta, repetition={"index": rep["index"], "slice_start": a, "slice_end": b,
                                       "start_frame": rep["start_frame"], "end_frame": rep["end_frame"]})
    return skel.replace(xyz=skel.xyz[a:b], conf=skel.conf[a:b], uv=None if skel.uv is None else skel.uv[a:b],
                        meta=meta)


def standing_heel_step_m(skel: Skeleton, rep: dict, seconds: float = 0.3) -> float | None:
    """Heel height above the toe (m, both feet) at the rest before a repetition (its slice's first 0.3 s)."""
    a = int(rep["slice_start"])
    b = min(int(rep["start_frame"]), a + max(2, int(round(seconds * skel.fps))))
    if b <= a:
        b = a + 1
    vals = []
    for side in ("left", "right"):
        h = skel.xyz[a:b, JOINT_INDEX[f"{side}_heel"], 1] - skel.xyz[a:b, JOINT_INDEX[f"{side}_toe"], 1]
        vals.append(h)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        v = float(np.nanmedian(np.concatenate(vals)))
    return v if np.isfinite(v) else None


def heels_raised_per_repetition(skel: Skeleton, reps: list[dict]) -> tuple[list[bool | None], dict]:
    """Per repetition: heels on the board (True), flat (False), or not told apart (None); with the evidence."""
    steps = [standing_heel_step_m(skel, r) for r in reps]
    seen = [s for s in steps if s is not None]
    evidence = {"standing_heel_above_toe_m": [None if s is None else round(s, 4) for s in steps],
                "step_needed_m": HEEL_BOARD_STEP_M}
    if len(seen) < 2 or max(seen) - min(seen) < HEEL_BOARD_STEP_M:
        evidence["told_apart"] = False
        return [None] * len(reps), evidence
    cut = min(seen) + 0.5 * (max(seen) - min(seen))
    evidence["told_apart"] = True
    return [None if s is None else bool(s >= cut) for s in steps], evidence


def _shift(result: dict, offset: int) -> dict:
    """A repetition's rubric result with its frames moved to frames of the whole clip."""
    out = dict(result)
    for key in ("deciding_frame", "key_frame"):
        if out.get(key) is not None:
            out[key] = int(out[key]) + offset
    out["criteria"] = [dict(c, deciding_frame=None if c.get("deciding_frame") is None
                            else int(c["deciding_frame"]) + offset) for c in result.get("criteria", [])]
    return out


def _undecided(test: str, result: dict) -> bool:
    """A failed repetition in the score-3 variant: the fallback variant decides 2 vs 1, not this one."""
    if result.get("score") != 1:
        return False
    inputs = result.get("inputs") or {}
    if test == "deep_squat":
        return inputs.get("heels_raised") is False
    if test == "rotary_stability":
        return inputs.get("pattern") == "unilateral"
    if test == "trunk_stability_pushup":
        level3 = next((c for c in result.get("criteria", []) if c["id"] == "hands_at_level_3"), None)
        return level3 is not None and level3.get("passed") is not False
    return False


def variant(test: str, result: dict) -> dict:
    """The protocol variant a scored repetition was in (deep squat heels, push-up hands, rotary pattern)."""
    inputs = result.get("inputs") or {}
    if test == "deep_squat":
        return {"heels_raised": bool(inputs.get("heels_raised")), "heels_raised_source": inputs.get("heels_source")}
    if test == "rotary_stability":
        return {"pattern": inputs.get("pattern")}
    if test == "trunk_stability_pushup":
        level3 = next((c for c in result.get("criteria", []) if c["id"] == "hands_at_level_3"), None)
        if level3 is None or level3.get("passed") is None:
            return {"hand_position": "not judged"}
        return {"hand_position": "score-3 level" if level3["passed"] else "score-2 level or lower"}
    return {}


def _score(rep_skel: Skeleton, test: str, side: str | None, inputs: RepetitionInputs, heels: bool | None,
           criteria: dict | None) -> dict:
    from tools.scoring.rubric import score_test
    return score_test(rep_skel, test, side, pain=inputs.pain, heels_raised=heels, criteria=criteria,
                      criteria_file=inputs.criteria_file, sex=inputs.sex, hand_length_m=inputs.hand_length_m,
                      clearing_pain=inputs.clearing_pain).to_dict()


def _score_one(skel: Skeleton, test: str, rep: dict, inputs: RepetitionInputs, heels: bool | None,
               criteria: dict | None) -> tuple[dict | None, str | None, str]:
    """(rubric result with clip frames, the side the motion shows, error): scored with the side inferred."""
    rep_skel = repetition_slice(skel, rep)
    side_seen = None
    try:
        result = _score(rep_skel, test, None if test in BILATERAL else "NA", inputs, heels, criteria)
        side_seen = result["side"] if test in BILATERAL else "NA"
    except InputError as exc:                 # the side cannot be told from this repetition alone
        if test not in BILATERAL:
            return None, None, str(exc)
        side = inputs.side or rep.get("side_hint")
        if side is None:
            return None, None, str(exc)
        try:
            result = _score(rep_skel, test, side, inputs, heels, criteria)
        except InputError as exc2:
            return None, None, str(exc2)
    return _in_repetition(_shift(result, int(rep["slice_start"])), rep), side_seen, ""


def _in_repetition(result: dict, rep: dict) -> dict:
    """A pass shown at the repetition itself: its closest-to-failing frame may fall in the rest padded around
    the movement (kept for the heel and balance evidence); the frame shown is then the repetition's bottom."""
    frame = result.get("deciding_frame")
    if result.get("score") == 3 and frame is not None and not rep["start_frame"] <= frame <= rep["end_frame"]:
        result = dict(result, deciding_frame=int(rep["bottom_frame"]))
    return result


def _rescore_side(skel: Skeleton, test: str, rep: dict, side: str, inputs: RepetitionInputs, heels: bool | None,
                  criteria: dict | None) -> dict | None:
    try:
        return _in_repetition(_shift(_score(repetition_slice(skel, rep), test, side, inputs, heels, criteria),
                                     int(rep["slice_start"])), rep)
    except InputError:
        return None


def _asked_check(test: str, recognition: dict) -> dict:
    """The recogniser's check of the asked-for test, where this install's recogniser has one."""
    try:
        from tools.scoring.rubric.recognize import asked_test_check
    except ImportError:
        return {}
    return asked_test_check(test, recognition)


def _rank(test: str, rec: dict) -> tuple:
    r = rec["result"]
    return (r["score"], not _undecided(test, r), float(r.get("confidence") or 0.0), -rec["index"])


def score_repetitions(skel: Skeleton, test: str, segmentation: dict, inputs: RepetitionInputs | None = None,
                      criteria: dict | None = None) -> dict:
    """Score every repetition of a segmented clip and choose the ones that count (module docstring)."""
    from tools.scoring.criteria import load_criteria
    from tools.scoring.rubric.recognize import mismatch_reason, recognize_test
    inputs = inputs or RepetitionInputs()
    criteria = criteria if criteria is not None else load_criteria(inputs.criteria_file)
    reps = list(segmentation.get("repetitions", []))
    if not reps:
        raise InputError(f"no repetition of {test} was found in the clip to score")
    fps = float(segmentation.get("fps") or skel.fps)
    # which repetitions are another movement: read before the heels, so only squats are compared
    others = {}
    for rep in reps:
        recog = recognize_test(repetition_slice(skel, rep))
        recog.update(_asked_check(test, recog))
        others[rep["index"]] = mismatch_reason(test, recog)
    heels_list: list[bool | None] = [inputs.heels_raised] * len(reps)
    heel_evidence: dict = {}
    if test == "deep_squat" and inputs.heels_raised is None:
        same = [r for r in reps if not others[r["index"]]]
        found, heel_evidence = heels_raised_per_repetition(skel, same)
        by_index = {r["index"]: h for r, h in zip(same, found)}
        heels_list = [by_index.get(r["index"]) for r in reps]

    records = []
    for rep, heels in zip(reps, heels_list):
        result, side_seen, error = _score_one(skel, test, rep, inputs, heels, criteria)
        if result is not None and test == "deep_squat":
            result.setdefault("inputs", {})["heels_source"] = (
                "physio" if inputs.heels_raised is not None else
                "told apart from the other repetitions" if heels is not None else
                "assumed flat" if result["inputs"].get("heels_raised_assumed") else "skeleton meta")
        records.append({"index": int(rep["index"]), "rep": rep, "result": result, "side_seen": side_seen,
                        "error": error, "other": others[rep["index"]]})

    # sides: grouped by what each repetition shows; a physio's side holds when no repetition shows the other
    bilateral = test in BILATERAL
    if bilateral:
        shown = {r["side_seen"] for r in records if r["side_seen"] and not r["rep"].get("partial")}
        for rec in records:
            if rec["result"] is None:
                continue
            want = rec["side_seen"] or rec["result"]["side"]
            if inputs.side and (shown <= {OTHER_SIDE[inputs.side]} or want == inputs.side):
                want = inputs.side
            if want != rec["result"]["side"] or (inputs.side == want and rec["result"].get("side_inferred")):
                again = _rescore_side(skel, test, rec["rep"], want, inputs,
                                      heels_list[records.index(rec)], criteria)
                if again is not None:
                    rec["result"] = again
    for rec in records:
        rec["side"] = rec["result"]["side"] if rec["result"] is not None else (
            rec["rep"].get("side_hint") or inputs.side or "NA") if bilateral else "NA"
        rec["status"], rec["why"] = "scored", ""
        if rec["result"] is None:
            rec["status"], rec["why"] = "ignored", f"could not be scored: {rec['error']}"
        elif rec["rep"].get("partial"):
            rec["status"] = "ignored"
            rec["why"] = (f"partial repetition: reached {100 * float(rec['rep']['share_of_largest']):.0f}% of the "
                          "largest repetition's range")
        elif rec["other"]:
            rec["status"], rec["why"] = "ignored", "not the asked-for movement: " + rec["other"].split(": check")[0]

    sides = sorted({r["side"] for r in records}) if bilateral else ["NA"]
    per_side: dict[str, dict] = {}
    for side in sides:
        group = [r for r in records if r["side"] == side and r["result"] is not None]
        valid = [r for r in group if r["status"] == "scored" and r["result"].get("score") is not None]
        pool = valid or [r for r in group if not r["rep"].get("partial") and r["result"].get("score") is not None] \
            or [r for r in group if r["result"].get("score") is not None]
        if not pool:
            continue
        best = max(pool, key=lambda r: _rank(test, r))
        per_side[side] = {"record": best, "valid": bool(valid), "n": len(group)}
    if not per_side:
        raise InputError(f"none of the {len(records)} repetition(s) of {test} could be scored: "
                         + "; ".join(r["why"] for r in records))
    if inputs.side and inputs.side in per_side:
        top_side = inputs.side
    else:
        top_side = min(per_side, key=lambda s: (per_side[s]["record"]["result"]["score"], s))
    for side, info in per_side.items():
        info["record"]["status"] = "counted"
    counted = per_side[top_side]["record"]
    out = dict(counted["result"])
    out["reasons"] = list(out.get("reasons", []))
    out["notes"] = list(out.get("notes", []))
    if not per_side[top_side]["valid"]:
        out["reasons"].append(f"no repetition in this clip is a complete {test.replace('_', ' ')}: the one "
                              f"shown was {counted['why']}")
        out["review"] = True
    doubt = _board_doubt(test, inputs, heel_evidence, records, counted)
    if doubt:
        out["reasons"].append(doubt)
        out["review"] = True
    summary = _protocol_summary(test, records, per_side, top_side)
    out["notes"].append(summary)
    out["repetition_mode"] = True
    out["counted_repetition"] = counted["index"]
    out["repetitions"] = [_record_json(test, r, fps) for r in records]
    out["sides"] = {s: _side_json(i["record"], i["valid"]) for s, i in per_side.items()} if bilateral else {}
    out["protocol"] = {"rule": "best repetition counts (FMS: up to three per test and side)",
                       "summary": summary, "top_side": top_side,
                       "both_sides": bilateral and len(per_side) == 2,
                       **({"heels_board": heel_evidence} if heel_evidence else {})}
    return out


def _board_doubt(test: str, inputs: RepetitionInputs, heel_evidence: dict, records: list[dict],
                 counted: dict) -> str | None:
    """A deep squat that passes after an earlier repetition failed, heels neither declared nor told apart:
    the protocol's next repetition after a failed flat-heel one is the board one, which gives 2 at most."""
    if test != "deep_squat" or inputs.heels_raised is not None or heel_evidence.get("told_apart"):
        return None
    if counted["result"].get("score") != 3:
        return None
    failed = [r for r in records if r["index"] < counted["index"] and r["status"] != "ignored"
              and (r["result"] or {}).get("score") == 1]
    if not failed:
        return None
    return (f"repetition {counted['index']} passes after repetition {failed[0]['index']} failed, and the heels "
            "were not declared: if it was done with the heels on the board it scores 2, not 3 (the board is not "
            "visible in this skeleton); say which repetitions were on the board")


def _record_json(test: str, rec: dict, fps: float) -> dict:
    rep, r = rec["rep"], rec["result"]
    out = {k: rep[k] for k in ("index", "start_frame", "bottom_frame", "end_frame", "slice_start", "slice_end")}
    out.update(start_s=round(rep["start_frame"] / fps, 3), bottom_s=round(rep["bottom_frame"] / fps, 3),
               end_s=round(rep["end_frame"] / fps, 3), partial=bool(rep.get("partial")),
               share_of_largest=rep.get("share_of_largest"), side=rec["side"], status=rec["status"],
               ignored_reason=rec["why"] or None)
    if r is None:
        out.update(score=None, confidence=0.0, review=True, reasons=[rec["error"]], criteria=[])
        return out
    recog = r.get("recognition") or {}
    out.update(score=r.get("score"), confidence=r.get("confidence"), review=bool(r.get("review")),
               reasons=list(r.get("reasons", [])), deciding_criterion=r.get("deciding_criterion"),
               deciding_frame=r.get("deciding_frame"), key_frame=r.get("key_frame"),
               variant=variant(test, r), decides_alone=not _undecided(test, r),
               looks_like=recog.get("test"), looks_like_score=(recog.get("scores") or {}).get(recog.get("test")),
               criteria=[{k: c.get(k) for k in ("id", "value", "unit", "threshold", "pass_if", "passed", "margin",
                                                 "deciding_frame")} for c in r.get("criteria", [])])
    return out


def _side_json(rec: dict, valid: bool) -> dict:
    r = rec["result"]
    return {"score": r.get("score"), "confidence": r.get("confidence"), "review": bool(r.get("review")) or not valid,
            "reasons": list(r.get("reasons", [])), "counted_repetition": rec["index"],
            "deciding_criterion": r.get("deciding_criterion"), "deciding_frame": r.get("deciding_frame"),
            "side_inferred": bool(r.get("side_inferred")), "criteria": r.get("criteria", []),
            "inputs": r.get("inputs", {}), "notes": r.get("notes", [])}


def _protocol_summary(test: str, records: list[dict], per_side: dict, top_side: str) -> str:
    parts = []
    for side, info in sorted(per_side.items()):
        group = [r for r in records if r["side"] == side]
        c = info["record"]
        label = "" if side == "NA" else f"{side}: "
        others = ", ".join(f"#{r['index']} {r['result']['score'] if r['result'] else '-'}"
                           + (" (ignored)" if r["status"] == "ignored" else "")
                           for r in group if r is not c)
        parts.append(f"{label}repetition {c['index']} of {len(group)} counted (score {c['result']['score']})"
                     + (f"; others {others}" if others else ""))
    tail = f"; the lower side ({top_side}) counts toward the composite" if len(per_side) == 2 else ""
    return "best of the repetitions: " + "; ".join(parts) + tail
