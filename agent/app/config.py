"""What the app needs to know at start: its folders, limits, catalog and how many screenings run at once."""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from agent.app.paths import AppLimits, AppPaths
from agent.app.progress import ScreenQueue


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

    def __post_init__(self) -> None:
        if self.queue is None:
            self.queue = ScreenQueue(self.workers)
