"""FormScout app: screen a clip, read the session scorecard, ask why, audit traces, manage the clip library.

    python app.py [--host 127.0.0.1] [--port 7860] [--data DIR] [--max-upload-mb 200] [--workers N] [--verbose]

A thin Gradio layer over agent/ and index/: every score, measurement and
answer on the page comes from `agent.screening.run.screen`,
`agent.screening.session.screen_session`, `agent.chat.answer`, the trace and
the catalog; this file only puts the tabs together and starts the server.
Each tab is a module of agent/app/ (tab_screen, tab_session, recording,
tab_ask, tab_traces, tab_library) and the plain helpers beside them have one
job each (paths, uploads, screening, progress, display, runs, session,
library, chat, messages, config).

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
from pathlib import Path

from agent.app.config import AppConfig, default_workers
from agent.app.paths import DISCLAIMER, AppLimits, AppPaths
from agent.app.tab_ask import ask_tab
from agent.app.tab_library import library_tab
from agent.app.tab_screen import screen_tab
from agent.app.tab_session import session_tab
from agent.app.tab_traces import traces_tab
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






# ----- Screen tab --------------------------------------------------------------------------------------------------


# ----- Session tab ---------------------------------------------------------------------------------------------


# ----- Ask tab -------------------------------------------------------------------------------------------------


# ----- Traces tab ----------------------------------------------------------------------------------------------


# ----- Library tab ---------------------------------------------------------------------------------------------


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
                screen_tab(cfg, current)
            with gr.Tab("Session scorecard", id="session"):
                session_tab(cfg)
            with gr.Tab("Recording", id="recording"):      # a whole screen in one take (agent/app/recording.py)
                from agent.app.recording import recording_tab
                recording_tab(cfg)
            with gr.Tab("Ask", id="ask") as ask_page:
                ask_run, ask_choices = ask_tab(cfg, current, tab=ask_page)
            with gr.Tab("Traces", id="traces"):
                runs, run_choices = traces_tab(cfg)
            with gr.Tab("Library", id="library"):
                stats_md, stats = library_tab(cfg)
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
