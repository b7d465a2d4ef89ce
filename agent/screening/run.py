"""One screening run: a clip (video or skeleton) in, a verdict, a trace and an overlay out.

The brain decides which step comes next (the protocol brain follows
agent/screening/protocol.py exactly); this module executes the calls, records every one
in the hash-chained trace, and writes the run folder. The trace is built from
the agent's memory steps and the tool call log together, so what a brain did
wrong is on record too: an unknown tool, output that could not be read as a
call, a call the tools refused, an attempt to end before the required steps
(refused by a final-answer check and fed back), a brain that could not start
or be reached. Each of these sends the run to physio review. Files:
  verdict.json, trace.json, skeleton.npz, angles.csv, overlay.mp4,
  overlay_deciding_frame.png (+ pose_2d.npz, skeleton_raw.npz for video input)
  repetitions.json (+ repetitions/rep_NN.npz when the clip holds several: agent/screening/repetitions.py)

Run folders (agent.screening.run_folder): the clip is checked before any folder
is made (bad input leaves nothing behind); each run then claims a folder of its
own (new, or an empty one named with --out), every artifact is written to a
temporary name and renamed, trace.json follows the last artifact and
verdict.json comes last. The verdict records the sha256 of the clip, of the
skeleton the score was measured on and of every other file of the run
(`hashes`), so `formscout trace verify` proves the folder's files are this
run's and a verdict can never point at another clip's files.
"""
from __future__ import annotations

import json
import logging
import math
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from agent.screening.brains import make_brain
from agent.screening.protocol import PROTOCOL, ScreenRequest, missing_required, planned_order, provenance_problems
from agent.screening.run_folder import VERDICT_FILE, new_run_folder, new_run_id
from agent.screening.steps import OVERLAY_JOB_FILE, STEP_FUNCTIONS, optional_steps_unavailable
from agent.trace.record import TraceRecorder, save_trace
from tools.core.errors import InputError
from tools.core.files import OWNER_MARKER, file_sha256, write_json_atomic
from tools.core.progress import ProgressCallback

log = logging.getLogger(__name__)


def _check_source(path: str) -> Path:
    p = Path(path)
    if not p.exists():
        raise InputError(f"clip not found: {p}. Give the path of a video file or a skeleton .npz")
    if p.is_dir():
        raise InputError(f"{p} is a folder; give one video file or skeleton .npz")
    return p


def _check_clip(source: Path, request: ScreenRequest) -> None:
    """The clip (and the side clip) is usable (a skeleton loads, a video probes within the limits) before
    any folder is made."""
    from tools.core.files import is_skeleton_file
    from tools.core.skeleton import Skeleton
    from tools.video.clip import probe_video
    clips = [source]
    if request.side_clip:
        side = Path(request.side_clip)
        if not side.is_file():
            raise InputError(f"side clip not found: {side}. Give the second video (or skeleton .npz) of the same "
                             "repetition, or leave --side-clip out")
        if side.resolve() == source.resolve():
            raise InputError("--side-clip is the clip itself: give the other camera's clip of the same repetition")
        clips.append(side)
    for clip in clips:
        if is_skeleton_file(clip):
            Skeleton.load(clip)
        else:
            probe_video(clip, max_duration_s=request.max_duration_s, max_size_mb=request.max_size_mb)


TASK = """Screen this Functional Movement Screen clip. Call the tools in protocol order:
{order}, then give the decision as the final answer. Never state a measurement
that a tool did not return; a run without measurement cannot end in a score.
Request:
```json
{request}
```"""


def screen(request: ScreenRequest, brain="protocol", brain_options: dict | None = None,
           progress: ProgressCallback | None = None, *,
           on_run_folder: Callable[[Path, str], None] | None = None) -> dict:
    """Run the screening agent on one clip; returns the verdict (also written to the run folder).

    One run = one smolagents ToolCallingAgent run: the brain chooses the calls,
    the StepTools execute them and log them, and the trace is built from that
    log plus what the brain said at each step. Everything that goes wrong once
    the run has started (the brain cannot be built or reached, an unknown tool,
    unreadable brain output, an attempt to end without measurement) is recorded
    in the trace and ends the run in physio review; bad input and an unusable
    brain are then raised as InputError for the CLI (exit code 2).

    `brain`: a name from agent.screening.brains.BRAINS (built with `brain_options`), or a
    ready smolagents Model (tests, benchmarks, the app's own instances).
    `progress`: hears each step start and finish from the trace recorder ("steps" events), and the
    frame counts the tools report inside a step ("decode", "pose", "overlay"; tools.core.progress).
    `on_run_folder(run_dir, run_id)` is called once the run's folder is claimed, before anything is
    written into it (`run_folder_filer` records it under the athlete, so an erasure finds even a run
    that never finished).
    """
    from tools.core.fms import check_test_and_side

    request.side = check_test_and_side(request.test, request.side)
    if request.side == "NA":
        request.side = None
    source = _check_source(request.source)
    _check_clip(source, request)
    run_dir, run_id = new_run_folder(request.run_dir or None, request.test, new_run_id())
    if on_run_folder is not None:
        try:
            on_run_folder(run_dir, run_id)
        except BaseException:
            shutil.rmtree(run_dir, ignore_errors=True)      # claimed a moment ago and still empty: leave nothing
            raise
    request.run_dir = str(run_dir)
    request.source = str(source)
    request.source_sha256 = file_sha256(source)
    skip = optional_steps_unavailable(request.use_stgcn, request.use_retrieval)
    request.extra = dict(request.extra, skip=skip)
    brain_name = brain if isinstance(brain, str) else type(brain).__name__
    recorder = TraceRecorder.start(
        run_id=run_id, brain=brain_name, brain_model=None, athlete_id=request.athlete_id or None,
        test=request.test, side=request.side or "NA",
        input={"kind": "skeleton" if request.is_skeleton else "video", "name": source.name,
               "sha256": request.source_sha256},
        request={k: v for k, v in request.to_dict().items() if k not in ("source", "run_dir", "extra")},
        optional_steps_skipped=skip)

    try:
        model = make_brain(brain, **(brain_options or {})) if isinstance(brain, str) else brain
    except InputError as exc:
        # the run cannot start: the trace still says why (the header names the brain asked for)
        event = _Event("brain", {"name": brain_name, "options": _printable(brain_options)}, None, 0.0, "",
                       f"{type(exc).__name__}: {exc}", brain=True)
        _finish(request, recorder, [event], {}, run_dir, [f"the {brain_name} brain could not start: {exc}"])
        raise
    recorder.header["brain_model"] = getattr(model, "model_id", None)
    recorder.header["brain_provenance"] = getattr(model, "provenance", None) or {}
    recorder.progress = progress
    recorder.announce_plan(planned_order(request))
    return _run_agent(request, model, recorder, run_dir)


def offered_tools(request: ScreenRequest) -> list[str]:
    """The tools a brain is offered: every step, except SAM 3 unless the physio chose it (it needs weights)."""
    return [name for name in STEP_FUNCTIONS if name != "select_athlete_sam3" or request.athlete_selector == "sam3"]


def _run_agent(request: ScreenRequest, model, recorder: TraceRecorder, run_dir: Path) -> dict:
    from smolagents import ToolCallingAgent
    from smolagents.monitoring import LogLevel
    from smolagents.utils import AgentGenerationError

    from agent.screening.toolbox import CallLog, make_tools

    what = {p.tool: p.why for p in PROTOCOL}
    call_log = CallLog(on_start=lambda tool: recorder.step_started(tool, what.get(tool, "")),
                       on_finish=lambda rec: recorder.step_finished(rec.tool, rec.error),
                       listener=recorder.progress)
    ends: list[tuple[object, int]] = []                   # (memory step, len(call_log.calls) when it ended)
    agent = ToolCallingAgent(tools=make_tools(call_log, offered_tools(request)), model=model, max_steps=len(PROTOCOL) + 4,
                             verbosity_level=LogLevel.OFF, final_answer_checks=[_required_steps_check(request, call_log)],
                             step_callbacks=[lambda step, agent=None: ends.append((step, len(call_log.calls)))])
    task = TASK.format(order=" -> ".join(planned_order(request)), request=json.dumps(request.to_dict()))
    brain_failure, final = None, ""
    try:
        final = str(agent.run(task) or "")
    except AgentGenerationError as exc:
        # the brain itself failed (server unreachable, model crashed): recorded, then raised below
        brain_failure = exc.__cause__ or exc
    events = _events(ends, call_log)
    if brain_failure is not None:
        events.append(_Event("brain", {}, None, 0.0, "",
                             f"{type(brain_failure).__name__}: {brain_failure}", brain=True))
    brain_problems = _brain_problems(events)
    verdict = _finish(request, recorder, events, call_log.results_with_arguments(), run_dir, brain_problems, final)
    bad_input = call_log.first_input_error()
    if bad_input is not None:
        # bad input: the CLI says what to do (the trace keeps the record)
        raise InputError(bad_input.error.split(": ", 1)[1])
    if isinstance(brain_failure, InputError):
        raise brain_failure
    if brain_failure is not None:
        raise RuntimeError(f"the brain failed during the run (recorded in {run_dir / 'trace.json'}): "
                           f"{brain_failure}") from brain_failure
    return verdict


def _finish(request: ScreenRequest, recorder: TraceRecorder, events: list, calls: dict, run_dir: Path,
            brain_problems: list[str], brain_final: str = "") -> dict:
    for e in events:
        recorder.add_step(e.tool, _relative(e.arguments, run_dir, request.source),
                          _relative(e.result, run_dir, request.source), e.duration_ms,
                          brain_message=e.brain_message, error=e.error)
    failed = next((e for e in events if e.error and not e.brain), None)
    failure = (failed.tool, failed.error) if failed else None
    verdict = _verdict(request, calls, failure, run_dir, recorder.header["run_id"], brain_problems, brain_final)
    verdict["hashes"] = run_hashes(request.source_sha256, run_dir, verdict["artifacts"].get("skeleton_npz"))
    trace = recorder.finish(verdict)
    save_trace(trace, run_dir / "trace.json")
    write_json_atomic(run_dir / VERDICT_FILE, verdict)        # last: the run folder is complete
    return verdict


RUN_RECORD_FILES = ("trace.json", VERDICT_FILE, OWNER_MARKER, OVERLAY_JOB_FILE)   # not artifacts: not hashed


def run_hashes(clip_sha256: str, run_dir: Path, skeleton_npz: str | None) -> dict:
    """sha256 of the clip, of the skeleton the score was measured on, and of every artifact in the run folder."""
    files = {p.relative_to(run_dir).as_posix(): file_sha256(p) for p in sorted(run_dir.rglob("*"))
             if p.is_file() and p.name not in RUN_RECORD_FILES and not p.name.startswith(".")}
    skeleton = Path(skeleton_npz) if skeleton_npz else None
    return {"clip_sha256": clip_sha256,
            "skeleton_sha256": file_sha256(skeleton) if skeleton is not None and skeleton.is_file() else None,
            "files": files}


@dataclass
class _Event:
    """One trace step: a tool call (run or refused) or a brain turn that produced no usable call."""

    tool: str
    arguments: dict
    result: dict | None
    duration_ms: float
    brain_message: str
    error: str | None
    brain: bool = False        # the brain's fault (unknown tool, unreadable output, refused answer...)


def _events(ends: list, call_log) -> list[_Event]:
    """Trace steps from the agent's memory steps and the call log, in the order they happened."""
    from smolagents.memory import ActionStep
    from smolagents.utils import AgentMaxStepsError

    events: list[_Event] = []
    start = 0
    for step, end in ends:
        if not isinstance(step, ActionStep):
            continue
        records = list(call_log.calls[start:end])
        start = end
        said = str(step.model_output or "").strip()
        error = str(step.error) if step.error is not None else None
        if isinstance(step.error, AgentMaxStepsError):
            events.append(_Event("brain", {}, None, 0.0, said,
                                 "reached the step limit before finishing the protocol", brain=True))
            continue
        message = step.model_output_message
        calls = list(getattr(message, "tool_calls", None) or [])
        if not calls and error:
            raw = (message.raw or {}).get("text", said) if message is not None and isinstance(message.raw, dict) \
                else said
            events.append(_Event("brain", {"output": str(raw)[:2000]}, None, 0.0, said,
                                 f"unreadable brain output: {error}", brain=True))
        for call in calls:
            name, args = call.function.name, call.function.arguments
            args = args if isinstance(args, dict) else {"value": args}
            if name == "final_answer":
                if error:
                    events.append(_Event("final_answer", args, None, 0.0, said, f"refused: {error}", brain=True))
                continue
            rec = next((r for r in records if r.tool == name), None)
            if rec is not None:
                records.remove(rec)
                events.append(_Event(rec.tool, rec.arguments, rec.result, rec.duration_ms, said, rec.error))
            elif name not in STEP_FUNCTIONS:
                events.append(_Event(name, args, None, 0.0, said, error or f"unknown tool {name!r}", brain=True))
            else:                                  # refused before it ran (bad arguments) or a sibling call failed
                events.append(_Event(name, args, None, 0.0, said, error or "not run", brain=True))
        for rec in records:                        # calls the memory does not show (should not happen)
            events.append(_Event(rec.tool, rec.arguments, rec.result, rec.duration_ms, said, rec.error))
    return events


def _brain_problems(events: list[_Event]) -> list[str]:
    problems = []
    unknown = sorted({e.tool for e in events if e.brain and e.tool not in STEP_FUNCTIONS
                      and e.tool not in ("brain", "final_answer")})
    if unknown:
        problems.append(f"the brain called unknown tools: {', '.join(unknown)}")
    refused = [e for e in events if e.brain and e.tool in STEP_FUNCTIONS]
    if refused:
        problems.append(f"the brain made {len(refused)} call(s) the tools refused "
                        f"({', '.join(sorted({e.tool for e in refused}))})")
    unreadable = [e for e in events if e.brain and e.tool == "brain" and e.error.startswith("unreadable")]
    if unreadable:
        problems.append(f"{len(unreadable)} brain turn(s) could not be read as tool calls")
    early = [e for e in events if e.tool == "final_answer"]
    if early:
        problems.append(f"the brain tried {len(early)} time(s) to end the run before the required steps")
    other = [e.error for e in events if e.brain and e.tool == "brain" and not e.error.startswith("unreadable")]
    problems += other
    return problems


def _required_steps_check(request: ScreenRequest, call_log):
    """A final-answer check: no ending before the required steps, unless a tool failed (then: review)."""
    def required_steps_done(final_answer, memory, agent=None) -> bool:
        if any(c.error for c in call_log.calls):
            return True
        missing = missing_required(request, call_log.results())
        if missing:
            raise ValueError(f"the run cannot end yet: required steps not done: {', '.join(missing)}. "
                             f"Call {missing[0]} next.")
        return True
    return required_steps_done


def _printable(options: dict | None) -> dict:
    return {k: (v if isinstance(v, (str, int, float, bool)) or v is None else repr(v))
            for k, v in (options or {}).items()}


def _verdict(request: ScreenRequest, calls: dict, failure, run_dir: Path, run_id: str,
             brain_problems: list[str] | None = None, brain_final: str = "") -> dict:
    results = {tool: r for tool, (_, r) in calls.items()}
    rubric = results.get("score_rubric", {})
    decision = results.get("decide")
    missing = missing_required(request, results)
    chain = provenance_problems(request, calls)
    if decision is None or missing or chain:
        reasons = []
        if failure is not None:
            reasons.append(f"step {failure[0]} failed: {failure[1]}")
        if missing:
            reasons.append("no score without " + ", ".join(missing))
        reasons += [f"no score: {p}" for p in chain]
        decision = {"score": None, "confidence": 0.0, "review": True, "reasons": reasons,
                    "evidence": (decision or {}).get("evidence", {}) if not chain else {}}
    else:
        decision = dict(decision)
    reasons = list(decision["reasons"]) + [f"brain: {p}" for p in brain_problems or []]
    if not reasons and decision["score"] is None:
        reasons.append("no score could be reached")
    quality = results.get("prepare_skeleton", {}).get("quality", {})
    overlay = results.get("render_overlay", {})
    evidence = dict(decision.get("evidence", {}))
    if "retrieve_similar_clips" in results:
        evidence["neighbours"] = results["retrieve_similar_clips"].get("neighbours", [])
    artifacts = {
        "run_dir": str(run_dir),
        "verdict_json": str(run_dir / "verdict.json"),
        "trace_json": str(run_dir / "trace.json"),
        "skeleton_npz": results.get("prepare_skeleton", {}).get("skeleton_path"),
        "angles_csv": results.get("measure_angles", {}).get("angles_csv"),
        "overlay_mp4": overlay.get("overlay_mp4"),
        "deciding_frame_png": overlay.get("deciding_frame_png"),
    }
    return {
        "run_id": run_id,
        "test": request.test,
        "side": rubric.get("side", request.side or "NA"),
        "side_inferred": rubric.get("side_inferred", False),
        "score": decision["score"],
        "confidence": decision["confidence"],
        "review": bool(decision["review"] or reasons),
        "reasons": reasons,
        # which evidence settled the verdict (agent/screening/decide.py), each reason with its evidence
        "decided_by": decision.get("decided_by") or ("brain" if brain_problems else "no_decision"),
        "reason_details": list(decision.get("reason_details", [])) + [
            {"evidence": "brain", "text": f"brain: {p}"} for p in brain_problems or []],
        "second_opinion": decision.get("second_opinion"),
        "deciding_criterion": rubric.get("deciding_criterion"),
        "deciding_frame": rubric.get("deciding_frame"),
        "deciding_time_s": overlay.get("deciding_time_s"),
        "view": rubric.get("view"),
        "test_recognition": _test_recognition(rubric.get("recognition")),
        "criteria": rubric.get("criteria", []),
        "inputs": rubric.get("inputs", {"pain": request.pain}),
        "rubric_version": rubric.get("rubric_version"),
        "test_version": rubric.get("test_version"),
        "notes": rubric.get("notes", []),
        "quality": quality,
        "evidence": evidence,
        "passages": [p["passage_id"] for p in results.get("retrieve_passages", {}).get("passages", [])],
        "brain_final_answer": brain_final[:2000],
        "artifacts": artifacts,
        "disclaimer": "Screening aid, not a diagnosis: a physio reviews every result.",
        **_repetitions(results, decision, quality),
    }


def _repetitions(results: dict, decision: dict, quality: dict) -> dict:
    """Every repetition found, the one that counted, each side's decision (agent/screening/repetitions.py)."""
    from agent.screening.repetitions import verdict_repetitions
    return verdict_repetitions(results, decision, quality)


def _test_recognition(recognition: dict | None) -> dict | None:
    """Whether the movement looks like the asked-for test, as the rubric's recognition said (no features)."""
    if not recognition:
        return None
    return {k: recognition.get(k) for k in ("asked", "asked_score", "looks_like", "matches_asked", "reason")}


def run_folder_filer(athlete_id: str, db: str | None = None) -> Callable[[Path, str], None] | None:
    """An `on_run_folder` callback recording each new run folder under the athlete in the catalog at `db`
    (index.library.runs.record_output); None when there is no athlete or no catalog in this install."""
    if not athlete_id:
        return None
    try:
        from index.library.runs import record_output
    except ModuleNotFoundError:
        return None

    def file_folder(run_dir: Path, run_id: str) -> None:
        record_output(db=db, athlete_id=athlete_id, path=run_dir, kind="run_dir", owner_id=run_id)
    return file_folder


def file_run(verdict: dict, athlete_id: str, db: str | None = None) -> dict:
    """File a finished run under an athlete in the catalog (index.library.api.record_run), with its files.

    Returns {"filed": True, "db": path} or {"filed": False, "reason": ...}; the
    files of the run folder are listed so that erasing the athlete removes them.
    """
    try:
        from index.library.api import record_run
        from index.storage.paths import resolve_db_path
    except ModuleNotFoundError as exc:
        return {"filed": False, "reason": f"the catalog is not built in this install ({exc.name})"}
    run_dir = Path(verdict["artifacts"]["run_dir"]).resolve()
    trace = str(Path(verdict["artifacts"]["trace_json"]).resolve())
    files = sorted(str(p) for p in run_dir.rglob("*") if p.is_file() and str(p) != trace)
    record_run(db=db, run_id=verdict["run_id"], athlete_id=athlete_id, test=verdict["test"], side=verdict["side"],
               score=verdict["score"], review=bool(verdict["review"]), trace_path=trace,
               confidence=verdict.get("confidence"), review_reasons=verdict.get("reasons") or [],
               artifact_paths=files, run_dir=run_dir)
    return {"filed": True, "db": str(resolve_db_path(db))}


def _relative(obj, run_dir: Path, source: str | None = None):
    """Paths inside the run folder are recorded relative to it, so a trace can be moved and published;
    the input clip by its file name only (a folder name may carry the athlete's name)."""
    if isinstance(obj, dict):
        return {k: _relative(v, run_dir, source) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_relative(v, run_dir, source) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if source and obj == source:
        return Path(source).name
    if isinstance(obj, str) and obj.startswith(str(run_dir)):
        try:
            return str(Path(obj).relative_to(run_dir))
        except ValueError:             # a sibling that only shares the name's prefix (run/ vs run.npz)
            return obj
    return obj
