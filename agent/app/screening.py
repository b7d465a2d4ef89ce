"""One screening from the Screen tab: the form, the run (exactly as `formscout screen`), filing, the athlete click.

`run_screening` checks the form, claims a run folder in the app's data folder,
waits for a free slot (agent.app.progress.ScreenQueue: at most one screening
per core, the others told their place in line), runs
agent.screening.run.screen with a progress listener that turns the trace
recorder's step events and the tools' frame counts into the page's progress
bar, files the run under the athlete in the catalog (the catalog's own
inter-process lock orders it against other writers), and looks up similar
physio-scored clips (agent.app.library). No measurement or scoring happens here.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from agent.app.paths import DEMO_CLIP, AppLimits, AppPaths
from agent.app.progress import PageCallback, PageProgress, ScreenQueue
from agent.app.uploads import check_clip_readable, check_clip_upload
from tools.core.errors import InputError


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
    side_clip_path: str | None = None   # the same repetition filmed from another view (optional; --side-clip)


@dataclass
class ScreenOutcome:
    verdict: dict
    run_name: str
    run_dir: Path
    seconds: float
    similar: list[dict] = field(default_factory=list)
    similar_note: str = ""


def run_screening(form: ScreenForm, paths: AppPaths, limits: AppLimits, *, db: str | None = None,
                  progress: PageCallback | None = None, queue: ScreenQueue | None = None) -> ScreenOutcome:
    """Screen one clip exactly as `formscout screen` does, in the app's data folder; file the run."""
    from agent.app.library import similar_clips
    from agent.screening.protocol import ScreenRequest, planned_order
    from agent.screening.run import file_run, screen
    from tools.core.fms import check_test_and_side

    if form.use_demo and not DEMO_CLIP.is_file():
        raise InputError("the bundled demo clip is missing from this installation; upload a clip instead")
    source = DEMO_CLIP if form.use_demo else check_clip_readable(form.clip_path, limits)
    side = check_test_and_side(form.test, form.side)
    athlete = check_athlete_id(form.athlete_id)
    if form.heels_raised not in ("auto", "yes", "no"):
        raise InputError(f"heels raised must be auto, yes or no (got {form.heels_raised!r})")
    point = _pick_point(form.athlete_point, source)
    side_clip = check_clip_readable(form.side_clip_path, limits) if form.side_clip_path else None
    if side_clip is not None and Path(side_clip).resolve() == Path(source).resolve():
        raise InputError("the second view is the clip itself: upload the other camera's clip of the same repetition")
    queue = queue or ScreenQueue(1)
    with queue.slot(on_wait=progress):
        run_dir = paths.new_run_dir(form.test)      # claimed by the run: it writes into it and nowhere else
        request = ScreenRequest(source=str(source), test=form.test, run_dir=str(run_dir),
                                side=None if side in (None, "NA") else side, pain=bool(form.pain),
                                heels_raised=form.heels_raised if form.test == "deep_squat" else "auto",
                                max_duration_s=limits.max_clip_s, max_size_mb=limits.max_upload_mb,
                                athlete_id=athlete, athlete_point=point,
                                side_clip=str(side_clip) if side_clip else "")
        listener = PageProgress(progress, planned_order(request)) if progress is not None else None
        t0 = time.perf_counter()
        verdict = screen(request, progress=listener)
        seconds = time.perf_counter() - t0
    run_dir = Path(verdict["artifacts"]["run_dir"])
    outcome = ScreenOutcome(verdict=verdict, run_name=run_dir.name, run_dir=run_dir, seconds=seconds)
    if athlete:
        # filed like `formscout screen --athlete` does, so the chat, the history and erasure find it
        file_run(verdict, athlete, db)
    outcome.similar, outcome.similar_note = similar_clips(verdict, db=db)
    return outcome


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
