"""Many clips, one call: a manifest in, every clip screened in parallel, one summary out; resumable.

`run_batch(manifest, config)` reads the manifest (tools/report/manifest.py,
BATCH_COLUMNS: clip, test, side, pain, clearing_pain, heels_raised,
hand_length_m, side_clip, athlete, sex), turns each good row into the ScreenRequest that
`formscout screen` would build, and runs them through
agent.screening.batch_engines (a local process pool, or Ray). Each clip is
screened by agent.screening.run.screen, so its run folder and trace are the
ones `screen` writes. A bad row (file not found, unknown test, a side for a
one-sided test, a bad athlete id...) or a clip whose run fails is reported on
its line and the other rows still run; nothing raises for one row.

The batch folder (`config.out_dir`):
  runs/L<line>_[<athlete>_]<test>_<side>_<key8>-<random>/   one screen() run folder per clip
  .batch/done/<key>.json   a finished run: written (atomically) when its verdict is in
  .batch/lock              one batch at a time per folder (filelock)
  batch.json, summary.csv  the summary: every row with its status, score, review, run folder
A row whose key (agent.screening.batch_keys: clip bytes, request, brain, code
version) has a done record whose run folder still holds its verdict is not
run again ("resumed"); rows with the same key in one manifest run once.
Rows with an athlete id are filed in the catalog as `screen --athlete` does:
the run folder is recorded under the athlete as soon as a local worker claims
it (so erasing the athlete finds even a run that was killed), and the finished
run is filed after all clips have run, by this process (the catalog's lock
takes one writer at a time).
"""
from __future__ import annotations

import csv
import dataclasses
import io
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from agent.screening.batch_engines import Job, cpu_count, run_local, run_ray
from agent.screening.batch_keys import code_version, request_files_sha256, run_key
from tools.core.errors import InputError
from tools.core.files import file_sha256, write_json_atomic, write_text_atomic

log = logging.getLogger(__name__)

SUMMARY_COLUMNS = ("line", "clip", "athlete", "test", "side", "status", "score", "confidence", "review",
                   "reasons", "error", "seconds", "run_dir")


@dataclass(frozen=True)
class BatchConfig:
    """How a batch runs. `request` holds ScreenRequest fields applied to every row (pose backend, criteria,
    athlete selector, limits, default sex); a manifest cell wins over them."""

    out_dir: Path
    workers: int = 0                  # local: 0 = one per core; Ray: 0 = as many as the cluster has CPUs
    ray: str = ""                     # "" = local process pool; "local", "auto" or a Ray cluster address
    brain: str = "protocol"
    brain_options: dict = field(default_factory=dict)
    request: dict = field(default_factory=dict)
    force: bool = False               # run every row again, even those already done
    file_runs: bool = True            # file rows that name an athlete in the catalog
    db: str | None = None             # catalog for filing (default: FORMSCOUT_DB / ~/.formscout)


@dataclass
class RowResult:
    """One manifest row's outcome. status: scored (run in this batch), resumed (run by an earlier batch with
    the same key), failed (bad row, or the run failed: `error` says why)."""

    line: int
    clip: str
    test: str
    side: str | None
    status: str
    athlete: str = ""
    score: int | None = None
    confidence: float | None = None
    review: bool | None = None
    reasons: list[str] = field(default_factory=list)
    error: str | None = None
    seconds: float | None = None
    run_dir: str | None = None
    key: str | None = None
    worker: str | None = None
    note: str | None = None           # e.g. "same clip and request as line 3", a catalog filing problem

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass
class BatchSummary:
    manifest: str
    out_dir: str
    engine: dict
    code_version: str
    rows: list[RowResult]
    seconds: float
    screened_now: int                 # clips run by workers in this batch (scored or failed while running)
    run_seconds: float                # wall time of the workers' part

    @property
    def counts(self) -> dict:
        status = [r.status for r in self.rows]
        return {"rows": len(self.rows), "scored": status.count("scored"), "resumed": status.count("resumed"),
                "failed": status.count("failed"),
                "review": sum(1 for r in self.rows if r.status != "failed" and r.review)}

    @property
    def clips_per_min(self) -> float | None:
        return round(60.0 * self.screened_now / self.run_seconds, 2) if self.screened_now and self.run_seconds else None

    def to_dict(self) -> dict:
        return {"manifest": self.manifest, "out_dir": self.out_dir, "engine": self.engine,
                "code_version": self.code_version, "counts": self.counts, "seconds": round(self.seconds, 2),
                "run_seconds": round(self.run_seconds, 2), "screened_now": self.screened_now,
                "clips_per_min": self.clips_per_min, "rows": [r.to_dict() for r in self.rows]}


def run_batch(manifest: str | Path, config: BatchConfig,
              on_row: Callable[[RowResult], None] | None = None,
              on_plan: Callable[[int], None] | None = None) -> BatchSummary:
    """Screen every row of `manifest`; returns the summary (also written as batch.json and summary.csv).

    `on_plan(n)` is called once with the number of rows, `on_row(result)` once per row as it is settled
    (bad and resumed rows first, then each clip as its run finishes): the CLI's progress bar.
    Raises InputError only for problems with the whole batch (manifest missing or unreadable, a
    column it does not know, the batch folder in use by another batch, Ray unreachable).
    """
    from filelock import FileLock, Timeout

    from tools.report.manifest import BATCH_COLUMNS, parse_manifest

    started = time.perf_counter()
    rows, problems = parse_manifest(manifest, columns=BATCH_COLUMNS)
    out = Path(config.out_dir)
    state = out / ".batch"
    (state / "done").mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(state / "lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise InputError(f"another batch is running in {out}; wait for it to finish or give another --out") from None
    try:
        return _run_locked(manifest, config, rows, problems, out, started, on_row, on_plan)
    finally:
        lock.release()


def _run_locked(manifest, config: BatchConfig, rows, problems, out: Path, started: float, on_row, on_plan):
    code = code_version()
    settled: dict[int, RowResult] = {}
    n_rows = len(rows) + len({line for line, _ in problems})
    if on_plan:
        on_plan(n_rows)

    def settle(result: RowResult) -> None:
        settled[result.line] = result
        if on_row:
            on_row(result)

    by_line: dict[int, list[str]] = {}
    for line, text in problems:
        by_line.setdefault(line, []).append(text)
    for line, texts in sorted(by_line.items()):
        settle(RowResult(line=line, clip="", test="", side=None, status="failed", error="; ".join(texts)))

    jobs, same_as = _plan(rows, config, code["version"], out, settle)
    engine = {"kind": "ray" if config.ray else "local", "workers": 0}
    run_started = time.perf_counter()
    if jobs:
        row_of = {r.line: r for r in rows}

        def on_result(result: dict) -> None:
            row_result = _row_result(row_of[result["line"]], result)
            if result["status"] == "scored":
                _write_done(out, result, code["version"])
            settle(row_result)
            for twin in same_as.get(result["line"], []):
                settle(twin_of(row_result, twin))

        if config.ray:
            engine.update(run_ray(jobs, config.ray, config.workers, on_result))
            engine["workers"] = engine["in_flight"]
        else:
            workers = config.workers or cpu_count()
            engine["workers"] = min(workers, len(jobs))
            run_local(jobs, workers, on_result)
    run_seconds = time.perf_counter() - run_started
    if config.file_runs:
        _file_runs([settled[r.line] for r in rows if r.line in settled], config.db)
    summary = BatchSummary(manifest=str(Path(manifest).resolve()), out_dir=str(out.resolve()), engine=engine,
                           code_version=code["version"], rows=[settled[k] for k in sorted(settled)],
                           seconds=time.perf_counter() - started, screened_now=len(jobs),
                           run_seconds=run_seconds if jobs else 0.0)
    write_json_atomic(out / "batch.json", {**summary.to_dict(), "software": code["software"]})
    write_text_atomic(out / "summary.csv", summary_csv(summary))
    return summary


def row_request(row, defaults: dict) -> dict:
    """The ScreenRequest fields (without run_dir) for one manifest row: the batch's defaults, then the row."""
    from agent.screening.protocol import ScreenRequest

    known = {f.name for f in dataclasses.fields(ScreenRequest)}
    unknown = sorted(set(defaults) - known)
    if unknown:
        raise InputError(f"batch request settings not known to a screening request: {', '.join(unknown)}")
    request = dict(defaults)
    request.update(source=row.clip, test=row.test, side=None if row.side in (None, "NA") else row.side,
                   pain=row.pain, clearing_pain=row.clearing_pain,
                   heels_raised={True: "yes", False: "no", None: "auto"}[row.heels_raised],
                   hand_length_m=row.hand_length_m)
    if row.side_clip:
        request["side_clip"] = row.side_clip
    if row.athlete:
        request["athlete_id"] = row.athlete
    if row.sex:
        request["sex"] = row.sex
    return request


def _plan(rows, config: BatchConfig, code: str, out: Path, settle) -> tuple[list[Job], dict[int, list[RowResult]]]:
    """Jobs for the rows still to run, and the later rows with the same key as an earlier one ({line: twins});
    rows already done, bad ones and the twins of done ones are settled here."""
    from agent.screening.protocol import ScreenRequest
    from index.library.labels import check_id

    jobs: list[Job] = []
    first_of_key: dict[str, int] = {}
    same_as: dict[int, list[RowResult]] = {}
    resumed: dict[int, RowResult] = {}
    file_cache: dict[str, str] = {}
    for row in rows:
        base = RowResult(line=row.line, clip=row.clip, test=row.test, side=row.side, status="failed",
                         athlete=row.athlete)
        try:
            if row.athlete:
                check_id(row.athlete, "athlete id")
            request = row_request(row, config.request)
            clip_sha = file_sha256(row.clip)
        except ValueError as exc:
            settle(dataclasses.replace(base, error=f"field athlete: {exc}"))
            continue
        except OSError as exc:
            settle(dataclasses.replace(base, error=f"cannot read the clip: {exc}"))
            continue
        keyed = ScreenRequest(**request, run_dir="").to_dict()
        key = run_key(clip_sha, keyed, config.brain, config.brain_options, code,
                      request_files_sha256(keyed, file_cache))
        if key in first_of_key:
            same_as.setdefault(first_of_key[key], []).append(dataclasses.replace(base, key=key))
            continue
        first_of_key[key] = row.line
        done = None if config.force else _read_done(out, key)
        if done is not None:
            resumed[row.line] = _row_result(row, {**done, "status": "resumed"})
            settle(resumed[row.line])
            continue
        prefix = "_".join(p for p in (f"L{row.line:04d}", row.athlete, row.test, row.side or "auto", key[:8]) if p)
        jobs.append(Job(line=row.line, key=key, request=request, run_dir_prefix=str(out / "runs" / prefix),
                        brain=config.brain, brain_options=dict(config.brain_options),
                        marker_dir=str(out / ".batch" / "started"),
                        file_under=row.athlete if config.file_runs else "", db=config.db))
    for line, twins in same_as.items():
        if line in resumed:
            for twin in twins:
                settle(twin_of(resumed[line], twin))
    return jobs, same_as


def twin_of(first: RowResult, twin: RowResult) -> RowResult:
    """A later row with the same clip and request as `first`: its result, on its own line."""
    return dataclasses.replace(first, line=twin.line, clip=twin.clip, note=f"same clip and request as line {first.line}")


def _row_result(row, result: dict) -> RowResult:
    """A RowResult from a worker's result (or a done record with its verdict)."""
    verdict = result.get("verdict") or {}
    return RowResult(
        line=row.line, clip=row.clip, test=row.test, athlete=row.athlete, side=verdict.get("side") or row.side,
        status=result["status"], score=verdict.get("score"), confidence=verdict.get("confidence"),
        review=verdict.get("review") if verdict else None, reasons=list(verdict.get("reasons", [])),
        error=result.get("error"), seconds=result.get("seconds"), run_dir=result.get("run_dir"),
        key=result.get("key"), worker=result.get("worker"))


def _write_done(out: Path, result: dict, code: str) -> None:
    """The done record of a finished run; its folder relative to the batch folder when inside it (movable)."""
    run_dir = Path(result["run_dir"])
    try:
        run_dir = run_dir.resolve().relative_to(out.resolve())
    except ValueError:
        pass
    write_json_atomic(out / ".batch" / "done" / f"{result['key']}.json",
                      {"key": result["key"], "line": result["line"], "run_dir": str(run_dir),
                       "seconds": result["seconds"], "worker": result["worker"], "code_version": code,
                       "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")})


def _read_done(out: Path, key: str) -> dict | None:
    """The done record of `key` with its verdict, or None when absent or its run folder lost its verdict."""
    path = out / ".batch" / "done" / f"{key}.json"
    try:
        done = json.loads(path.read_text())
        done["run_dir"] = str(out / done["run_dir"])      # a relative folder is inside the batch folder
        verdict = json.loads((Path(done["run_dir"]) / "verdict.json").read_text())
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return {**done, "verdict": verdict, "error": None}


def _file_runs(results: list[RowResult], db: str | None) -> None:
    """File every run of this batch that names an athlete in the catalog (resumed runs were filed before)."""
    from agent.screening.run import file_run

    for r in results:
        if r.status != "scored" or not r.athlete or not r.run_dir:
            continue
        try:
            verdict = json.loads((Path(r.run_dir) / "verdict.json").read_text())
            filed = file_run(verdict, r.athlete, db=db)
        except (OSError, ValueError, InputError) as exc:
            filed = {"filed": False, "reason": str(exc)}
        if not filed.get("filed"):
            r.note = f"not filed under athlete {r.athlete}: {filed.get('reason')}"


def summary_csv(summary: BatchSummary) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=SUMMARY_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for r in summary.rows:
        d = r.to_dict()
        d["reasons"] = " | ".join(r.reasons)
        writer.writerow(d)
    return buf.getvalue()
