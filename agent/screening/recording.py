"""A whole screen in one recording: split into tests, each test screened, the same session report.

`formscout session --recording FILE [--manifest ORDER.csv] [--segments CORRECTED.json]`
and the app's Recording tab both come here:

1. `analyse_recording` poses the recording once (video: estimate_pose and
   lift_to_3d over the whole take, up to `RecordingLimits.max_duration_s`;
   a skeleton .npz is read as it is), prepares it, and splits it into tests
   (tools.scoring.recording: the rule-based test recogniser on windows, the
   physio's order from the manifest as a prior when given, split points
   between the repetitions of one test and the next). It writes
   recording/split.json and a thumbnail of every split point
   (recording/split_NN.png: the video frame with the skeleton drawn).
2. The physio may correct the split before scoring: move a boundary, relabel a
   segment (`apply_corrections`; the app's correction step; `--segments`).
3. `score_recording` cuts each test's clip out of the posed recording
   (recording/segments/NN_<test>.npz: a canonical skeleton, the rest before
   the first repetition and after the last included), screens each one as a
   session row (agent.screening.session.screen_rows: the same runs, traces and
   verdicts as a manifest of clips; segment_repetitions inside finds the
   repetitions, the best counts, both sides of a bilateral test from one
   clip), and writes the same scorecard and report, with the split points and
   their thumbnails in a section of their own.

The order manifest is a CSV with a `test` column and optionally side, pain,
clearing_pain, heels_raised, hand_length_m (as a session manifest; a clip
column, if any, is ignored): one row per test and side, in filming order.
"""
from __future__ import annotations

import csv
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from tools.core.errors import InputError
from tools.core.files import file_sha256, write_json_atomic
from tools.core.fms import BILATERAL, TESTS

log = logging.getLogger(__name__)

RECORDING_DIR = "recording"
SPLIT_FILE = "split.json"           # the recogniser's split
SEGMENTS_FILE = "segments.json"     # the split scored (the recogniser's, or the physio's correction)
_TRUE = {"1", "true", "yes", "y", "t"}


@dataclass(frozen=True)
class RecordingLimits:
    max_duration_s: float = 1800.0   # a whole screen: 10-20 minutes at most
    max_size_mb: float = 4000.0


@dataclass(frozen=True)
class OrderRow:
    """One row of the physio's order manifest."""

    line: int
    test: str
    side: str | None = None
    pain: bool = False
    clearing_pain: bool = False
    heels_raised: bool | None = None
    hand_length_m: float | None = None


@dataclass
class RecordingAnalysis:
    """A posed and split recording, ready for the physio's check and for scoring."""

    folder: Path                     # the session folder
    source: str
    source_sha256: str
    video_path: str | None
    raw_skeleton: str
    prepared_skeleton: str
    split: dict                      # tools.scoring.recording.RecordingSplit.to_dict() (+ thumbnails)
    order: list[OrderRow] = field(default_factory=list)

    @property
    def work(self) -> Path:
        return self.folder / RECORDING_DIR


# ----- the order manifest -------------------------------------------------------------------------------------

def _flag(value: str, where: str, name: str, problems: list[str]) -> bool | None:
    v = (value or "").strip().lower()
    if v in _TRUE:
        return True
    if v in ("0", "false", "no", "n", "f"):
        return False
    if v == "":
        return None
    problems.append(f"{where}, field {name}: expected yes/no, got {value!r}")
    return None


def read_order(path: str | Path) -> list[OrderRow]:
    """The physio's order manifest (module docstring). Raises InputError naming every bad row."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"order manifest not found: {path}. Give a CSV with a test column (and side, pain, ...)")
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            raw = [{(k or "").strip().lower(): (v or "").strip() for k, v in r.items() if k is not None}
                   for r in csv.DictReader(fh)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"cannot read order manifest {path}: {exc}") from exc
    if not raw or "test" not in raw[0]:
        raise InputError(f"{path.name} needs a test column and at least one row (one row per test and side, "
                         "in filming order)")
    rows, problems = [], []
    for line, r in enumerate(raw, start=2):
        where = f"{path.name} line {line}"
        test = r.get("test", "").lower()
        if test not in TESTS:
            problems.append(f"{where}, field test: unknown test {r.get('test')!r}; use one of {', '.join(TESTS)}")
            continue
        side = {"LEFT": "L", "RIGHT": "R", "": None, "NA": None, "N/A": None}.get(r.get("side", "").upper(),
                                                                                r.get("side", "").upper())
        if side not in (None, "L", "R"):
            problems.append(f"{where}, field side: {r.get('side')!r} must be L, R or blank")
        if side and test not in BILATERAL:
            problems.append(f"{where}, field side: {test} is scored once; leave side blank")
        hand = None
        if r.get("hand_length_m"):
            try:
                hand = float(r["hand_length_m"])
            except ValueError:
                problems.append(f"{where}, field hand_length_m: {r['hand_length_m']!r} is not a number of metres")
        rows.append(OrderRow(line=line, test=test, side=side if test in BILATERAL else None,
                             pain=bool(_flag(r.get("pain", ""), where, "pain", problems)),
                             clearing_pain=bool(_flag(r.get("clearing_pain", ""), where, "clearing_pain", problems)),
                             heels_raised=_flag(r.get("heels_raised", ""), where, "heels_raised", problems),
                             hand_length_m=hand))
    if problems:
        raise InputError(f"{len(problems)} problem(s) in order manifest {path}: " + "; ".join(problems[:10]))
    return rows


# ----- 1. pose, prepare, split -------------------------------------------------------------------------------

def analyse_recording(source: str | Path, folder: str | Path, order: list[OrderRow] | None = None,
                      pose_backend: str = "mediapipe", pose_weights: str = "",
                      limits: RecordingLimits | None = None) -> RecordingAnalysis:
    """Pose (once), prepare and split a whole-screen recording into tests; thumbnails of every split point."""
    from agent.screening import steps
    from tools.core.files import is_skeleton_file
    from tools.core.skeleton import Skeleton
    from tools.scoring.recording import order_from_rows, split_recording
    limits = limits or RecordingLimits()
    src = Path(source)
    if not src.is_file():
        raise InputError(f"recording not found: {src}. Give the video (or skeleton .npz) of the whole screen")
    folder = Path(folder)
    work = folder / RECORDING_DIR
    work.mkdir(parents=True, exist_ok=True)
    sha = file_sha256(src)
    video = None
    if is_skeleton_file(src):
        Skeleton.load(src)
        raw = str(src)
    else:
        from tools.video.clip import probe_video
        probe_video(src, max_duration_s=limits.max_duration_s, max_size_mb=limits.max_size_mb)
        video = str(src)
        cached = work / steps.RAW_SKELETON_FILE
        if cached.is_file() and Skeleton.load(cached).meta.get("source_sha256") == sha:
            raw = str(cached)                 # posed before (the app: split first, scored after the check)
        else:
            pose = steps.estimate_pose(str(src), str(work), backend=pose_backend, weights=pose_weights)
            raw = steps.lift_to_3d(pose["pose_path"], str(work), source_sha256=sha)["skeleton_path"]
    prepared = steps.prepare_skeleton(raw, str(work), test=TESTS[0])["skeleton_path"]
    skel = Skeleton.load(prepared)
    prior = order_from_rows([(r.test, r.side) for r in order]) if order else None
    split = split_recording(skel, prior).to_dict()
    analysis = RecordingAnalysis(folder=folder, source=str(src), source_sha256=sha, video_path=video,
                                 raw_skeleton=raw, prepared_skeleton=prepared, split=split, order=list(order or []))
    write_thumbnails(analysis)
    write_json_atomic(work / SPLIT_FILE, analysis.split)
    save_analysis(analysis)
    return analysis


def write_thumbnails(analysis: RecordingAnalysis) -> None:
    """A thumbnail of every split point (recording/split_NN.png), recorded in the split's split points."""
    from tools.core.skeleton import Skeleton
    from tools.video.thumbnail import thumbnail, write_png
    skel = Skeleton.load(analysis.prepared_skeleton)
    for k, p in enumerate(analysis.split["split_points"], start=1):
        caption = f"{k}: {p['before'].replace('_', ' ')} | {p['after'].replace('_', ' ')}  {p['time_s']:.1f} s"
        img = thumbnail(skel, p["frame"], analysis.video_path, caption)
        p["thumbnail_png"] = str(write_png(analysis.work / f"split_{k:02d}.png", img))


# ----- 2. the physio's corrections ---------------------------------------------------------------------------

def apply_corrections(analysis: RecordingAnalysis, segments: list[dict]) -> dict:
    """The split with the physio's segments: each {test, start_s, end_s} (or start_frame / end_frame), in order.

    Moving a boundary moves the split point between two segments; relabelling changes a segment's test;
    a segment may be removed (not scored) by leaving it out. Returns the new split (thumbnails redrawn).
    """
    from tools.core.skeleton import Skeleton
    from tools.geometry.repetitions import segment_repetitions
    fps, n = float(analysis.split["fps"]), int(analysis.split["n_frames"])
    if not segments:
        raise InputError("the corrected split has no segments: keep at least one test")
    old = {int(s["index"]): s for s in analysis.split.get("segments", [])}
    rows, problems = [], []
    for k, s in enumerate(segments, start=1):
        test = str(s.get("test", "")).strip().lower().replace(" ", "_")
        if test not in TESTS:
            problems.append(f"segment {k}: unknown test {s.get('test')!r}; use one of {', '.join(TESTS)}")
            continue
        a = _frame(s, "start", fps)
        b = _frame(s, "end", fps)
        was = old.get(int(s.get("index", -1)))
        if was is not None and a is not None and b is not None:    # times shown to 0.1 s: unchanged stays exact
            tol = max(1, int(round(0.06 * fps)))
            a = was["start_frame"] if abs(a - was["start_frame"]) <= tol else a
            b = was["end_frame"] if abs(b - was["end_frame"]) <= tol else b
        if a is None or b is None or not 0 <= a < b <= n:
            problems.append(f"segment {k} ({test}): start and end must be times inside the recording "
                            f"(0-{n / fps:.1f} s), start before end")
            continue
        rows.append((test, a, b, s))
    for (t0, a0, b0, _), (t1, a1, b1, _) in zip(rows, rows[1:]):
        if a1 < b0:
            problems.append(f"{t0} ({a0 / fps:.1f}-{b0 / fps:.1f} s) and {t1} ({a1 / fps:.1f}-{b1 / fps:.1f} s) "
                            "overlap: move one boundary")
    if problems:
        raise InputError("the corrected split cannot be used: " + "; ".join(problems))
    skel = Skeleton.load(analysis.prepared_skeleton)
    pad = int(round(float(analysis.split.get("config", {}).get("pad_s", 1.0)) * fps))
    new_segments, points = [], []
    for k, (test, a, b, s) in enumerate(rows, start=1):
        piece = skel.replace(xyz=skel.xyz[a:b], conf=skel.conf[a:b], uv=None if skel.uv is None else skel.uv[a:b])
        reps = [r for r in segment_repetitions(piece, test).repetitions if not r.partial]
        clip_a = max(a, a + min(r.start_frame for r in reps) - pad) if reps else a
        clip_b = min(b, a + max(r.end_frame for r in reps) + pad + 1) if reps else b
        before = old.get(int(s.get("index", -1)))
        changed = before is None or before["test"] != test or before["start_frame"] != a or before["end_frame"] != b
        new_segments.append({
            "index": k, "test": test, "start_frame": a, "end_frame": b, "clip_start": clip_a, "clip_end": clip_b,
            "start_s": round(a / fps, 2), "end_s": round(b / fps, 2), "clip_start_s": round(clip_a / fps, 2),
            "clip_end_s": round(clip_b / fps, 2), "score": before["score"] if before and not changed else None,
            "uncertain": False, "sides": (before or {}).get("sides", []) if before and before["test"] == test else [],
            "order_rows": (before or {}).get("order_rows", []) if before and before["test"] == test else [],
            "n_repetitions": len(reps), "repetitions": [[a + r.start_frame, a + r.end_frame] for r in reps],
            "source": "physio" if changed else (before or {}).get("source", "recognised")})
        if k > 1:
            prev = new_segments[-2]
            kept = next((p for p in analysis.split.get("split_points", []) if p["frame"] == a == prev["end_frame"]
                         and p["before"] == prev["test"] and p["after"] == test), None)
            if kept is not None:          # a boundary the physio left alone keeps its record
                points.append(dict(kept))
                continue
            frame = (prev["end_frame"] + a) // 2 if a > prev["end_frame"] else a
            points.append({"frame": frame, "time_s": round(frame / fps, 2), "before": prev["test"], "after": test,
                           "refined": False, "gap_frames": None, "gap_s": None, "source": "physio"})
    split = dict(analysis.split, segments=new_segments, split_points=points, corrected=True,
                 missing=[t for t in analysis.split.get("order", []) if t not in {s["test"] for s in new_segments}])
    analysis.split = split
    write_thumbnails(analysis)
    save_analysis(analysis)
    return split


def _frame(seg: dict, end: str, fps: float) -> int | None:
    if seg.get(f"{end}_frame") is not None:
        return int(seg[f"{end}_frame"])
    if seg.get(f"{end}_s") not in (None, ""):
        try:
            return int(round(float(seg[f"{end}_s"]) * fps))
        except (TypeError, ValueError):
            return None
    return None


def read_segments(path: str | Path) -> list[dict]:
    """A corrected split: a JSON list of segments, or {"segments": [...]} (split.json / segments.json)."""
    p = Path(path)
    try:
        doc = json.loads(p.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read the corrected split {p}: {exc}") from exc
    segments = doc.get("segments") if isinstance(doc, dict) else doc
    if not isinstance(segments, list):
        raise InputError(f"{p.name} holds no segments list ([{{test, start_s, end_s}}, ...])")
    return segments


# ----- 3. cut, screen, report ----------------------------------------------------------------------------------

def segment_rows(analysis: RecordingAnalysis) -> list:
    """One session row per test clip cut from the recording (one per side the order names for bilateral tests)."""
    from tools.core.skeleton import Skeleton
    from tools.report.manifest import ManifestRow
    raw = Skeleton.load(analysis.raw_skeleton)
    folder = analysis.work / "segments"
    rows = []
    for seg in analysis.split["segments"]:
        a, b = int(seg["clip_start"]), int(seg["clip_end"])
        meta = dict(raw.meta, recording_segment={"index": seg["index"], "test": seg["test"], "clip_start": a,
                                                 "clip_end": b, "recording_sha256": analysis.source_sha256,
                                                 "recording": Path(analysis.source).name})
        piece = raw.replace(xyz=raw.xyz[a:b], conf=raw.conf[a:b], uv=None if raw.uv is None else raw.uv[a:b],
                            meta=meta)
        path = piece.save(folder / f"{seg['index']:02d}_{seg['test']}.npz")
        seg["clip_path"] = str(path)
        order_rows = [analysis.order[i] for i in seg.get("order_rows", []) if i < len(analysis.order)]
        sides = [r for r in order_rows if r.side] if seg["test"] in BILATERAL else []
        for r in (sides or order_rows[:1] or [None]):
            rows.append(ManifestRow(line=r.line if r else 1 + seg["index"], clip=str(path), test=seg["test"],
                                    side=(r.side if r and r.side else (None if seg["test"] in BILATERAL else "NA")),
                                    pain=bool(r and r.pain), clearing_pain=bool(r and r.clearing_pain),
                                    heels_raised=r.heels_raised if r else None,
                                    hand_length_m=r.hand_length_m if r else None))
    return rows


def score_recording(analysis: RecordingAnalysis, options=None, progress=None):
    """Screen every test clip of the (possibly corrected) split and write the session report; a SessionResult."""
    from agent.screening.session import SessionOptions, SessionResult, screen_rows
    from tools.core.fms import check_sex
    from tools.report.render import write_report
    from tools.report.scorecard import build_scorecard
    from tools.scoring.rubric import RUBRIC_VERSION
    options = options or SessionOptions()
    sex = check_sex(options.sex or None)
    rows = segment_rows(analysis)
    write_json_atomic(analysis.work / SEGMENTS_FILE, analysis.split)
    results = screen_rows(rows, analysis.folder, options, sex, progress)
    scorecard = build_scorecard(results, athlete_id=options.athlete_id, sex=sex)
    scorecard["rubric_version"] = RUBRIC_VERSION
    scorecard["recording"] = recording_summary(analysis)
    if analysis.split.get("missing"):
        scorecard["notes"].append("not found in the recording: " + ", ".join(analysis.split["missing"]))
    if sex is None and any(r.test == "trunk_stability_pushup" for r in rows):
        scorecard["notes"].append("sex not given: the push-up hand levels could not be set (give the athlete's "
                                  "sex: male or female)")
    title = f"FMS session report{' - ' + options.athlete_id if options.athlete_id else ''}"
    scorecard["report"] = write_report(scorecard, analysis.folder, title=title, pdf=options.pdf)
    write_json_atomic(analysis.folder / "session.json", scorecard)
    return SessionResult(scorecard=scorecard, folder=analysis.folder, n_rows=len(rows))


def recording_summary(analysis: RecordingAnalysis) -> dict:
    """What the report shows of the split: the recording, its segments, every split point with its thumbnail."""
    s = analysis.split
    return {"source": Path(analysis.source).name, "source_sha256": analysis.source_sha256,
            "kind": "video" if analysis.video_path else "skeleton", "fps": s["fps"], "n_frames": s["n_frames"],
            "duration_s": s.get("duration_s", round(s["n_frames"] / s["fps"], 2)), "mode": s["mode"],
            "order": s.get("order", []), "missing": s.get("missing", []), "corrected": bool(s.get("corrected")),
            "segments": s["segments"], "split_points": s["split_points"],
            "split_json": str(analysis.work / SPLIT_FILE), "segments_json": str(analysis.work / SEGMENTS_FILE)}


def screen_recording(recording: str | Path, out: str | Path | None = None, options=None,
                     order_manifest: str | Path | None = None, corrections: str | Path | None = None,
                     progress=None):
    """`formscout session --recording`: analyse, apply the physio's corrected split if given, score, report."""
    from agent.screening.session import SessionOptions, new_session_folder
    options = options or SessionOptions()
    order = read_order(order_manifest) if order_manifest else []
    fixed = read_segments(corrections) if corrections else None
    folder = new_session_folder(out)
    analysis = analyse_recording(recording, folder, order, pose_backend=options.pose_backend,
                                 pose_weights=options.pose_weights)
    if fixed is not None:
        apply_corrections(analysis, fixed)
    return score_recording(analysis, options, progress)


def load_analysis(folder: str | Path) -> RecordingAnalysis:
    """A recording analysed earlier in this session folder (the app: split shown, then corrected and scored)."""
    folder = Path(folder)
    doc_path = folder / RECORDING_DIR / "analysis.json"
    if not doc_path.is_file():
        raise InputError(f"no analysed recording in {folder}: split the recording first")
    d = json.loads(doc_path.read_text())
    return RecordingAnalysis(folder=folder, source=d["source"], source_sha256=d["source_sha256"],
                             video_path=d.get("video_path"), raw_skeleton=d["raw_skeleton"],
                             prepared_skeleton=d["prepared_skeleton"], split=d["split"],
                             order=[OrderRow(**r) for r in d.get("order", [])])


def save_analysis(analysis: RecordingAnalysis) -> Path:
    from dataclasses import asdict
    return write_json_atomic(analysis.work / "analysis.json", {
        "source": analysis.source, "source_sha256": analysis.source_sha256, "video_path": analysis.video_path,
        "raw_skeleton": analysis.raw_skeleton, "prepared_skeleton": analysis.prepared_skeleton,
        "split": analysis.split, "order": [asdict(r) for r in analysis.order]})
