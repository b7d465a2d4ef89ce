"""Overhead of the screening agent over calling the step functions directly, and the size of a trace.

    .venv/bin/python benchmarks/bench_agent.py [--runs 7] [--frames 90]

Input: a canonical skeleton .npz (a hand-built deep squat), so pose estimation
does not dominate. Three ways to run the same protocol on it:
  direct    the agent/screening/steps.py functions called in protocol order (agent.screening.protocol.next_call
            gives the same arguments), nothing else;
  protocol  `agent.screening.run.screen` with the protocol brain: one smolagents ToolCallingAgent run,
            StepTools with JSON results, hash-chained trace, verdict.json;
  text      the same run through the VLM brains' text path (chat building, <tool_call> parsing)
            with a scripted brain that writes the protocol's calls (tests/brain_fakes.py): the
            agent overhead a real VLM adds on top of its own generation time.
Prints median ms per run for each, the overhead (run minus direct), the trace size (bytes as written,
and as compact JSON) and the steps. Figures, not asserts.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def direct(npz: str, run_dir: Path) -> dict:
    from agent.screening.protocol import ScreenRequest, next_call
    from agent.screening.steps import STEP_FUNCTIONS, optional_steps_unavailable
    request = ScreenRequest(source=npz, test="deep_squat", run_dir=str(run_dir))
    request.extra = {"skip": optional_steps_unavailable()}
    run_dir.mkdir(parents=True, exist_ok=True)
    results: dict = {}
    while (nxt := next_call(request, results)) is not None:
        step, args = nxt
        results[step.tool] = STEP_FUNCTIONS[step.tool](**args)
    return results


def timed(fn, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1e3)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7, help="timed runs per way (after one warm-up)")
    ap.add_argument("--seconds", type=float, default=3.0, help="clip length (s, 30 fps)")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="formscout_bench_agent_"))
    os.environ["FORMSCOUT_HOME"] = str(tmp / "home")          # no library: the optional steps are skipped
    os.environ["FORMSCOUT_DB"] = str(tmp / "home" / "none.duckdb")
    from agent.screening.protocol import ScreenRequest
    from agent.screening.run import screen
    from tests.brain_fakes import ScriptedBrain
    from tests.skeleton_factory import squat_clip

    skel = squat_clip(depth_deg=15, trunk_deg=30, tibia_deg=35, seconds=args.seconds)
    npz = str(skel.save(tmp / "squat.npz"))
    counter = iter(range(10**6))

    def run_direct():
        direct(npz, tmp / f"d{next(counter)}")

    outside: dict[str, list[float]] = {"protocol": [], "text": []}

    def agent_run(kind: str, brain) -> None:
        run_dir = tmp / f"{kind[0]}{next(counter)}"
        t0 = time.perf_counter()
        screen(ScreenRequest(source=npz, test="deep_squat", run_dir=str(run_dir)), brain=brain)
        wall = (time.perf_counter() - t0) * 1e3
        steps = json.loads((run_dir / "trace.json").read_text())["steps"]
        outside[kind].append(wall - sum(st["duration_ms"] for st in steps))

    def run_protocol():
        agent_run("protocol", "protocol")

    def run_text():
        agent_run("text", ScriptedBrain([]))

    for fn in (run_direct, run_protocol, run_text):              # warm-up: imports, caches
        fn()
    for kept in outside.values():                              # warm-up runs do not count
        kept.clear()
    rows = {}
    for name, fn in (("direct", run_direct), ("protocol", run_protocol), ("text", run_text)):
        rows[name] = timed(fn, args.runs)
    trace_path = sorted(tmp.glob("p*/trace.json"))[-1]
    doc = json.loads(trace_path.read_text())
    compact = len(json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode())
    base = statistics.median(rows["direct"])
    print(f"agent overhead on a skeleton .npz ({skel.n_frames} frames, {args.runs} runs each, median ms/run; "
          f"{os.cpu_count()} CPU cores)")
    for name, ms in rows.items():
        med = statistics.median(ms)
        extra = "" if name == "direct" else f"   overhead {med - base:+7.1f} ms ({100 * (med - base) / base:+.0f}%)"
        print(f"  {name:9s} {med:8.1f} ms  (min {min(ms):.1f}, max {max(ms):.1f}){extra}")
    for name, ms in outside.items():
        print(f"  {name:9s} time outside the tools (run wall time minus the steps' own durations, same run): "
              f"median {statistics.median(ms):.1f} ms (min {min(ms):.1f}, max {max(ms):.1f})")
    print(f"steps: {', '.join(s['tool'] for s in doc['steps'])}; skipped: "
          f"{', '.join(doc.get('optional_steps_skipped', {})) or 'none'}")
    per_step = ", ".join(f"{s['tool']} {s['duration_ms']:.0f}" for s in doc["steps"])
    print(f"step time inside the agent run: {sum(s['duration_ms'] for s in doc['steps']):.1f} ms ({per_step})")
    print(f"trace size: {trace_path.stat().st_size} bytes as written (indented), {compact} bytes compact; "
          f"largest parts: " + ", ".join(f"{s['tool']} {len(json.dumps(s))}" for s in
                                         sorted(doc['steps'], key=lambda s: -len(json.dumps(s)))[:3]))


if __name__ == "__main__":
    main()
