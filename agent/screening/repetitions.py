"""Repetitions in the screening run: the segment_repetitions step, scoring by repetition, the verdict's list.

A clip as physios film it holds up to three repetitions per side (the whole
screen, often). `segment_repetitions` (a protocol step, after measure_angles)
finds them on the prepared skeleton (tools.geometry.repetitions) and writes
repetitions.json; with two or more complete repetitions it also writes each
one's own clip (repetitions/rep_NN.npz). score_rubric then scores each
repetition on its own and the protocol's best counts
(tools.scoring.repetitions); the ST-GCN and the clip search read the counted
repetition's clip. With one complete repetition (a single-repetition clip),
nothing changes: the whole clip is scored as before, and the verdict only
lists the repetition found.

The verdict's `repetitions` lists every repetition (frames, seconds, status
counted / scored / ignored and why, variant, score), `counted_repetition`
names the one that counted, and `sides` gives each side's decision when a
clip holds both (the side not on the verdict's top line goes through the same
decision policy, with the clip's pose quality; the ST-GCN and the neighbours
were asked about the top line's repetition only).
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

from tools.core.errors import InputError
from tools.core.files import write_json_atomic
from tools.core.skeleton import Skeleton

log = logging.getLogger(__name__)

REPETITIONS_FILE = "repetitions.json"
REPETITION_DIR = "repetitions"
MODE_REPETITIONS, MODE_SINGLE = "repetitions", "single"


def segment_repetitions(skeleton_path: str, run_dir: str, test: str) -> dict:
    """Find each repetition of the test in the clip (start, bottom and end frames): several may be filmed, the best counts."""
    from tools.geometry.repetitions import segment_repetitions as segment
    from tools.scoring.repetitions import repetition_slice
    skel = Skeleton.load(skeleton_path)
    seg = segment(skel, test)
    doc = seg.to_dict()
    mode = MODE_REPETITIONS if len(seg.complete) >= 2 else MODE_SINGLE
    doc.update(mode=mode, source_skeleton=str(skeleton_path))
    if mode == MODE_REPETITIONS:
        folder = Path(run_dir) / REPETITION_DIR
        for rep in doc["repetitions"]:
            path = repetition_slice(skel, rep).save(folder / f"rep_{rep['index']:02d}.npz")
            rep["skeleton_path"] = str(path)
    path = write_json_atomic(Path(run_dir) / REPETITIONS_FILE, doc)
    log.info("segment_repetitions %s: %d repetition(s) (%d complete) on %s, mode %s", test, len(seg.repetitions),
             len(seg.complete), seg.signal, mode)
    keep = ("index", "start_frame", "bottom_frame", "end_frame", "start_s", "bottom_s", "end_s", "partial",
            "share_of_largest", "side_hint", "peak", "skeleton_path")
    return {"repetitions_path": str(path), "mode": mode, "n_repetitions": len(seg.repetitions),
            "n_complete": len(seg.complete), "signal": seg.signal, "signal_unit": seg.signal_unit,
            "signal_description": seg.signal_description, "fps": seg.fps, "n_frames": seg.n_frames,
            "levels": doc["levels"], "out_of_posture": doc["out_of_posture"],
            "posture_changes": doc["posture_changes"],
            "repetitions": [{k: r.get(k) for k in keep if k in r} for r in doc["repetitions"]]}


def load_repetitions(repetitions_path: str) -> dict:
    p = Path(repetitions_path)
    if not p.is_file():
        raise InputError(f"repetitions file not found: {p}; run segment_repetitions first (or pass '')")
    try:
        return json.loads(p.read_text())
    except json.JSONDecodeError as exc:
        raise InputError(f"{p} is not a repetitions file: {exc}") from exc


def score_with_repetitions(skeleton_path: str, test: str, repetitions_path: str, *, side: str | None, pain: bool,
                           heels_raised: bool | None, criteria_file: str | None, sex: str | None,
                           hand_length_m: float | None, clearing_pain: bool) -> dict | None:
    """score_rubric for a clip of several repetitions (None: a single repetition, scored as one clip)."""
    from tools.scoring.repetitions import RepetitionInputs, score_repetitions
    seg = load_repetitions(repetitions_path)
    if seg.get("mode") != MODE_REPETITIONS:
        return None
    if seg.get("test") != test:
        raise InputError(f"the repetitions in {Path(repetitions_path).name} were found for {seg.get('test')}, "
                         f"not {test}: run segment_repetitions for {test}")
    if Path(seg.get("source_skeleton", "")).resolve() != Path(skeleton_path).resolve():
        raise InputError(f"the repetitions in {Path(repetitions_path).name} were found on another skeleton "
                         f"({Path(seg.get('source_skeleton', '')).name}); segment this one first")
    skel = Skeleton.load(skeleton_path)
    out = score_repetitions(skel, test, seg, RepetitionInputs(
        side=side, pain=pain, heels_raised=heels_raised, criteria_file=criteria_file, sex=sex,
        hand_length_m=hand_length_m, clearing_pain=clearing_pain))
    paths = {r["index"]: r.get("skeleton_path") for r in seg["repetitions"]}
    for rep in out["repetitions"]:
        rep["skeleton_path"] = paths.get(rep["index"])
    out["counted_skeleton_path"] = paths.get(out["counted_repetition"])
    for entry in out.get("sides", {}).values():
        entry["skeleton_path"] = paths.get(entry["counted_repetition"])
    return out


def verdict_repetitions(results: dict, decision: dict | None, quality: dict | None) -> dict:
    """The verdict's repetitions, counted repetition and per-side decisions (empty when not segmented)."""
    rubric = results.get("score_rubric") or {}
    seg = results.get("segment_repetitions")
    if rubric.get("repetition_mode"):
        reps = [{k: v for k, v in r.items() if k != "criteria"} | {"criteria": _compact(r.get("criteria", []))}
                for r in rubric.get("repetitions", [])]
        sides = {}
        for s, entry in (rubric.get("sides") or {}).items():
            if s == rubric.get("side") and decision is not None:
                d = decision
            else:
                from agent.screening.decide import decide
                d = decide({**entry, "inputs": entry.get("inputs", {})}, quality or None)
            sides[s] = {"score": d.get("score"), "confidence": d.get("confidence"), "review": bool(d.get("review")),
                        "reasons": list(d.get("reasons", [])), "counted_repetition": entry["counted_repetition"],
                        "deciding_criterion": entry.get("deciding_criterion"),
                        "deciding_frame": entry.get("deciding_frame"), "side_inferred": entry.get("side_inferred"),
                        "criteria": entry.get("criteria", [])}
        return {"repetition_mode": True, "repetitions": reps, "counted_repetition": rubric.get("counted_repetition"),
                "sides": sides, "repetition_protocol": rubric.get("protocol", {})}
    if not seg:
        return {}
    complete = [r for r in seg.get("repetitions", []) if not r.get("partial")]
    reps = []
    for r in seg.get("repetitions", []):
        status = "ignored" if r.get("partial") else "counted"
        reps.append({**{k: r.get(k) for k in ("index", "start_frame", "bottom_frame", "end_frame", "start_s",
                                                 "bottom_s", "end_s", "partial", "share_of_largest")},
                     "side": rubric.get("side"), "status": status,
                     "ignored_reason": (f"partial repetition: reached {100 * float(r.get('share_of_largest') or 0):.0f}%"
                                        " of the largest repetition's range") if r.get("partial") else None,
                     "score": rubric.get("score") if status == "counted" else None})
    return {"repetition_mode": False, "repetitions": reps,
            "counted_repetition": complete[0]["index"] if len(complete) == 1 else None}


def _compact(criteria: list[dict]) -> list[dict]:
    return [{k: c.get(k) for k in ("id", "value", "unit", "threshold", "pass_if", "passed", "deciding_frame")}
            for c in criteria]


def side_view(verdict: dict, side: str) -> dict:
    """The verdict as seen for one side of a clip that holds both (the side's score, reasons, criteria)."""
    entry = (verdict.get("sides") or {}).get(side)
    if entry is None or side == verdict.get("side"):
        return verdict
    view = dict(verdict, side=side)
    for key in ("score", "confidence", "review", "reasons", "deciding_criterion", "deciding_frame", "criteria",
                "side_inferred", "counted_repetition"):
        if key in entry:
            view[key] = entry[key]
    view["deciding_time_s"] = None
    return view


def other_sides(verdict: dict) -> list[dict]:
    """For a clip with both sides: the side(s) not on the verdict's top line, each as side_view."""
    return [side_view(verdict, s) for s in sorted(verdict.get("sides") or {}) if s != verdict.get("side")]


def repetition_lines(verdict: dict) -> list[str]:
    """The repetitions of a verdict as plain lines (none for a single-repetition clip)."""
    reps = verdict.get("repetitions") or []
    if not verdict.get("repetition_mode") or len(reps) < 2:
        return []
    fps_note = lambda r: f"{r.get('start_s', 0):.1f}-{r.get('end_s', 0):.1f} s" if r.get("start_s") is not None \
        else f"frames {r.get('start_frame')}-{r.get('end_frame')}"
    lines = [f"repetitions: {len(reps)} found, the best counts"]
    for r in reps:
        side = f" {r['side']}" if r.get("side") in ("L", "R") else ""
        score = "-" if r.get("score") is None else r["score"]
        variant = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in (r.get("variant") or {}).items()
                            if v not in (None, "") and k != "heels_raised_source")
        why = r.get("ignored_reason") or variant
        lines.append(f"  #{r['index']}{side} {r.get('status', ''):7s} score {score}  ({fps_note(r)})"
                     + (f"  {why}" if why else ""))
    for side, entry in sorted((verdict.get("sides") or {}).items()):
        if side != verdict.get("side"):
            lines.append(f"other side {side}: score {entry.get('score')} (repetition #{entry.get('counted_repetition')})"
                         + (" -> physio review" if entry.get("review") else ""))
    return lines
