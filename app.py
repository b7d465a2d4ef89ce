"""FormScout app: screen a clip, read the session scorecard, ask why, audit traces, manage the clip library.

    python app.py [--host 127.0.0.1] [--port 7860] [--data DIR] [--max-upload-mb 200] [--workers N] [--verbose]

A thin Gradio layer over agent/ and index/: every score, measurement and
answer on the page comes from `agent.screening.run.screen`,
`agent.screening.session.screen_session`, `agent.chat.answer`, the trace and
the catalog; this file only lays them out. The plain helpers live in
agent/app/ (one job a module: paths, uploads, screening, progress, display,
runs, session, library, chat).

What the page promises a physio: a headline that cannot be misread (not the
asked-for test: no score; a review: "provisional N, physio review" without a
confidence figure; an edited trace: "NOT intact: do not use this result"
everywhere, pickers included); criteria by their physio names with a plain
explanation, sign and unit (knowledge/criterion_names.csv); form fields, never
CLI flags; uploads checked the moment they arrive, with the messages the CLI
gives; screenings in parallel up to `--workers` (default: the CPU cores), the
others told their place in line and the expected wait; progress per step with
frame counts.

Safety: binds 127.0.0.1 unless --host says otherwise; a login is required
when FORMSCOUT_APP_USER and FORMSCOUT_APP_PASSWORD are set; uploads are
limited in size (Gradio refuses bigger files before they are sent) and
checked for type, size, readability and duration; the only folders the page
can read files from are this app's run and session folders (Gradio's
`allowed_paths`) and its own upload cache, all under the app's data folder
($FORMSCOUT_HOME/app, default ~/.formscout/app). Names the browser sends (a
run, a file in a labels CSV) are resolved inside that folder or refused.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from agent.app.chat import ask_about
from agent.app.display import (
    CRITERIA_HEADERS,
    HEADLINE_CLASSES,
    SIMILAR_HEADERS,
    TEST_LABELS,
    criteria_rows,
    esc,
    public_message,
    similar_note,
    similar_rows,
    verdict_markdown,
)
from agent.app.library import add_summary_markdown, search_library
from agent.app.paths import DISCLAIMER, AppLimits, AppPaths
from agent.app.progress import ScreenQueue
from agent.app.runs import list_runs, publish_run, verify_run
from agent.app.screening import (
    ScreenForm,
    athlete_pick_frame,
    check_athlete_id,
    mark_athlete_point,
    run_screening,
)
from agent.app.session import (
    SCORECARD_HEADERS,
    athlete_history,
    run_session,
    scorecard_markdown,
    scorecard_rows,
)
from agent.app.uploads import (
    check_clip_readable,
    stage_demo_session,
    stage_library_upload,
    stage_session_upload,
)
from tools.core.errors import InputError

log = logging.getLogger("formscout.app")

USER_ENV, PASSWORD_ENV = "FORMSCOUT_APP_USER", "FORMSCOUT_APP_PASSWORD"
INTRO = (
    "# FormScout\n"
    "Scores Functional Movement Screen clips 0-3, or asks for a physio review when it cannot stand behind "
    f"a score, and shows its work. *{DISCLAIMER}*"
)
CSS = """
#verdict.verdict-provisional h2 { color: #3949ab; border-left: 6px dashed #3949ab; padding-left: 10px; }
#verdict.verdict-noscore h2 { color: #455a64; border-left: 6px solid #90a4ae; padding-left: 10px; }
#verdict.verdict-broken h2 { color: #fff; background: #b71c1c; padding: 6px 10px; border-radius: 6px; }
#verdict.verdict-score h2 { color: #1b5e20; border-left: 6px solid #2e7d32; padding-left: 10px; }
#upload_note.upload-bad { color: #b71c1c; }
"""


def default_workers() -> int:
    """Screenings run at once: one per CPU core (pose is the heavy step and uses about one core)."""
    return max(1, os.cpu_count() or 1)


@dataclass
class AppConfig:
    """Everything the app needs to know at start."""

    paths: AppPaths
    limits: AppLimits = field(default_factory=AppLimits)
    db: str | None = None                       # catalog file (default: FORMSCOUT_DB / FORMSCOUT_HOME)
    workers: int = field(default_factory=default_workers)
    queue: ScreenQueue | None = None            # built from `workers` when not given
    # Not used by the app's own code: every catalog connection takes the catalog's inter-process lock
    # (index.storage.lock). Kept None for helpers that still accept an extra lock of their own.
    library_lock: threading.Lock | None = None

    def __post_init__(self) -> None:
        if self.queue is None:
            self.queue = ScreenQueue(self.workers)


def _problem(message: str) -> str:
    return f"### Could not do that\n\n{esc(public_message(message))}"


def _bug(what: str) -> str:
    log.exception("app: %s failed", what)
    return (f"### Something went wrong inside FormScout while {what}\n\n"
            "This is a fault in FormScout, not in your clip. It has been written to the app's log; "
            "please try again, and tell whoever runs this app if it happens again.")


def _page(progress):
    """A (fraction, text) callback on Gradio's progress bar."""
    return lambda fraction, text: progress(max(0.0, min(1.0, float(fraction))), desc=text)


# ----- Screen tab --------------------------------------------------------------------------------------------------
def _screen_tab(cfg: AppConfig, current):
    import gradio as gr

    from tools.core.fms import BILATERAL, TESTS

    gr.Markdown("Film one test, upload it, choose the test, and screen it. Pain is what the athlete reports: "
                "it always gives 0.")
    with gr.Row():
        with gr.Column(scale=1):
            clip = gr.File(label=f"Clip: one FMS test (mp4, mov, m4v, avi, mkv, webm or a skeleton .npz; "
                                 f"up to {cfg.limits.max_upload_mb:g} MB, {cfg.limits.max_clip_s:g} s)",
                           file_count="single", type="filepath", elem_id="clip_upload")
            upload_note = gr.Markdown("", elem_id="upload_note")
            use_demo = gr.Checkbox(label="Use the demo clip instead (rendered deep squat, synthetic athlete)",
                                   value=False, elem_id="use_demo")
            test = gr.Dropdown(choices=[(TEST_LABELS[t], t) for t in TESTS], value="deep_squat", label="Test",
                               elem_id="test")
            side = gr.Radio(choices=[("Detect from the movement", "detect"), ("Left", "L"), ("Right", "R")],
                            value="detect", label="Side (leg that steps, front leg, arm on top, raised leg...)",
                            visible=False, elem_id="side")
            heels = gr.Radio(choices=[("Not stated (taken as flat)", "auto"), ("Heels raised on a board", "yes"),
                                      ("Heels flat", "no")], value="auto", label="Deep squat: heels",
                             elem_id="heels")
            pain = gr.Checkbox(label="The athlete reported pain during this test (score 0)", value=False,
                               elem_id="pain")
            athlete = gr.Textbox(label="Athlete id (optional; files the run under this athlete)",
                                 placeholder="e.g. ATH-0012", elem_id="athlete")
            with gr.Accordion("Other people in the frame? Click on the athlete", open=False,
                              elem_id="pick_accordion"):
                gr.Markdown("Optional. FormScout picks the person doing the test by itself and asks for review "
                            "when it cannot tell. Click on the athlete in the first frame to decide for it.")
                pick_img = gr.Image(label="First frame: click on the athlete", type="filepath",
                                    interactive=False, elem_id="pick_frame")
                pick_note = gr.Markdown("No athlete picked: FormScout chooses.", elem_id="pick_note")
                pick_clear = gr.Button("Clear the pick", elem_id="pick_clear")
            go = gr.Button("Screen the clip", variant="primary", elem_id="screen_button")
        with gr.Column(scale=2):
            verdict_md = gr.Markdown("Results appear here.", elem_id="verdict")
            criteria = gr.Dataframe(headers=CRITERIA_HEADERS, value=[], label="Criteria: measured against the "
                                    "value that passes (what each measures, its sign and unit on the right)",
                                    interactive=False, wrap=True, elem_id="criteria",
                                    column_widths=["20%", "11%", "13%", "8%", "7%", "41%"])
    with gr.Row():
        with gr.Column():
            overlay = gr.Video(label="Skeleton overlay (deciding angle drawn on the deciding frame)",
                               interactive=False, elem_id="overlay")
            jump = gr.Button("Jump to the deciding frame", visible=False, elem_id="jump_button")
        frame_img = gr.Image(label="Deciding frame", type="filepath", interactive=False, elem_id="deciding_frame")
    similar_md = gr.Markdown("", elem_id="similar_note")
    similar = gr.Dataframe(headers=SIMILAR_HEADERS, value=[], label="Similar physio-scored clips (nearest in "
                           "motion: context for the physio, not a vote on the score)",
                           interactive=False, wrap=True, elem_id="similar")
    files = gr.File(label="Run files (verdict, trace, angles, overlay)", file_count="multiple",
                    interactive=False, elem_id="run_files")
    deciding_t = gr.State(None)
    pick_point = gr.State(None)     # (x, y) px on the first frame, or None
    pick_frame = gr.State(None)     # the clean first-frame PNG the click is drawn on
    no_pick = "No athlete picked: FormScout chooses."

    def on_clip(clip_path, demo):
        """Checked the moment it arrives: type, size, readable, duration (the CLI's own messages)."""
        note = ""
        if clip_path and not demo:
            try:
                checked = check_clip_readable(clip_path, cfg.limits)
            except InputError as exc:
                return None, None, None, no_pick, gr.update(value=_problem(str(exc)), elem_classes=["upload-bad"])
            note = f"{esc(checked.name)} is ready to screen."
        try:
            png = athlete_pick_frame(clip_path, bool(demo), cfg.limits, cfg.paths.staging) \
                if (clip_path or demo) else None
        except InputError:
            return None, None, None, no_pick, gr.update(value=note, elem_classes=[])
        pick = no_pick if png or not clip_path else "A skeleton file has no picture to click on: the athlete is " \
                                                    "already chosen."
        return (str(png) if png else None), (str(png) if png else None), None, pick, \
            gr.update(value=note, elem_classes=[])

    def on_pick(frame_png, evt: gr.SelectData):
        if not frame_png or evt.index is None:
            return gr.update(), None, no_pick
        x, y = (float(v) for v in evt.index[:2])
        marked = mark_athlete_point(frame_png, (x, y))
        return str(marked), (x, y), f"Athlete picked at x={x:.0f}, y={y:.0f} px on the first frame."
    # gradio finds the click data by the annotation; with postponed annotations and a local `gr` it cannot
    # resolve the string, so give it the class itself
    on_pick.__annotations__["evt"] = gr.SelectData

    clip.change(on_clip, [clip, use_demo], [pick_img, pick_frame, pick_point, pick_note, upload_note])
    use_demo.change(on_clip, [clip, use_demo], [pick_img, pick_frame, pick_point, pick_note, upload_note])
    pick_img.select(on_pick, pick_frame, [pick_img, pick_point, pick_note])
    pick_clear.click(lambda f: (f, None, no_pick), pick_frame, [pick_img, pick_point, pick_note])

    def on_test(t):
        return gr.update(visible=t in BILATERAL), gr.update(visible=t == "deep_squat")

    test.change(on_test, test, [side, heels])

    def on_screen(clip_path, demo, test_name, side_choice, pain_flag, heels_choice, athlete_id, point, state,
                  progress=gr.Progress()):
        empty = ([], None, gr.update(visible=False), None, "", [], None, None)
        form = ScreenForm(clip_path=clip_path, use_demo=bool(demo), test=test_name,
                          side=side_choice if (test_name in BILATERAL and side_choice in ("L", "R")) else None,
                          pain=bool(pain_flag), heels_raised=heels_choice or "auto", athlete_id=athlete_id or "",
                          athlete_point=tuple(point) if point else None)
        progress(0.0, desc="Checking the clip")
        try:
            out = run_screening(form, cfg.paths, cfg.limits, db=cfg.db, progress=_page(progress), queue=cfg.queue)
        except InputError as exc:
            return (gr.update(value=_problem(str(exc)), elem_classes=[]), *empty, state)
        except Exception:  # noqa: BLE001 - the page says what happened; the log keeps the traceback
            return (gr.update(value=_bug("screening the clip"), elem_classes=[]), *empty, state)
        v = out.verdict
        from tools.report.headline import headline
        kind = headline(v).kind
        art = v["artifacts"]
        t = v.get("deciding_time_s")
        jump_update = gr.update(visible=t is not None,
                                value=f"Jump to the deciding frame ({v.get('deciding_frame')}, {float(t):.2f} s)"
                                if t is not None else "Jump to the deciding frame")
        run_files = [p for p in (art.get("verdict_json"), art.get("trace_json"), art.get("angles_csv"),
                                 art.get("overlay_mp4")) if p and Path(p).is_file()]
        from agent.app.runs import read_run
        info = read_run(out.run_dir)
        new_state = {"run_name": out.run_name, "run_id": v["run_id"], "test": v["test"], "side": v["side"],
                     "athlete_id": form.athlete_id.strip(), "title": info.title if info else out.run_name,
                     "deciding_frame_png": art.get("deciding_frame_png")}
        return (gr.update(value=verdict_markdown(v, out.seconds), elem_classes=[HEADLINE_CLASSES[kind]]),
                criteria_rows(v), art.get("overlay_mp4"), jump_update, art.get("deciding_frame_png"),
                similar_note(out.similar, out.similar_note), similar_rows(out.similar), run_files or None, t,
                new_state)

    # no Gradio limit here: cfg.queue admits `workers` screenings at once and tells the others their place
    go.click(on_screen, [clip, use_demo, test, side, pain, heels, athlete, pick_point, current],
             [verdict_md, criteria, overlay, jump, frame_img, similar_md, similar, files, deciding_t, current],
             concurrency_limit=None)
    jump.click(lambda t: gr.update(playback_position=float(t)) if t is not None else gr.update(),
               deciding_t, overlay)


# ----- Session tab ---------------------------------------------------------------------------------------------
def _session_tab(cfg: AppConfig):
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
            return _problem(str(exc)), gr.update(value=[])
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
            with cfg.queue.slot(on_wait=_page(progress)):
                out = run_session(folder, athlete_id=athlete_id or "", sex=sex_choice or "", pdf=bool(want_pdf),
                                  db=cfg.db, progress=_page(progress))
        except InputError as exc:
            return (_problem(str(exc)), *empty)
        except Exception:  # noqa: BLE001 - the page says what happened; the log keeps the traceback
            return (_bug("scoring the session"), *empty)
        sc = out.scorecard
        rep = sc.get("report") or {}
        report_files = [p for p in (rep.get("html"), rep.get("pdf"), str(out.folder / "out" / "session.json"))
                        if p and Path(p).is_file()]
        frame = _page_frame(rep.get("html"), "Session report") if rep.get("html") else ""
        note, hist = show_history(athlete_id) if athlete_id else ("", gr.update(value=[]))
        return scorecard_markdown(sc, out.seconds), scorecard_rows(sc), frame, report_files or None, note, hist

    go.click(on_session, [manifest, clips, demo, athlete, sex, pdf],
             [summary, table, report, files, history_note, history], concurrency_limit=None)
    history_btn.click(show_history, athlete, [history_note, history])


def _page_frame(path: str, title: str) -> str:
    """An HTML page of the app's data folder shown in a sandboxed frame (scripts off), with a link to open it."""
    from urllib.parse import quote
    url = f"gradio_api/file={quote(str(path))}"
    return (f'<p><a href="{url}" target="_blank" rel="noopener">Open the {esc(title.lower())} in a new tab</a></p>'
            f'<iframe src="{url}" title="{esc(title)}" sandbox="" '
            'style="width:100%;height:720px;border:1px solid #d0d5dc;border-radius:8px;background:#fff"></iframe>')


# ----- Ask tab -------------------------------------------------------------------------------------------------
def _ask_tab(cfg: AppConfig, current):
    import gradio as gr

    from agent.chat.intents import can_answer

    gr.Markdown("Ask about a screening run: why it got its score, why it went to review, whether the clip is the "
                "test that was asked for, what to film next, left against right, what changed since an earlier "
                "screen, or what a criterion means. Answers come only from the run's trace and the knowledge "
                "base; when a question cannot be answered from the record, the chat says what it can answer.")
    context = gr.Markdown("Not bound to a run yet: screen a clip, pick a run, or type an athlete id.",
                          elem_id="ask_context")
    with gr.Row():
        run = gr.Dropdown(choices=[("An athlete's latest runs (type the id)", "")], value="",
                          label="Run", elem_id="ask_run", scale=3)
        athlete = gr.Textbox(label="Athlete id", placeholder="e.g. ATH-0012", elem_id="ask_athlete", scale=2)
        refresh = gr.Button("Refresh runs", elem_id="ask_refresh", scale=1)
    chat = gr.Chatbot(label="FormScout", height=460, elem_id="chat", buttons=["copy"])
    with gr.Row():
        question = gr.Textbox(label="Question", placeholder="e.g. why this score? is this even a deep squat? "
                              "what should I film next?", elem_id="question", scale=5)
        send = gr.Button("Ask", variant="primary", elem_id="ask_button", scale=1)
    gr.Markdown(f"<small>{esc(can_answer())}</small>", elem_id="ask_scope")
    log_state = gr.State([])

    def run_choices(selected=""):
        choices = [("An athlete's latest runs (type the id)", "")] + \
            [(r.label(), r.name) for r in list_runs(cfg.paths)]
        names = {c[1] for c in choices}
        return gr.update(choices=choices, value=selected if selected in names else "")

    def describe(run_name, athlete_id):
        """What the chat is bound to, by the run's one name (and whether its trace is intact)."""
        if run_name:
            from agent.app.runs import read_run
            try:
                info = read_run(cfg.paths.run_dir(run_name))
            except InputError as exc:
                return _problem(str(exc))
            if info is None:
                return "That run has no readable trace; pick another."
            if not info.intact:
                return f"Talking about {esc(info.title)}: **NOT intact: do not use this result**."
            return f"Talking about {esc(info.title)}."
        if str(athlete_id or "").strip():
            return f"Talking about the latest runs of athlete {esc(athlete_id.strip())} (name the test and side)."
        return "Not bound to a run yet: screen a clip, pick a run, or type an athlete id."

    def bind(state):
        if not state or not state.get("run_name"):
            return gr.skip(), gr.skip(), gr.skip()
        return describe(state["run_name"], ""), run_choices(state["run_name"]), state.get("athlete_id", "")

    def messages(turns):
        out = []
        for role, kind, value in turns:
            out.append({"role": role, "content": gr.Image(value=value, label="Deciding frame", height=300)
                        if kind == "image" else value})
        return out

    def on_ask(q, turns, run_name, athlete_id):
        turns = list(turns or [])
        if not str(q or "").strip():
            return messages(turns), turns, q
        turns.append(("user", "text", str(q)))
        try:
            reply = ask_about(q, cfg.paths, athlete_id=athlete_id or "", run_name=run_name or "", db=cfg.db)
            turns.append(("assistant", "text", reply.text))
            if reply.frame_png:
                turns.append(("assistant", "image", reply.frame_png))
        except InputError as exc:
            turns.append(("assistant", "text", public_message(str(exc))))
        except Exception:  # noqa: BLE001 - the page says what happened; the log keeps the traceback
            log.exception("app: answering a question failed")
            turns.append(("assistant", "text", "Something went wrong inside FormScout while answering; it has "
                                               "been logged. Please try again."))
        return messages(turns), turns, ""

    current.change(bind, current, [context, run, athlete])
    run.change(describe, [run, athlete], context)
    athlete.change(describe, [run, athlete], context)
    refresh.click(lambda r: run_choices(r), run, run)
    send.click(on_ask, [question, log_state, run, athlete], [chat, log_state, question])
    question.submit(on_ask, [question, log_state, run, athlete], [chat, log_state, question])
    return run, run_choices


# ----- Traces tab ----------------------------------------------------------------------------------------------
def _traces_tab(cfg: AppConfig):
    import gradio as gr

    gr.Markdown("Every screening run leaves a hash-chained trace: each tool call, its arguments, results and "
                "files, what the brain said, and the verdict. Verify proves it has not been edited since the run; "
                "the published page is one self-contained file a colleague or a judge can read.")
    with gr.Row():
        runs = gr.Dropdown(choices=[], label="Run", elem_id="trace_run", scale=4)
        refresh = gr.Button("Refresh list", elem_id="trace_refresh", scale=1)
    with gr.Row():
        verify_btn = gr.Button("Verify the trace", elem_id="trace_verify")
        publish_btn = gr.Button("Open as a published page", elem_id="trace_publish")
    result = gr.Markdown("", elem_id="trace_result")
    page = gr.HTML("", elem_id="trace_page")
    page_file = gr.File(label="Published page", interactive=False, elem_id="trace_page_file")

    def choices():
        return gr.update(choices=[(r.label(), r.name) for r in list_runs(cfg.paths)])

    def on_verify(name):
        try:
            problems = verify_run(cfg.paths, name)
        except InputError as exc:
            return _problem(str(exc))
        if not problems:
            return (f"**Trace intact**: the schema is valid and every step and the verdict match their hashes "
                    f"({esc(name)}).")
        return ("**Trace NOT intact: do not use this result** (changed after the run):\n\n"
                + "\n".join(f"- {esc(p)}" for p in problems))

    def on_publish(name):
        try:
            problems = verify_run(cfg.paths, name)
            out = publish_run(cfg.paths, name)
        except InputError as exc:
            return _problem(str(exc)), "", None
        except Exception:  # noqa: BLE001
            return _bug("publishing the trace"), "", None
        state = "intact" if not problems else "**NOT intact: do not use this result**"
        return (f"Published {esc(name)} (trace {state}): {out.stat().st_size / 1024:.0f} kB, self-contained.",
                _page_frame(str(out), "Published trace"), str(out))

    refresh.click(choices, None, runs)
    verify_btn.click(on_verify, runs, result)
    publish_btn.click(on_publish, runs, [result, page, page_file])
    return runs, choices


# ----- Library tab ---------------------------------------------------------------------------------------------
def _library_tab(cfg: AppConfig):
    import gradio as gr

    from index.library.api import Library
    from tools.core.fms import TESTS

    stats_md = gr.Markdown("", elem_id="library_stats")

    def stats() -> str:
        try:
            with Library(cfg.db) as lib:
                s = lib.stats()
        except InputError as exc:
            return _problem(str(exc))
        per_test = ", ".join(f"{TEST_LABELS.get(t, t)} {d['clips']}" for t, d in s["tests"].items()) or "none"
        return (f"**Library:** {s['clips']} physio-scored clips ({s['synthetic_clips']} synthetic) of "
                f"{s['athletes']} athletes; {s['passages']} rubric passages; {s['runs']} screening runs. "
                f"Clips per test: {per_test}.")

    with gr.Accordion("Add labelled clips", open=True):
        gr.Markdown("Upload the physio's labels CSV (clip_id, athlete_id, date, test_name, side, score, pain, "
                    "compensation_notes, camera_view, consent_on_file) and the clip files it names "
                    "(`<clip_id>.mp4` or `<clip_id>.npz`). Rows without consent on file are refused and never opened. "
                    "Only skeletons are stored unless you ask to keep the videos.")
        with gr.Row():
            labels_csv = gr.File(label="Labels CSV", file_count="single", type="filepath", elem_id="labels_csv")
            clip_files = gr.File(label="Clip files", file_count="multiple", type="filepath", elem_id="label_clips")
        keep_video = gr.Checkbox(label="Keep a copy of the raw videos (default: skeletons only)", value=False)
        add_btn = gr.Button("Add to the library", variant="primary", elem_id="add_button")
        add_result = gr.Markdown("", elem_id="add_result")

    def on_add(csv_path, files, keep, progress=gr.Progress()):
        try:
            folder = stage_library_upload(csv_path, files, cfg.paths, cfg.limits)
        except InputError as exc:
            return _problem(str(exc)), stats()
        try:
            with Library(cfg.db) as lib:
                summary = lib.add_labels(folder / "labels.csv", folder / "clips", keep_video=bool(keep),
                                         progress=lambda done, total: progress((done, total), desc="adding clips"))
            return add_summary_markdown(summary.to_dict()), stats()
        except InputError as exc:
            return _problem(str(exc)), stats()
        except Exception:  # noqa: BLE001
            return _bug("adding the clips"), stats()
        finally:
            import shutil
            shutil.rmtree(folder, ignore_errors=True)

    add_btn.click(on_add, [labels_csv, clip_files, keep_video], [add_result, stats_md], concurrency_limit=1)

    with gr.Accordion("Search the library", open=False):
        with gr.Row():
            query_id = gr.Textbox(label="Clip id in the library", elem_id="search_clip_id")
            query_file = gr.File(label="...or a clip / skeleton to compare", file_count="single", type="filepath",
                                 elem_id="search_file")
        with gr.Row():
            s_test = gr.Dropdown(choices=[("Any test", "")] + [(TEST_LABELS[t], t) for t in TESTS], value="",
                                 label="Test")
            s_side = gr.Radio(choices=[("Any", ""), ("Left", "L"), ("Right", "R")], value="", label="Side")
            s_k = gr.Slider(1, 20, value=5, step=1, label="How many")
        search_btn = gr.Button("Find similar clips", elem_id="search_button")
        search_note = gr.Markdown("", elem_id="search_note")
        search_table = gr.Dataframe(headers=SIMILAR_HEADERS, value=[], interactive=False, wrap=True,
                                    elem_id="search_results")
        passage_q = gr.Textbox(label="Search the rubric passages", placeholder="e.g. heels rise in the deep squat",
                               elem_id="passage_query")
        with gr.Row():
            passage_btn = gr.Button("Search passages", elem_id="passage_button")
            sync_btn = gr.Button("Index the rubric passages (after an update of the knowledge base)",
                                 elem_id="passage_sync")
        passage_note = gr.Markdown("", elem_id="passage_note")
        passage_table = gr.Dataframe(headers=["Similarity", "Passage id", "Title", "Text"], value=[],
                                     column_widths=["9%", "27%", "19%", "45%"],
                                     interactive=False, wrap=True, elem_id="passage_results")

    def on_search(clip_id, file_path, test_name, side_name, k):
        try:
            hits, note = search_library(clip_id, file_path, cfg.limits, test=test_name or None,
                                        side=side_name or None, k=int(k), db=cfg.db)
        except InputError as exc:
            return _problem(str(exc)), []
        return similar_note(hits, note), similar_rows(hits)

    def on_passages(text):
        try:
            with Library(cfg.db, read_only=True) as lib:
                if lib.catalog.stats()["passages"] == 0:
                    return "No rubric passages indexed yet: press 'Index the rubric passages' first.", []
                res = lib.search_passages(text or "", k=8)
        except InputError as exc:
            return _problem(str(exc)), []
        return f"{len(res.hits)} passages ({res.embedder} {res.embedder_version})", \
            [[f"{h.similarity:.3f}", h.passage_id, h.title or "", h.text] for h in res.hits]

    def on_sync():
        from knowledge.passages import load_passages
        try:
            with Library(cfg.db) as lib:
                out = lib.sync_passages(load_passages())
        except InputError as exc:
            return _problem(str(exc)), stats()
        return (f"Rubric passages: {out['added']} added, {out['removed']} removed, {out['unchanged']} unchanged "
                f"({esc(out['embedder'])} {esc(out['embedder_version'])})."), stats()

    search_btn.click(on_search, [query_id, query_file, s_test, s_side, s_k], [search_note, search_table])
    passage_btn.click(on_passages, passage_q, [passage_note, passage_table])
    passage_q.submit(on_passages, passage_q, [passage_note, passage_table])
    sync_btn.click(on_sync, None, [passage_note, stats_md], concurrency_limit=1)

    with gr.Accordion("Erase an athlete", open=False):
        gr.Markdown("Removes every clip, skeleton, vector, run, trace and overlay of one athlete. "
                    "This cannot be undone.")
        erase_id = gr.Textbox(label="Athlete id", elem_id="erase_athlete")
        erase_check = gr.Button("Show what would be erased", elem_id="erase_check")
        erase_plan = gr.Markdown("", elem_id="erase_plan")
        with gr.Row(visible=False) as confirm_row:
            erase_confirm = gr.Button("Yes, erase permanently", variant="stop", elem_id="erase_confirm")
            erase_cancel = gr.Button("Cancel", elem_id="erase_cancel")
        pending = gr.State("")

    def on_erase_check(athlete_id):
        try:
            aid = check_athlete_id(athlete_id)
            if not aid:
                raise InputError("Type the athlete id to erase.")
            with Library(cfg.db) as lib:
                clips = lib.catalog.clips_of_athlete(aid)
                runs = lib.catalog.runs(aid)
                known = lib.catalog.athlete(aid) is not None
        except InputError as exc:
            return _problem(str(exc)), gr.update(visible=False), ""
        if not clips and not runs and not known:
            return (_problem(f"No clips or runs of athlete {aid} in the library; check the id."),
                    gr.update(visible=False), "")
        plan = (f"**Erase athlete {esc(aid)}?** {len(clips)} clips (with their skeletons and vectors) and "
                f"{len(runs)} screening runs (traces, overlays, angle files) will be deleted for good.")
        return plan, gr.update(visible=True), aid

    def on_erase(aid):
        if not aid:
            return _problem("Nothing to erase: check an athlete id first."), gr.update(visible=False), "", stats()
        try:
            with Library(cfg.db) as lib:
                rep = lib.erase_athlete(aid)
        except InputError as exc:
            return _problem(str(exc)), gr.update(visible=False), "", stats()
        _drop_empty_run_folders(cfg.paths)
        rows = ", ".join(f"{k} {v}" for k, v in rep.rows.items())
        return (f"**Erased athlete {esc(aid)}**: rows {esc(rows)}; {len(rep.files)} files removed. Copies this "
                "page displayed leave the app's display cache within the hour.",
                gr.update(visible=False), "", stats())

    erase_check.click(on_erase_check, erase_id, [erase_plan, confirm_row, pending])
    erase_confirm.click(on_erase, pending, [erase_plan, confirm_row, pending, stats_md], concurrency_limit=1)
    erase_cancel.click(lambda: ("Nothing was erased.", gr.update(visible=False), ""), None,
                       [erase_plan, confirm_row, pending])
    return stats_md, stats


def _drop_empty_run_folders(paths: AppPaths) -> None:
    """Run folders whose files an erasure removed are removed too (only empty ones, only under runs/)."""
    for folder in sorted(paths.runs.glob("*/**/"), key=lambda p: len(p.parts), reverse=True) + \
            list(paths.runs.glob("*")):
        if folder.is_dir() and paths.contains(folder) and not any(folder.iterdir()):
            folder.rmdir()


def _drop_empty_run_folders(paths: AppPaths) -> None:
    """Run folders whose files an erasure removed are removed too (only empty ones, only under runs/)."""
    for folder in sorted(paths.runs.glob("*/**/"), key=lambda p: len(p.parts), reverse=True) + \
            list(paths.runs.glob("*")):
        if folder.is_dir() and paths.contains(folder) and not any(folder.iterdir()):
            folder.rmdir()


# ----- the app -------------------------------------------------------------------------------------------------
def build_app(cfg: AppConfig):
    """The Gradio Blocks of the app (not launched)."""
    import gradio as gr

    cfg.paths.ensure()
    # copies of files shown on the page (overlays, frames) and raw uploads leave Gradio's cache within the hour
    with gr.Blocks(title="FormScout", analytics_enabled=False, delete_cache=(900, 3600)) as demo:
        gr.Markdown(INTRO, elem_id="intro")
        current = gr.State({})
        with gr.Tabs():
            with gr.Tab("Screen a clip", id="screen"):
                _screen_tab(cfg, current)
            with gr.Tab("Session scorecard", id="session"):
                _session_tab(cfg)
            with gr.Tab("Recording", id="recording"):      # a whole screen in one take (agent/app/recording.py)
                from agent.app.recording import recording_tab
                recording_tab(cfg)
            with gr.Tab("Ask", id="ask"):
                ask_run, ask_choices = _ask_tab(cfg, current)
            with gr.Tab("Traces", id="traces"):
                runs, run_choices = _traces_tab(cfg)
            with gr.Tab("Library", id="library"):
                stats_md, stats = _library_tab(cfg)
        demo.load(run_choices, None, runs)
        demo.load(ask_choices, None, ask_run)
        demo.load(stats, None, stats_md)
    return demo


def launch_kwargs(cfg: AppConfig, host: str, port: int | None) -> dict:
    """Arguments for Blocks.launch: bind address, login, upload limit, the only folders files are served from."""
    import gradio as gr
    user, password = os.environ.get(USER_ENV, ""), os.environ.get(PASSWORD_ENV, "")
    if bool(user) != bool(password):
        raise InputError(f"set both {USER_ENV} and {PASSWORD_ENV} to require a login, or neither")
    return dict(server_name=host, server_port=port, share=False, auth=(user, password) if user else None,
                auth_message="FormScout: sign in to screen clips." if user else None,
                max_file_size=cfg.limits.max_upload_bytes,
                allowed_paths=[str(cfg.paths.runs), str(cfg.paths.sessions)],
                theme=gr.themes.Soft(primary_hue="teal", neutral_hue="slate"), css=CSS,
                footer_links=["settings"], ssr_mode=False, show_error=False)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python app.py", description="FormScout app (Gradio). " + DISCLAIMER)
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=None, help="port (default 7860, or GRADIO_SERVER_PORT)")
    p.add_argument("--data", default="", help="the app's data folder (default $FORMSCOUT_HOME/app, "
                                               "FORMSCOUT_HOME defaulting to ~/.formscout)")
    p.add_argument("--db", default="", help="library catalog (default $FORMSCOUT_DB or $FORMSCOUT_HOME/formscout.duckdb)")
    p.add_argument("--max-upload-mb", type=float, default=AppLimits.max_upload_mb, help="largest upload (MB)")
    p.add_argument("--max-clip-s", type=float, default=AppLimits.max_clip_s, help="longest clip screened (s)")
    p.add_argument("--workers", type=int, default=default_workers(),
                   help="screenings at once (default: the CPU cores); the others wait in line, told their place")
    p.add_argument("--verbose", action="store_true", help="log every step (default: warnings and the app's own lines)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from tools.core.quiet import quiet_native_logs
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    quiet_native_logs(verbose=args.verbose)
    log.setLevel(logging.INFO)
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    if args.workers < 1:
        print("app.py: error: --workers must be 1 or more", file=sys.stderr)
        return 2
    if args.db:
        # screening (retrieval), the chat and the library all read the catalog named here
        os.environ["FORMSCOUT_DB"] = str(Path(args.db).expanduser().resolve())
    paths = AppPaths.default(args.data or None).ensure()
    # Gradio's upload cache inside the app's data folder (read when the app is built)
    os.environ.setdefault("GRADIO_TEMP_DIR", str(paths.uploads))
    cfg = AppConfig(paths=paths, limits=AppLimits(max_upload_mb=args.max_upload_mb, max_clip_s=args.max_clip_s),
                    db=os.environ.get("FORMSCOUT_DB") or None, workers=args.workers)
    try:
        kwargs = launch_kwargs(cfg, args.host, args.port)
    except InputError as exc:
        print(f"app.py: error: {exc}", file=sys.stderr)
        return 2
    if args.host not in ("127.0.0.1", "localhost", "::1") and kwargs["auth"] is None:
        log.warning("binding %s without a login: anyone who can reach this address can use the app "
                    "(set %s and %s)", args.host, USER_ENV, PASSWORD_ENV)
    demo = build_app(cfg)
    log.info("FormScout app: data folder %s, catalog %s, %d screening(s) at once", paths.root, cfg.db or "default",
             cfg.workers)
    # library writes stay one at a time (concurrency_limit=1 on those events); screenings pass the app's own queue
    demo.queue(default_concurrency_limit=max(2, cfg.workers)).launch(**kwargs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
