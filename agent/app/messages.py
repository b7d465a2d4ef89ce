"""What every tab shows around its results: the message when something fails, Gradio's progress bar as a
(fraction, text) callback, and a page of the app's data folder in a sandboxed frame."""
from __future__ import annotations

import logging

from agent.app.display import esc, public_message

log = logging.getLogger("formscout.app")


def problem(message: str) -> str:
    return f"### Could not do that\n\n{esc(public_message(message))}"


def bug(what: str) -> str:
    log.exception("app: %s failed", what)
    return (f"### Something went wrong inside FormScout while {what}\n\n"
            "This is a fault in FormScout, not in your clip. It has been written to the app's log; "
            "please try again, and tell whoever runs this app if it happens again.")


def page_progress(progress):
    """A (fraction, text) callback on Gradio's progress bar."""
    return lambda fraction, text: progress(max(0.0, min(1.0, float(fraction))), desc=text)


def page_frame(path: str, title: str) -> str:
    """An HTML page of the app's data folder shown in a sandboxed frame (scripts off), with a link to open it."""
    from urllib.parse import quote
    url = f"gradio_api/file={quote(str(path))}"
    return (f'<p><a href="{url}" target="_blank" rel="noopener">Open the {esc(title.lower())} in a new tab</a></p>'
            f'<iframe src="{url}" title="{esc(title)}" sandbox="" '
            'style="width:100%;height:720px;border:1px solid #d0d5dc;border-radius:8px;background:#fff"></iframe>')
