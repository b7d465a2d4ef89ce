"""The app's plain-Python layer, by name (kept so older imports keep working): each piece lives in its own module.

agent/app/ holds what the Gradio app (app.py) needs beside its widgets, one job a module:
  paths.py      the data folder and upload limits
  uploads.py    uploads checked on arrival (type, size, readable, duration), staging
  screening.py  one screening from the Screen tab, and the athlete click
  progress.py   the page's progress (steps with frame counts) and the screening queue
  display.py    the verdict, criteria and similar clips in a physio's words
  runs.py       the run pickers (integrity first), verify and publish
  session.py    a whole screen through agent.screening.session.screen_session
  library.py    similar clips, clip search, what an `index add` did
  chat.py       the Ask tab's questions, through agent.chat
Nothing here measures or scores: every number shown comes from the verdict, the trace or the catalog.
"""
from __future__ import annotations

from agent.app.chat import ChatReply, ask_about
from agent.app.display import (
                               CRITERIA_HEADERS,
                               SIMILAR_HEADERS,
                               TEST_LABELS,
                               criteria_rows,
                               esc,
                               public_message,
                               similar_note,
                               similar_rows,
                               verdict_markdown,
)
from agent.app.library import add_summary_markdown, search_library, similar_clips
from agent.app.paths import DEMO_CLIP, DISCLAIMER, RUN_NAME_RE, AppLimits, AppPaths
from agent.app.progress import PageProgress, ScreenQueue, SessionProgress
from agent.app.runs import RunInfo, list_runs, publish_run, read_run, verify_run
from agent.app.screening import (
                               ScreenForm,
                               ScreenOutcome,
                               athlete_pick_frame,
                               check_athlete_id,
                               mark_athlete_point,
                               run_screening,
)
from agent.app.session import (
                               SCORECARD_HEADERS,
                               SessionOutcome,
                               athlete_history,
                               run_session,
                               scorecard_markdown,
                               scorecard_rows,
)
from agent.app.uploads import (
                               check_clip_readable,
                               check_clip_upload,
                               new_session_dir,
                               stage_demo_session,
                               stage_library_upload,
                               stage_session_upload,
)

__all__ = ["AppLimits", "AppPaths", "ChatReply", "CRITERIA_HEADERS", "DEMO_CLIP", "DISCLAIMER", "PageProgress",
           "RUN_NAME_RE", "RunInfo", "SCORECARD_HEADERS", "SIMILAR_HEADERS", "ScreenForm", "ScreenOutcome",
           "ScreenQueue", "SessionOutcome", "SessionProgress", "TEST_LABELS", "add_summary_markdown", "ask_about",
           "athlete_history", "athlete_pick_frame", "check_athlete_id", "check_clip_readable", "check_clip_upload",
           "criteria_rows", "esc", "list_runs", "mark_athlete_point", "new_session_dir", "public_message",
           "publish_run", "read_run", "run_screening", "run_session", "scorecard_markdown", "scorecard_rows",
           "search_library", "similar_clips", "similar_note", "similar_rows", "stage_demo_session",
           "stage_library_upload", "stage_session_upload", "verdict_markdown", "verify_run"]
