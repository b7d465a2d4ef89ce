"""The app's Recording tab: one take of the whole screen, split into tests, checked by the physio, then scored.

Plain helpers first (tested without a browser), the Gradio tab last:

* `stage_recording`: the uploaded recording (a video, or a skeleton .npz) and
  the optional order manifest copied into a new session folder of the app.
* `split_staged`: the recording posed once and split into tests
  (agent.screening.recording.analyse_recording).
* `timeline_html`: the split as the physio checks it: one band per test along
  the recording's time, every repetition found inside it as a tick (green once
  scored: the one that counted), every split point numbered, with its
  thumbnail (the frame at the split, skeleton drawn) below.
* The correction step: `segment_rows` fills an editable table (test, start s,
  end s); the physio moves a boundary or relabels a segment there and
  `correct_split` applies it (agent.screening.recording.apply_corrections).
* `score_staged`: every test's clip screened, the scorecard and the report
  (agent.screening.recording.score_recording), runs filed under the athlete.

No measurement happens here: every number shown comes from the split and the verdicts.
"""
from __future__ import annotations

import base64
import html
import json
import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from tools.core.errors import InputError
from tools.core.fms import TESTS

log = logging.getLogger(__name__)

RECORDING_SUFFIXES = (".mp4", ".mov", ".m4v", ".avi", ".mkv", ".webm", ".npz")
SEGMENT_HEADERS = ["#", "Test", "Start (s)", "End (s)", "Repetitions", "Set by"]
TEST_COLOURS = {"deep_squat": "#1565c0", "hurdle_step": "#6a1b9a", "inline_lunge": "#00838f",
                "shoulder_mobility": "#ef6c00", "active_straight_leg_raise": "#2e7d32",
                "trunk_stability_pushup": "#ad1457", "rotary_stability": "#5d4037"}
TEST_LABELS = {t: t.replace("_", " ") for t in TESTS}


@dataclass
class RecordingView:
    """What the tab shows after a split or a correction."""

    folder: Path                     # the app's session folder (input/, out/)
    summary_md: str
    timeline: str                    # HTML
    rows: list[list]                 # the editable segments table


def _esc(x) -> str:
    return html.escape("" if x is None else str(x))


def stage_recording(recording: str | Path | None, order_csv: str | Path | None, paths, limits=None,
                    demo: bool = False) -> Path:
    """A new session folder of the app holding the recording (and the order manifest) under input/."""
    from agent.app.support import new_session_dir
    folder = new_session_dir(paths)
    if demo:
        from tools.synth.recording import make_screen_recording
        from tools.synth.repetitions import clip_skeleton
        rec = make_screen_recording(7)
        clip_skeleton(rec, noise="realistic").save(folder / "input" / "recording.npz")
        return folder
    if recording is None or str(recording).strip() == "":
        shutil.rmtree(folder, ignore_errors=True)
        raise InputError("No recording yet: upload one video of the whole screen (or a skeleton .npz), or tick "
                         "the demo recording.")
    src = Path(recording)
    if src.suffix.lower() not in RECORDING_SUFFIXES:
        shutil.rmtree(folder, ignore_errors=True)
        raise InputError(f"{src.name} is not a video or a skeleton .npz; upload the recording of the screen")
    if not src.is_file() or src.stat().st_size == 0:
        shutil.rmtree(folder, ignore_errors=True)
        raise InputError(f"{src.name} is empty; upload the recording again")
    if limits is not None and src.stat().st_size > limits.max_upload_bytes:
        shutil.rmtree(folder, ignore_errors=True)
        raise InputError(f"{src.name} is larger than the app's upload limit")
    shutil.copyfile(src, folder / "input" / f"recording{src.suffix.lower()}")
    if order_csv:
        shutil.copyfile(order_csv, folder / "input" / "order.csv")
    return folder


def _input(folder: Path) -> tuple[Path, Path | None]:
    found = [p for p in (folder / "input").glob("recording.*")]
    if not found:
        raise InputError("this session holds no recording: split one first")
    order = folder / "input" / "order.csv"
    return found[0], order if order.is_file() else None


def split_staged(folder: Path, pose_backend: str = "mediapipe") -> RecordingView:
    """Pose and split the staged recording; the view for the physio's check."""
    from agent.screening.recording import analyse_recording, read_order
    source, order = _input(folder)
    analyse_recording(source, folder / "out", read_order(order) if order else [], pose_backend=pose_backend)
    return view_of(folder)


def view_of(folder: Path, verdicts: list[dict] | None = None) -> RecordingView:
    from agent.screening.recording import load_analysis
    analysis = load_analysis(folder / "out")
    s = analysis.split
    mode = "along the physio's order" if s.get("mode") == "order" else "by the test recogniser (no order given)"
    lines = [f"### {len(s['segments'])} tests found in {float(s['n_frames']) / float(s['fps']):.0f} s of recording",
             f"Split {mode}" + (" and **corrected by the physio**" if s.get("corrected") else "") + ". "
             "Check every split point: move a boundary or relabel a segment in the table, apply, then score."]
    if s.get("missing"):
        lines.append("Not found in the recording: " + ", ".join(TEST_LABELS[t] for t in s["missing"]) + ".")
    unsure = [g for g in s["segments"] if g.get("uncertain")]
    if unsure:
        lines.append("Uncertain (the recogniser scored them low): "
                     + ", ".join(f"#{g['index']} {TEST_LABELS[g['test']]}" for g in unsure) + ".")
    return RecordingView(folder=folder, summary_md="\n\n".join(lines), timeline=timeline_html(s, verdicts),
                         rows=segment_rows(s))


def segment_rows(split: dict) -> list[list]:
    fps = float(split["fps"])
    return [[g["index"], TEST_LABELS[g["test"]], round(g["start_frame"] / fps, 1), round(g["end_frame"] / fps, 1),
             g.get("n_repetitions", 0), g.get("source", "recognised")] for g in split["segments"]]


def corrections_from_rows(rows) -> list[dict]:
    """The edited table -> the corrected segments (tests by name or label; times in seconds)."""
    if hasattr(rows, "values") and hasattr(rows, "columns"):      # a pandas DataFrame from Gradio
        rows = rows.values.tolist()
    out = []
    for k, r in enumerate(rows or [], start=1):
        if not r or all(str(v).strip() == "" for v in r):
            continue
        test = str(r[1]).strip().lower().replace("-", " ").replace("_", " ")
        key = next((t for t, label in TEST_LABELS.items() if label == test or t == test.replace(" ", "_")), test)
        try:
            start, end = float(r[2]), float(r[3])
        except (TypeError, ValueError):
            raise InputError(f"row {k}: start and end must be seconds (numbers), got {r[2]!r} and {r[3]!r}") from None
        index = r[0] if str(r[0]).strip() not in ("", "None") else -1
        out.append({"index": int(float(index)), "test": key, "start_s": start, "end_s": end})
    return out


def correct_split(folder: Path, rows) -> RecordingView:
    """The correction step: the physio's table applied to the split (boundaries moved, segments relabelled)."""
    from agent.screening.recording import apply_corrections, load_analysis
    analysis = load_analysis(folder / "out")
    apply_corrections(analysis, corrections_from_rows(rows))
    return view_of(folder)


def score_staged(folder: Path, athlete_id: str = "", sex: str = "", pdf: bool = False, db: str | None = None):
    """Score every test clip of the (corrected) split: (scorecard, seconds, the view with counted repetitions).

    No app-wide lock: every catalog connection takes the catalog's own inter-process lock."""
    from agent.screening.recording import load_analysis, score_recording
    from agent.screening.session import SessionOptions
    t0 = time.perf_counter()
    analysis = load_analysis(folder / "out")
    options = SessionOptions(athlete_id=athlete_id, sex=sex, pdf=pdf, db=db or "")
    result = score_recording(analysis, options)
    verdicts = [json.loads(p.read_text()) for p in sorted((folder / "out" / "runs").glob("*/verdict.json"))]
    return result.scorecard, time.perf_counter() - t0, view_of(folder, verdicts)


def _png_uri(path: str | None) -> str | None:
    if not path or not Path(path).is_file():
        return None
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def timeline_html(split: dict, verdicts: list[dict] | None = None) -> str:
    """The split as HTML: bands per test, repetition ticks (counted ones green after scoring), split points
    numbered, their thumbnails below."""
    fps, n = float(split["fps"]), max(1, int(split["n_frames"]))
    pct = lambda f: f"{100.0 * min(max(float(f), 0.0), n) / n:.3f}%"
    counted: dict[str, set] = {}
    for v in verdicts or []:
        for r in v.get("repetitions") or []:
            if r.get("status") == "counted":
                counted.setdefault(v.get("test"), set()).add(int(r["start_frame"]))
    bands, ticks = [], []
    for g in split["segments"]:
        colour = TEST_COLOURS.get(g["test"], "#757575")
        bands.append(
            f"<div class='fs-band' title='{_esc(TEST_LABELS[g['test']])}' style='left:{pct(g['start_frame'])};"
            f"width:calc({pct(g['end_frame'] - g['start_frame'])} - 2px);background:{colour}22;border-color:{colour}'>"
            f"<span style='color:{colour}'>#{g['index']} {_esc(TEST_LABELS[g['test']])}</span></div>")
        offset = g.get("clip_start", g["start_frame"])
        seen = counted.get(g["test"], set())
        for a, b in g.get("repetitions", []):
            is_counted = any(abs((s + offset) - a) < 0.5 * fps for s in seen)
            ticks.append(f"<div class='fs-rep{' fs-counted' if is_counted else ''}' style='left:{pct(a)};"
                         f"width:{pct(max(b - a, 1))};background:{'#2e7d32' if is_counted else colour}'></div>")
    marks, thumbs = [], []
    for k, p in enumerate(split["split_points"], start=1):
        marks.append(f"<div class='fs-split' style='left:{pct(p['frame'])}'><b>{k}</b></div>")
        uri = _png_uri(p.get("thumbnail_png"))
        placed = "set by the physio" if p.get("source") == "physio" else (
            "between the tests' repetitions" if p.get("refined") else "at the recogniser's boundary")
        thumbs.append(f"<figure class='fs-thumb'>{f'<img src={chr(39)}{uri}{chr(39)}/>' if uri else ''}"
                      f"<figcaption><b>{k}</b> at {p['time_s']:.1f} s: {_esc(TEST_LABELS[p['before']])} | "
                      f"{_esc(TEST_LABELS[p['after']])}<br/><span>{_esc(placed)}</span></figcaption></figure>")
    ticks_axis = "".join(f"<span style='left:{pct(t * fps)}'>{t:.0f} s</span>"
                         for t in range(0, int(n / fps) + 1, max(10, int(n / fps / 8) // 10 * 10 or 10)))
    style = ("<style>.fs-tl{position:relative;height:96px;margin:8px 0 26px 0;background:#f7f8fa;border:1px solid "
             "#d0d5dc;border-radius:6px}.fs-band{position:absolute;top:6px;height:60px;border:1px solid;"
             "border-radius:4px;overflow:hidden}.fs-band span{font-size:11px;padding:2px 4px;display:block;"
             "white-space:nowrap}.fs-rep{position:absolute;top:40px;height:18px;border-radius:2px;opacity:.75}"
             ".fs-counted{opacity:1;outline:2px solid #111}.fs-split{position:absolute;top:0;bottom:-4px;width:0;"
             "border-left:2px solid #111}.fs-split b{position:absolute;top:70px;left:-8px;background:#111;color:#fff;"
             "font-size:11px;padding:0 4px;border-radius:8px}.fs-axis{position:absolute;top:100px;left:0;right:0}"
             ".fs-axis span{position:absolute;font-size:10px;color:#555;transform:translateX(-50%)}"
             ".fs-thumbs{display:flex;flex-wrap:wrap;gap:8px}.fs-thumb{margin:0;width:220px;font-size:11px}"
             ".fs-thumb img{width:220px;border-radius:4px;border:1px solid #ccc}.fs-thumb span{color:#666}"
             ".fs-legend{font-size:11px;color:#444}</style>")
    legend = ("<div class='fs-legend'>Bands: the tests found, in recording time. Ticks: each repetition found"
              + (" (outlined green: the one that counted)" if verdicts else "") + ". Numbered lines: split points.</div>")
    return (style + "<div id='recording_timeline_bar' class='fs-tl'>" + "".join(bands) + "".join(ticks)
            + "".join(marks) + f"<div class='fs-axis'>{ticks_axis}</div></div>" + legend
            + "<div class='fs-thumbs'>" + "".join(thumbs) + "</div>")


# ----- the Gradio tab ---------------------------------------------------------------------------------------------
def recording_tab(cfg) -> None:
    """Build the Recording tab inside the app's Blocks (app.py calls this within `with gr.Tab(...)`)."""
    import gradio as gr

    from agent.app.support import (
        SCORECARD_HEADERS,
        check_athlete_id,
        esc,
        public_message,
        scorecard_markdown,
        scorecard_rows,
    )

    gr.Markdown("Film the whole screen in one take and upload it: FormScout splits it into the seven tests "
                "(the order you filmed them in helps: upload it as a CSV with one row per test and side), you check "
                "and correct the split points, then every test is scored and the session report is written.")
    with gr.Row():
        with gr.Column():
            recording = gr.File(label="Recording of the whole screen (video or skeleton .npz)", file_count="single",
                                type="filepath", elem_id="recording_upload")
            order = gr.File(label="Order you filmed the tests in (optional CSV: test, side, pain, ...)",
                            file_count="single", type="filepath", elem_id="recording_order")
            demo = gr.Checkbox(label="Use a demo recording instead (synthetic athlete, the whole screen, skeleton)",
                               value=False, elem_id="recording_demo")
        with gr.Column():
            athlete = gr.Textbox(label="Athlete id (optional; files every run under this athlete)",
                                 placeholder="e.g. ATH-0012", elem_id="recording_athlete")
            sex = gr.Radio(choices=[("Not given", ""), ("Male", "M"), ("Female", "F")], value="",
                           label="Sex (sets the push-up hand levels)", elem_id="recording_sex")
            split_btn = gr.Button("Split the recording", variant="primary", elem_id="recording_split")
    state = gr.State("")
    summary = gr.Markdown("The split appears here.", elem_id="recording_summary")
    timeline = gr.HTML("", elem_id="recording_timeline")
    with gr.Accordion("Correct the split before scoring: move a boundary, relabel a segment", open=True,
                      elem_id="recording_correct_box"):
        gr.Markdown("Edit a start or end time (seconds) to move a boundary, type another test name to relabel a "
                    "segment, delete a row to leave a stretch out. Then apply, and score.")
        table = gr.Dataframe(headers=SEGMENT_HEADERS, value=[], interactive=True, wrap=True,
                             elem_id="recording_segments", column_count=(len(SEGMENT_HEADERS), "fixed"))
        with gr.Row():
            apply_btn = gr.Button("Apply the corrections", elem_id="recording_apply")
            score_btn = gr.Button("Score the screen", variant="primary", elem_id="recording_score")
    result = gr.Markdown("", elem_id="recording_result")
    scorecard = gr.Dataframe(headers=SCORECARD_HEADERS, value=[], interactive=False, wrap=True,
                             label="Scorecard", elem_id="recording_scorecard")

    def problem(message: str) -> str:
        return f"### Could not do that\n\n{esc(public_message(message))}"

    def on_split(rec_path, order_path, use_demo, progress=gr.Progress()):
        progress(0.05, desc="Posing and splitting the recording")
        try:
            folder = stage_recording(rec_path, order_path, cfg.paths, cfg.limits, demo=bool(use_demo))
            view = split_staged(folder)
        except InputError as exc:
            return "", problem(str(exc)), "", gr.update(value=[])
        except Exception:
            log.exception("recording tab: split failed")
            return "", "### Something went wrong inside FormScout while splitting the recording", "", \
                gr.update(value=[])
        return str(view.folder), view.summary_md, view.timeline, gr.update(value=view.rows)

    def on_apply(folder, rows):
        if not folder:
            return problem("split a recording first"), "", gr.update()
        try:
            view = correct_split(Path(folder), rows)
        except InputError as exc:
            return problem(str(exc)), gr.update(), gr.update()
        return view.summary_md, view.timeline, gr.update(value=view.rows)

    def on_score(folder, athlete_id, sex_choice, progress=gr.Progress()):
        if not folder:
            return problem("split a recording first"), gr.update(value=[]), gr.update()
        progress(0.1, desc="Scoring every test of the recording")
        try:
            check_athlete_id(athlete_id)
            sc, seconds, view = score_staged(Path(folder), athlete_id=athlete_id or "", sex=sex_choice or "",
                                             db=cfg.db)
        except InputError as exc:
            return problem(str(exc)), gr.update(value=[]), gr.update()
        except Exception:
            log.exception("recording tab: scoring failed")
            return "### Something went wrong inside FormScout while scoring the recording", gr.update(value=[]), \
                gr.update()
        rep = sc.get("report") or {}
        md = scorecard_markdown(sc, seconds) + (f"\n\nReport: `{Path(rep['html']).name}`" if rep.get("html") else "")
        return md, gr.update(value=scorecard_rows(sc)), view.timeline

    split_btn.click(on_split, [recording, order, demo], [state, summary, timeline, table], concurrency_limit=1)
    apply_btn.click(on_apply, [state, table], [summary, timeline, table], concurrency_limit=1)
    score_btn.click(on_score, [state, athlete, sex], [result, scorecard, timeline], concurrency_limit=1)
