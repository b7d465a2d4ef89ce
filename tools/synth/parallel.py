"""Run independent synthetic-data jobs (clip renders) in parallel worker processes, in a stable order.

`map_in_processes(fn, jobs, workers, on_done)` calls `fn(*job)` for every job
and returns the results in the jobs' order. workers=1 runs everything here, in
this process, exactly as a plain loop would; workers>1 uses a
`concurrent.futures.ProcessPoolExecutor` with the spawn start method (numpy's
BLAS, OpenCV and x264 keep thread pools that a forked child must not
inherit). `fn` must be a module-level function (the workers import it by
name). Every job carries its own seeds and camera, so which worker renders it
and in what order does not change a byte of its output. Each worker keeps
its math libraries to one thread, so N workers use N cores without
oversubscription (x264 keeps its own threads: its output does not depend on
the worker). `on_done(done, total)` is called after each job (a progress
bar at the CLI edge).
"""
from __future__ import annotations

import logging
import os
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Callable, Sequence

log = logging.getLogger(__name__)


def available_cores() -> int:
    """Cores this process may use (CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def resolve_workers(workers: int, n_jobs: int) -> int:
    """0 = one per core; never more workers than jobs; at least 1."""
    if workers < 0:
        from tools.core.errors import InputError
        raise InputError(f"workers must be 0 (one per core) or more, got {workers}")
    return max(1, min(workers or available_cores(), n_jobs))


def _limit_threads() -> None:
    """Pool initializer: one thread per math library in this worker."""
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = "1"
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(1)
    except ImportError:
        pass
    import cv2
    cv2.setNumThreads(1)


def map_in_processes(fn: Callable, jobs: Sequence[tuple], workers: int = 1,
                     on_done: Callable[[int, int], None] | None = None) -> list:
    """[fn(*job) for job in jobs], computed by `workers` processes (0 = one per core, 1 = this process)."""
    total = len(jobs)
    if total == 0:
        return []
    n = resolve_workers(workers, total)
    results: list = [None] * total
    if n == 1:
        for i, job in enumerate(jobs):
            results[i] = fn(*job)
            if on_done:
                on_done(i + 1, total)
        return results
    import multiprocessing
    log.info("%d jobs on %d worker processes", total, n)
    with ProcessPoolExecutor(max_workers=n, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_limit_threads) as pool:
        index = {pool.submit(fn, *job): i for i, job in enumerate(jobs)}
        pending, done_count = set(index), 0
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                if future.exception() is not None:
                    pool.shutdown(wait=True, cancel_futures=True)
                    raise future.exception()
                results[index[future]] = future.result()
                done_count += 1
                if on_done:
                    on_done(done_count, total)
    return results
