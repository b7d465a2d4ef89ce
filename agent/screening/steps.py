"""The screening steps the agent can call, as JSON-in / JSON-out functions over files.

Each step calls one capability in tools/ (never re-implements a measurement),
writes big arrays to files in the run folder (each to a temporary name renamed
into place, so a reader never sees half a file) and returns a JSON-serialisable
dict with values, units, frames and provenance. agent/screening/toolbox.py wraps each
as a smolagents Tool; the protocol brain calls them in FMS protocol order.
"""
from __future__ import annotations

import json
import logging
from functools import lru_cache
from pathlib import Path

import numpy as np

from tools.scoring.criteria import load_criteria
from tools.geometry.angles import measure, save_series_csv
from tools.core import progress
from tools.core.errors import InputError
from tools.core.files import atomic_path
from tools.core.skeleton import JOINT_INDEX, Skeleton
from agent.screening.repetitions import MODE_REPETITIONS, segment_repetitions

log = logging.getLogger(__name__)

POSE_FILE = "pose_2d.npz"
SAM3_MASK_FILE = "athlete_mask.png"
RAW_SKELETON_FILE = "skeleton_raw.npz"
SKELETON_FILE = "skeleton.npz"
OVERLAY_JOB_FILE = "overlay_job.json"   # an overlay still to draw (render_overlay when="after")
# = tools.scoring.stgcn.infer.DEFAULT_CHECKPOINT, named here so that checking for it does not import torch (tested equal)
STGCN_CHECKPOINT = Path(__file__).resolve().parents[2] / "tools" / "assets" / "stgcn" / "stgcn_fms.pt"


def check_video(video_path: str, max_duration_s: float = 120.0, max_size_mb: float = 500.0) -> dict:
    """Open and validate a clip: container, stream, fps, rotation, duration and size limits."""
    from tools.video.clip import probe_video
    info = probe_video(video_path, max_duration_s=max_duration_s, max_size_mb=max_size_mb)
    return info.to_dict()


def select_athlete_sam3(video_path: str, run_dir: str, checkpoint: str, keyframe: int = 0,
                        athlete_box: list | None = None, athlete_point: list | None = None) -> dict:
    """The athlete's mask and box on one keyframe from SAM 3 ("person" prompt + the physio's box / point).

    Runs once per clip (about a minute per keyframe on 2 CPU cores); estimate_pose then tracks the
    person in that box. The mask is saved as athlete_mask.png for the physio to check.
    """
    import cv2

    from tools.people.sam3_mask import segment_athlete_in_clip
    box = _numbers(athlete_box, 4, "athlete_box")
    box_xyxy = (box[0], box[1], box[0] + box[2], box[1] + box[3]) if box else None
    chosen = segment_athlete_in_clip(_sam3_model(checkpoint), video_path, keyframe_index=int(keyframe or 0),
                                     box_xyxy=box_xyxy, point_xy=_numbers(athlete_point, 2, "athlete_point"))
    out = chosen.to_dict()
    out["athlete_box_xywh_px"] = None
    if chosen.found and chosen.box_xyxy is not None:
        x0, y0, x1, y1 = chosen.box_xyxy
        out["athlete_box_xywh_px"] = [round(x0, 1), round(y0, 1), round(x1 - x0, 1), round(y1 - y0, 1)]
        mask_path = Path(run_dir) / SAM3_MASK_FILE
        with atomic_path(mask_path) as tmp:
            if not cv2.imwrite(str(tmp), chosen.mask.astype(np.uint8) * 255):
                raise OSError(f"could not write {mask_path}")
        out["mask_path"] = str(mask_path)
    # what estimate_pose must report as a selection problem (the clip then goes to review)
    out["problems"] = ([f"SAM 3: {chosen.reason}"] if (not chosen.found or chosen.ambiguous) else [])
    return out


@lru_cache(maxsize=1)
def _sam3_model(checkpoint: str):
    """SAM 3 loaded once per process and checkpoint (840 M parameters: ~30 s to build on 2 cores)."""
    from tools.people.sam3_mask import load_sam3
    if not str(checkpoint or "").strip():
        raise InputError("--athlete-selector sam3 needs --sam3-checkpoint PATH (a local sam3.pt file)")
    return load_sam3(checkpoint)


def estimate_pose(video_path: str, run_dir: str, backend: str = "mediapipe", weights: str = "",
                  max_pose_fps: float = 30.0, athlete_box: list | None = None, athlete_point: list | None = None,
                  keyframe: int = 0, select: str = "auto", selection_problems: list | None = None) -> dict:
    """2D keypoints per frame of the athlete (+ the backend's own 3D world landmarks when it has them).

    Every person is found and tracked; the athlete is the one in `athlete_box` (x, y, w, h px) or under
    `athlete_point` (x, y px) on video frame `keyframe`, else the one doing the test. The result's
    "selection" says how they were chosen, the candidates, and identity switches detected / repaired.
    """
    from tools.people.athlete_pose import estimate_pose as run_pose
    from tools.video.clip import probe_video
    # the later steps' heavy imports (scipy ~1 s, torch for the ST-GCN ~2 s) load on the other core meanwhile
    import_in_background(("scipy.signal", "scipy.interpolate")
                         + (("tools.scoring.stgcn.infer",) if STGCN_CHECKPOINT.is_file() else ()))
    # Clips faster than max_pose_fps are posed on every n-th frame (pose is the slowest step).
    # Not lower than 30 by default: on the rendered demo, posing a 30 fps clip at 15 fps broke
    # MediaPipe's frame-to-frame tracking enough to move the fist position by 6 cm and flip a 3 to a 1.
    info = probe_video(video_path, min_duration_s=0.0, max_duration_s=float("inf"), max_size_mb=float("inf"))
    fps = info.fps
    every_nth = max(1, int(round(fps / max_pose_fps))) if max_pose_fps > 0 else 1
    with progress.expecting(-(-info.n_frames // every_nth) if info.n_frames else None):   # frames the pose sees
        pose = run_pose(video_path, backend=backend, weights=weights or None, every_nth=every_nth,
                        athlete_box=_numbers(athlete_box, 4, "athlete_box"),
                        athlete_point=_numbers(athlete_point, 2, "athlete_point"), keyframe=int(keyframe or 0),
                        select=select or "auto")
    if selection_problems:
        # an upstream selector (SAM 3) could not settle who the athlete is: say so in the quality report
        pose.meta.setdefault("selection", {}).setdefault("problems", []).extend(str(p) for p in selection_problems)
    path = Path(run_dir) / POSE_FILE
    arrays = dict(uv=pose.uv, conf=pose.conf, fps=np.float64(pose.fps),
                  image_size=np.asarray(pose.image_size), meta=np.asarray(json.dumps(pose.meta, default=str)))
    if pose.world_xyz is not None:
        arrays["world_xyz"] = pose.world_xyz
    with atomic_path(path) as tmp:
        np.savez_compressed(tmp, **arrays)
    return {"pose_path": str(path), "backend": pose.meta.get("backend", backend),
            "n_frames": pose.n_frames, "every_nth_frame": every_nth, "pose_fps": round(pose.fps, 3),
            "detection_share": round(pose.detection_share, 4),
            "has_world_3d": pose.world_xyz is not None, "image_size": list(pose.image_size),
            "model": {k: pose.meta[k] for k in ("model_file", "model_sha256", "version") if k in pose.meta},
            "selection": _selection_json(pose.meta.get("selection"))}


def import_in_background(modules: tuple[str, ...]) -> None:
    """Import `modules` in a daemon thread, so that a later step finds them loaded (a module being imported
    is waited for, never loaded twice); a failure is left for that step to raise."""
    import importlib
    import sys
    import threading

    todo = [m for m in modules if m not in sys.modules]
    if not todo:
        return

    def load() -> None:
        for name in todo:
            try:
                importlib.import_module(name)
            except Exception as exc:  # noqa: BLE001  the step that needs it raises it properly
                log.debug("background import of %s failed: %s", name, exc)

    threading.Thread(target=load, name="import ahead", daemon=True).start()


def _numbers(value, n: int, name: str) -> tuple[float, ...] | None:
    """A list of n numbers (or None / empty) from a brain or the CLI, else an InputError that says what to give."""
    if value is None or (isinstance(value, (list, tuple, str)) and len(value) == 0):
        return None
    if isinstance(value, str):
        value = value.replace(" ", "").split(",")
    try:
        out = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        out = ()
    if len(out) != n or not all(np.isfinite(out)):
        raise InputError(f"{name} must be {n} numbers in pixels, got {value!r}")
    return out


def _selection_json(selection: dict | None) -> dict | None:
    """The athlete-selection summary for the trace (no per-frame lists beyond the first blanked frames)."""
    if not selection:
        return None
    return json.loads(json.dumps({k: v for k, v in selection.items() if k != "tracking"}, default=str))


def lift_to_3d(pose_path: str, run_dir: str, source_sha256: str = "") -> dict:
    """Metric 3D canonical skeleton (metres, y up) from the pose result."""
    from tools.geometry.lift3d import to_skeleton
    from tools.pose.backends import PoseResult
    with np.load(pose_path, allow_pickle=False) as d:
        pose = PoseResult(uv=d["uv"], conf=d["conf"], world_xyz=d["world_xyz"] if "world_xyz" in d.files else None,
                          image_size=tuple(int(v) for v in d["image_size"]), fps=float(d["fps"]),
                          meta=json.loads(str(d["meta"])))
    skel = to_skeleton(pose, {"source_sha256": source_sha256})
    path = skel.save(Path(run_dir) / RAW_SKELETON_FILE)
    return {"skeleton_path": str(path), "n_frames": skel.n_frames, "fps": skel.fps,
            "measurement_plane": skel.meta.get("measurement_plane", "3d")}


FIT_SKELETON_FILE = "skeleton_fit.npz"


def fit_skeleton(pose_path: str, run_dir: str, fallback_skeleton_path: str, video_path: str = "",
                 source_sha256: str = "") -> dict:
    """The measurement stage (tools.geometry.fit): camera intrinsics (from the clip's metadata, else a phone
    prior), gravity and the floor, one constant-bone skeleton per athlete fitted to the 2D keypoints, the
    athlete's own left/right kept by facing, and the body's travel on the floor. Returns the fitted skeleton
    (skeleton_fit.npz) with the camera estimate and its source, floor, lens height and pitch, per-frame
    reprojection residual (px) and the view azimuth; a pose without the model's own 3D (a 2D backend) is
    not fitted and the lifted skeleton (`fallback_skeleton_path`) goes on, with the reason."""
    from tools.geometry.fit import fit_pose
    from tools.pose.backends import PoseResult
    with np.load(pose_path, allow_pickle=False) as d:
        pose = PoseResult(uv=d["uv"], conf=d["conf"], world_xyz=d["world_xyz"] if "world_xyz" in d.files else None,
                          image_size=tuple(int(v) for v in d["image_size"]), fps=float(d["fps"]),
                          meta=json.loads(str(d["meta"])))
    if pose.world_xyz is None:
        return {"skeleton_path": fallback_skeleton_path, "fitted": False,
                "reason": f"the {pose.meta.get('backend', '2D')} pose backend gives no 3D of its own to settle depth; "
                          "the image-plane skeleton is measured instead"}
    metadata: dict = {}
    if video_path:
        from tools.video.clip import camera_metadata
        metadata = camera_metadata(video_path)
    try:
        skel, report = fit_pose(pose, metadata=metadata, source_meta={"source_sha256": source_sha256})
    except ValueError as exc:
        return {"skeleton_path": fallback_skeleton_path, "fitted": False, "reason": f"the fit could not run: {exc}"}
    path = skel.save(Path(run_dir) / FIT_SKELETON_FILE)
    r = report.to_dict()
    return {"skeleton_path": str(path), "fitted": True, "n_frames": skel.n_frames, "fps": skel.fps,
            "camera": {**r["intrinsics"], "metadata": metadata}, "floor": r["floor"],
            "camera_height_m": r["camera_height_m"], "camera_pitch_deg": r["pitch_deg"],
            "camera_roll_deg": r["roll_deg"], "view_azimuth_deg": r["view_azimuth_deg"],
            "residual_px": {"median": r["residual_px_median"], "p90": r["residual_px_p90"],
                            "per_frame": r["residual_px_per_frame"]},
            "bone_lengths_m": r["bone_lengths_m"], "contacts": r["contacts"], "facing": r["facing"],
            "problems": r["problems"], "notes": r["notes"], "cpu_s": r["cpu_s"]}


def prepare_skeleton(skeleton_path: str, run_dir: str, test: str, max_gap_s: float = 0.2,
                     smooth_window_s: float = 0.2) -> dict:
    """Repair short left/right label swaps, fill short dropouts, smooth, and report pose quality for the
    joints this test needs (quality is measured on the skeleton as it came in)."""
    from tools.geometry.lr_swaps import repair_lr_swaps
    from tools.geometry.quality import assess_quality
    skel = Skeleton.load(skeleton_path)
    spec = load_criteria().get(test, {})
    required = spec.get("required_joints")
    quality = assess_quality(skel, required_joints=required)
    unswapped, swapped = repair_lr_swaps(skel)     # before smoothing: smoothing across a swap merges the limbs
    clean = unswapped.filled(max_gap_frames=max(1, int(round(max_gap_s * skel.fps)))).smoothed(window_s=smooth_window_s)
    clean.meta.update(filled_max_gap_s=max_gap_s, smoothing="savitzky-golay", smooth_window_s=smooth_window_s,
                      lr_swap_frames_repaired=len(swapped), raw_jitter_mm=quality.jitter_mm)
    path = clean.save(Path(run_dir) / SKELETON_FILE)
    return {"skeleton_path": str(path), "quality": quality.to_dict(),
            "lr_swaps_repaired": {"frames": len(swapped), "first_frames": swapped[:10]}}


def measure_angles(skeleton_path: str, run_dir: str) -> dict:
    """Every named angle/position series (CSV in the run folder) with its extremes."""
    skel = Skeleton.load(skeleton_path)
    series = measure(skel)
    csv_path = Path(run_dir) / "angles.csv"
    with atomic_path(csv_path) as tmp:
        save_series_csv(series, skel.fps, tmp)
    return {"angles_csv": str(csv_path), "fps": skel.fps,
            "summaries": {name: _round(m.summary()) for name, m in series.items()}}


def score_rubric(skeleton_path: str, test: str, side: str = "", pain: bool = False,
                 heels_raised: str = "auto", criteria_file: str = "", sex: str = "",
                 hand_length_m: float | None = None, clearing_pain: bool = False,
                 repetitions_path: str = "", second_view_path: str = "",
                 second_view_label: str = "side clip", second_view_note: str = "",
                 second_view_lag_s: float = 0.0) -> dict:
    """The deterministic FMS rubric: score 0-3, each criterion with value, threshold, margin, frame.

    With `repetitions_path` (segment_repetitions) and several repetitions in the clip, each repetition
    is scored on its own and the best counts (agent/screening/repetitions.py). With `second_view_path`
    (measure_second_view: another camera's clip of the same, single repetition) each criterion is judged
    from the view that measures it, and every criterion says which clip decided it.
    """
    from tools.scoring.rubric import score_test
    skel = Skeleton.load(skeleton_path)
    heels = {"auto": None, "yes": True, "no": False}.get(str(heels_raised).lower())
    if heels is None and str(heels_raised).lower() != "auto":
        raise InputError(f"heels_raised must be auto, yes or no (got {heels_raised!r})")
    if sex and sex.upper() not in ("M", "F"):
        raise InputError(f"sex must be M or F for the push-up levels (got {sex!r})")
    if second_view_path:
        result = score_test(skel, test, side or None, pain=pain, heels_raised=heels,
                            criteria_file=criteria_file or None, sex=sex.upper() or None,
                            hand_length_m=hand_length_m, clearing_pain=clearing_pain,
                            second_view=Skeleton.load(second_view_path), second_view_label=second_view_label,
                            second_view_lag_s=second_view_lag_s)
        return result.to_dict()
    if repetitions_path:
        from agent.screening.repetitions import score_with_repetitions
        by_repetition = score_with_repetitions(skeleton_path, test, repetitions_path, side=side or None, pain=pain,
                                               heels_raised=heels, criteria_file=criteria_file or None,
                                               sex=sex.upper() or None, hand_length_m=hand_length_m,
                                               clearing_pain=clearing_pain)
        if by_repetition is not None:
            by_repetition["notes"] = list(by_repetition.get("notes") or []) + ([second_view_note] if second_view_note else [])
            return by_repetition
    result = score_test(skel, test, side or None, pain=pain, heels_raised=heels,
                        criteria_file=criteria_file or None, sex=sex.upper() or None,
                        hand_length_m=hand_length_m, clearing_pain=clearing_pain)
    if second_view_note:
        result.notes.append(second_view_note)
    return result.to_dict()


def measure_second_view(video_path: str, run_dir: str, test: str, main_skeleton_path: str,
                        main_repetitions: int = 1, max_duration_s: float = 120.0,
                        max_size_mb: float = 500.0) -> dict:
    """A second clip of the same repetition (another camera view) measured like this one, in the run folder's
    second_view/, and whether it can be fused with it (agent/screening/second_view.py): returns its prepared
    skeleton for score_rubric, or none with the reason in `not_used`."""
    from agent.screening.second_view import SECOND_VIEW_DIR, SECOND_VIEW_LABEL, not_used_reason
    from tools.core.files import file_sha256, is_skeleton_file
    from tools.geometry.sync import align_clips
    if not video_path or not Path(video_path).is_file():
        raise InputError(f"side clip not found: {video_path}. Give the path of the second video of the same repetition")
    folder = Path(run_dir) / SECOND_VIEW_DIR
    folder.mkdir(exist_ok=True)
    video: dict = {}
    pose: dict = {}
    fit: dict = {}
    if is_skeleton_file(video_path):          # a skeleton file of the second view (tests, other pose pipelines)
        prepared = prepare_skeleton(video_path, str(folder), test)
    else:
        video = check_video(video_path, max_duration_s=max_duration_s, max_size_mb=max_size_mb)
        pose = estimate_pose(video_path, str(folder))
        lifted = lift_to_3d(pose["pose_path"], str(folder))
        fit = fit_skeleton(pose["pose_path"], str(folder), lifted["skeleton_path"], video_path=video_path)
        prepared = prepare_skeleton(fit["skeleton_path"], str(folder), test)
    reps = segment_repetitions(prepared["skeleton_path"], str(folder), test)
    n_reps = int(reps.get("n_complete") or 1) if reps.get("mode") == MODE_REPETITIONS else 1
    second = Skeleton.load(prepared["skeleton_path"])
    alignment = align_clips(Skeleton.load(main_skeleton_path), second)
    from tools.scoring.rubric.recognize import asked_test_check, mismatch_reason, recognize_test
    recognition = recognize_test(second)
    recognition.update(asked_test_check(test, recognition))
    quality = prepared["quality"]
    not_used = not_used_reason(quality, alignment, n_reps, int(main_repetitions or 1),
                               mismatch_reason(test, recognition) or "")
    return {"skeleton_path": "" if not_used else prepared["skeleton_path"],
            "prepared_skeleton_path": prepared["skeleton_path"], "label": SECOND_VIEW_LABEL,
            "used": not not_used, "not_used": not_used, "clip": str(video_path), "clip_sha256": file_sha256(video_path),
            "video": {k: video.get(k) for k in ("fps", "duration_s", "width", "height")} if video else None,
            "n_frames": pose.get("n_frames"), "detection_share": pose.get("detection_share"),
            "fitted": fit.get("fitted", False), "view_azimuth_deg": fit.get("view_azimuth_deg"),
            "camera_height_m": fit.get("camera_height_m"),
            "residual_px": {k: v for k, v in (fit.get("residual_px") or {}).items() if k != "per_frame"},
            "quality": {k: quality.get(k) for k in ("ok", "athlete_share", "problems")},
            "n_repetitions": n_reps, "alignment": alignment.to_dict(),
            "recognition": {k: recognition.get(k) for k in ("looks_like", "matches_asked")}}


def render_overlay(skeleton_path: str, run_dir: str, test: str, deciding_criterion: str = "",
                   deciding_frame: int = -1, value: float | None = None, unit: str = "deg",
                   passed: str = "", video_path: str = "", when: str = "now",
                   repetitions: list | None = None) -> dict:
    """Skeleton overlay video (H.264) with the deciding angle drawn on the deciding frame, plus that frame as PNG.

    `repetitions` (score_rubric's or segment_repetitions' list) are marked on a timeline along the bottom.

    when="after": nothing is drawn yet; the files the overlay will have are returned and the job is left in
    the run folder (OVERLAY_JOB_FILE) for render_pending_overlay, which the CLI runs once the verdict is
    printed (the overlay is off the verdict's critical path).
    """
    from tools.video.overlay import Highlight, overlay_plan, write_overlay
    if when not in ("now", "after"):
        raise InputError(f"render_overlay: when must be 'now' or 'after', got {when!r}")
    skel = Skeleton.load(skeleton_path)
    highlight = None
    if deciding_criterion and deciding_frame >= 0:
        spec = load_criteria()[test][deciding_criterion]
        side = _nearer_side(skel, deciding_frame)
        joints = tuple(f"{side}_{j}" if f"{side}_{j}" in JOINT_INDEX else j for j in spec["draw"])
        highlight = Highlight(frame=int(deciding_frame), joints=joints,
                              label=deciding_criterion.replace("_", " "),
                              value=float("nan") if value is None else float(value), unit=unit,
                              passed={"true": True, "false": False}.get(str(passed).lower()))
    from tools.video.timeline import Timeline
    timeline = Timeline.from_repetitions(repetitions or [], skel.n_frames)
    if when == "after":
        job = {"skeleton_path": str(skeleton_path), "run_dir": str(run_dir), "video_path": video_path or None,
               "highlight": None if highlight is None else highlight.to_dict(),
               "timeline": None if timeline is None else timeline.to_dict()}
        job_path = Path(run_dir) / OVERLAY_JOB_FILE
        tmp = job_path.with_name(f".{job_path.name}.tmp")
        tmp.write_text(json.dumps(job))
        tmp.replace(job_path)
        return dict(overlay_plan(skel, run_dir, video_path=video_path or None, highlight=highlight),
                    rendered="after the verdict")
    with progress.expecting(None):                       # overlay frames are counted as they are drawn
        return write_overlay(skel, run_dir, video_path=video_path or None, highlight=highlight, timeline=timeline)


def render_pending_overlay(run_dir: str) -> dict | None:
    """Draw the overlay a render_overlay(when="after") call left in `run_dir` (None when there is none)."""
    from tools.video.overlay import Highlight, write_overlay
    job_path = Path(run_dir) / OVERLAY_JOB_FILE
    if not job_path.is_file():
        return None
    job = json.loads(job_path.read_text())
    highlight = None if job["highlight"] is None else Highlight(**job["highlight"])
    from tools.video.timeline import Timeline
    out = write_overlay(Skeleton.load(job["skeleton_path"]), job["run_dir"], video_path=job["video_path"],
                        highlight=highlight, timeline=Timeline.from_dict(job.get("timeline")))
    job_path.unlink()
    return out


def _nearer_side(skel: Skeleton, frame: int) -> str:
    """The side the camera sees better on that frame (higher mean joint confidence)."""
    conf = skel.conf[frame]
    left = np.mean([conf[i] for n, i in JOINT_INDEX.items() if n.startswith("left_")])
    right = np.mean([conf[i] for n, i in JOINT_INDEX.items() if n.startswith("right_")])
    return "left" if left >= right else "right"


def _round(d: dict) -> dict:
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in d.items()}


def score_stgcn(skeleton_path: str, test: str, side: str = "", pain: bool = False, checkpoint: str = "") -> dict:
    """The learned second opinion: ST-GCN P(score 0-3) for this test, and which test the movement looks like."""
    from tools.scoring.stgcn.infer import predict
    skel = Skeleton.load(skeleton_path)
    out = predict(skel, test_name=test, side=side or None, pain=pain, checkpoint=checkpoint or None)
    p = out.get("score_probabilities", {})
    result = {k: v for k, v in out.items() if k != "embedding"}  # the embedding is for the index, not the trace
    result["p_score"] = [round(float(p.get(str(level), 0.0)), 4) for level in range(4)]
    return result


def retrieve_similar_clips(skeleton_path: str, test: str, side: str = "", k: int = 5, db: str = "") -> dict:
    """The physio-scored library clips most similar in motion to this one (same test and side), with their scores and notes."""
    from index.library.api import Library
    with Library(db or None, read_only=True) as lib:
        found = lib.search_clips(skeleton_path, test=test, side=side if side in ("L", "R") else None, k=int(k))
        db_path = str(lib.paths.db)
    d = found.to_dict()
    return {"neighbours": d["hits"], "embedder": d["embedder"], "embedder_version": d["embedder_version"],
            "filters": d["filters"], "k": d["k"], "db": db_path}


def retrieve_passages(test: str, criterion_ids: list | None = None, score: int = -1, db: str = "",
                      max_chars: int = 400) -> dict:
    """The rubric passages (stable ids, for citation) behind a score: its score level, the criteria that decided it, and the library's closest passages."""
    from knowledge.passages import get_passage, passages_for
    cited: list = []
    if score is not None and int(score) >= 0:
        cited += [(p, "score level") for p in passages_for(test, score=int(score)) if p.criterion is None]
    for cid in criterion_ids or []:
        cited += [(p, f"criterion {cid}") for p in passages_for(test, criterion=str(cid))]
    searched: dict = {}
    query = "; ".join(str(c).replace("_", " ") for c in criterion_ids or []) or test.replace("_", " ")
    from index.library.api import Library
    with Library(db or None, read_only=True) as lib:
        if lib.catalog.stats()["passages"]:
            found = lib.search_passages(f"{test.replace('_', ' ')} score {score}: {query}", test=test, k=3)
            searched = {"embedder": found.embedder, "embedder_version": found.embedder_version, "query": query}
            for hit in found.hits:
                try:
                    cited.append((get_passage(hit.passage_id), f"text search (similarity {hit.similarity:.2f})"))
                except InputError:            # the library holds a passage this install's knowledge does not
                    continue
    seen, out = set(), []
    for p, why in cited:
        if p.id in seen:
            continue
        seen.add(p.id)
        text = p.text if len(p.text) <= max_chars else p.text[: max_chars - 3].rstrip() + "..."
        out.append({"passage_id": p.id, "test": p.test, "criterion": p.criterion, "score_level": p.score_level,
                    "title": p.title, "text": text, "source": p.source, "why": why})
    return {"passages": out, "test": test, "score": int(score) if score is not None else -1,
            "criterion_ids": [str(c) for c in criterion_ids or []], "search": searched}


def optional_steps_unavailable(use_stgcn: bool = True, use_retrieval: bool = True, db: str = "") -> dict[str, str]:
    """Optional protocol steps that cannot run here, each with the reason (recorded in the trace)."""
    import importlib.util
    skip: dict[str, str] = {}
    if not use_stgcn:
        skip["score_stgcn"] = "not asked for"
    elif importlib.util.find_spec("tools.scoring.stgcn.infer") is None:
        skip["score_stgcn"] = "the ST-GCN is not built in this install"
    elif not STGCN_CHECKPOINT.is_file():
        skip["score_stgcn"] = f"no ST-GCN checkpoint at {STGCN_CHECKPOINT.name} (train one: formscout train)"
    if not use_retrieval:
        skip["retrieve_similar_clips"] = skip["retrieve_passages"] = "not asked for"
        return skip
    clips, passages = _library_unavailable(db)
    if clips:
        skip["retrieve_similar_clips"] = clips
    if importlib.util.find_spec("knowledge.passages") is None:
        skip["retrieve_passages"] = "the rubric passages are not built in this install"
    elif passages:
        skip["retrieve_passages"] = passages
    return skip


def _library_unavailable(db: str = "") -> tuple[str, str]:
    """Why the library's clips, and its rubric passages, cannot be searched ('' when they can)."""
    import importlib.util
    if importlib.util.find_spec("index.library.api") is None:
        reason = "the clip index is not built in this install"
        return reason, reason
    from index.storage.catalog import Catalog
    from index.storage.paths import resolve_db_path
    path = resolve_db_path(db or None)
    if not path.is_file():
        reason = f"no clip library at {path} (add physio-scored clips: formscout index add)"
        return reason, reason
    try:
        with Catalog(path, read_only=True) as cat:
            counts: dict[str, int] = {}
            for kind, _, _, n in cat.vector_versions():
                counts[kind] = counts.get(kind, 0) + n
    except InputError as exc:
        reason = f"clip library not readable: {exc}"
        return reason, reason
    return ("" if counts.get("clip") else f"the clip library at {path} holds no scored clips yet",
            "" if counts.get("passage") else f"the clip library at {path} holds no rubric passages yet "
                                             "(formscout index add indexes them)")


def decide_verdict(rubric_json: dict, quality_json: dict, stgcn_json: dict | None = None,
                   neighbours_json: list | None = None) -> dict:
    """Final score with confidence, or physio review with every reason (agent/screening/decide.py)."""
    from agent.screening.decide import decide
    return decide(rubric_json, quality_json or None, stgcn_json or None, neighbours_json or None)


# tool name -> function; the protocol and every brain call steps by these names
STEP_FUNCTIONS = {
    "check_video": check_video,
    "select_athlete_sam3": select_athlete_sam3,
    "estimate_pose": estimate_pose,
    "lift_to_3d": lift_to_3d,
    "fit_skeleton": fit_skeleton,
    "prepare_skeleton": prepare_skeleton,
    "measure_angles": measure_angles,
    "segment_repetitions": segment_repetitions,
    "measure_second_view": measure_second_view,
    "score_rubric": score_rubric,
    "score_stgcn": score_stgcn,
    "retrieve_similar_clips": retrieve_similar_clips,
    "retrieve_passages": retrieve_passages,
    "decide": decide_verdict,
    "render_overlay": render_overlay,
}
