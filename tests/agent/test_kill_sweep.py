"""Crash safety: `index add` and `screen --athlete` killed with SIGKILL part-way (tests/concurrency_scenarios.py).

After each kill `index verify` is clean, every row committed before is still there, no file is left
that the catalog does not name, and every run folder is either unfinished (no verdict.json, which
nothing takes for a finished run) or verifies intact. Both tests are slow (each command is first timed by
one uninterrupted run); the default suite keeps tests/index/test_index_crash.py (index add killed at
three points). benchmarks/bench_concurrency.py --sweep prints the figures.
"""
from __future__ import annotations

import pytest

from tests.concurrency_scenarios import kill_sweep


@pytest.mark.slow
def test_one_kill_of_each_leaves_a_consistent_library_and_no_finished_looking_half_run(tmp_path):
    result = kill_sweep(tmp_path, add_points=1, screen_points=1, span=(0.5, 0.5))
    assert result.passed, result.to_dict()
    assert result.kill_points + result.finished_first == 2


@pytest.mark.slow
def test_the_kill_sweep(tmp_path):
    result = kill_sweep(tmp_path, add_points=12, screen_points=12)
    assert result.passed, result.to_dict()
    assert result.kill_points >= 16 and result.complete_run_folders + result.incomplete_run_folders >= 8
