"""Repetition segmentation and best-of scoring on synthetic multi-repetition skeleton clips (held-out seeds).

    nice -n 5 .venv/bin/python benchmarks/bench_repetitions.py [--n 20] [--seed-base 5000]
                              [--styles classic:realistic,heldout:tracker] [--single 20] [--json OUT.json]

Clips: tools/synth/repetitions.py random plans (1-3 repetitions per side,
pauses, a failed repetition among good ones, the protocol's fallback variants,
both sides in one clip, a partial repetition, a lunge slipped into a squat
clip and the reverse, standing up between repetitions), seen from the view
that judges the test, with a pose-noise model (style:noise pairs; `heldout`
is the generator style no part of FormScout was tuned on, with the `tracker`
noise no training style uses). Each clip is prepared as the screening run
prepares it (agent.screening.steps.prepare_skeleton).

Segmentation (tools.geometry.repetitions): a found complete repetition matches
a truth one when their spans overlap with IoU > 0.3. Precision / recall count
full repetitions (a partial one found as complete is a false positive; another
movement found is neither: scoring must name it); boundary errors are mean
|found - truth| frames at 30 fps (truth start = first frame of the movement
phase, end = first frame of the final rest, bottom = middle of the hold).

Scoring (tools.scoring.repetitions), per side, against the protocol's truth
(the best counting repetition): `best-of` with the repetitions found;
`oracle` with the truth repetitions (what segmentation costs); `whole clip`
as FormScout scored before repetitions (the clip as one movement); `per-rep`
the rubric on each full repetition alone against its own truth (the ceiling
the rubric sets). Inputs as a physio gives them: side not given, heels declared
only for a clip all on the board or all flat, sex, measured hand length.
`--single`: single-repetition clips (tools.synth.library) per test; the share
found as exactly one complete repetition is the share whose verdict cannot change.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.core.errors import InputError
from tools.core.fms import BILATERAL, TESTS

VIEWS = {"deep_squat": "45", "hurdle_step": "45", "inline_lunge": "45", "shoulder_mobility": "45",
         "active_straight_leg_raise": "side", "trunk_stability_pushup": "side", "rotary_stability": "45"}


def prepared(skel, tmp: Path):
    from agent.screening.steps import prepare_skeleton
    from tools.core.skeleton import Skeleton
    raw = skel.save(tmp / "raw.npz")
    return Skeleton.load(prepare_skeleton(str(raw), str(tmp), "deep_squat")["skeleton_path"])


def match(found, truth, iou_min: float = 0.3):
    pairs, used = [], set()
    for d in found:
        best, best_iou = None, 0.0
        for t in truth:
            if t.index in used:
                continue
            ov = min(d.end_frame, t.end_frame) - max(d.start_frame, t.start_frame)
            un = max(d.end_frame, t.end_frame) - min(d.start_frame, t.start_frame)
            iou = ov / un if un > 0 else 0.0
            if iou > best_iou:
                best, best_iou = t, iou
        pairs.append((d, best) if best is not None and best_iou > iou_min else (d, None))
        if best is not None and best_iou > iou_min:
            used.add(best.index)
    return pairs


def inputs_for(clip, test):
    from tools.scoring.repetitions import RepetitionInputs
    heels = None
    if test == "deep_squat":
        kinds = {r.variant for r in clip.reps if r.kind == "full" and r.test == test}
        heels = True if kinds == {"heels_raised"} else False if kinds == {"flat"} else None
    return RepetitionInputs(sex="M" if clip.athlete.sex == "male" else "F", heels_raised=heels,
                            hand_length_m=clip.athlete.hand_length_m if test == "shoulder_mobility" else None)


def side_scores(out: dict | None, test: str) -> dict:
    if out is None:
        return {}
    if test in BILATERAL:
        return {s: v["score"] for s, v in (out.get("sides") or {}).items()} or {out["side"]: out["score"]}
    return {"NA": out["score"]}


def oracle_segmentation(clip, n_frames: int, fps: float, pad: int) -> dict:
    reps = clip.reps
    out = []
    for k, r in enumerate(reps):
        prev_end = reps[k - 1].end_frame if k else 0
        next_start = reps[k + 1].start_frame if k + 1 < len(reps) else n_frames
        out.append(dict(index=r.index, start_frame=r.start_frame, bottom_frame=r.bottom_frame, end_frame=r.end_frame,
                        slice_start=max(0, r.start_frame - pad, prev_end), slice_end=min(n_frames, r.end_frame + pad,
                                                                                         next_start),
                        partial=r.kind == "partial", share_of_largest=0.3 if r.kind == "partial" else 1.0,
                        side_hint=r.side if r.side in ("L", "R") else None))
    return {"fps": fps, "repetitions": out}


def run_style(test: str, style: str, noise: str, n: int, seed_base: int, tmp: Path) -> dict:
    from tools.geometry.repetitions import SegmentConfig, segment_repetitions
    from tools.scoring.repetitions import repetition_slice, score_repetitions
    from tools.scoring.rubric import score_test
    from tools.synth.library import auto_camera
    from tools.synth.repetitions import clip_skeleton, make_repetition_clip
    acc = {"tp": 0, "fp": 0, "fn": 0, "start": [], "end": [], "bottom": [], "partial_ok": 0, "partial_n": 0,
           "other_named": 0, "other_n": 0, "sides": 0, "best_of": 0, "oracle": 0, "whole": 0,
           "per_rep_ok": 0, "per_rep_n": 0, "reps": 0}
    for k in range(n):
        seed = seed_base + 1000 * TESTS.index(test) + k
        clip = make_repetition_clip(test, seed, style=style)
        skel = prepared(clip_skeleton(clip, auto_camera(clip, VIEWS[test]), noise=noise, noise_seed=seed), tmp)
        seg = segment_repetitions(skel, test)
        acc["reps"] += len(clip.reps)
        pairs = match(seg.repetitions, clip.reps)
        for d, t in pairs:
            if d.partial:
                continue
            if t is not None and t.kind == "other":
                continue
            if t is None or t.kind == "partial":
                acc["fp"] += 1
                continue
            acc["tp"] += 1
            acc["start"].append(abs(d.start_frame - t.start_frame))
            acc["end"].append(abs(d.end_frame - t.end_frame))
            acc["bottom"].append(abs(d.bottom_frame - t.bottom_frame))
        matched = {t.index for d, t in pairs if t is not None and not d.partial}
        acc["fn"] += sum(1 for t in clip.reps if t.kind == "full" and t.index not in matched)
        for t in clip.reps:
            if t.kind == "partial":
                acc["partial_n"] += 1
                hit = [d for d, tt in pairs if tt is t]
                acc["partial_ok"] += (not hit) or hit[0].partial
        inputs = inputs_for(clip, test)
        truth = clip.truth_scores()
        seg_doc = seg.to_dict()
        try:
            out = score_repetitions(skel, test, seg_doc, inputs) if seg.repetitions else None
        except InputError:
            out = None
        if out is not None:
            for t in clip.reps:
                if t.kind == "other":
                    acc["other_n"] += 1
                    hit = [d for d, tt in pairs if tt is t]
                    named = hit and any(r["index"] == hit[0].index and r["status"] == "ignored"
                                        for r in out["repetitions"])
                    acc["other_named"] += bool(not hit or named)
        try:
            oracle = score_repetitions(skel, test, oracle_segmentation(clip, skel.n_frames, skel.fps,
                                                                       int(SegmentConfig().pad_s * skel.fps)), inputs)
        except InputError:
            oracle = None
        got, got_oracle = side_scores(out, test), side_scores(oracle, test)
        for side, tv in truth.items():
            acc["sides"] += 1
            acc["best_of"] += got.get(side) == tv
            acc["oracle"] += got_oracle.get(side) == tv
            try:
                whole = score_test(skel, test, None if side == "NA" else side, sex=inputs.sex,
                                   heels_raised=inputs.heels_raised, hand_length_m=inputs.hand_length_m).score
            except InputError:
                whole = None
            acc["whole"] += whole == tv
        # the rubric alone on each full repetition (truth slice), against that repetition's own truth
        for r in oracle_segmentation(clip, skel.n_frames, skel.fps, int(SegmentConfig().pad_s * skel.fps))["repetitions"]:
            t = clip.reps[r["index"] - 1]
            if t.kind != "full":
                continue
            heels = {"heels_raised": True, "flat": False}.get(t.variant) if test == "deep_squat" else None
            try:
                s = score_test(repetition_slice(skel, r), test, t.side if t.side in ("L", "R") else None,
                               sex=inputs.sex, heels_raised=heels, hand_length_m=inputs.hand_length_m).score
            except InputError:
                s = None
            acc["per_rep_n"] += 1
            acc["per_rep_ok"] += s == t.score
    return acc


def single_rep(test: str, n: int, seed_base: int, style: str, noise: str) -> tuple[int, int]:
    from tools.geometry.repetitions import segment_repetitions
    from tools.synth.library import auto_camera, make_sample, truth_skeleton
    from tools.synth.noise import add_noise
    ok = 0
    for k in range(n):
        seed = seed_base + 1000 * TESTS.index(test) + 500 + k
        side = ("L", "R")[k % 2] if test in BILATERAL else "NA"
        s = make_sample(test, seed, score=(3, 2, 1, 0)[k % 4], side=side, style=style)
        skel = truth_skeleton(s, auto_camera(s, VIEWS[test]))
        if noise != "clean":
            skel = add_noise(skel, noise, np.random.default_rng(seed))
        skel = skel.filled(6).smoothed(window_s=0.2)
        seg = segment_repetitions(skel, test)
        ok += len(seg.complete) == 1
    return ok, n


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=20, help="clips per test and style")
    p.add_argument("--seed-base", type=int, default=5000)
    p.add_argument("--styles", default="classic:realistic,heldout:tracker", help="style:noise pairs")
    p.add_argument("--tests", default=",".join(TESTS))
    p.add_argument("--single", type=int, default=20, help="single-repetition clips per test and style (0 = skip)")
    p.add_argument("--json", default="")
    args = p.parse_args()
    warnings.simplefilter("ignore")
    report: dict = {"args": vars(args), "results": {}}
    tmp = Path(tempfile.mkdtemp(prefix="bench_reps_"))
    t0 = time.perf_counter()
    for pair in args.styles.split(","):
        style, noise = pair.split(":")
        print(f"\n== style {style}, noise {noise}: {args.n} multi-repetition clips per test (seeds from "
              f"{args.seed_base})")
        print(f"{'test':26s} reps  P      R      start end  bottom partial other | best-of oracle whole  per-rep")
        for test in args.tests.split(","):
            a = run_style(test, style, noise, args.n, args.seed_base, tmp)
            P = a["tp"] / (a["tp"] + a["fp"]) if a["tp"] + a["fp"] else float("nan")
            R = a["tp"] / (a["tp"] + a["fn"]) if a["tp"] + a["fn"] else float("nan")
            row = {"repetitions": a["reps"], "precision": round(P, 3), "recall": round(R, 3),
                   "start_err_frames": round(float(np.mean(a["start"])), 1),
                   "end_err_frames": round(float(np.mean(a["end"])), 1),
                   "bottom_err_frames": round(float(np.mean(a["bottom"])), 1),
                   "partial_ok": f"{a['partial_ok']}/{a['partial_n']}", "other_named": f"{a['other_named']}/{a['other_n']}",
                   "sides": a["sides"], "best_of": round(a["best_of"] / a["sides"], 3),
                   "oracle": round(a["oracle"] / a["sides"], 3), "whole_clip": round(a["whole"] / a["sides"], 3),
                   "per_rep_rubric": round(a["per_rep_ok"] / max(a["per_rep_n"], 1), 3)}
            if args.single:
                ok, n = single_rep(test, args.single, args.seed_base, style, noise)
                row["single_rep_one_found"] = f"{ok}/{n}"
            report["results"].setdefault(f"{style}:{noise}", {})[test] = row
            print(f"{test:26s} {row['repetitions']:4d}  {P:.3f}  {R:.3f}  {row['start_err_frames']:5.1f} "
                  f"{row['end_err_frames']:5.1f} {row['bottom_err_frames']:5.1f}  {row['partial_ok']:7s} "
                  f"{row['other_named']:5s} | {row['best_of']:.3f}   {row['oracle']:.3f}  {row['whole_clip']:.3f}  "
                  f"{row['per_rep_rubric']:.3f}" + (f"   single {row['single_rep_one_found']}" if args.single else ""),
                  flush=True)
    print(f"\n{time.perf_counter() - t0:.0f} s (wall clock on a shared machine)")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
