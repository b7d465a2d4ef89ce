"""Every screening step as a smolagents Tool: typed inputs, JSON text out.

A StepTool wraps one function of agent/screening/steps.py (which calls tools/). Its
result goes back to the brain as JSON text (never a Python repr), and every
call is also kept, with its arguments, result, duration and error, in the
run's CallLog, which becomes the trace.
"""
from __future__ import annotations

import inspect
import json
import math
import time
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field

from smolagents import Tool

from agent.screening.steps import STEP_FUNCTIONS
from tools.core import progress
from tools.core.errors import InputError

# What the brain reads about each tool's inputs (the functions' docstrings give the tool description).
INPUT_DOCS: dict[str, str] = {
    "video_path": "path of the clip to screen",
    "max_duration_s": "longest clip accepted, seconds",
    "max_size_mb": "largest file accepted, megabytes",
    "run_dir": "folder of this run, where files are written",
    "backend": "pose backend: mediapipe (default) or yolo",
    "weights": "weights file for the yolo backend ('' for mediapipe)",
    "pose_path": "pose_2d.npz written by estimate_pose",
    "source_sha256": "sha256 of the input clip, for provenance",
    "skeleton_path": "canonical skeleton .npz",
    "test": "FMS test name, e.g. deep_squat, hurdle_step",
    "side": "L or R for bilateral tests, '' to detect or for one-sided tests",
    "pain": "true when the athlete reported pain (score 0)",
    "heels_raised": "deep squat: yes, no or auto",
    "criteria_file": "team thresholds YAML ('' for the defaults)",
    "sex": "M or F, for the push-up levels ('' if not given)",
    "hand_length_m": "measured hand length in metres (shoulder mobility), null to estimate",
    "clearing_pain": "true when the athlete reported pain in this test's clearing test",
    "max_gap_s": "longest dropout filled by interpolation, seconds",
    "max_pose_fps": "highest pose rate, frames/s (a faster clip is posed on every n-th frame)",
    "smooth_window_s": "Savitzky-Golay window, seconds",
    "deciding_criterion": "criterion id that decided the score",
    "deciding_frame": "frame index of the deciding moment (-1 for none)",
    "value": "measured value of the deciding criterion",
    "unit": "unit of that value (deg, m, ratio)",
    "passed": "'True', 'False' or '' (not judged)",
    "rubric_json": "the score_rubric result",
    "quality_json": "the pose quality report from prepare_skeleton",
    "stgcn_json": "the score_stgcn result ({} when not run)",
    "neighbours_json": "similar physio-scored clips from retrieve_similar_clips ([] when not run)",
    "checkpoint": "model file: score_stgcn's ST-GCN checkpoint ('' for the bundled one); "
                  "select_athlete_sam3's local sam3.pt",
    "k": "how many similar clips to return",
    "db": "clip library (DuckDB file; '' for the default)",
    "criterion_ids": "criterion ids to cite (the deciding one first)",
    "score": "score level whose rubric passage to cite (-1 for none)",
    "max_chars": "longest passage text returned, characters",
    "athlete_box": "the athlete's box x, y, w, h in pixels of video frame `keyframe` (null: choose automatically)",
    "athlete_point": "a point x, y in pixels on the athlete's body on frame `keyframe` (a click in the app)",
    "keyframe": "video frame the athlete box / point refers to (0 = first)",
    "select": "athlete selection: auto (track every person, choose the athlete) or off (follow one person)",
    "selection_problems": "what an earlier selector (SAM 3) could not settle, reported for review",
    "repetitions_path": "repetitions.json written by segment_repetitions ('' = score the clip as one repetition)",
    "repetitions": "score_rubric's repetitions (or segment_repetitions'), to mark on the overlay's timeline",
    "main_skeleton_path": "the main clip's prepared skeleton, to check the second clip shows the same movement",
    "main_repetitions": "complete repetitions segment_repetitions found in the main clip (1 = one)",
    "second_view_path": "the second clip's prepared skeleton from measure_second_view ('' = the main clip alone)",
    "second_view_label": "how the verdict names the second clip (e.g. side clip)",
    "second_view_note": "why the second clip was not used ('' when it was, or none was filmed)",
    "second_view_lag_s": "the second clip's time offset from measure_second_view's alignment, seconds",
}

_JSON_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean", dict: "object", list: "array"}


def _json_type(annotation) -> tuple[str, bool]:
    """(json type, nullable) of a parameter annotation such as `float | None`."""
    if isinstance(annotation, str):
        annotation = eval(annotation, {"typing": typing})  # annotations are postponed strings
    nullable = False
    args = typing.get_args(annotation)
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        nullable = type(None) in args
        annotation = next(a for a in args if a is not type(None))
    origin = typing.get_origin(annotation) or annotation
    return _JSON_TYPES.get(origin, "any"), nullable


def _jsonable(obj):
    """Strict JSON: NaN/inf become null."""
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


@dataclass
class CallRecord:
    tool: str
    arguments: dict
    result: dict | None
    duration_ms: float
    error: str | None = None
    input_error: bool = False


@dataclass
class CallLog:
    """Every tool call of one run, in order (what the trace is built from).

    `on_start(tool)` / `on_finish(record)` hear about each call as it happens (the run passes the trace
    recorder's step_started / step_finished); `listener` receives the frame-by-frame progress the tools
    report (tools.core.progress) while a call runs.
    """

    calls: list[CallRecord] = field(default_factory=list)
    on_start: Callable[[str], None] | None = None
    on_finish: Callable[[CallRecord], None] | None = None
    listener: Callable | None = None

    def record(self, rec: CallRecord) -> None:
        self.calls.append(rec)
        if self.on_finish is not None:
            self.on_finish(rec)

    def results(self) -> dict:
        """Latest successful result per tool name."""
        return {c.tool: c.result for c in self.calls if c.error is None}

    def results_with_arguments(self) -> dict:
        """Latest successful call per tool name: tool -> (arguments, result)."""
        return {c.tool: (c.arguments, c.result) for c in self.calls if c.error is None}

    def first_input_error(self) -> CallRecord | None:
        return next((c for c in self.calls if c.input_error), None)


class StepTool(Tool):
    """A smolagents Tool over one agent/screening/steps.py function."""

    output_type = "string"
    skip_forward_signature_validation = True  # forward(**kwargs): inputs come from the step's signature

    def __init__(self, name: str, log: CallLog):
        fn = STEP_FUNCTIONS[name]
        self.name = name
        self.description = inspect.getdoc(fn).split("\n")[0] + " Returns JSON."
        self.inputs = {}
        for pname, param in inspect.signature(fn).parameters.items():
            jtype, nullable = _json_type(param.annotation)
            spec = {"type": jtype, "description": INPUT_DOCS.get(pname, pname.replace("_", " "))}
            if nullable or param.default is not inspect.Parameter.empty:
                spec["nullable"] = True
            self.inputs[pname] = spec
        self._fn = fn
        self._log = log
        super().__init__()

    def forward(self, **kwargs) -> str:
        t0 = time.perf_counter()
        if self._log.on_start is not None:
            self._log.on_start(self.name)
        try:
            with progress.reporting(self._log.listener):
                result = _jsonable(self._fn(**kwargs))
        except InputError as exc:
            self._log.record(CallRecord(self.name, kwargs, None, (time.perf_counter() - t0) * 1e3,
                                        error=f"{type(exc).__name__}: {exc}", input_error=True))
            raise
        except Exception as exc:
            self._log.record(CallRecord(self.name, kwargs, None, (time.perf_counter() - t0) * 1e3,
                                        error=f"{type(exc).__name__}: {exc}"))
            raise
        self._log.record(CallRecord(self.name, kwargs, result, (time.perf_counter() - t0) * 1e3))
        return json.dumps(result)


def make_tools(log: CallLog, names: typing.Iterable[str] | None = None) -> list[Tool]:
    return [StepTool(name, log) for name in (names or STEP_FUNCTIONS)]
