"""A whole FMS screen from a manifest of clips: every row screened, the scorecard, the report. One function,
`screen_session(manifest, options, progress)`, shared by `formscout session` and the app's Session tab.

Each manifest row (tools/report/manifest.py: clip, test, side, pain,
clearing_pain, heels_raised, hand_length_m) runs through the screening run
(agent.screening.run.screen) into its own run folder under <session>/runs;
the verdicts become the session scorecard (tools/report/scorecard.py) and an
HTML (+ PDF) report (tools/report/render.py), and session.json.

- A row whose run fails is reported with its error; its test counts as missing.
- After each run its trace is verified (agent.trace.check). A run whose trace
  does not verify, or whose movement test recognition says is not the
  asked-for test, does not count: its score is left out of the scorecard (the
  run folder keeps the verdict as written) and the report says why.
- With an athlete id the session folder is recorded under the athlete before
  anything runs, and each run is filed as soon as it finishes
  (agent.screening.run.file_run), as `screen --athlete` files it.
- Progress: `progress` receives a ProgressEvent("clips", done, total, "clips",
  "<test> <side>") before and after each row, and every event of the row's
  own screening (steps, frames; tools.core.progress) as it happens.
"""
from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path

from agent.screening.run_folder import run_id_of
from tools.core.errors import InputError
from tools.core.files import write_json_atomic
from tools.core.progress import ProgressCallback, ProgressEvent

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SessionOptions:
    """What the physio gave for the whole screen (the same for every row)."""

    athlete_id: str = ""
    sex: str = ""                     # M / F ('' = not given: the push-up goes to review)
    criteria_file: str = ""           # team thresholds merged over knowledge/criteria.yaml
    pose_backend: str = "mediapipe"
    pose_weights: str = ""
    clips_dir: str = ""               # where to look for clips not found as written
    db: str = ""                      # catalog the runs are filed in (athlete id given)
    pdf: bool = True


@dataclass
class SessionResult:
    scorecard: dict
    folder: Path
    n_rows: int


def new_session_folder(out: str | Path | None) -> Path:
    """The session's own folder: `out` when it is new or empty, else a new one under formscout_sessions/."""
    from agent.screening.run_folder import DEFAULT_SESSION_ROOT, new_run_folder
    folder, _ = new_run_folder(out or None, "session", root=DEFAULT_SESSION_ROOT, kind="session_dir")
    return folder


def request_kwargs(row, options: SessionOptions, sex: str | None, run_dir: Path) -> dict:
    """ScreenRequest arguments for one manifest row."""
    from agent.screening.protocol import ScreenRequest
    fields = {f.name for f in dataclasses.fields(ScreenRequest)}
    heels = {True: "yes", False: "no", None: "auto"}[row.heels_raised]
    kw = dict(source=row.clip, test=row.test, run_dir=str(run_dir), side=None if row.side in (None, "NA") else row.side,
              pain=row.pain, heels_raised=heels, pose_backend=options.pose_backend, pose_weights=options.pose_weights,
              criteria_file=options.criteria_file, athlete_id=options.athlete_id)
    wanted = {"sex": sex, "hand_length_m": row.hand_length_m, "clearing_pain": row.clearing_pain,
              "side_clip": getattr(row, "side_clip", "") or None}
    kw.update({k: v for k, v in wanted.items() if k in fields and v is not None})
    return kw


def _trace_intact(verdict: dict) -> bool:
    from agent.trace.check import check_trace
    from agent.trace.record import load_trace
    trace = (verdict.get("artifacts") or {}).get("trace_json")
    try:
        return bool(trace) and check_trace(load_trace(trace)).intact
    except InputError:
        return False


def clip_result(row, base: dict, verdict: dict):
    """The scorecard row of one screened clip; a run that is not intact or not the test counts no score."""
    from tools.report.headline import NOT_INTACT, not_the_test
    from tools.report.scorecard import ClipResult
    art = verdict.get("artifacts", {})
    intact = _trace_intact(verdict)
    score, reasons = verdict.get("score"), list(verdict.get("reasons", []))
    if not intact:
        score, reasons = None, [f"{NOT_INTACT}: the run's trace does not verify"] + reasons
    elif not_the_test(verdict):
        score = None
        reasons = [f"the movement does not look like the asked-for test: its score ({verdict.get('score')}) "
                   "does not count"] + reasons
    notes = " ".join(verdict.get("notes", []))
    version = (verdict.get("inputs") or {}).get("test_version") or (
        "original (pre-2023) FMS rotary stability" if "pre-2023" in notes else None)
    return ClipResult(
        **base, side=verdict.get("side") or "NA", side_inferred=bool(verdict.get("side_inferred")),
        score=score, confidence=float(verdict.get("confidence") or 0.0),
        review=bool(verdict.get("review")) or score is None, reasons=reasons,
        deciding_criterion=verdict.get("deciding_criterion"), deciding_frame=verdict.get("deciding_frame"),
        criteria=list(verdict.get("criteria", [])), angles_csv=art.get("angles_csv"),
        deciding_frame_png=art.get("deciding_frame_png"), test_version=version,
        test_recognition=verdict.get("test_recognition"), trace_intact=intact,
        repetitions=[{k: r.get(k) for k in ("index", "side", "status", "score", "start_frame", "end_frame",
                                            "ignored_reason", "variant")} for r in verdict.get("repetitions") or []])


def screen_rows(rows, out: Path, options: SessionOptions, sex: str | None,
                progress: ProgressCallback | None = None) -> list:
    """Run every row through the screening run; returns ClipResults (errors recorded, not raised)."""
    from agent.screening.protocol import ScreenRequest
    from agent.screening.run import file_run, run_folder_filer, screen
    from tools.report.scorecard import ClipResult
    results = []
    n = len(rows)
    for i, row in enumerate(rows, start=1):
        what = f"{row.test} {row.side or ''}".strip()
        if progress is not None:
            progress(ProgressEvent("clips", i - 1, n, "clips", f"{what} (line {row.line})"))
        run_dir = out / "runs" / f"{i:02d}_{row.test}_{row.side or 'auto'}"
        base = dict(line=row.line, clip=row.clip, test=row.test, pain=row.pain, clearing_pain=row.clearing_pain,
                    run_dir=str(run_dir))
        try:
            verdict = screen(ScreenRequest(**request_kwargs(row, options, sex, run_dir)), progress=progress,
                             on_run_folder=run_folder_filer(options.athlete_id, options.db or None))
        except InputError as exc:
            log.warning("manifest line %d (%s): %s", row.line, row.clip, exc)
            results.append(ClipResult(**base, side=row.side or "?", error=str(exc), reasons=[f"not scored: {exc}"]))
        else:
            if options.athlete_id:        # filed as `screen --athlete` files it, as soon as it is done
                file_run(verdict, options.athlete_id, options.db or None)
            results.append(clip_result(row, base, verdict))
            if row.side is None:          # a clip with both sides: the other side's score too
                from agent.screening.repetitions import other_sides
                results += [clip_result(row, base, view) for view in other_sides(verdict)]
        if progress is not None:
            progress(ProgressEvent("clips", i, n, "clips", f"{what} (line {row.line}) done"))
    return results


def screen_session(manifest: str | Path, out: str | Path | None = None, options: SessionOptions | None = None,
                   progress: ProgressCallback | None = None) -> SessionResult:
    """Score a whole screen (see the module docstring); writes session.json and the report into the session folder."""
    from tools.core.fms import check_sex
    from tools.report.manifest import read_manifest
    from tools.report.render import write_report
    from tools.report.scorecard import build_scorecard
    from tools.scoring.rubric import RUBRIC_VERSION
    options = options or SessionOptions()
    sex = check_sex(options.sex or None)
    if options.athlete_id:
        from index.library.labels import check_id
        try:
            check_id(options.athlete_id, "athlete id")
        except ValueError as exc:
            raise InputError(f"athlete id: {exc}") from None
    rows = read_manifest(manifest, clips_dir=options.clips_dir or None)     # bad rows refused before any run
    folder = new_session_folder(out)
    if options.athlete_id:
        from index.library.runs import record_output
        record_output(db=options.db or None, athlete_id=options.athlete_id, path=folder, kind="session_dir",
                      owner_id=run_id_of(folder))
    results = screen_rows(rows, folder, options, sex, progress)
    scorecard = build_scorecard(results, athlete_id=options.athlete_id, sex=sex)
    scorecard["rubric_version"] = RUBRIC_VERSION
    scorecard["manifest"] = str(Path(manifest).resolve())
    if sex is None and any(r.test == "trunk_stability_pushup" for r in rows):
        scorecard["notes"].append("sex not given: the push-up hand levels could not be set (give the athlete's "
                                  "sex: male or female)")
    if progress is not None:
        progress(ProgressEvent("report", 0, 1, "reports", "writing the session report"))
    title = f"FMS session report{' - ' + options.athlete_id if options.athlete_id else ''}"
    scorecard["report"] = write_report(scorecard, folder, title=title, pdf=options.pdf)
    write_json_atomic(folder / "session.json", scorecard)
    if progress is not None:
        progress(ProgressEvent("report", 1, 1, "reports", "session report written"))
    return SessionResult(scorecard=scorecard, folder=folder, n_rows=len(rows))
