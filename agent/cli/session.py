"""`formscout session MANIFEST.csv [--out DIR] [--athlete ID] [--sex M|F] [--json]`: score a whole FMS screen.

The work is agent.screening.session.screen_session (shared with the app), with a
progress bar (clips done, time left; the step and frames of the clip in hand).
Each manifest row (tools/report/manifest.py: clip, test, side, pain,
clearing_pain, heels_raised, hand_length_m) runs through the screening run
(agent.screening.run.screen) into its own run folder; the verdicts become the
session scorecard (tools/report/scorecard.py: per-test L/R, composite 0-21 or
'incomplete', asymmetries, missing tests, clearing tests) and an HTML + PDF
report (tools/report/render.py). A row whose run fails is reported with its
error and its test counts as missing; the others still run.

The session folder is new (default formscout_sessions/<time>_session_<id>, or an
empty --out), claimed like a run folder (agent.screening.run_folder), so two
sessions never share one. With --athlete the session folder is recorded under
the athlete before anything runs, and each run is filed as it finishes, exactly
as `screen --athlete` files it: `ask --athlete` finds the runs, and
`index erase --athlete` removes the folder with its runs, traces and reports.
Manifest clips are found by the one clip resolver (tools.core.files.ClipResolver):
as written (absolute, relative to the manifest, relative to --clips), else by name.

`formscout session --recording FILE.mp4 [--manifest ORDER.csv] [--segments FIXED.json]`: one
recording of the whole screen, split into tests (agent/screening/recording.py), each test's clip
screened as a row, the same report with every split point and its thumbnail.
"""
from __future__ import annotations

import json
from pathlib import Path

from tools.core.errors import InputError


def add_parser(sub) -> None:
    p = sub.add_parser("session", help="score a whole FMS screen from a manifest of clips (scorecard + HTML/PDF)",
                       description="Score every clip of one athlete's FMS screen and build the scorecard: per-test "
                                   "left/right scores, composite 0-21 (lower of L/R), asymmetries, missing tests and "
                                   "clearing tests, as session.json, session_report.html and session_report.pdf.")
    p.add_argument("manifest", nargs="?", default="",
                   help="CSV: clip,test,side[,pain,clearing_pain,heels_raised,hand_length_m]; "
                        "clip paths relative to the CSV (with --recording: the order the tests were filmed in)")
    p.add_argument("--recording", default="", metavar="FILE",
                   help="one video (or skeleton .npz) of the whole screen: split into tests, each scored")
    p.add_argument("--manifest", dest="order_manifest", default="", metavar="CSV",
                   help="with --recording: the physio's order (test, side, pain, ... one row per test and side), "
                        "a prior for the split")
    p.add_argument("--segments", default="", metavar="JSON",
                   help="with --recording: the physio's corrected split (recording/split.json edited: "
                        "[{test, start_s, end_s}, ...]) used instead of the recognised one")
    p.add_argument("--out", default="", help="session folder: new, or an empty folder (default: a new "
                                             "formscout_sessions/<time>_session_<id>)")
    p.add_argument("--clips", default="", help="folder to find the manifest's clips in when their paths are not "
                                               "found as written")
    p.add_argument("--db", default="", help="catalog the runs are filed in with --athlete "
                                            "(default: FORMSCOUT_DB or ~/.formscout)")
    p.add_argument("--athlete", default="", help="athlete id for the report and the traces")
    p.add_argument("--sex", default="", help="M or F: sets the push-up hand levels (missing: push-up goes to review)")
    p.add_argument("--criteria", default="", help="team thresholds YAML merged over knowledge/criteria.yaml")
    p.add_argument("--pose", default="mediapipe", choices=["mediapipe", "yolo"], help="pose backend for video clips")
    p.add_argument("--pose-weights", default="", help="weights file for --pose yolo")
    p.add_argument("--no-pdf", action="store_true", help="write the HTML report only")
    p.add_argument("--json", action="store_true", help="print the scorecard as one JSON object")
    p.set_defaults(func=run)


def run(args) -> int:
    from agent.cli.progress import ProgressBar
    from agent.screening.session import SessionOptions, screen_session
    options = SessionOptions(athlete_id=args.athlete, sex=args.sex, criteria_file=args.criteria,
                             pose_backend=args.pose, pose_weights=args.pose_weights,
                             clips_dir=getattr(args, "clips", "") or "", db=getattr(args, "db", "") or "",
                             pdf=not args.no_pdf)
    recording = getattr(args, "recording", "")
    if not recording and (getattr(args, "order_manifest", "") or getattr(args, "segments", "")):
        raise InputError("--manifest and --segments go with --recording FILE (one video of the whole screen)")
    if not recording and not args.manifest:
        raise InputError("give a manifest of clips (formscout session MANIFEST.csv) or one recording of the "
                         "whole screen (formscout session --recording FILE.mp4)")
    with ProgressBar("clips", "session", unit="clip") as bar:
        if recording:                     # one take of the whole screen (agent/screening/recording.py)
            from agent.screening.recording import screen_recording
            result = screen_recording(recording, args.out or None, options,
                                      order_manifest=args.order_manifest or args.manifest or None,
                                      corrections=args.segments or None, progress=bar)
        else:
            result = screen_session(args.manifest, args.out or None, options, progress=bar)
    scorecard = result.scorecard
    if args.json:
        print(json.dumps(scorecard, default=str))
    else:
        print(format_scorecard(scorecard, result.folder))
    return 0


def _cell(entry: dict | None) -> str:
    """A score as the scorecard shows it: '3', 'provisional 2' (physio review), or '-'."""
    if not entry or entry.get("score") is None:
        return "-"
    return f"provisional {entry['score']}" if entry.get("review") else str(entry["score"])


def format_scorecard(sc: dict, out: Path) -> str:
    from tools.core.fms import TESTS
    from tools.report.headline import headline
    lines = [f"FMS session{' for ' + sc['athlete_id'] if sc.get('athlete_id') else ''}: composite {sc['composite']['label']}"]
    for t in TESTS:
        r = sc["tests"][t]
        if r["bilateral"]:
            cell = "  ".join(f"{s} {_cell(r[s])}" for s in ("L", "R"))
        else:
            cell = _cell(r["score"])
        flags = (["ASYMMETRY"] if r.get("asymmetry") else []) + (["review"] if r.get("review") else []) \
            + (["missing"] if r["counted"] is None else [])
        lines.append(f"  {t:27s} {cell:30s} counted {r['counted'] if r['counted'] is not None else '-'}"
                     + (f"  [{', '.join(flags)}]" if flags else ""))
        for e in r.get("errors", []):
            lines.append(f"      line {e['line']}: {e['error']}")
        for c in sc.get("clips", []):
            if c["test"] != t or c.get("error"):
                continue
            h = headline({**c, "inputs": {"pain": c.get("pain")}}, intact=c.get("trace_intact"))
            if h.kind in ("not_intact", "not_the_test"):
                lines.append(f"      line {c['line']}: {h.title}")
    for c in sc["clearing_tests"]:
        if c["pain"]:
            lines.append(f"  clearing: pain in the {c['clearing_test']} -> {c['test']} scored 0")
    if sc["missing_tests"]:
        lines.append("  missing: " + ", ".join(sc["missing_tests"]))
    lines.append(f"  report: {sc['report']['html']}" + (f"  and {sc['report']['pdf']}" if sc['report'].get('pdf') else ""))
    lines.append(f"  scorecard: {out / 'session.json'}")
    lines.append("  Screening aid, not a diagnosis.")
    return "\n".join(lines)
