"""Where a batch's clips run: a local process pool, or a Ray cluster; one job = one `screen()` call.

Both engines take the same `Job`s and hand each `screen_one` result to a
callback as soon as it is there. `screen_one` runs in the worker: it calls
agent.screening.run.screen (the function `formscout screen` calls), so a batch
writes the same run folders and traces; each attempt gets a folder of its own
(the job's prefix plus a random suffix), so no two runs, parallel or retried,
ever share one. Nothing a run raises leaves the worker as an exception: bad
input and failures come back as a failed result with one line of text (the
traceback of an unexpected failure is written beside the run).

Local pool: `concurrent.futures.ProcessPoolExecutor` with the spawn start
method (MediaPipe, TFLite and torch keep threads that a forked child must
not inherit); each worker limits its BLAS/OpenMP/OpenCV threads to
cores // workers so N workers do not fight over the cores, and keeps its
models loaded from clip to clip. A worker that dies (a crash in native code,
the out-of-memory killer) breaks the pool: the clips that were running are
run again one at a time, each in a fresh worker, so the one that kills its
worker is named and the others still finish; clips not yet started go back
to the queue.

Ray: `ray.remote(num_cpus=1)` tasks (Ray restarts a task whose worker died,
`max_retries`), at most `workers` in flight (default: the cluster's CPUs);
`address` is "local" (start a private instance on this machine), "auto" (the
cluster started here with `ray start --head`) or a cluster address
(`HOST:6379`, `ray://HOST:10001`). Every node needs the same FormScout
install; the batch folder must be on storage all nodes share for the
driver to see the run folders (and resume them).
"""
from __future__ import annotations

import logging
import os
import time
import traceback
import uuid
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from tools.core.errors import InputError

log = logging.getLogger(__name__)

QUIET_ENV = {"GLOG_minloglevel": "2", "TF_CPP_MIN_LOG_LEVEL": "3"}
THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
PASSED_ENV = ("FORMSCOUT_HOME", "FORMSCOUT_DB")
WORKER_DIED = ("the worker process died while screening this clip (a crash in native code or the machine ran "
               "out of memory); it was tried again alone and died again: check the clip, or run it with "
               "`formscout screen` to see the error")


@dataclass(frozen=True)
class Job:
    """One clip to screen. `request`: ScreenRequest fields without run_dir; `run_dir_prefix`: the run folder
    is this plus '-' and a random suffix; `marker_dir`: where the worker notes that it started (crash triage)."""

    line: int
    key: str
    request: dict
    run_dir_prefix: str
    brain: str = "protocol"
    brain_options: dict = field(default_factory=dict)
    marker_dir: str = ""
    file_under: str = ""              # athlete id: the run folder is recorded under them once claimed (erasable)
    db: str | None = None             # the catalog for file_under
    attempt: str = field(default_factory=lambda: uuid.uuid4().hex[:12])


def cpu_count() -> int:
    """Cores this process may use (its CPU affinity, not the machine's total)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def failed(job: Job, error: str, seconds: float = 0.0) -> dict:
    return {"line": job.line, "key": job.key, "status": "failed", "error": error, "verdict": None,
            "run_dir": None, "seconds": round(seconds, 3), "worker": None}


def screen_one(job: Job) -> dict:
    """Screen one clip in this process; returns {"line", "key", "status": "scored"|"failed", "verdict",
    "run_dir", "error", "seconds", "worker"}. Never raises for anything a run can do wrong."""
    from agent.screening.protocol import ScreenRequest
    from agent.screening.run import run_folder_filer, screen

    for k, v in QUIET_ENV.items():
        os.environ.setdefault(k, v)
    if job.marker_dir:
        Path(job.marker_dir).mkdir(parents=True, exist_ok=True)
        (Path(job.marker_dir) / f"{job.attempt}.started").touch()
    run_dir = f"{job.run_dir_prefix}-{uuid.uuid4().hex[:6]}"
    worker = f"{os.uname().nodename}:{os.getpid()}"
    t0 = time.perf_counter()
    try:
        verdict = screen(ScreenRequest(**job.request, run_dir=run_dir), brain=job.brain,
                         brain_options=dict(job.brain_options),
                         on_run_folder=run_folder_filer(job.file_under, job.db) if job.file_under else None)
    except InputError as exc:
        return {**failed(job, str(exc), time.perf_counter() - t0), "run_dir": run_dir, "worker": worker}
    except Exception as exc:  # noqa: BLE001 - one clip's failure must not stop the batch; the traceback is kept
        note = Path(run_dir) / "batch_error.txt"
        try:
            note.parent.mkdir(parents=True, exist_ok=True)
            note.write_text(traceback.format_exc())
            where = f" (traceback in {note})"
        except OSError:
            where = ""
        return {**failed(job, f"{type(exc).__name__}: {exc}{where}", time.perf_counter() - t0),
                "run_dir": run_dir, "worker": worker}
    return {"line": job.line, "key": job.key, "status": "scored", "verdict": verdict,
            "run_dir": verdict.get("artifacts", {}).get("run_dir", run_dir), "error": None,
            "seconds": round(time.perf_counter() - t0, 3), "worker": worker}


# ----- local process pool -----------------------------------------------------------------------------

def _init_worker(threads: int) -> None:
    """Runs once in each pool worker before any clip: quiet native logs, `threads` threads per library."""
    for k, v in QUIET_ENV.items():
        os.environ.setdefault(k, v)
    for k in THREAD_ENV:
        os.environ[k] = str(threads)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    import warnings
    warnings.filterwarnings("ignore", category=UserWarning, module="google.protobuf")   # as the CLI does
    try:
        import cv2
        cv2.setNumThreads(threads)
    except ImportError:
        pass


def run_local(jobs: list[Job], workers: int, on_result: Callable[[dict], None],
              task: Callable[[Job], dict] = screen_one) -> None:
    """Run `jobs` on a pool of `workers` processes on this machine; `on_result` gets each result as it comes.
    `task` (a module-level function, as the spawned workers import it) is what each job runs."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    threads = max(1, cpu_count() // max(1, workers))
    queue = list(jobs)
    tried: list[Job] = []
    try:
        _run_queue(queue, workers, threads, context, on_result, tried, task)
    finally:
        for job in tried:            # the crash-triage notes are of no use once the pool is gone
            if job.marker_dir:
                (Path(job.marker_dir) / f"{job.attempt}.started").unlink(missing_ok=True)


def _run_queue(queue: list[Job], workers: int, threads: int, context, on_result, tried: list[Job],
               task) -> None:
    while queue:
        tried += queue
        n = max(1, min(workers, len(queue)))
        log.info("batch: %d clip(s) on %d local worker(s), %d thread(s) each", len(queue), n, threads)
        unfinished = _pool_round(queue, n, threads, context, on_result, task)
        started = [j for j in unfinished if _started(j)]
        queue = [replace(j, attempt=uuid.uuid4().hex[:12]) for j in unfinished if not _started(j)]
        for job in started:          # the clips running when a worker died: each alone, so the culprit is named
            again = replace(job, attempt=uuid.uuid4().hex[:12])
            tried.append(again)
            if _pool_round([again], 1, threads, context, on_result, task):
                on_result(failed(job, WORKER_DIED))


def _pool_round(jobs: list[Job], workers: int, threads: int, context, on_result, task) -> list[Job]:
    """One pool's life: the jobs it could not finish because a worker died (empty when all finished)."""
    unfinished = []
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_init_worker,
                             initargs=(threads,)) as pool:
        futures = {pool.submit(task, job): job for job in jobs}
        for future in as_completed(futures):
            try:
                result = future.result()
            except BrokenProcessPool:
                unfinished.append(futures[future])
                continue
            on_result(result)
    return unfinished


def _started(job: Job) -> bool:
    return bool(job.marker_dir) and (Path(job.marker_dir) / f"{job.attempt}.started").exists()


# ----- Ray -------------------------------------------------------------------------------------------

def import_ray():
    try:
        import ray
    except ImportError:
        raise InputError("--ray needs the ray package: pip install 'ray==2.60.0' (or run without --ray for the "
                         "local process pool)") from None
    return ray


def run_ray(jobs: list[Job], address: str, workers: int, on_result: Callable[[dict], None]) -> dict:
    """Run `jobs` as Ray tasks on the cluster at `address` ("local", "auto" or an address). Returns what the
    cluster was: {"address", "cpus", "in_flight"}."""
    ray = import_ray()
    env = {k: os.environ[k] for k in PASSED_ENV if k in os.environ}
    env.update(QUIET_ENV)
    started_here = not ray.is_initialized()
    if started_here:
        options = dict(runtime_env={"env_vars": env}, include_dashboard=False, log_to_driver=False,
                       logging_level=logging.WARNING)
        try:
            if address == "local":     # always a new private instance, never someone else's cluster
                ray.init(address="local", num_cpus=workers or None, **options)
            else:
                ray.init(address=address, **options)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise InputError(f"--ray {address}: cannot reach a Ray cluster ({exc}). Start one with "
                             "`ray start --head` (then --ray auto), give its address, or use --ray local") from exc
    try:
        cpus = int(ray.cluster_resources().get("CPU", 1))
        limit = max(1, workers or cpus)
        task = ray.remote(num_cpus=1, max_retries=2)(screen_one)
        # Ray restarts lost tasks itself (no crash notes); a node's catalog path may not be the driver's, so
        # runs are filed by the driver at the end only
        queue, in_flight = [replace(j, marker_dir="", file_under="") for j in jobs], {}
        while queue or in_flight:
            while queue and len(in_flight) < limit:
                job = queue.pop(0)
                in_flight[task.remote(job)] = job
            done, _ = ray.wait(list(in_flight), num_returns=1)
            for ref in done:
                job = in_flight.pop(ref)
                try:
                    result = ray.get(ref)
                except Exception as exc:  # noqa: BLE001 - a task Ray could not finish (worker or node lost)
                    result = failed(job, f"the Ray task failed: {type(exc).__name__}: {str(exc).splitlines()[0]}")
                on_result(result)
        return {"address": address, "cpus": cpus, "in_flight": limit}
    finally:
        if started_here:
            ray.shutdown()
