"""The FMS screening protocol as data: which tool comes next, with which arguments.

video -> pose -> 3D -> fit (camera, floor, constant-bone skeleton) -> prepare (fill, smooth, quality) ->
measure -> repetitions -> (a second clip of the same repetition, when filmed) -> rules ->
ST-GCN -> retrieve clips -> retrieve passages -> decide -> overlay.
`next_call(request, results)` looks at what has run so far and returns the
next (tool, arguments), or None when the protocol is complete. The protocol
brain follows it exactly; a VLM brain may choose its own order, but
`missing_required` says which required steps a run still lacks, so no run ends
in a score without measurement, and `provenance_problems` checks that each step
read what the step before it produced and that decide got the tools' own
results (not numbers a brain wrote). The optional steps (ST-GCN, retrieval)
apply only when their backends exist: screening records in
request.extra["skip"] which cannot run and why (agent.screening.steps.optional_steps_unavailable).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Callable

from agent.screening.repetitions import MODE_REPETITIONS
from tools.core.files import is_skeleton_file



@dataclass
class ScreenRequest:
    """Everything the physio asked for one clip."""

    source: str                      # video file or canonical skeleton .npz
    test: str
    run_dir: str
    side: str | None = None          # L / R / None (infer) ; NA for one-sided tests
    pain: bool = False
    heels_raised: str = "auto"       # deep squat: yes / no / auto
    sex: str = ""                    # push-up levels: M / F ('' = not given -> review)
    hand_length_m: float | None = None   # shoulder mobility: measured hand length (else estimated)
    clearing_pain: bool = False      # pain in this test's clearing test (scores 0)
    pose_backend: str = "mediapipe"
    pose_weights: str = ""
    athlete_box: list[float] | None = None     # x, y, w, h px on video frame `athlete_keyframe` (drawn or SAM 3)
    athlete_point: list[float] | None = None   # x, y px on that frame (a click in the app)
    athlete_keyframe: int = 0                  # video frame the box / point refers to (0 = first)
    athlete_selector: str = ""                 # "" = track everyone; "sam3" = SAM 3 mask on the keyframe;
                                               # "off" = follow one person (nobody else in frame)
    sam3_checkpoint: str = ""                  # local sam3.pt for athlete_selector "sam3"
    criteria_file: str = ""
    max_duration_s: float = 120.0
    max_size_mb: float = 500.0
    athlete_id: str = ""
    source_sha256: str = ""
    use_stgcn: bool = True
    use_retrieval: bool = True
    side_clip: str = ""              # a second clip of the same repetition from another view (fused per criterion)
    overlay: str = "now"             # now: drawn before the run ends; after: the run leaves the job for the
                                     # caller to draw once the verdict is out (agent.screening.steps.render_pending_overlay)
    extra: dict = field(default_factory=dict)

    @property
    def is_skeleton(self) -> bool:
        return is_skeleton_file(self.source)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ProtocolStep:
    tool: str
    why: str                                   # what the brain says when it calls it
    arguments: Callable[[ScreenRequest, dict], dict]
    applies: Callable[[ScreenRequest, dict], bool] = lambda r, s: True
    required: bool = True


def _skeleton_in(r: ScreenRequest, s: dict) -> str:
    if "fit_skeleton" in s:
        return s["fit_skeleton"]["skeleton_path"]
    if "lift_to_3d" in s:
        return s["lift_to_3d"]["skeleton_path"]
    return r.source


def _repetitions(s: dict) -> dict:
    """score_rubric's repetitions argument: the segmentation's file, when segment_repetitions ran."""
    seg = s.get("segment_repetitions")
    return {"repetitions_path": seg["repetitions_path"]} if seg and seg.get("repetitions_path") else {}


def _complete_repetitions(s: dict) -> int:
    """Complete repetitions in the main clip (1 when it was scored as one)."""
    seg = s.get("segment_repetitions") or {}
    return int(seg.get("n_complete") or 1) if seg.get("mode") == MODE_REPETITIONS else 1


def _second_view(s: dict) -> dict:
    """score_rubric's second-view arguments, when measure_second_view found the second clip usable."""
    second = s.get("measure_second_view") or {}
    if not second:
        return {}
    if not second.get("skeleton_path"):
        return {"second_view_note": f"the {second.get('label', 'side clip')} was not used: {second.get('not_used')}"}
    return {"second_view_path": second["skeleton_path"], "second_view_label": second.get("label", "side clip"),
            "second_view_lag_s": float((second.get("alignment") or {}).get("lag_s") or 0.0)}


def _scored(s: dict) -> str:
    """The skeleton the score was measured on: the counted repetition's own clip, else the prepared one."""
    return s.get("score_rubric", {}).get("counted_skeleton_path") or _prepared(s)


def _timeline(s: dict) -> list:
    """The repetitions to mark on the overlay's timeline (score_rubric's when it scored them, else the segmentation's)."""
    reps = s.get("score_rubric", {}).get("repetitions") or s.get("segment_repetitions", {}).get("repetitions") or []
    keep = ("index", "start_frame", "end_frame", "status", "score", "side")
    return [{k: r.get(k) for k in keep if k in r} for r in reps]


def _prepared(s: dict) -> str:
    return s["prepare_skeleton"]["skeleton_path"]


def _decider(s: dict) -> dict:
    rubric = s.get("score_rubric", {})
    crit = next((c for c in rubric.get("criteria", []) if c["id"] == rubric.get("deciding_criterion")), None)
    return crit or {}


def _athlete_hint(r: ScreenRequest, s: dict | None = None) -> dict:
    """The athlete box / point arguments of estimate_pose, only when the physio gave one (older traces match).

    After SAM 3 ran, its athlete box on its keyframe replaces the physio's box / point (it was made from
    them), and what SAM 3 could not settle travels on as a selection problem.
    """
    sam3 = (s or {}).get("select_athlete_sam3")
    if sam3 is not None:
        hint = {"selection_problems": list(sam3.get("problems", []))}
        if sam3.get("athlete_box_xywh_px"):
            hint["athlete_box"] = [float(v) for v in sam3["athlete_box_xywh_px"]]
            if sam3.get("keyframe_index"):
                hint["keyframe"] = int(sam3["keyframe_index"])
            return hint
        return {**hint, **_athlete_hint(r)}
    hint: dict = {"select": "off"} if r.athlete_selector == "off" else {}
    if r.athlete_box:
        hint["athlete_box"] = [float(v) for v in r.athlete_box]
    if r.athlete_point:
        hint["athlete_point"] = [float(v) for v in r.athlete_point]
    if hint and r.athlete_keyframe:
        hint["keyframe"] = int(r.athlete_keyframe)
    return hint


def _not_the_test(s: dict) -> bool:
    """The rubric's test recognition says the movement is not the asked-for test."""
    return ((s.get("score_rubric") or {}).get("recognition") or {}).get("matches_asked") is False


def _optional(r: ScreenRequest, tool: str) -> bool:
    """An optional step runs unless screening found it unavailable (request.extra["skip"] says why)."""
    return tool not in r.extra.get("skip", {})


def _cited_criteria(s: dict) -> list[str]:
    """The deciding criterion first, then every other criterion that failed."""
    rubric = s.get("score_rubric", {})
    ids = [rubric["deciding_criterion"]] if rubric.get("deciding_criterion") else []
    ids += [c["id"] for c in rubric.get("criteria", []) if c.get("passed") is False and c["id"] not in ids]
    return ids


PROTOCOL: tuple[ProtocolStep, ...] = (
    ProtocolStep("check_video", "Check the clip opens and is within the capture limits.",
                 lambda r, s: {"video_path": r.source, "max_duration_s": r.max_duration_s,
                               "max_size_mb": r.max_size_mb},
                 applies=lambda r, s: not r.is_skeleton),
    ProtocolStep("select_athlete_sam3", "Segment the athlete with SAM 3 on the keyframe (box or click to choose).",
                 lambda r, s: {"video_path": r.source, "run_dir": r.run_dir, "checkpoint": r.sam3_checkpoint,
                               **_athlete_hint(r)},
                 applies=lambda r, s: not r.is_skeleton and r.athlete_selector == "sam3"),
    ProtocolStep("estimate_pose", "Find the athlete's joints in every frame.",
                 lambda r, s: {"video_path": r.source, "run_dir": r.run_dir, "backend": r.pose_backend,
                               "weights": r.pose_weights, **_athlete_hint(r, s)},
                 applies=lambda r, s: not r.is_skeleton),
    ProtocolStep("lift_to_3d", "Turn the keypoints into a metric 3D skeleton (metres, y up).",
                 lambda r, s: {"pose_path": s["estimate_pose"]["pose_path"], "run_dir": r.run_dir,
                               "source_sha256": r.source_sha256},
                 applies=lambda r, s: not r.is_skeleton),
    ProtocolStep("fit_skeleton", "Fit one constant-bone skeleton to the keypoints: camera, floor and gravity, "
                 "the athlete's own left and right, and the body's travel.",
                 lambda r, s: {"pose_path": s["estimate_pose"]["pose_path"], "run_dir": r.run_dir,
                               "fallback_skeleton_path": s["lift_to_3d"]["skeleton_path"], "video_path": r.source,
                               "source_sha256": r.source_sha256},
                 applies=lambda r, s: not r.is_skeleton),
    ProtocolStep("prepare_skeleton", "Fill short dropouts, smooth, and check pose quality for this test.",
                 lambda r, s: {"skeleton_path": _skeleton_in(r, s), "run_dir": r.run_dir, "test": r.test}),
    ProtocolStep("measure_angles", "Measure the named joint angles over the whole clip.",
                 lambda r, s: {"skeleton_path": _prepared(s), "run_dir": r.run_dir}),
    ProtocolStep("segment_repetitions", "Find where each repetition starts, bottoms out and ends (the best counts).",
                 lambda r, s: {"skeleton_path": _prepared(s), "run_dir": r.run_dir, "test": r.test},
                 required=False),
    ProtocolStep("measure_second_view", "Measure the second clip of the same repetition (another camera view) "
                 "the same way, and check both show one movement.",
                 lambda r, s: {"video_path": r.side_clip, "run_dir": r.run_dir, "test": r.test,
                               "main_skeleton_path": _prepared(s), "main_repetitions": _complete_repetitions(s),
                               "max_duration_s": r.max_duration_s, "max_size_mb": r.max_size_mb},
                 applies=lambda r, s: bool(r.side_clip)),
    ProtocolStep("score_rubric", "Judge each criterion of the rubric against its threshold.",
                 lambda r, s: {"skeleton_path": _prepared(s), "test": r.test, "side": r.side or "",
                               "pain": r.pain, "heels_raised": r.heels_raised,
                               "criteria_file": r.criteria_file, "sex": r.sex,
                               "hand_length_m": r.hand_length_m, "clearing_pain": r.clearing_pain,
                               **_repetitions(s), **_second_view(s)}),
    ProtocolStep("score_stgcn", "Ask the ST-GCN for its second opinion on the score.",
                 lambda r, s: {"skeleton_path": _scored(s), "test": r.test,
                               "side": (s["score_rubric"].get("side") if s["score_rubric"].get("repetition_mode")
                                        else None) or r.side or "", "pain": r.pain},
                 applies=lambda r, s: _optional(r, "score_stgcn"), required=False),
    ProtocolStep("retrieve_similar_clips", "Find the physio-scored clips that move most like this one.",
                 lambda r, s: {"skeleton_path": _scored(s), "test": r.test,
                               "side": s["score_rubric"].get("side") or r.side or "", "k": 5},
                 applies=lambda r, s: _optional(r, "retrieve_similar_clips"), required=False),
    ProtocolStep("retrieve_passages", "Look up the rubric passages the score rests on, for citation.",
                 lambda r, s: {"test": r.test, "criterion_ids": _cited_criteria(s),
                               "score": s["score_rubric"]["score"] if s["score_rubric"].get("score") is not None
                               else -1},
                 applies=lambda r, s: _optional(r, "retrieve_passages"), required=False),
    ProtocolStep("decide", "Combine the rules, pose quality and second opinions into a score or a review flag.",
                 lambda r, s: {"rubric_json": s["score_rubric"],
                               "quality_json": s["prepare_skeleton"]["quality"],
                               "stgcn_json": s.get("score_stgcn", {}),
                               "neighbours_json": s.get("retrieve_similar_clips", {}).get("neighbours", [])}),
    ProtocolStep("render_overlay", "Draw the skeleton and the deciding angle on the deciding frame.",
                 lambda r, s: {"skeleton_path": _prepared(s), "run_dir": r.run_dir, "test": r.test,
                               # not the asked-for test: no criterion is drawn as if it decided a score
                               "deciding_criterion": "" if _not_the_test(s)
                               else s["score_rubric"].get("deciding_criterion") or "",
                               "deciding_frame": (s["score_rubric"].get("deciding_frame")
                                                  if s["score_rubric"].get("deciding_frame") is not None
                                                  and not _not_the_test(s) else -1),
                               "value": _decider(s).get("value"),
                               "unit": _decider(s).get("unit", "deg"),
                               "passed": str(_decider(s).get("passed", "")),
                               "video_path": "" if r.is_skeleton else r.source,
                               **({"when": r.overlay} if r.overlay != "now" else {}),
                               **({"repetitions": _timeline(s)} if _timeline(s) else {})},
                 required=False),
)
STEPS: dict[str, ProtocolStep] = {p.tool: p for p in PROTOCOL}


def next_call(request: ScreenRequest, results: dict) -> tuple[ProtocolStep, dict] | None:
    """The next protocol step that applies and has not run, with its arguments."""
    for step in PROTOCOL:
        if step.tool in results or not step.applies(request, results):
            continue
        return step, step.arguments(request, results)
    return None


def missing_required(request: ScreenRequest, results: dict) -> list[str]:
    return [p.tool for p in PROTOCOL if p.required and p.applies(request, results) and p.tool not in results]


def planned_order(request: ScreenRequest) -> list[str]:
    """The protocol's steps for this request, in order (what the task tells a brain to call)."""
    return [p.tool for p in PROTOCOL if p.applies(request, {})]


def _same(a, b) -> bool:
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def provenance_problems(request: ScreenRequest, calls: dict[str, tuple[dict, dict]]) -> list[str]:
    """Ways a brain's calls break the chain from the input to the decision (empty = sound).

    `calls`: tool -> (arguments, result) of its latest successful call. A brain
    chooses its own calls, so before a decision stands we check that each step
    read what the step before it produced, that the request's test, side, pain
    and heels were passed on unchanged, and that decide was given exactly the
    results the tools returned (not numbers the brain wrote itself).
    """
    problems: list[str] = []
    args = {tool: a for tool, (a, _) in calls.items()}
    res = {tool: r for tool, (_, r) in calls.items()}
    source = (res["fit_skeleton"]["skeleton_path"] if "fit_skeleton" in res
              else res["lift_to_3d"]["skeleton_path"] if "lift_to_3d" in res else request.source)
    if "prepare_skeleton" in args:
        if args["prepare_skeleton"].get("skeleton_path") != source:
            problems.append("prepare_skeleton did not read the skeleton of this clip")
        if args["prepare_skeleton"].get("test") != request.test:
            problems.append(f"prepare_skeleton was asked about {args['prepare_skeleton'].get('test')!r}, "
                            f"not {request.test!r}")
    prepared = res.get("prepare_skeleton", {}).get("skeleton_path")
    counted = res.get("score_rubric", {}).get("counted_skeleton_path")   # the counted repetition's own clip
    for tool in ("measure_angles", "segment_repetitions", "score_rubric", "score_stgcn", "retrieve_similar_clips"):
        allowed = {prepared, counted} if tool in ("score_stgcn", "retrieve_similar_clips") and counted else {prepared}
        if tool in args and args[tool].get("skeleton_path") not in allowed:
            problems.append(f"{tool} did not read the prepared skeleton of this clip")
    if "score_rubric" in args and (args["score_rubric"].get("second_view_path") or "") != \
            (res.get("measure_second_view", {}).get("skeleton_path") or ""):
        problems.append("score_rubric did not read the second clip's skeleton that measure_second_view returned")
    if "measure_second_view" in args and args["measure_second_view"].get("main_skeleton_path") != prepared:
        problems.append("measure_second_view did not compare the second clip with this clip's prepared skeleton")
    if "segment_repetitions" in res and "score_rubric" in args and \
            (args["score_rubric"].get("repetitions_path") or "") != res["segment_repetitions"].get("repetitions_path"):
        problems.append("score_rubric did not read the repetitions segment_repetitions found")
    if "score_rubric" in args:
        a = args["score_rubric"]
        if a.get("test") != request.test:
            problems.append(f"score_rubric scored {a.get('test')!r}, not the requested {request.test!r}")
        if request.side and (a.get("side") or "").upper() != request.side:
            problems.append(f"score_rubric scored side {a.get('side')!r}, not the requested {request.side!r}")
        if bool(a.get("pain", False)) != bool(request.pain):
            problems.append("score_rubric was not given the pain the athlete reported" if request.pain
                            else "score_rubric was told of pain the athlete did not report")
        if str(a.get("heels_raised", "auto")) != str(request.heels_raised):
            problems.append(f"score_rubric was given heels_raised={a.get('heels_raised')!r}, "
                            f"not the requested {request.heels_raised!r}")
        if (a.get("criteria_file") or "") != (request.criteria_file or ""):
            problems.append("score_rubric did not use the requested criteria file")
    if "decide" in args:
        a = args["decide"]
        if not _same(a.get("rubric_json"), res.get("score_rubric")):
            problems.append("decide was given a rubric result that score_rubric did not return")
        if not _same(a.get("quality_json"), res.get("prepare_skeleton", {}).get("quality")):
            problems.append("decide was given a pose-quality report that prepare_skeleton did not return")
        if not _same(a.get("stgcn_json") or {}, res.get("score_stgcn", {})):
            problems.append("decide was given an ST-GCN opinion that score_stgcn did not return")
        if not _same(a.get("neighbours_json") or [], res.get("retrieve_similar_clips", {}).get("neighbours", [])):
            problems.append("decide was given neighbours that retrieve_similar_clips did not return")
    return problems
