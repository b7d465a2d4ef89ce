"""`formscout batch MANIFEST.csv [--workers N] [--ray local|auto|ADDRESS] [--out DIR] [--json] [--force]`.

Screens every clip of a manifest (columns: tools/report/manifest.py BATCH_COLUMNS,
README "Many clips") with the screening run `formscout screen` uses, in
parallel: a local process pool (default: one worker per core) or a Ray
cluster. Resumable: running the same command again skips every clip already
scored with the same inputs and code version. Prints one summary table (or
one JSON object with --json) and writes batch.json and summary.csv in the
batch folder. A bad row or a failed clip is one line in the table; the exit
code is 0 when every row was scored (now or before), 1 when some row failed,
2 when the batch could not start (manifest unreadable, Ray unreachable...).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from tools.core.errors import InputError


def add_parser(sub) -> None:
    p = sub.add_parser("batch", help="score many clips from a manifest, in parallel (local cores or Ray); resumable",
                       description="Screen every clip listed in a manifest CSV (clip,test[,side,pain,clearing_pain,"
                                   "heels_raised,hand_length_m,athlete,sex]) on a local process pool or a Ray "
                                   "cluster. Each clip gets the run folder and trace `formscout screen` writes; "
                                   "clips already scored with the same inputs and code version are not run again.")
    p.add_argument("manifest", help="CSV, one row per clip; clip paths relative to the CSV (or absolute)")
    p.add_argument("--workers", type=int, default=0,
                   help="parallel clips (default: one per core here; with --ray, the cluster's CPUs)")
    p.add_argument("--ray", default="", metavar="ADDRESS",
                   help="run on Ray: 'local' (start a private Ray instance on this machine), 'auto' (the cluster "
                        "started here with `ray start --head`) or a cluster address (HOST:6379, ray://HOST:10001)")
    p.add_argument("--out", default="", help="batch folder (default: formscout_batches/<manifest name>); run the "
                                             "same command with the same --out to resume")
    p.add_argument("--force", action="store_true", help="run every clip again, even those already scored")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.add_argument("--no-catalog", action="store_true",
                   help="do not file rows that name an athlete in the catalog (filed by default, as screen --athlete)")
    p.add_argument("--db", default="", help="catalog to file runs in (default: FORMSCOUT_DB / ~/.formscout)")
    p.add_argument("--sex", choices=["M", "F", "m", "f"], help="push-up levels for rows without a sex cell")
    p.add_argument("--criteria", default="", help="team thresholds YAML merged over knowledge/criteria.yaml")
    p.add_argument("--pose", default="mediapipe", choices=["mediapipe", "yolo"], help="pose backend for videos")
    p.add_argument("--pose-weights", default="", help="weights file for --pose yolo")
    p.add_argument("--athlete-selector", default="track", choices=["track", "off"],
                   help="track (default: find every person and follow the athlete) or off (nobody else in frame)")
    p.add_argument("--brain", default="protocol", help="protocol (default), qwen3-vl or remote")
    p.add_argument("--brain-model-path", default="", help="qwen3-vl: local folder of the Qwen3-VL checkpoint")
    p.add_argument("--brain-url", default="", help="remote: OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1")
    p.add_argument("--brain-model", default="", help="remote: model name to ask the server for")
    p.add_argument("--max-duration-s", type=float, default=120.0, help="longest clip accepted (s)")
    p.add_argument("--max-size-mb", type=float, default=500.0, help="largest file accepted (MB)")
    p.set_defaults(func=run)


def run(args) -> int:
    from agent.cli.screen import brain_options
    from agent.screening.batch import BatchConfig, run_batch

    if args.workers < 0:
        raise InputError(f"--workers must be 0 (one per core) or more, got {args.workers}")
    if args.pose == "yolo" and not args.pose_weights:
        raise InputError("--pose yolo needs --pose-weights PATH (a local weights file)")
    for flag, value in (("--criteria", args.criteria), ("--pose-weights", args.pose_weights)):
        if value and not Path(value).is_file():
            raise InputError(f"{flag} {value}: file not found")
    request = {"pose_backend": args.pose, "pose_weights": args.pose_weights, "criteria_file": args.criteria,
               "athlete_selector": "" if args.athlete_selector == "track" else args.athlete_selector,
               "max_duration_s": args.max_duration_s, "max_size_mb": args.max_size_mb}
    if args.sex:
        request["sex"] = args.sex.upper()
    out = Path(args.out or Path("formscout_batches") / Path(args.manifest).stem)
    config = BatchConfig(out_dir=out, workers=args.workers, ray=args.ray, brain=args.brain,
                         brain_options=brain_options(args), request=request, force=args.force,
                         file_runs=not args.no_catalog, db=args.db or None)
    bar = _Progress(enabled=not args.no_progress)
    try:
        summary = run_batch(args.manifest, config, on_row=bar.update, on_plan=bar.start)
    finally:
        bar.close()
    if args.json:
        print(json.dumps(summary.to_dict(), default=str))
    else:
        print(format_summary(summary))
    return 1 if summary.counts["failed"] else 0


class _Progress:
    """The CLI's progress bar (agent/cli/progress.py: stderr, off when it is not a terminal): one tick per
    settled row, the latest row's status beside it."""

    def __init__(self, enabled: bool):
        self.enabled, self.bar, self.done, self.total = enabled, None, 0, None

    def start(self, total: int) -> None:
        if self.enabled:
            from agent.cli.progress import ProgressBar
            self.total = total
            self.bar = ProgressBar("batch", "batch", unit="clip", total=total)

    def update(self, row) -> None:
        if self.bar is not None:
            from tools.core.progress import ProgressEvent
            self.done += 1
            self.bar(ProgressEvent("batch", self.done, self.total, "clip", detail=f"line {row.line}: {row.status}"))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def format_summary(summary) -> str:
    c = summary.counts
    engine = summary.engine
    rate = (f"{summary.clips_per_min:.1f} clips/min on {engine['workers']} {engine['kind']} worker(s)"
            if summary.clips_per_min else "no clip to run")
    head = (f"batch {Path(summary.manifest).name}: {c['rows']} rows: {c['scored']} scored now, {c['resumed']} "
            f"resumed, {c['failed']} failed, {c['review']} for physio review; {rate}, {summary.seconds:.1f} s "
            f"in all (code {summary.code_version})")
    lines = [head]
    lines.append(f"{'line':>4}  {'clip':28s} {'test':26s} {'side':4s} {'score':>5s} {'review':6s} {'status':8s} "
                 f"{'s':>6s}  run folder / why")
    for r in summary.rows:
        score = "-" if r.score is None else str(r.score)
        review = "" if r.review is None else ("yes" if r.review else "no")
        secs = "" if r.seconds is None else f"{r.seconds:.1f}"
        where = r.error if r.status == "failed" else (r.run_dir or "")
        if r.note:
            where = f"{where}  ({r.note})"
        lines.append(f"{r.line:>4}  {Path(r.clip).name[:28]:28s} {r.test[:26]:26s} {r.side or '-'!s:4s} "
                     f"{score:>5s} {review:6s} {r.status:8s} {secs:>6s}  {where}")
    lines.append(f"  summary: {Path(summary.out_dir) / 'batch.json'} and summary.csv")
    lines.append("  Screening aid, not a diagnosis.")
    return "\n".join(lines)
