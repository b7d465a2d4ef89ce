"""Benchmark concurrency and crash safety: N parallel screens with an index add and erase; the kill -9 sweep.

Usage:
  .venv/bin/python benchmarks/bench_concurrency.py --n 8              # the stress test
  .venv/bin/python benchmarks/bench_concurrency.py --sweep 12         # kill -9 sweep: 12 kills of each command
  .venv/bin/python benchmarks/bench_concurrency.py --n 8 --sweep 12 --json out/bench_concurrency.json

Stress (tests/concurrency_scenarios.py `stress`): N `formscout screen` processes on
N different skeleton clips started at once in one folder (same second, same
default run root, each filed under its own athlete), with `index add` of 36 new
clips, `index erase` of an athlete and 3 `index search`es at the same time.
Prints N, wall time, CPU time of all the processes, and the results: screens that
exited 0, verdicts holding their own clip's sha256 and skeleton, run folders that
`trace verify --clip` passes, distinct run folders, `index verify`, tracebacks.

Sweep (`kill_sweep`): `index add` of 72 clips (batches of 4) killed with SIGKILL
at K moments spread over 3-95 % of the time one uninterrupted add takes, then
`screen --athlete` killed the same way; after each kill `index verify`. Prints kill points that landed, rows lost (target 0), orphan
files left after verify (target 0), stray files verify swept, run folders left
unfinished vs finished, finished folders that do not verify (target 0).
Wall times depend on the machine's load (2 shared cores): read the CPU time too.
Figures only; no timed asserts.
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.concurrency_scenarios import kill_sweep, stress  # noqa: E402


def _children_cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=8, help="parallel screens (default 8; 0 = skip the stress test)")
    ap.add_argument("--sweep", type=int, default=0, help="kill points per command in the kill -9 sweep (0 = skip)")
    ap.add_argument("--json", default="", help="also write the figures to this JSON file")
    args = ap.parse_args()
    out: dict = {}
    if args.n:
        with tempfile.TemporaryDirectory(prefix="bench_concurrency_") as tmp:
            cpu0 = _children_cpu_s()
            r = stress(Path(tmp), n=args.n)
            d = r.to_dict()
            d["cpu_s_all_processes"] = round(_children_cpu_s() - cpu0, 1)
        out["stress"] = d
        print(f"stress: N={r.n} parallel screens + index add + index erase + 3 searches: wall {r.wall_s:.1f} s "
              f"(CPU {d['cpu_s_all_processes']:.0f} s incl. setup)")
        print(f"  screens exit 0: {r.screens_ok}/{r.n}; verdicts holding their own clip's hash and skeleton: "
              f"{r.verdicts_own_clip}/{r.n}; trace verify --clip intact: {r.traces_intact}/{r.n}; distinct run "
              f"folders: {r.distinct_run_folders}/{r.n}")
        print(f"  index add rc {r.index_add_rc}, index erase rc {r.index_erase_rc}, searches ok {r.searches_ok}/3, "
              f"index verify clean: {r.verify_clean}, tracebacks: {r.tracebacks}, problems: {len(r.problems)}")
        for p in r.problems[:10]:
            print(f"    - {p}")
    if args.sweep:
        k = args.sweep
        with tempfile.TemporaryDirectory(prefix="bench_killsweep_") as tmp:
            t0 = time.perf_counter()
            s = kill_sweep(Path(tmp), add_points=k, screen_points=k)
            wall = time.perf_counter() - t0
        d = s.to_dict()
        d["wall_s"] = round(wall, 1)
        out["sweep"] = d
        print(f"kill -9 sweep: {2 * k} kill times ({k} index add, {k} screen, spread over 3-95 % of one "
              f"uninterrupted run: {s.timing_s['index_add']} s and {s.timing_s['screen']} s), {s.kill_points} landed "
              f"while running ({s.finished_first} finished first); wall {wall:.0f} s")
        print(f"  rows lost: {s.rows_lost}; orphan files after verify: {s.orphans}; stray files verify swept: "
              f"{s.strays_cleaned}; verify unclean: {s.verify_unclean}")
        print(f"  run folders: {s.incomplete_run_folders} unfinished (no verdict.json), {s.complete_run_folders} "
              f"finished; finished but not verifying: {s.complete_but_broken}; tracebacks: {s.tracebacks}")
        for p in s.problems[:10]:
            print(f"    - {p}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(out, indent=2, default=str))
    return 0 if all(v.get("passed") for v in out.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
