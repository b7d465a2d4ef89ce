"""The app's data folder and limits: where runs, uploads and sessions live, and how big an upload may be.

`AppPaths` is the app's data folder, `$FORMSCOUT_HOME/app` (default
`~/.formscout/app`): `runs/` (one folder per screening run), `uploads/`
(Gradio's upload cache, GRADIO_TEMP_DIR), `staging/` (labelled clips being
added to the library, removed afterwards), `sessions/`. Every path built from
something the browser sent (a run name, a file name in a CSV) goes through
`AppPaths.run_dir` or the upload staging (agent.app.uploads), which refuse
anything that would land outside this folder.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tools.core.errors import InputError

APP_FOLDER = "app"
RUN_NAME_RE = re.compile(r"^[0-9]{8}-[0-9]{6}_[a-z_]+_[0-9a-f]{8}$")
DEMO_CLIP = Path(__file__).resolve().parents[2] / "tools" / "assets" / "demo_deep_squat.mp4"
DISCLAIMER = "Screening aid, not a diagnosis: a physio reviews every result."


@dataclass(frozen=True)
class AppLimits:
    """Upload limits (the same figures are given to Gradio's own upload check)."""

    max_upload_mb: float = 200.0          # one uploaded file
    max_clip_s: float = 120.0             # longest clip screened
    max_library_files: int = 200          # clip files in one library upload

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)


@dataclass(frozen=True)
class AppPaths:
    """The app's data folder and its sub-folders (all created on `ensure`)."""

    root: Path

    @classmethod
    def default(cls, root: str | Path | None = None) -> "AppPaths":
        """`root`, else $FORMSCOUT_HOME/app (FORMSCOUT_HOME defaults to ~/.formscout)."""
        if root:
            return cls(Path(root).expanduser().resolve())
        from index.storage.paths import formscout_home
        return cls((formscout_home() / APP_FOLDER).resolve())

    @property
    def runs(self) -> Path:
        return self.root / "runs"

    @property
    def uploads(self) -> Path:
        return self.root / "uploads"

    @property
    def staging(self) -> Path:
        return self.root / "staging"

    @property
    def sessions(self) -> Path:
        return self.root / "sessions"

    def ensure(self) -> "AppPaths":
        for folder in (self.runs, self.uploads, self.staging, self.sessions):
            folder.mkdir(parents=True, exist_ok=True)
        return self

    def contains(self, path: str | Path) -> bool:
        """True when `path` (symlinks resolved) lies inside the data folder."""
        try:
            Path(path).resolve().relative_to(self.root)
        except ValueError:
            return False
        return True

    def new_run_dir(self, test: str) -> Path:
        """A fresh run folder path of this app, not made yet: the screening run claims it atomically
        (agent.screening.run_folder), so it is never shared with another run."""
        from agent.screening.run_folder import new_run_id, run_folder_name
        self.runs.mkdir(parents=True, exist_ok=True)
        return self.runs / run_folder_name(test, new_run_id())

    def run_dir(self, run_name: str) -> Path:
        """The folder of an existing run, from its name as the page shows it (never a path)."""
        name = str(run_name or "").strip()
        if not RUN_NAME_RE.match(name):
            raise InputError(f"{name!r} is not a run of this app; pick a run from the list")
        path = (self.runs / name).resolve()
        if path.parent != self.runs.resolve() or not path.is_dir():
            raise InputError(f"run {name} is not in this app's data folder (it may have been erased); "
                             "refresh the list")
        return path
