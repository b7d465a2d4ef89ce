"""The app's Ask tab: a question about one run, answered from its trace."""
from __future__ import annotations

import logging

from agent.app.chat import ask_about
from agent.app.config import AppConfig
from agent.app.display import esc, public_message
from agent.app.messages import problem
from agent.app.runs import list_runs
from tools.core.errors import InputError

log = logging.getLogger("formscout.app")


def ask_tab(cfg: AppConfig, current, tab=None):
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
                return problem(str(exc))
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
    if tab is not None:
        # bound again whenever the tab is opened: an update sent while the tab was closed (its components
        # not on the page yet) can be lost, and the chat must never show another run than it answers about
        tab.select(bind, current, [context, run, athlete])
    run.change(describe, [run, athlete], context)
    athlete.change(describe, [run, athlete], context)
    refresh.click(lambda r: run_choices(r), run, run)
    send.click(on_ask, [question, log_state, run, athlete], [chat, log_state, question])
    question.submit(on_ask, [question, log_state, run, athlete], [chat, log_state, question])
    return run, run_choices
