"""The app's Screen tab: one clip, its verdict, criteria, overlay and similar clips."""
from __future__ import annotations

import logging
from pathlib import Path

from agent.app.config import AppConfig
from agent.app.display import (
    CRITERIA_HEADERS,
    HEADLINE_CLASSES,
    SIMILAR_HEADERS,
    TEST_LABELS,
    criteria_rows,
    esc,
    similar_note,
    similar_rows,
    verdict_markdown,
)
from agent.app.messages import bug, page_progress, problem
from agent.app.screening import (
    ScreenForm,
    athlete_pick_frame,
    mark_athlete_point,
    run_screening,
)
from agent.app.uploads import check_clip_readable
from tools.core.errors import InputError

log = logging.getLogger("formscout.app")


def screen_tab(cfg: AppConfig, current):
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
            with gr.Accordion("Filmed the same repetition from a second view? (optional)", open=False,
                              elem_id="side_clip_accordion"):
                gr.Markdown("A second phone on the other side of the athlete (say the side, when the clip above is "
                            "the front): each criterion is then judged from the view that measures it, and the "
                            "criteria table says which clip decided it.")
                side_clip = gr.File(label="Second view: the same repetition", file_count="single", type="filepath",
                                    elem_id="side_clip_upload")
                side_clip_note = gr.Markdown("", elem_id="side_clip_note")
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
                return None, None, None, no_pick, gr.update(value=problem(str(exc)), elem_classes=["upload-bad"])
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

    def on_side_clip(path):
        """The second view is checked on arrival, like the clip; a bad one is taken off the form (so another
        can be dropped in), with the reason left beside it."""
        if not path:
            return gr.update(value="", elem_classes=[]), gr.update()
        try:
            checked = check_clip_readable(path, cfg.limits)
        except InputError as exc:
            return gr.update(value=problem(str(exc)), elem_classes=["upload-bad"]), gr.update(value=None)
        return gr.update(value=f"{esc(checked.name)} is ready as the second view.", elem_classes=[]), gr.update()

    side_clip.upload(on_side_clip, side_clip, [side_clip_note, side_clip])
    side_clip.clear(lambda: gr.update(value="", elem_classes=[]), None, side_clip_note)
    clip.change(on_clip, [clip, use_demo], [pick_img, pick_frame, pick_point, pick_note, upload_note])
    use_demo.change(on_clip, [clip, use_demo], [pick_img, pick_frame, pick_point, pick_note, upload_note])
    pick_img.select(on_pick, pick_frame, [pick_img, pick_point, pick_note])
    pick_clear.click(lambda f: (f, None, no_pick), pick_frame, [pick_img, pick_point, pick_note])

    def on_test(t):
        return gr.update(visible=t in BILATERAL), gr.update(visible=t == "deep_squat")

    test.change(on_test, test, [side, heels])

    def on_screen(clip_path, demo, test_name, side_choice, pain_flag, heels_choice, athlete_id, point, second,
                  state, progress=gr.Progress()):
        empty = ([], None, gr.update(visible=False), None, "", [], None, None)
        form = ScreenForm(clip_path=clip_path, use_demo=bool(demo), test=test_name,
                          side=side_choice if (test_name in BILATERAL and side_choice in ("L", "R")) else None,
                          pain=bool(pain_flag), heels_raised=heels_choice or "auto", athlete_id=athlete_id or "",
                          athlete_point=tuple(point) if point else None, side_clip_path=second or None)
        progress(0.0, desc="Checking the clip")
        try:
            out = run_screening(form, cfg.paths, cfg.limits, db=cfg.db, progress=page_progress(progress), queue=cfg.queue)
        except InputError as exc:
            return (gr.update(value=problem(str(exc)), elem_classes=[]), *empty, state)
        except Exception:  # noqa: BLE001 - the page says what happened; the log keeps the traceback
            return (gr.update(value=bug("screening the clip"), elem_classes=[]), *empty, state)
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
    go.click(on_screen, [clip, use_demo, test, side, pain, heels, athlete, pick_point, side_clip, current],
             [verdict_md, criteria, overlay, jump, frame_img, similar_md, similar, files, deciding_t, current],
             concurrency_limit=None)
    jump.click(lambda t: gr.update(playback_position=float(t)) if t is not None else gr.update(),
               deciding_t, overlay)
