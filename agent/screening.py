"""One screening run: a clip (video or skeleton) in, a verdict, a trace and an overlay out.

The brain decides which step comes next (the protocol brain follows
agent/protocol.py exactly); this module executes the calls, records every one
in the hash-chained trace, and writes the run folder:
  verdict.json, trace.json, skeleton.npz, angles.csv, overlay.mp4,
  overlay_deciding_frame.png (+ pose_2d.npz, skeleton_raw.npz for video input)
"""
from __future__ import annotations

import json
import logging
import math
from pathlib import Path

from agent.protocol import PROTOCOL, ScreenRequest, missing_required
from agent.trace import TraceRecorder, save_trace, sha256_file
from tools.errors import InputError

log = logging.getLogger(__name__)


def _check_source(path: str) -> Path:
    p = Path(path)
    if not p.exists():
        raise InputError(f"clip not found: {p}. Give the path of a video file or a skeleton .npz")
    if p.is_dir():
        raise InputError(f"{p} is a folder; give one video file or skeleton .npz")
    return p


TASK = """Screen this Functional Movement Screen clip. Call the tools in protocol order:
check_video -> estimate_pose -> lift_to_3d -> prepare_skeleton -> measure_angles -> score_rubric
-> decide -> render_overlay, then give the decision as the final answer. Never state a measurement
that a tool did not return; a run without measurement cannot end in a score.
Request:
```json
{request}
```"""


def screen(request: ScreenRequest, brain: str = "protocol", brain_options: dict | None = None) -> dict:
    """Run the screening agent on one clip; returns the verdict (also written to the run folder).

    One run = one smolagents ToolCallingAgent run: the brain chooses the calls,
    the StepTools execute them and log them, and the trace is built from that
    log plus what the brain said at each step.
    """
    from smolagents import ToolCallingAgent
    from smolagents.monitoring import LogLevel

    from agent.brains import make_brain
    from agent.toolbox import CallLog, make_tools
    from tools.rubric import check_test_and_side

    model = make_brain(brain, **(brain_options or {}))
    request.side = check_test_and_side(request.test, request.side)
    if request.side == "NA":
        request.side = None
    source = _check_source(request.source)
    run_dir = Path(request.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    request.run_dir = str(run_dir)
    request.source = str(source)
    request.source_sha256 = sha256_file(source)
    recorder = TraceRecorder.start(
        brain=brain, brain_model=getattr(model, "model_id", None), athlete_id=request.athlete_id or None,
        test=request.test, side=request.side or "NA",
        input={"kind": "skeleton" if request.is_skeleton else "video", "name": source.name,
               "sha256": request.source_sha256},
        request={k: v for k, v in request.to_dict().items() if k not in ("source", "run_dir", "extra")})

    log = CallLog()
    agent = ToolCallingAgent(tools=make_tools(log), model=model, max_steps=len(PROTOCOL) + 4,
                             verbosity_level=LogLevel.OFF)
    brain_said = []
    try:
        agent.run(TASK.format(request=json.dumps(request.to_dict())))
    finally:
        # what the brain said before each call, in call order
        for mstep in agent.memory.steps:
            for call in getattr(mstep, "tool_calls", None) or []:
                if call.name != "final_answer":
                    brain_said.append(str(getattr(mstep, "model_output", "") or ""))
    for i, call in enumerate(log.calls):
        recorder.add_step(call.tool, _relative(call.arguments, run_dir), _relative(call.result, run_dir),
                          call.duration_ms, brain_message=brain_said[i] if i < len(brain_said) else "",
                          error=call.error)

    results = log.results()
    failed = next((c for c in log.calls if c.error), None)
    failure = (failed.tool, failed.error) if failed else None
    verdict = _verdict(request, results, failure, run_dir, recorder.header["run_id"])
    trace = recorder.finish(verdict)
    save_trace(trace, run_dir / "trace.json")
    (run_dir / "verdict.json").write_text(json.dumps(verdict, indent=2, default=str))
    bad_input = log.first_input_error()
    if bad_input is not None:
        # bad input: the CLI says what to do (the trace keeps the record)
        raise InputError(bad_input.error.split(": ", 1)[1])
    return verdict


def _verdict(request: ScreenRequest, results: dict, failure, run_dir: Path, run_id: str) -> dict:
    rubric = results.get("score_rubric", {})
    decision = results.get("decide")
    missing = missing_required(request, results)
    if decision is None or missing:
        reasons = []
        if failure is not None:
            reasons.append(f"step {failure[0]} failed: {failure[1]}")
        if missing:
            reasons.append("no score without " + ", ".join(missing))
        decision = {"score": None, "confidence": 0.0, "review": True, "reasons": reasons, "evidence": {}}
    quality = results.get("prepare_skeleton", {}).get("quality", {})
    overlay = results.get("render_overlay", {})
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
        "review": decision["review"],
        "reasons": decision["reasons"],
        "deciding_criterion": rubric.get("deciding_criterion"),
        "deciding_frame": rubric.get("deciding_frame"),
        "deciding_time_s": overlay.get("deciding_time_s"),
        "view": rubric.get("view"),
        "criteria": rubric.get("criteria", []),
        "inputs": rubric.get("inputs", {"pain": request.pain}),
        "notes": rubric.get("notes", []),
        "quality": quality,
        "evidence": decision.get("evidence", {}),
        "artifacts": artifacts,
        "disclaimer": "Screening aid, not a diagnosis: a physio reviews every result.",
    }


def _relative(obj, run_dir: Path):
    """Paths inside the run folder are recorded relative to it, so a trace can be moved and published."""
    if isinstance(obj, dict):
        return {k: _relative(v, run_dir) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_relative(v, run_dir) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, str) and obj.startswith(str(run_dir)):
        return str(Path(obj).relative_to(run_dir))
    return obj
