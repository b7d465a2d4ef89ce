"""The FMS screening protocol as data: which tool comes next, with which arguments.

video -> pose -> 3D -> prepare (fill, smooth, quality) -> measure -> rules ->
ST-GCN -> retrieve -> decide -> overlay. `next_call(request, results)` looks
at what has run so far and returns the next (tool, arguments), or None when
the protocol is complete. The protocol brain follows it exactly; a VLM brain
may choose its own order, but `missing_required` says which required steps a
run still lacks, so no run ends in a score without measurement.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Callable

SKELETON_SUFFIXES = (".npz",)


@dataclass
class ScreenRequest:
    """Everything the physio asked for one clip."""

    source: str                      # video file or canonical skeleton .npz
    test: str
    run_dir: str
    side: str | None = None          # L / R / None (infer) ; NA for one-sided tests
    pain: bool = False
    heels_raised: str = "auto"       # deep squat: yes / no / auto
    pose_backend: str = "mediapipe"
    pose_weights: str = ""
    criteria_file: str = ""
    max_duration_s: float = 120.0
    max_size_mb: float = 500.0
    athlete_id: str = ""
    source_sha256: str = ""
    use_stgcn: bool = True
    use_retrieval: bool = True
    extra: dict = field(default_factory=dict)

    @property
    def is_skeleton(self) -> bool:
        return self.source.lower().endswith(SKELETON_SUFFIXES)

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
    if "lift_to_3d" in s:
        return s["lift_to_3d"]["skeleton_path"]
    return r.source


def _prepared(s: dict) -> str:
    return s["prepare_skeleton"]["skeleton_path"]


def _decider(s: dict) -> dict:
    rubric = s.get("score_rubric", {})
    crit = next((c for c in rubric.get("criteria", []) if c["id"] == rubric.get("deciding_criterion")), None)
    return crit or {}


PROTOCOL: tuple[ProtocolStep, ...] = (
    ProtocolStep("check_video", "Check the clip opens and is within the capture limits.",
                 lambda r, s: {"video_path": r.source, "max_duration_s": r.max_duration_s,
                               "max_size_mb": r.max_size_mb},
                 applies=lambda r, s: not r.is_skeleton),
    ProtocolStep("estimate_pose", "Find the athlete's joints in every frame.",
                 lambda r, s: {"video_path": r.source, "run_dir": r.run_dir, "backend": r.pose_backend,
                               "weights": r.pose_weights},
                 applies=lambda r, s: not r.is_skeleton),
    ProtocolStep("lift_to_3d", "Turn the keypoints into a metric 3D skeleton (metres, y up).",
                 lambda r, s: {"pose_path": s["estimate_pose"]["pose_path"], "run_dir": r.run_dir,
                               "source_sha256": r.source_sha256},
                 applies=lambda r, s: not r.is_skeleton),
    ProtocolStep("prepare_skeleton", "Fill short dropouts, smooth, and check pose quality for this test.",
                 lambda r, s: {"skeleton_path": _skeleton_in(r, s), "run_dir": r.run_dir, "test": r.test}),
    ProtocolStep("measure_angles", "Measure the named joint angles over the whole clip.",
                 lambda r, s: {"skeleton_path": _prepared(s), "run_dir": r.run_dir}),
    ProtocolStep("score_rubric", "Judge each criterion of the rubric against its threshold.",
                 lambda r, s: {"skeleton_path": _prepared(s), "test": r.test, "side": r.side or "",
                               "pain": r.pain, "heels_raised": r.heels_raised,
                               "criteria_file": r.criteria_file}),
    ProtocolStep("decide", "Combine the rules, pose quality and second opinions into a score or a review flag.",
                 lambda r, s: {"rubric_json": s["score_rubric"],
                               "quality_json": s["prepare_skeleton"]["quality"],
                               "stgcn_json": s.get("score_stgcn", {}),
                               "neighbours_json": s.get("retrieve_similar_clips", {}).get("neighbours", [])}),
    ProtocolStep("render_overlay", "Draw the skeleton and the deciding angle on the deciding frame.",
                 lambda r, s: {"skeleton_path": _prepared(s), "run_dir": r.run_dir, "test": r.test,
                               "deciding_criterion": s["score_rubric"].get("deciding_criterion") or "",
                               "deciding_frame": (s["score_rubric"].get("deciding_frame")
                                                  if s["score_rubric"].get("deciding_frame") is not None else -1),
                               "value": _decider(s).get("value"),
                               "unit": _decider(s).get("unit", "deg"),
                               "passed": str(_decider(s).get("passed", "")),
                               "video_path": "" if r.is_skeleton else r.source},
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
