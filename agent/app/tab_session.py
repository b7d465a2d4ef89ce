"""The app's Session tab: several clips of one athlete, the scorecard and its history."""
from __future__ import annotations

import logging
from pathlib import Path

from agent.app.config import AppConfig
from agent.app.messages import bug, page_frame, page_progress, problem
from agent.app.screening import check_athlete_id
from agent.app.session import (
    SCORECARD_HEADERS,
    athlete_history,
    run_session,
    scorecard_markdown,
    scorecard_rows,
)
from agent.app.uploads import stage_demo_session, stage_session_upload
from tools.core.errors import InputError

log = logging.getLogger("formscout.app")


def session_tab(cfg: AppConfig):
    import gradio as gr

    gr.Markdown("Score an athlete's whole screen: the seven tests (left and right where they have sides), the "
                "composite 0-21 (lower of left and right counts), asymmetries and clearing tests, with an HTML and "
                "PDF report. Upload the session manifest (a CSV with the columns clip, test, side, pain, "
                "clearing pain, heels raised and hand length in metres) and the clip files it names.")
    with gr.Row():
        with gr.Column():
            manifest = gr.File(label="Session manifest (CSV)", file_count="single", type="filepath",
                               elem_id="session_manifest")
            clips = gr.File(label="Clip files the manifest names", file_count="multiple", type="filepath",
                            elem_id="session_clips")
            demo = gr.Checkbox(label="Use a demo session instead (synthetic athlete, every test, skeletons)",
                               value=False, elem_id="session_demo")
        with gr.Column():
            athlete = gr.Textbox(label="Athlete id (files every run under this athlete, for the history)",
                                 placeholder="e.g. ATH-0012", elem_id="session_athlete")
            sex = gr.Radio(choices=[("Not given", ""), ("Male", "M"), ("Female", "F")], value="",
                           label="Sex (sets the push-up hand levels; not given: push-up goes to review)",
                           elem_id="session_sex")
            pdf = gr.Checkbox(label="Also write the PDF report", value=True, elem_id="session_pdf")
            go = gr.Button("Score the session", variant="primary", elem_id="session_button")
    summary = gr.Markdown("The scorecard appears here.", elem_id="session_summary")
    table = gr.Dataframe(headers=SCORECARD_HEADERS, value=[], label="Scorecard", interactive=False, wrap=True,
                         elem_id="session_table")
    report = gr.HTML("", elem_id="session_report")
    files = gr.File(label="Report files", file_count="multiple", interactive=False, elem_id="session_files")
    with gr.Accordion("History across dates (from the catalog)", open=True):
        history_btn = gr.Button("Show the athlete's history", elem_id="history_button")
        history_note = gr.Markdown("", elem_id="history_note")
        history = gr.Dataframe(value=[], interactive=False, wrap=True, elem_id="session_history")

    def show_history(athlete_id):
        try:
            headers, rows = athlete_history(athlete_id, cfg.db)
        except InputError as exc:
            return problem(str(exc)), gr.update(value=[])
        if not rows:
            return "No runs filed for this athlete yet (give an athlete id when screening).", gr.update(value=[])
        note = (f"{len(headers) - 2} screening date(s); earliest is the baseline. A score under a physio-review "
                "flag reads 'provisional'. Scores are per run; the composite is on each session's report.")
        return note, gr.update(value={"headers": headers, "data": rows})

    def on_session(manifest_path, clip_paths, use_demo, athlete_id, sex_choice, want_pdf, progress=gr.Progress()):
        empty = ([], "", None, "", gr.update(value=[]))
        progress(0.0, desc="Checking the manifest")
        try:
            check_athlete_id(athlete_id)
            folder = stage_demo_session(cfg.paths) if use_demo else \
                stage_session_upload(manifest_path, clip_paths, cfg.paths, cfg.limits)
            with cfg.queue.slot(on_wait=page_progress(progress)):
                out = run_session(folder, athlete_id=athlete_id or "", sex=sex_choice or "", pdf=bool(want_pdf),
                                  db=cfg.db, progress=page_progress(progress))
        except InputError as exc:
            return (problem(str(exc)), *empty)
        except Exception:  # noqa: BLE001 - the page says what happened; the log keeps the traceback
            return (bug("scoring the session"), *empty)
        sc = out.scorecard
        rep = sc.get("report") or {}
        report_files = [p for p in (rep.get("html"), rep.get("pdf"), str(out.folder / "out" / "session.json"))
                        if p and Path(p).is_file()]
        frame = page_frame(rep.get("html"), "Session report") if rep.get("html") else ""
        note, hist = show_history(athlete_id) if athlete_id else ("", gr.update(value=[]))
        return scorecard_markdown(sc, out.seconds), scorecard_rows(sc), frame, report_files or None, note, hist

    go.click(on_session, [manifest, clips, demo, athlete, sex, pdf],
             [summary, table, report, files, history_note, history], concurrency_limit=None)
    history_btn.click(show_history, athlete, [history_note, history])
