"""The app's Traces tab: verify a run's trace and publish it as a page."""
from __future__ import annotations

import logging

from agent.app.config import AppConfig
from agent.app.display import esc
from agent.app.messages import bug, page_frame, problem
from agent.app.runs import list_runs, publish_run, verify_run
from tools.core.errors import InputError

log = logging.getLogger("formscout.app")


def traces_tab(cfg: AppConfig):
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
            return problem(str(exc))
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
            return problem(str(exc)), "", None
        except Exception:  # noqa: BLE001
            return bug("publishing the trace"), "", None
        state = "intact" if not problems else "**NOT intact: do not use this result**"
        return (f"Published {esc(name)} (trace {state}): {out.stat().st_size / 1024:.0f} kB, self-contained.",
                page_frame(str(out), "Published trace"), str(out))

    refresh.click(choices, None, runs)
    verify_btn.click(on_verify, runs, result)
    publish_btn.click(on_publish, runs, [result, page, page_file])
    return runs, choices
