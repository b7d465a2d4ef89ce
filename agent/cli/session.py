"""`formscout session MANIFEST.csv [--out DIR] [--athlete ID] [--sex M|F] [--json]`: score a whole FMS screen.

Each manifest row (tools/report/manifest.py: clip, test, side, pain,
clearing_pain, heels_raised, hand_length_m) runs through the screening run
(agent.screening.run.screen) into its own run folder; the verdicts become the
session scorecard (tools/report/scorecard.py: per-test L/R, composite 0-21 or
'incomplete', asymmetries, missing tests, clearing tests) and an HTML + PDF
report (tools/report/render.py). A row whose run fails is reported with its
error and its test counts as missing; the others still run.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import time
from pathlib import Path

from tools.core.errors import InputError

log = logging.getLogger(__name__)


def add_parser(sub) -> None:
    p = sub.add_parser("session", help="score a whole FMS screen from a manifest of clips (scorecard + HTML/PDF)",
                       description="Score every clip of one athlete's FMS screen and build the scorecard: per-test "
                                   "left/right scores, composite 0-21 (lower of L/R), asymmetries, missing tests and "
                                   "clearing tests, as session.json, session_report.html and session_report.pdf.")
    p.add_argument("manifest", help="CSV: clip,test,side[,pain,clearing_pain,heels_raised,hand_length_m]; "
                                    "clip paths relative to the CSV")
    p.add_argument("--out", default="", help="session folder (default: formscout_sessions/<time>)")
    p.add_argument("--athlete", default="", help="athlete id for the report and the traces")
    p.add_argument("--sex", default="", help="M or F: sets the push-up hand levels (missing: push-up goes to review)")
    p.add_argument("--criteria", default="", help="team thresholds YAML merged over knowledge/criteria.yaml")
    p.add_argument("--pose", default="mediapipe", choices=["mediapipe", "yolo"], help="pose backend for video clips")
    p.add_argument("--pose-weights", default="", help="weights file for --pose yolo")
    p.add_argument("--no-pdf", action="store_true", help="write the HTML report only")
    p.add_argument("--json", action="store_true", help="print the scorecard as one JSON object")
    p.set_defaults(func=run)


def _request_kwargs(row, sex: str | None, args, run_dir: Path) -> dict:
    """ScreenRequest arguments for one row; inputs the request type does not carry yet are returned apart."""
    from agent.screening.protocol import ScreenRequest
    fields = {f.name for f in dataclasses.fields(ScreenRequest)}
    heels = {True: "yes", False: "no", None: "auto"}[row.heels_raised]
    kw = dict(source=row.clip, test=row.test, run_dir=str(run_dir), side=None if row.side in (None, "NA") else row.side,
              pain=row.pain, heels_raised=heels, pose_backend=args.pose, pose_weights=args.pose_weights,
              criteria_file=args.criteria, athlete_id=args.athlete)
    wanted = {"sex": sex, "hand_length_m": row.hand_length_m, "clearing_pain": row.clearing_pain}
    carried = {k: v for k, v in wanted.items() if k in fields and v is not None}
    kw.update(carried)
    return kw


def screen_rows(rows, out: Path, args, sex: str | None) -> list:
    """Run every row through the screening run; returns ClipResults (errors recorded, not raised)."""
    from agent.screening.protocol import ScreenRequest
    from agent.screening.run import screen
    from tools.report.scorecard import ClipResult
    results = []
    for i, row in enumerate(rows, start=1):
        run_dir = out / "runs" / f"{i:02d}_{row.test}_{row.side or 'auto'}"
        base = dict(line=row.line, clip=row.clip, test=row.test, pain=row.pain, clearing_pain=row.clearing_pain,
                    run_dir=str(run_dir))
        try:
            verdict = screen(ScreenRequest(**_request_kwargs(row, sex, args, run_dir)))
        except InputError as exc:
            log.warning("manifest line %d (%s): %s", row.line, row.clip, exc)
            results.append(ClipResult(**base, side=row.side or "?", error=str(exc),
                                      reasons=[f"not scored: {exc}"]))
            continue
        art = verdict.get("artifacts", {})
        results.append(ClipResult(
            **base, side=verdict.get("side") or "NA", side_inferred=bool(verdict.get("side_inferred")),
            score=verdict.get("score"), confidence=float(verdict.get("confidence") or 0.0),
            review=bool(verdict.get("review")), reasons=list(verdict.get("reasons", [])),
            deciding_criterion=verdict.get("deciding_criterion"), deciding_frame=verdict.get("deciding_frame"),
            criteria=list(verdict.get("criteria", [])), angles_csv=art.get("angles_csv"),
            deciding_frame_png=art.get("deciding_frame_png"),
            test_version=(verdict.get("inputs") or {}).get("test_version") or _test_version(verdict)))
    return results


def _test_version(verdict: dict) -> str | None:
    notes = " ".join(verdict.get("notes", []))
    return "original (pre-2023) FMS rotary stability" if "pre-2023" in notes else None


def run(args) -> int:
    from tools.report.manifest import read_manifest
    from tools.report.render import write_report
    from tools.report.scorecard import build_scorecard
    from tools.core.fms import check_sex
    from tools.scoring.rubric import RUBRIC_VERSION
    sex = check_sex(args.sex)
    rows = read_manifest(args.manifest)
    out = Path(args.out or Path("formscout_sessions") / time.strftime("%Y%m%d-%H%M%S"))
    out.mkdir(parents=True, exist_ok=True)
    results = screen_rows(rows, out, args, sex)
    scorecard = build_scorecard(results, athlete_id=args.athlete, sex=sex)
    scorecard["rubric_version"] = RUBRIC_VERSION
    scorecard["manifest"] = str(Path(args.manifest).resolve())
    if sex is None and any(r.test == "trunk_stability_pushup" for r in rows):
        scorecard["notes"].append("sex not given: the push-up levels could not be set (--sex M or F)")
    paths = write_report(scorecard, out, title=f"FMS session report{' - ' + args.athlete if args.athlete else ''}",
                         pdf=not args.no_pdf)
    scorecard["report"] = paths
    (out / "session.json").write_text(json.dumps(scorecard, indent=2, default=str))
    if args.json:
        print(json.dumps(scorecard, default=str))
    else:
        print(format_scorecard(scorecard, out))
    return 0


def format_scorecard(sc: dict, out: Path) -> str:
    from tools.core.fms import TESTS
    lines = [f"FMS session{' for ' + sc['athlete_id'] if sc.get('athlete_id') else ''}: composite {sc['composite']['label']}"]
    for t in TESTS:
        r = sc["tests"][t]
        if r["bilateral"]:
            cell = "  ".join(f"{s} {r[s]['score'] if r[s] and r[s]['score'] is not None else '-'}" for s in ("L", "R"))
        else:
            cell = f"{r['score']['score'] if r['score'] and r['score']['score'] is not None else '-'}"
        flags = (["ASYMMETRY"] if r.get("asymmetry") else []) + (["review"] if r.get("review") else []) \
            + (["missing"] if r["counted"] is None else [])
        lines.append(f"  {t:27s} {cell:12s} counted {r['counted'] if r['counted'] is not None else '-'}"
                     + (f"  [{', '.join(flags)}]" if flags else ""))
        for e in r.get("errors", []):
            lines.append(f"      line {e['line']}: {e['error']}")
    for c in sc["clearing_tests"]:
        if c["pain"]:
            lines.append(f"  clearing: pain in the {c['clearing_test']} -> {c['test']} scored 0")
    if sc["missing_tests"]:
        lines.append("  missing: " + ", ".join(sc["missing_tests"]))
    lines.append(f"  report: {sc['report']['html']}" + (f"  and {sc['report']['pdf']}" if sc['report'].get('pdf') else ""))
    lines.append(f"  scorecard: {out / 'session.json'}")
    lines.append("  Screening aid, not a diagnosis.")
    return "\n".join(lines)
