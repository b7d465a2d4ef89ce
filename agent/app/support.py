"""What the Gradio app (app.py) needs beside its widgets: its data folder, upload checks, run lookup.

The app is a thin layer over agent/ and index/; this module holds the parts
of it that are plain Python (no Gradio), so they are tested without a browser:

* `AppPaths`: the app's data folder, `$FORMSCOUT_HOME/app` (default
  `~/.formscout/app`): `runs/` (one folder per screening run), `uploads/`
  (Gradio's upload cache, GRADIO_TEMP_DIR), `staging/` (labelled clips being
  added to the library, removed afterwards), `sessions/`. Every path built
  from something the browser sent (a run name, a file name in a labels CSV)
  goes through `AppPaths.run_dir` / `stage_library_upload`, which refuse
  anything that would land outside this folder.
* `check_clip_upload`: type, size and emptiness of an uploaded clip, each
  refusal a plain sentence that says what to do. Whether the file really is a
  video is decided by the screening run's own `check_video` step.
* `run_screening`: one screening run (agent.screening.run.screen) in a worker
  thread, reporting which step it is on (read from the files each step
  writes), then filed in the catalog (index.library.api.record_run) so the chat,
  the scorecard history and erasure find it.
* Display helpers: the verdict as calm Markdown, the criteria table (measured
  value vs threshold, units, pass / fail / not judged), similar clips.

No measurement or scoring happens here: every number shown comes from the
verdict, the trace or the catalog.
"""
from __future__ import annotations

import csv
import html
import json
import logging
import re
import shutil
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from tools.core.errors import InputError
from tools.core.files import CLIP_SUFFIXES, VIDEO_SUFFIXES

log = logging.getLogger(__name__)

APP_FOLDER = "app"
RUN_NAME_RE = re.compile(r"^[0-9]{8}-[0-9]{6}_[a-z_]+_[0-9a-f]{8}$")
FILE_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\- ]{0,200}$")
PATH_COLUMNS: tuple[str, ...] = ("path", "file", "clip_path")   # as index.library.labels reads them
DEMO_CLIP = Path(__file__).resolve().parents[2] / "tools" / "assets" / "demo_deep_squat.mp4"
DISCLAIMER = "Screening aid, not a diagnosis: a physio reviews every result."

Progress = Callable[[float, str], None]   # (fraction 0-1, what is happening now)


# ----- configuration ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AppLimits:
    """Upload limits (the same figures are given to Gradio's own upload check)."""

    max_upload_mb: float = 200.0          # one uploaded file
    max_clip_s: float = 120.0             # longest clip screened
    max_library_files: int = 200          # clip files in one library upload

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)


@dataclass(frozen=True)
class AppPaths:
    """The app's data folder and its sub-folders (all created on `ensure`)."""

    root: Path

    @classmethod
    def default(cls, root: str | Path | None = None) -> "AppPaths":
        """`root`, else $FORMSCOUT_HOME/app (FORMSCOUT_HOME defaults to ~/.formscout)."""
        if root:
            return cls(Path(root).expanduser().resolve())
        from index.storage.paths import formscout_home
        return cls((formscout_home() / APP_FOLDER).resolve())

    @property
    def runs(self) -> Path:
        return self.root / "runs"

    @property
    def uploads(self) -> Path:
        return self.root / "uploads"

    @property
    def staging(self) -> Path:
        return self.root / "staging"

    @property
    def sessions(self) -> Path:
        return self.root / "sessions"

    def ensure(self) -> "AppPaths":
        for folder in (self.runs, self.uploads, self.staging, self.sessions):
            folder.mkdir(parents=True, exist_ok=True)
        return self

    def contains(self, path: str | Path) -> bool:
        """True when `path` (symlinks resolved) lies inside the data folder."""
        try:
            Path(path).resolve().relative_to(self.root)
        except ValueError:
            return False
        return True

    def new_run_dir(self, test: str) -> Path:
        name = f"{time.strftime('%Y%m%d-%H%M%S')}_{test}_{uuid.uuid4().hex[:8]}"
        path = self.runs / name
        path.mkdir(parents=True, exist_ok=False)
        return path

    def run_dir(self, run_name: str) -> Path:
        """The folder of an existing run, from its name as the page shows it (never a path)."""
        name = str(run_name or "").strip()
        if not RUN_NAME_RE.match(name):
            raise InputError(f"{name!r} is not a run of this app; pick a run from the list")
        path = (self.runs / name).resolve()
        if path.parent != self.runs.resolve() or not path.is_dir():
            raise InputError(f"run {name} is not in this app's data folder (it may have been erased); "
                             "refresh the list")
        return path


# ----- uploads ------------------------------------------------------------------------------------------------
def _mb(n_bytes: float) -> str:
    return f"{n_bytes / (1024 * 1024):.1f} MB"


def check_clip_upload(path: str | Path | None, limits: AppLimits) -> Path:
    """The uploaded clip, or InputError saying plainly what is wrong with it and what to do."""
    if path is None or str(path).strip() == "":
        raise InputError("No clip yet: upload a video of one FMS test (mp4, mov, m4v, avi, mkv or webm), "
                         "or tick 'Use the demo clip'.")
    p = Path(path)
    if not p.is_file():
        raise InputError("The upload did not arrive completely; please upload the clip again.")
    name = p.name
    suffix = p.suffix.lower()
    if suffix not in CLIP_SUFFIXES:
        kind = f"a {suffix} file" if suffix else "a file without an extension"
        raise InputError(f"{name} is {kind}, not a video clip. Upload the test as a video "
                         f"({', '.join(s[1:] for s in VIDEO_SUFFIXES)}) or a FormScout skeleton (.npz).")
    size = p.stat().st_size
    if size == 0:
        raise InputError(f"{name} is empty (0 bytes): the recording or the transfer was cut off. "
                         "Export the clip again from the phone or camera and upload it.")
    if size > limits.max_upload_bytes:
        raise InputError(f"{name} is {_mb(size)}, over this app's limit of {_mb(limits.max_upload_bytes)}. "
                         "Trim the clip to the one test (a few seconds) or export it at a lower resolution.")
    return p


# ----- screening --------------------------------------------------------------------------------------------
# What each step leaves in the run folder (agent/screening/steps.py), in protocol order, and what the page says
# while the step after it runs. A step that does not apply (skeleton input) is simply skipped.
def _step_files() -> tuple[tuple[str, float, str], ...]:
    from agent.screening.steps import POSE_FILE, RAW_SKELETON_FILE, SKELETON_FILE
    return ((POSE_FILE, 0.60, "Building the 3D skeleton"),
            (RAW_SKELETON_FILE, 0.66, "Filling gaps, smoothing, checking pose quality"),
            (SKELETON_FILE, 0.72, "Measuring the joint angles"),
            ("angles.csv", 0.80, "Judging each criterion and deciding; drawing the overlay"),
            ("overlay.mp4", 0.95, "Writing the trace"))


def screening_stage(run_dir: Path, is_skeleton: bool) -> tuple[float, str]:
    """(fraction done, what runs now) of a screening run in progress, from the files in its folder."""
    fraction, text = (0.05, "Checking the clip and finding the athlete's joints in every frame") \
        if not is_skeleton else (0.1, "Reading the skeleton")
    for name, frac, after in _step_files():
        if (run_dir / name).exists():
            fraction, text = frac, after
    return fraction, text


@dataclass
class ScreenForm:
    """What the physio filled in on the Screen tab."""

    clip_path: str | None
    use_demo: bool
    test: str
    side: str | None          # "L", "R" or None (detect / one-sided test)
    pain: bool
    heels_raised: str         # auto / yes / no
    athlete_id: str = ""
    athlete_point: tuple[float, float] | None = None   # click on the athlete in the first frame (px)


@dataclass
class ScreenOutcome:
    verdict: dict
    run_name: str
    run_dir: Path
    seconds: float
    similar: list[dict] = field(default_factory=list)
    similar_note: str = ""


def check_athlete_id(value: str | None) -> str:
    """'' or a valid athlete id (the library's own rule, index.library.labels.check_id)."""
    text = str(value or "").strip()
    if not text:
        return ""
    from index.library.labels import check_id
    try:
        return check_id(text, "athlete id")
    except ValueError as exc:
        raise InputError(str(exc)) from None


def run_screening(form: ScreenForm, paths: AppPaths, limits: AppLimits, *, db: str | None = None,
                  progress: Progress | None = None, library_lock: threading.Lock | None = None,
                  poll_s: float = 0.2) -> ScreenOutcome:
    """Screen one clip exactly as `formscout screen` does, in the app's data folder; file the run."""
    from agent.screening.protocol import ScreenRequest
    from agent.screening.run import screen
    from tools.core.fms import check_test_and_side

    source = DEMO_CLIP if form.use_demo else check_clip_upload(form.clip_path, limits)
    if form.use_demo and not DEMO_CLIP.is_file():
        raise InputError("the bundled demo clip is missing from this installation; upload a clip instead")
    side = check_test_and_side(form.test, form.side)
    athlete = check_athlete_id(form.athlete_id)
    if form.heels_raised not in ("auto", "yes", "no"):
        raise InputError(f"heels raised must be auto, yes or no (got {form.heels_raised!r})")
    run_dir = paths.new_run_dir(form.test)
    request = ScreenRequest(source=str(source), test=form.test, run_dir=str(run_dir),
                            side=None if side in (None, "NA") else side, pain=bool(form.pain),
                            heels_raised=form.heels_raised if form.test == "deep_squat" else "auto",
                            max_duration_s=limits.max_clip_s, max_size_mb=limits.max_upload_mb,
                            athlete_id=athlete, athlete_point=_pick_point(form.athlete_point, source))
    t0 = time.perf_counter()
    # the run may read the library (retrieval): DuckDB refuses a read-only and a read-write connection
    # to one file in one process at once, so library writes from the app wait for the run
    with library_lock or threading.Lock(), \
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="formscout-screen") as pool:
        future = pool.submit(screen, request)
        last = None
        while True:
            try:
                verdict = future.result(timeout=poll_s)
                break
            except TimeoutError:
                stage = screening_stage(run_dir, request.is_skeleton)
                if progress is not None and stage != last:
                    progress(*stage)
                    last = stage
    seconds = time.perf_counter() - t0
    outcome = ScreenOutcome(verdict=verdict, run_name=run_dir.name, run_dir=run_dir, seconds=seconds)
    if athlete:
        # filed like `formscout screen --athlete` does, so the chat, the history and erasure find it
        from agent.screening.run import file_run
        with library_lock or threading.Lock():
            file_run(verdict, athlete, db)
    outcome.similar, outcome.similar_note = similar_clips(verdict, db=db, library_lock=library_lock)
    return outcome


# ----- who is the athlete (a click on the first frame) ---------------------------------------------------
PICK_MARK_RGB = (255, 60, 40)


def athlete_pick_frame(clip_path: str | None, use_demo: bool, limits: AppLimits, out_dir: Path) -> Path | None:
    """PNG of the clip's first upright frame for the physio to click on the athlete; None for a skeleton."""
    from tools.video.clip import read_frame
    source = DEMO_CLIP if use_demo else check_clip_upload(clip_path, limits)
    if source.suffix.lower() == ".npz":
        return None
    frame = read_frame(source, 0)
    out_dir.mkdir(parents=True, exist_ok=True)
    png = out_dir / f"first_frame_{source.stem}.png"
    _write_png(png, frame)
    return png


def mark_athlete_point(frame_png: str | Path, point_xy: tuple[float, float]) -> Path:
    """A copy of the first frame with the physio's click drawn on it (the frame itself is kept clean)."""
    import cv2
    rgb = cv2.cvtColor(cv2.imread(str(frame_png)), cv2.COLOR_BGR2RGB)
    x, y = (int(round(v)) for v in point_xy)
    radius = max(6, rgb.shape[0] // 60)
    cv2.circle(rgb, (x, y), radius, PICK_MARK_RGB, thickness=max(2, radius // 3))
    cv2.drawMarker(rgb, (x, y), PICK_MARK_RGB, markerType=cv2.MARKER_CROSS, markerSize=radius * 3,
                   thickness=max(1, radius // 4))
    out = Path(frame_png).with_name(Path(frame_png).stem + "_picked.png")
    _write_png(out, rgb)
    return out


def _write_png(path: Path, rgb) -> None:
    import cv2
    if not cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
        raise InputError(f"could not write {path.name}; check that the app's data folder is writable")


def _pick_point(point_xy, source: Path) -> tuple[float, float] | None:
    """The clicked point as (x, y) px, checked against the clip's frame size; None when nothing was clicked."""
    if point_xy is None or Path(source).suffix.lower() == ".npz":
        return None
    from tools.video.clip import probe_video
    x, y = (float(v) for v in point_xy)
    info = probe_video(source)
    if not (0 <= x < info.width and 0 <= y < info.height):
        raise InputError(f"the point you clicked ({x:.0f}, {y:.0f}) is outside the {info.width}x{info.height} "
                         "frame; click on the athlete again")
    return x, y


def similar_clips(verdict: dict, *, db: str | None = None, k: int = 5,
                  library_lock: threading.Lock | None = None) -> tuple[list[dict], str]:
    """Physio-scored library clips nearest in motion to this run's skeleton, with a note for the page.

    Uses the neighbours the run itself retrieved when it did; else asks the
    library (index.library.api.Library.search_clips), same test and side.
    """
    evidence = verdict.get("evidence") or {}
    found = evidence.get("neighbours")
    if found:
        return list(found), "neighbours the run retrieved"
    skeleton = (verdict.get("artifacts") or {}).get("skeleton_npz")
    if not skeleton or not Path(skeleton).is_file():
        return [], "no skeleton was measured, so there is nothing to compare"
    from index.library.api import Library
    side = verdict.get("side") if verdict.get("side") in ("L", "R") else None
    with library_lock or threading.Lock():
        try:
            with Library(db) as lib:
                if lib.catalog.stats()["clips"] == 0:
                    return [], ("the library has no physio-scored clips yet: add labelled clips on the "
                                "Library tab")
                res = lib.search_clips(skeleton, test=verdict["test"], side=side, k=k)
        except InputError as exc:
            return [], f"similar clips unavailable: {exc}"
    hits = [h for h in res.to_dict()["hits"]]
    if not hits:
        return [], f"no physio-scored {verdict['test'].replace('_', ' ')} clips in the library yet"
    return hits, f"{len(hits)} nearest physio-scored clips ({res.embedder} {res.embedder_version})"


def search_library(clip_id: str | None, file_path: str | None, limits: AppLimits, *, test: str | None = None,
                   side: str | None = None, k: int = 5, db: str | None = None,
                   library_lock: threading.Lock | None = None) -> tuple[list[dict], str]:
    """Library clips nearest in motion to an uploaded clip/skeleton, or to a clip already in the library.

    A clip id is looked up in the catalog and its stored skeleton used: text
    from the browser is never taken as a file path.
    """
    from index.library.api import Library
    from tools.core.skeleton import Skeleton
    with library_lock or threading.Lock(), Library(db) as lib:
        if file_path:
            query, exclude = str(check_clip_upload(file_path, limits)), None
        elif str(clip_id or "").strip():
            from index.library.labels import check_id
            try:
                cid = check_id(str(clip_id), "clip id")
            except ValueError as exc:
                raise InputError(str(exc)) from None
            rec = lib.catalog.clip(cid)
            if rec is None:
                raise InputError(f"No clip {cid!r} in the library; the Library summary lists what is there.")
            query, exclude = Skeleton.load(lib.paths.abs(rec.skeleton_path)), rec.clip_id
        else:
            raise InputError("Give a clip id from the library, or upload a clip or skeleton to compare.")
        res = lib.search_clips(query, test=test, side=side, k=k, exclude_clip_id=exclude)
    hits = res.to_dict()["hits"]
    note = f"{len(hits)} clips ({res.embedder} {res.embedder_version})" if hits else "No matching clips."
    return hits, note


# ----- what the page shows --------------------------------------------------------------------------------------
TEST_LABELS: dict[str, str] = {
    "deep_squat": "Deep squat", "hurdle_step": "Hurdle step", "inline_lunge": "In-line lunge",
    "shoulder_mobility": "Shoulder mobility", "active_straight_leg_raise": "Active straight-leg raise",
    "trunk_stability_pushup": "Trunk stability push-up", "rotary_stability": "Rotary stability",
}
SIDE_LABELS = {"L": "left", "R": "right", "NA": "", None: ""}
CRITERIA_HEADERS = ["Criterion", "Measured", "Threshold", "Result", "Deciding frame", "Note"]
SIMILAR_HEADERS = ["Similarity", "Clip", "Athlete", "Test", "Side", "Physio score", "Notes"]


def _fmt_value(value, unit: str) -> str:
    if value is None:
        return "not measured"
    return f"{float(value):.3g} {unit}".strip()


def criteria_rows(verdict: dict) -> list[list]:
    """One row per criterion: measured value vs threshold with units, pass / FAIL / not judged."""
    rows = []
    for c in verdict.get("criteria") or []:
        result = {True: "pass", False: "FAIL", None: "not judged"}[c.get("passed")]
        threshold = f"{c.get('pass_if', '')} {float(c['threshold']):g} {c.get('unit', '')}".strip()
        frame = "" if c.get("deciding_frame") is None else str(c["deciding_frame"])
        note = c.get("reason") or c.get("description") or ""
        if c.get("id") == verdict.get("deciding_criterion"):
            note = "decided the score. " + note
        rows.append([c["id"].replace("_", " "), _fmt_value(c.get("value"), c.get("unit", "")), threshold,
                     result, frame, note])
    return rows


def similar_rows(hits: Sequence[dict]) -> list[list]:
    return [[f"{float(h.get('similarity', 0.0)):.3f}", h.get("clip_id", ""), h.get("athlete_id", ""),
             h.get("test_name", ""), h.get("side", ""), h.get("score", ""),
             ("[synthetic] " if h.get("synthetic") else "") + ("pain; " if h.get("pain") else "")
             + str(h.get("compensation_notes") or "")] for h in hits]


_ABS_PATH_RE = re.compile(r"(?<![\w.])(?:/[\w.\-]+)+/([\w.\-]+)")


def public_message(message: str) -> str:
    """A message for the page: absolute server paths cut to their file name (the browser never needs them)."""
    return _ABS_PATH_RE.sub(r"\1", str(message))


def esc(text) -> str:
    """User-supplied text made safe for the page's Markdown/HTML."""
    return html.escape(str(text), quote=True).replace("|", "&#124;").replace("*", "&#42;") \
        .replace("_", "&#95;").replace("`", "&#96;").replace("[", "&#91;").replace("]", "&#93;")


def verdict_markdown(verdict: dict, seconds: float | None = None) -> str:
    """The verdict as a physio reads it: score or review first, then why, in plain words."""
    test = TEST_LABELS.get(verdict["test"], verdict["test"])
    side = SIDE_LABELS.get(verdict.get("side"), "")
    side_text = f" ({side}{', side detected from the movement' if verdict.get('side_inferred') else ''})" \
        if side else ""
    lines = []
    if verdict.get("score") is None:
        lines.append(f"## {test}{side_text}: physio review, no score")
        lines.append("FormScout could not stand behind a score for this clip. A physio should score it.")
    else:
        conf = float(verdict.get("confidence") or 0.0)
        lines.append(f"## {test}{side_text}: score {verdict['score']} of 3"
                     + (", physio review advised" if verdict.get("review") else ""))
        lines.append(f"Confidence {conf:.2f} (0-1, from how far each criterion is from its threshold "
                     "and the pose quality).")
        if verdict.get("review"):
            lines.append("**Physio review advised**: the score is given, but FormScout is not sure of it.")
    reasons = verdict.get("reasons") or []
    if reasons:
        lines.append("**Why review:**")
        lines += [f"- {esc(r)}" for r in reasons]
    decider = verdict.get("deciding_criterion")
    if decider:
        crit = next((c for c in verdict.get("criteria") or [] if c["id"] == decider), {})
        when = ""
        if verdict.get("deciding_frame") is not None:
            t = verdict.get("deciding_time_s")
            when = f" at frame {verdict['deciding_frame']}" + (f" ({float(t):.2f} s)" if t is not None else "")
        lines.append(f"**Deciding criterion:** {decider.replace('_', ' ')}: measured "
                     f"{_fmt_value(crit.get('value'), crit.get('unit', ''))} against "
                     f"{crit.get('pass_if', '')} {float(crit.get('threshold', 0)):g} {crit.get('unit', '')}{when}.")
    inputs = verdict.get("inputs") or {}
    if inputs.get("pain"):
        lines.append("Pain was reported, so the score is 0 whatever the movement shows.")
    for note in verdict.get("notes") or []:
        lines.append(f"- {esc(note)}")
    q = verdict.get("quality") or {}
    if q:
        lines.append(f"Pose quality: athlete found in {100 * float(q.get('athlete_share', 0)):.0f}% of frames, "
                     f"jitter {float(q.get('jitter_mm') or 0):.1f} mm, identity jumps {q.get('identity_jumps', 0)}; "
                     f"camera view {verdict.get('view') or 'unknown'}.")
    if seconds is not None:
        lines.append(f"Screened in {seconds:.1f} s.")
    lines.append(f"*{DISCLAIMER}*")
    return "\n\n".join(lines)


# ----- runs ---------------------------------------------------------------------------------------------------
@dataclass
class RunInfo:
    name: str
    run_id: str
    test: str
    side: str
    score: int | None
    review: bool
    athlete_id: str
    started_at: str

    def label(self) -> str:
        score = "review" if self.score is None else f"score {self.score}" + (" (review)" if self.review else "")
        side = f" {self.side}" if self.side in ("L", "R") else ""
        who = f" {self.athlete_id}" if self.athlete_id else ""
        return f"{self.name[:15]}  {self.test}{side}{who}: {score}"


def list_runs(paths: AppPaths) -> list[RunInfo]:
    """Finished runs in the app's data folder (those with a trace), newest first."""
    out = []
    if not paths.runs.is_dir():
        return out
    for folder in sorted(paths.runs.iterdir(), reverse=True):
        if not (folder.is_dir() and RUN_NAME_RE.match(folder.name) and (folder / "trace.json").is_file()):
            continue
        try:
            doc = json.loads((folder / "trace.json").read_text())
        except (OSError, json.JSONDecodeError):
            continue
        verdict = doc.get("verdict") or {}
        out.append(RunInfo(name=folder.name, run_id=str(doc.get("run_id", "")), test=str(doc.get("test", "")),
                           side=str(verdict.get("side") or doc.get("side") or "NA"), score=verdict.get("score"),
                           review=bool(verdict.get("review", True)), athlete_id=str(doc.get("athlete_id") or ""),
                           started_at=str(doc.get("started_at", ""))))
    return out


def verify_run(paths: AppPaths, run_name: str) -> list[str]:
    """Problems found in a run's trace: schema and hash chain (agent.trace.check; empty = intact)."""
    from agent.trace.record import load_trace
    from agent.trace.check import check_trace
    return list(check_trace(load_trace(paths.run_dir(run_name) / "trace.json")).problems)


def publish_run(paths: AppPaths, run_name: str) -> Path:
    """The run's trace as one self-contained page, trace.html beside trace.json (agent.trace.publish)."""
    from agent.trace.publish import publish
    folder = paths.run_dir(run_name)
    return publish(folder / "trace.json", folder / "trace.html")


# ----- library uploads ----------------------------------------------------------------------------------------
def stage_library_upload(csv_file: str | Path | None, clip_files: Sequence[str | Path] | None,
                         paths: AppPaths, limits: AppLimits) -> Path:
    """Copy an uploaded labels CSV and its clip files into a fresh staging folder; returns the folder.

    The CSV may name each clip's file in a path column, but in the app that can
    only be the bare name of one of the uploaded files: a folder or an absolute
    path from the browser never reaches the file system.
    """
    if csv_file is None or str(csv_file).strip() == "":
        raise InputError("No labels CSV yet: upload the CSV (clip_id, athlete_id, date, test_name, side, score, "
                         "pain, compensation_notes, camera_view, consent_on_file) with the clip files.")
    csv_path = Path(csv_file)
    if csv_path.suffix.lower() != ".csv":
        raise InputError(f"{csv_path.name} is not a .csv file; upload the labels as a CSV file")
    if not csv_path.is_file() or csv_path.stat().st_size == 0:
        raise InputError(f"{csv_path.name} is empty; upload the labels CSV again")
    names = _uploaded_files(clip_files, limits, "the labels CSV")
    _check_file_column(csv_path, set(names), PATH_COLUMNS, optional=True)
    folder = paths.staging / uuid.uuid4().hex
    (folder / "clips").mkdir(parents=True)
    shutil.copyfile(csv_path, folder / "labels.csv")
    for name, f in names.items():
        shutil.copyfile(f, folder / "clips" / name)
    return folder


def _uploaded_files(files: Sequence[str | Path] | None, limits: AppLimits, what: str) -> dict[str, Path]:
    """The uploaded clip files by name, each checked (type, name, not empty, no duplicates)."""
    clips = [Path(f) for f in (files or [])]
    if not clips:
        raise InputError(f"No clip files: upload the clips {what} names (video or .npz skeleton) together with it.")
    if len(clips) > limits.max_library_files:
        raise InputError(f"{len(clips)} files in one upload; add at most {limits.max_library_files} at a time")
    names: dict[str, Path] = {}
    for f in clips:
        if f.suffix.lower() not in CLIP_SUFFIXES:
            raise InputError(f"{f.name} is not a clip (video or .npz skeleton); upload only the clips {what} names")
        if not FILE_NAME_RE.match(f.name):
            raise InputError(f"{f.name!r}: rename the file to letters, digits, '-', '_' and '.' only")
        if f.stat().st_size == 0:
            raise InputError(f"{f.name} is empty (0 bytes); upload the clip again")
        if f.name in names:
            raise InputError(f"two uploaded files are named {f.name}; each clip needs its own name")
        names[f.name] = f
    return names


def _check_file_column(csv_path: Path, uploaded: set[str], columns: Sequence[str], optional: bool) -> None:
    """Every file a CSV names (first of `columns` present) must be the bare name of an uploaded file."""
    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = [(h or "").strip().lower() for h in (reader.fieldnames or [])]
            col = next((c for c in columns if c in header), None)
            if col is None:
                return   # a missing required column is reported by the reader that owns the format
            for row in reader:
                value = str({(k or "").strip().lower(): v for k, v in row.items()}.get(col) or "").strip()
                if (value or not optional) and value not in uploaded:
                    raise InputError(
                        f"{csv_path.name} line {reader.line_num}: the {col} column names {value!r}, which is not "
                        "one of the uploaded files. In the app, give only the bare file name of an uploaded "
                        "clip" + (f", or leave the {col} column empty and name each file <clip_id>.mp4 / .npz."
                                  if optional else "."))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{csv_path.name} is not a readable UTF-8 CSV ({exc})") from exc


def add_summary_markdown(summary: dict) -> str:
    """The added / skipped / refused / failed rows of an `index add`, for the page."""
    counts = summary.get("counts") or {k: len(summary.get(k) or []) for k in ("added", "skipped", "refused", "failed")}
    lines = [f"**Added {counts['added']}**, skipped {counts['skipped']}, refused {counts['refused']}, "
             f"failed {counts['failed']}."]
    for item in summary.get("added") or []:
        lines.append(f"- added {esc(item['clip_id'])} ({esc(item['athlete_id'])}, {esc(item['test_name'])} "
                     f"{esc(item['side'])}, physio score {esc(item['score'])})")
    for key, word in (("refused", "refused"), ("failed", "failed"), ("skipped", "skipped")):
        for item in summary.get(key) or []:
            lines.append(f"- {word}: row {esc(item.get('row', ''))} {esc(item.get('clip_id', ''))}: "
                         f"{esc(item.get('reason', ''))}")
    if counts["refused"]:
        lines.append("\nRefused rows were not opened or stored: consent (or guardian consent for a minor) "
                     "must be on file first.")
    return "\n".join(lines)


# ----- session scorecard -------------------------------------------------------------------------------------
SESSION_NAME_RE = re.compile(r"^[0-9]{8}-[0-9]{6}_[0-9a-f]{8}$")
SCORECARD_HEADERS = ["Test", "Left", "Right", "Score", "Counted", "Flags"]


@dataclass
class SessionOutcome:
    scorecard: dict
    folder: Path
    seconds: float


def new_session_dir(paths: AppPaths) -> Path:
    folder = paths.sessions / f"{time.strftime('%Y%m%d-%H%M%S')}_{uuid.uuid4().hex[:8]}"
    (folder / "input").mkdir(parents=True)
    return folder


def stage_session_upload(manifest: str | Path | None, clip_files: Sequence[str | Path] | None, paths: AppPaths,
                         limits: AppLimits) -> Path:
    """Copy a session manifest and its clips into a new session folder (input/); returns the folder.

    The manifest's clip column may only name uploaded files, by their bare names.
    """
    if manifest is None or str(manifest).strip() == "":
        raise InputError("No manifest yet: upload the session CSV (clip, test, side, pain, clearing_pain, "
                         "heels_raised, hand_length_m) with the clip files it names, or tick the demo session.")
    m = Path(manifest)
    if m.suffix.lower() != ".csv":
        raise InputError(f"{m.name} is not a .csv file; upload the session manifest as a CSV file")
    if not m.is_file() or m.stat().st_size == 0:
        raise InputError(f"{m.name} is empty; upload the manifest again")
    names = _uploaded_files(clip_files, limits, "the manifest")
    _check_file_column(m, set(names), ("clip",), optional=False)
    folder = new_session_dir(paths)
    shutil.copyfile(m, folder / "input" / "manifest.csv")
    for name, f in names.items():
        shutil.copyfile(f, folder / "input" / name)
    return folder


def stage_demo_session(paths: AppPaths, seed: int = 11) -> Path:
    """A synthetic athlete's full screen (tools.synth.session) as a new session folder."""
    from tools.synth.session import make_synthetic_session
    folder = new_session_dir(paths)
    make_synthetic_session(folder / "input", seed=seed)
    (folder / "input" / "truth.json").unlink(missing_ok=True)   # construction labels: not for the session
    return folder


def run_session(folder: Path, *, athlete_id: str = "", sex: str = "", pdf: bool = True, db: str | None = None,
                progress: Progress | None = None, library_lock: threading.Lock | None = None,
                poll_s: float = 0.5) -> SessionOutcome:
    """Score a whole screen exactly as `formscout session` does; the clips are deleted afterwards.

    Output in <folder>/out: session.json, session_report.html (+ .pdf), runs/.
    With an athlete id every run is filed in the catalog (agent.screening.run.file_run).
    """
    import argparse

    from agent.cli import session as session_cmd
    from tools.report.manifest import read_manifest
    from tools.core.fms import check_sex

    athlete = check_athlete_id(athlete_id)
    check_sex(sex or None)
    manifest = folder / "input" / "manifest.csv"
    n_rows = len(read_manifest(manifest))       # bad rows are refused here, before anything runs
    out = folder / "out"
    args = argparse.Namespace(manifest=str(manifest), out=str(out), athlete=athlete, sex=sex or "", criteria="",
                              pose="mediapipe", pose_weights="", no_pdf=not pdf, json=False)
    t0 = time.perf_counter()
    try:
        with library_lock or threading.Lock(), \
                ThreadPoolExecutor(max_workers=1, thread_name_prefix="formscout-session") as pool:
            future = pool.submit(session_cmd.run, args)
            while True:
                try:
                    future.result(timeout=poll_s)
                    break
                except TimeoutError:
                    done = len(list((out / "runs").glob("*/trace.json"))) if (out / "runs").is_dir() else 0
                    if progress is not None:
                        progress(min(done, n_rows) / (n_rows + 1),
                                 f"Screening clip {min(done + 1, n_rows)} of {n_rows}" if done < n_rows
                                 else "Building the scorecard and the report")
    finally:
        for f in (folder / "input").iterdir():      # raw clips are not kept; the manifest is
            if f.name != "manifest.csv" and f.is_file():
                f.unlink()
    scorecard = json.loads((out / "session.json").read_text())
    if athlete:
        from agent.screening.run import file_run
        with library_lock or threading.Lock():
            for verdict_file in sorted((out / "runs").glob("*/verdict.json")):
                file_run(json.loads(verdict_file.read_text()), athlete, db)
    return SessionOutcome(scorecard=scorecard, folder=folder, seconds=time.perf_counter() - t0)


def _score_cell(entry: dict | None) -> str:
    if not entry:
        return "-"
    score = "review" if entry.get("score") is None else str(entry["score"])
    return score + (" (review)" if entry.get("review") and entry.get("score") is not None else "")


def scorecard_rows(scorecard: dict) -> list[list]:
    """One row per test: L, R (or the single score), the score counted toward the composite, flags."""
    rows = []
    for test, t in scorecard["tests"].items():
        flags = (["asymmetry"] if t.get("asymmetry") else []) + (["review"] if t.get("review") else []) \
            + (["missing " + "/".join(t.get("missing_sides") or [])] if t.get("missing_sides") else []) \
            + (["not screened"] if t.get("counted") is None and not t.get("missing_sides") else [])
        flags += [f"line {e['line']}: {public_message(e['error'])}" for e in t.get("errors") or []]
        if t.get("bilateral"):
            rows.append([TEST_LABELS.get(test, test), _score_cell(t.get("L")), _score_cell(t.get("R")), "",
                         "-" if t.get("counted") is None else str(t["counted"]), "; ".join(flags)])
        else:
            rows.append([TEST_LABELS.get(test, test), "", "", _score_cell(t.get("score")),
                         "-" if t.get("counted") is None else str(t["counted"]), "; ".join(flags)])
    return rows


def scorecard_markdown(scorecard: dict, seconds: float | None = None) -> str:
    comp = scorecard["composite"]
    who = f" for {esc(scorecard['athlete_id'])}" if scorecard.get("athlete_id") else ""
    lines = [f"## Composite{who}: {esc(comp['label'])}"]
    if scorecard.get("asymmetries"):
        lines.append("**Asymmetries (left and right differ):** " + "; ".join(
            f"{TEST_LABELS.get(a['test'], a['test'])} L {a['L']} / R {a['R']}" for a in scorecard["asymmetries"]))
    else:
        lines.append("No left/right asymmetry among the bilateral tests screened.")
    pain = [c for c in scorecard.get("clearing_tests") or [] if c.get("pain")]
    for c in pain:
        lines.append(f"Pain in the {esc(c['clearing_test'])}: {TEST_LABELS.get(c['test'], c['test'])} scored 0.")
    unrecorded = [c["clearing_test"] for c in scorecard.get("clearing_tests") or [] if not c.get("recorded")]
    if unrecorded:
        lines.append("Clearing tests not recorded: " + ", ".join(esc(u) for u in unrecorded) + ".")
    if scorecard.get("missing_tests"):
        lines.append("Missing from the composite: " + ", ".join(TEST_LABELS.get(t, t)
                                                              for t in scorecard["missing_tests"]) + ".")
    if scorecard.get("review_tests"):
        lines.append("Physio review advised for: " + ", ".join(TEST_LABELS.get(t, t)
                                                              for t in scorecard["review_tests"]) + ".")
    lines += [f"- {esc(n)}" for n in scorecard.get("notes") or []]
    if seconds is not None:
        lines.append(f"Scored in {seconds:.0f} s.")
    lines.append(f"*{DISCLAIMER}*")
    return "\n\n".join(lines)


def athlete_history(athlete_id: str, db: str | None = None,
                    library_lock: threading.Lock | None = None) -> tuple[list[str], list[list]]:
    """The athlete's scores per test and side by date, from the catalog's runs (baseline first, latest last)."""
    athlete = check_athlete_id(athlete_id)
    if not athlete:
        return [], []
    from index.storage.catalog import Catalog
    from index.storage.paths import resolve_db_path
    path = resolve_db_path(db)
    if not path.is_file():
        return [], []
    with library_lock or threading.Lock(), Catalog(path) as cat:
        runs = cat.runs(athlete)
    by_key: dict[tuple[str, str], dict[str, str]] = {}
    dates: list[str] = []
    for r in runs:                                   # oldest first: a later run of the same day replaces
        day = str(r["created"])[:10]
        if day not in dates:
            dates.append(day)
        score = "review" if r["score"] is None else str(r["score"]) + (" (r)" if r["review"] else "")
        by_key.setdefault((r["test"], r["side"] or "NA"), {})[day] = score
    headers = ["Test", "Side"] + [f"{d} (baseline)" if i == 0 and len(dates) > 1 else
                                  (f"{d} (latest)" if i == len(dates) - 1 and len(dates) > 1 else d)
                                  for i, d in enumerate(dates)]
    rows = [[TEST_LABELS.get(t, t), "" if s == "NA" else s] + [cells.get(d, "") for d in dates]
            for (t, s), cells in sorted(by_key.items())]
    return headers, rows


# ----- chat --------------------------------------------------------------------------------------------------
@dataclass
class ChatReply:
    text: str
    status: str                   # answered | clarify
    frame_png: str | None = None  # the deciding frame of the run answered from, when the page may show it


def ask_about(question: str, paths: AppPaths, *, athlete_id: str = "", run_name: str = "",
              db: str | None = None, library_lock: threading.Lock | None = None) -> ChatReply:
    """Answer a physio's question through agent.chat.answer.ask, bound to a run of this app or to an athlete."""
    from agent.chat.answer import ask
    if not str(question or "").strip():
        raise InputError("Type a question first, e.g. \"why this score?\" or \"why a 2 on the left hurdle step?\"")
    athlete = check_athlete_id(athlete_id)
    if run_name:
        answer = ask(question, run=paths.run_dir(run_name), db=db)
    elif athlete:
        from index.storage.paths import resolve_db_path
        with library_lock or threading.Lock():
            if not _has_runs(resolve_db_path(db), athlete):
                return ChatReply(f"There are no screening runs for athlete {athlete} in this library. Check the id, "
                                 "or screen a clip for them on the Screen tab with their athlete id filled in.",
                                 "clarify")
            answer = ask(question, athlete_id=athlete, db=db)
    else:
        raise InputError("Screen a clip first (the chat then talks about that run), or type an athlete id.")
    frame = None
    trace = (answer.run or {}).get("trace")
    if answer.status == "answered" and trace and (Path(trace).parent / "verdict.json").is_file():
        try:
            verdict = json.loads((Path(trace).parent / "verdict.json").read_text())
            png = (verdict.get("artifacts") or {}).get("deciding_frame_png")
        except (OSError, json.JSONDecodeError):
            png = None
        if png and Path(png).is_file() and paths.contains(png):   # only files the page may serve
            frame = str(png)
    return ChatReply(public_message(answer.text), answer.status, frame)


def _has_runs(db_path: Path, athlete: str) -> bool:
    if not db_path.is_file():
        return False
    from index.storage.catalog import Catalog
    with Catalog(db_path) as cat:
        return bool(cat.runs(athlete))
