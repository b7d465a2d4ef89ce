"""`formscout fit-criteria LABELS.csv --clips DIR [--out FILE] [--folds 5]`: fit thresholds to physio labels.

Reads the physio labels CSV (docs/LABELS.md schema; an optional `sex` column
(M/F) lets the push-up levels be fitted, `heels_raised` (yes/no) and
`hand_length_m` columns are used when present), finds each clip under DIR as
`<clip_id>.npz` (canonical skeleton) or `<clip_id>.<video>` (run through the
pose path: check_video -> estimate_pose -> lift_to_3d, cached beside the
output), prepares it like a screening run, measures every criterion once, and
fits the thresholds (tools/study/fit_criteria.py). Prints agreement with the physio
before (current thresholds), after (fitted, in-sample: optimistic) and
cross-validated (fitted without the held-out athletes: the honest figure), and
writes an override YAML for `--criteria`.
"""
from __future__ import annotations

import csv
import json
import logging
from datetime import datetime, timezone
from pathlib import Path

from tools.core.errors import InputError
from tools.core.files import VIDEO_SUFFIXES, ClipNotFound, ClipResolver

log = logging.getLogger(__name__)



def add_parser(sub) -> None:
    p = sub.add_parser("fit-criteria", help="fit criteria thresholds to physio-labelled clips; writes an override YAML",
                       description="Fit the rubric thresholds to physio-scored clips and report agreement (exact, "
                                   "within-1, quadratic kappa) before, after and cross-validated by athlete.")
    p.add_argument("labels", help="labels CSV: clip_id, athlete_id, test_name, side, score[, pain, sex, ...]")
    p.add_argument("--clips", required=True, help="folder with <clip_id>.npz skeletons or <clip_id>.<video> files")
    p.add_argument("--out", default="fitted_criteria.yaml", help="override YAML to write (default: fitted_criteria.yaml)")
    p.add_argument("--criteria", default="", help="start from this team file instead of the defaults")
    p.add_argument("--folds", type=int, default=5, help="athlete-level cross-validation folds (default 5)")
    p.add_argument("--pose", default="mediapipe", choices=["mediapipe", "yolo"], help="pose backend for video clips")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.add_argument("--allow-outside-range", action="store_true",
                   help="let a threshold leave the range knowledge/criteria.yaml documents for it (default: the fit "
                        "stays inside and warns)")
    p.set_defaults(func=run)


def _extra_columns(path: Path) -> dict[str, dict]:
    """Optional per-clip inputs the labels schema does not define: sex, heels_raised, hand_length_m."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        out = {}
        for r in csv.DictReader(fh):
            r = {(k or "").strip().lower(): (v or "").strip() for k, v in r.items()}
            out[r.get("clip_id", "")] = r
    return out


def _prepared_skeleton(path: Path, test: str, work: Path, pose: str) -> Path:
    """Run the screening run's own steps up to the prepared skeleton (video: pose and 3D first)."""
    from agent.screening import steps
    work.mkdir(parents=True, exist_ok=True)
    prepared = work / steps.SKELETON_FILE
    if prepared.is_file():
        return prepared
    source = str(path)
    if path.suffix.lower() in VIDEO_SUFFIXES:
        steps.check_video(source)
        pose_out = steps.estimate_pose(source, str(work), backend=pose)
        source = steps.lift_to_3d(pose_out["pose_path"], str(work))["skeleton_path"]
    return Path(steps.prepare_skeleton(source, str(work), test)["skeleton_path"])


def measure_labelled(labels_path: Path, clips_dir: Path, criteria: dict, cache: Path, pose: str) -> tuple[list, list[str]]:
    """FitClips for every labelled clip that could be found and measured; plus the problems met."""
    from tools.core.labels import read_labels
    from tools.scoring.rubric import judge_clip
    from tools.study.fit_criteria import FitClip
    from tools.core.skeleton import Skeleton
    rows = read_labels(labels_path)
    extra = _extra_columns(labels_path)
    resolver = ClipResolver(labels_path, clips_dir)     # the one clip resolver (index add, eval, train, session)
    clips, problems = [], []
    for row in rows:
        try:
            path = resolver.resolve(row.clip_id, row.path)
        except ClipNotFound as exc:
            problems.append(f"clip {row.clip_id}: {exc}")
            continue
        more = extra.get(row.clip_id, {})
        sex = {"M": "male", "F": "female"}.get(more.get("sex", "").upper())
        heels = {"yes": True, "true": True, "1": True, "no": False, "false": False, "0": False}.get(
            more.get("heels_raised", "").lower())
        hand = float(more["hand_length_m"]) if more.get("hand_length_m") else None
        try:
            skel = Skeleton.load(_prepared_skeleton(path, row.test_name, cache / row.clip_id, pose))
            j = judge_clip(skel, row.test_name, row.side if row.side in ("L", "R") else None, heels_raised=heels,
                           sex={"male": "M", "female": "F"}.get(sex), hand_length_m=hand, criteria=criteria)
        except InputError as exc:
            problems.append(f"clip {row.clip_id}: {exc}")
            continue
        # pain as formscout eval reads it (tools.study.cv.is_pain: the pain column, or a score of 0)
        clips.append(FitClip.from_judgement(row.clip_id, row.athlete_id, row.test_name, row.score,
                                            bool(row.pain or row.score == 0), sex, j))
    return clips, problems


def _agreement(clips, preds) -> dict:
    """Agreement over the pain-free clips the rules could score: the rows `formscout eval` counts."""
    from tools.core.stats import agreement
    pairs = [(c.label, p) for c, p in zip(clips, preds) if p is not None and not c.pain]
    return agreement([a for a, _ in pairs], [b for _, b in pairs])


def write_override(path: Path, fitted: dict, defaults: dict, report: dict, labels: str) -> list[dict]:
    """Write the changed thresholds as a commented YAML override; returns the change list."""
    changes = []
    for key, value in sorted(fitted.items(), key=str):
        old = defaults[key]
        if abs(value - old) > 1e-9:
            changes.append({"test": key[0], "criterion": key[1], "sex": key[2] if len(key) == 3 else None,
                            "default": old, "fitted": round(value, 4)})
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    lines = [f"# Thresholds fitted by `formscout fit-criteria {labels}` on {when}.",
             f"# {report['n_clips']} clips from {report['n_athletes']} athletes. Agreement with the physio (exact):",
             f"#   before {report['before']['exact']}, after (in-sample) {report['after']['exact']}, "
             f"cross-validated by athlete {report['cross_validated']['exact']}.",
             "# Use with --criteria THIS_FILE; only these keys override knowledge/criteria.yaml.", ""]
    by_test: dict[str, list[dict]] = {}
    for ch in changes:
        by_test.setdefault(ch["test"], []).append(ch)
    for test, chs in by_test.items():
        lines.append(f"{test}:")
        by_crit: dict[str, list[dict]] = {}
        for ch in chs:
            by_crit.setdefault(ch["criterion"], []).append(ch)
        for cid, items in by_crit.items():
            lines.append(f"  {cid}:")
            for ch in items:
                indent = "    "
                if ch["sex"]:
                    lines.append(f"    {ch['sex']}:")
                    indent = "      "
                lines.append(f"{indent}threshold: {ch['fitted']}   # default {ch['default']:g}; fitted to physio labels")
    if not changes:
        lines.append("{}   # no threshold changed: the defaults already agree best with these labels")
    path.write_text("\n".join(lines) + "\n")
    return changes


def run(args) -> int:
    from tools.scoring.criteria import load_criteria
    from tools.study.fit_criteria import (cross_validated_predictions, current_thresholds, fit_thresholds, predict,
                                          range_warnings)
    labels = Path(args.labels)
    clips_dir = Path(args.clips)
    if not clips_dir.is_dir():
        raise InputError(f"clips folder not found: {clips_dir}. Give the folder with the labelled clips")
    criteria = load_criteria(args.criteria or None)
    out = Path(args.out)
    cache = out.parent / (out.stem + "_measured")
    clips, problems = measure_labelled(labels, clips_dir, criteria, cache, args.pose)
    if not clips:
        raise InputError(f"none of the labelled clips could be measured: {'; '.join(problems[:5])}")
    defaults = current_thresholds(criteria, {c.test for c in clips})
    before = [predict(c, defaults, criteria) for c in clips]
    free = fit_thresholds(clips, criteria, respect_ranges=False)
    fitted = free if args.allow_outside_range else fit_thresholds(clips, criteria)
    outside = range_warnings(free, fitted, criteria)
    after = [predict(c, fitted, criteria) for c in clips]
    cv = cross_validated_predictions(clips, criteria, folds=args.folds, respect_ranges=not args.allow_outside_range)
    report = {"n_clips": len(clips), "n_athletes": len({c.athlete_id for c in clips}),
              "n_agreement_rows": sum(not c.pain for c in clips),
              "pain_clips_not_fitted": sum(c.pain for c in clips),
              "range_warnings": outside, "ranges_respected": not args.allow_outside_range,
              "before": _agreement(clips, before), "after": _agreement(clips, after),
              "cross_validated": _agreement(clips, cv), "folds": min(args.folds, len({c.athlete_id for c in clips})),
              "problems": problems, "per_test": {}}
    for test in sorted({c.test for c in clips}):
        idx = [i for i, c in enumerate(clips) if c.test == test]
        sub = [clips[i] for i in idx]
        report["per_test"][test] = {k: _agreement(sub, [p[i] for i in idx])["exact"]
                                    for k, p in (("before", before), ("after", after), ("cross_validated", cv))}
        report["per_test"][test]["n"] = sum(not clips[i].pain for i in idx)     # the rows eval counts
        report["per_test"][test]["n_pain"] = sum(clips[i].pain for i in idx)
    report["changes"] = write_override(out, fitted, defaults, report, labels.name)
    report["override_yaml"] = str(out)
    load_criteria(out)  # the file we wrote must load as an override
    if args.json:
        print(json.dumps(report, default=str))
        return 0
    print(f"fit-criteria: {report['n_clips']} clips, {report['n_athletes']} athletes "
          f"({report['pain_clips_not_fitted']} pain clips scored 0: not fitted and, as in formscout eval, "
          f"not counted in agreement)")
    print(f"{'':18s} {'exact':>7s} {'within1':>8s} {'kappa_q':>8s}")
    for name in ("before", "after", "cross_validated"):
        a = report[name]
        print(f"{name:18s} {a['exact']!s:>7s} {a['within_1']!s:>8s} {a['kappa_quadratic']!s:>8s}")
    print("per test (exact before / after / cross-validated):")
    for test, r in report["per_test"].items():
        print(f"  {test:27s} n={r['n']:3d}  {r['before']} / {r['after']} / {r['cross_validated']}")
    for ch in report["changes"]:
        print(f"  {ch['test']}.{ch['criterion']}{'.' + ch['sex'] if ch['sex'] else ''}: "
              f"{ch['default']:g} -> {ch['fitted']:g}")
    for w in outside:
        name = f"{w['test']}.{w['criterion']}{'.' + w['sex'] if w['sex'] else ''}"
        if args.allow_outside_range:
            print(f"  WARNING {name}: fitted {w['wanted']:g}, outside its documented range "
                  f"{w['range'][0]:g}-{w['range'][1]:g} (--allow-outside-range): check these labels")
        else:
            print(f"  WARNING {name}: the labels pull it to {w['wanted']:g}, outside its documented range "
                  f"{w['range'][0]:g}-{w['range'][1]:g}; kept at {w['kept']:g} (--allow-outside-range to take it)")
    for p in problems[:10]:
        print(f"  skipped: {p}")
    print(f"override written: {out}  (use --criteria {out}); 'after' is in-sample, 'cross_validated' is the honest figure")
    return 0
