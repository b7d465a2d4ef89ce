"""Shared fixtures: paths to optional real footage, and a private FormScout home per test session."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def sports2d_clip() -> Path:
    clip = SHARED_DATA / "sports2d_demo.mp4"
    if not clip.is_file():
        pytest.skip("real footage ../shared/data/sports2d_demo.mp4 is not present on this machine")
    return clip


def pytest_configure(config):
    """Module- and session-scoped fixtures run before the per-test home below: give them an empty home too,
    so nothing in the suite reads or writes the user's ~/.formscout (their library would change the runs)."""
    home = Path(tempfile.mkdtemp(prefix="formscout_test_home_"))
    os.environ["FORMSCOUT_HOME"] = str(home)
    os.environ["FORMSCOUT_DB"] = str(home / "formscout.duckdb")


@pytest.fixture(autouse=True)
def _private_home(tmp_path, monkeypatch):
    """Never touch the user's ~/.formscout from a test; each test gets its own empty home and catalog."""
    home = tmp_path / "formscout_home"
    monkeypatch.setenv("FORMSCOUT_HOME", str(home))
    monkeypatch.setenv("FORMSCOUT_DB", str(home / "formscout.duckdb"))
