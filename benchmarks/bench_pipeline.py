"""Single-clip speed: `formscout screen` wall time / clip duration in a fresh process, per stage, peak RSS.

    .venv/bin/python benchmarks/bench_pipeline.py [--clip PATH ...] [--repeat 3] [--stages]
        [--cli "COMMAND"] [--json OUT.json]
    .venv/bin/python benchmarks/bench_pipeline.py --compare BEFORE.json AFTER.json [--tolerance 0.02]

Clips: the given ones, else the bundled demo squat upscaled to 1920x1080 and looped to
10 s at 30 fps (built once under benchmarks/.cache/). For each clip and repeat:
  - a fresh `formscout screen CLIP --test deep_squat --json` process (`--cli` replaces the
    command, e.g. an older checkout's CLI for before/after figures): wall time until the
    verdict is printed, until the process exits, user+system CPU, peak RSS (os.wait4), each
    as a ratio to the clip's duration; each step's wall time from the run's trace;
  - the machine's 1-minute load average before and after (timings on a shared machine are
    noisy: compare medians, and CPU seconds, which load does not inflate as much).
Start-up: `formscout --help` and the import of the screening run, in fresh processes.
`--stages` adds an in-process run of the same screen with each step's wall and CPU seconds
(CPU of every thread of the process, so a decoder thread counts).
`--compare` reads two outputs and prints, per clip, whether the score, review flag and every
criterion value agree (values within `--tolerance` x max(1, |value|)).
Prints one JSON object; docs/BENCHMARKS.md records the latest figures.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
CACHE = REPO / "benchmarks" / ".cache"


def make_clip(n_frames: int) -> Path:
    """The demo squat upscaled to 1920x1080 and looped to `n_frames` at 30 fps (cached)."""
    from tools.video.clip import iter_frames, write_video
    path = CACHE / f"squat_1080p_{n_frames}f.mp4"
    if path.is_file():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    src = [cv2.resize(f, (1920, 1080), interpolation=cv2.INTER_LINEAR)
           for f in iter_frames(REPO / "tools" / "assets" / "demo_deep_squat.mp4")]
    frames = (src[i % len(src)] for i in range(n_frames))
    return write_video(path, frames, fps=30.0)


def load_1min() -> float:
    return round(os.getloadavg()[0], 2)


def verdict_figures(verdict: dict) -> dict:
    """What must not change with speed work: score, review, and every criterion's value and pass/fail."""
    return {"score": verdict.get("score"), "review": verdict.get("review"),
            "deciding_criterion": verdict.get("deciding_criterion"),
            "criteria": {c["id"]: {"value": c.get("value"), "passed": c.get("passed"),
                                   "frame": c.get("deciding_frame")} for c in verdict.get("criteria", [])}}


def run_screen(cli: list[str], clip: Path, test: str, duration_s: float) -> dict:
    """One fresh `screen` process: wall to the verdict line and to exit, CPU, peak RSS, per-step wall."""
    with tempfile.TemporaryDirectory() as tmp:
        load0 = load_1min()
        t0 = time.perf_counter()
        proc = subprocess.Popen(cli + ["screen", str(clip), "--test", test, "--out", str(Path(tmp) / "run"),
                                       "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                cwd=REPO)
        line = proc.stdout.readline()
        t_verdict = time.perf_counter() - t0
        rest, err = proc.communicate()
        t_exit = time.perf_counter() - t0
        if proc.returncode != 0:
            return {"error": err.strip()[-800:]}
        verdict = json.loads(line or rest)
        trace = json.loads((Path(tmp) / "run" / "trace.json").read_text())
    steps = {s["tool"]: round(s.get("duration_ms", 0) / 1000, 2) for s in trace["steps"]}
    pose = next((s["result"] for s in trace["steps"] if s["tool"] == "estimate_pose" and s.get("result")), {})
    return {"wall_to_verdict_s": round(t_verdict, 2), "wall_to_exit_s": round(t_exit, 2),
            "ratio_to_verdict": round(t_verdict / duration_s, 3), "ratio_to_exit": round(t_exit / duration_s, 3),
            "load_before": load0, "load_after": load_1min(), "steps_s": steps,
            "pose_stages_s": (pose.get("selection") or {}).get("seconds"), "verdict": verdict_figures(verdict)}


def peak_rss_mb(cli: list[str], clip: Path, test: str) -> float | None:
    """Peak RSS of one fresh screen process (os.wait4 on that child alone)."""
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.Popen(cli + ["screen", str(clip), "--test", test, "--out", str(Path(tmp) / "run"), "--json"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO)
        _, status, usage = os.wait4(proc.pid, 0)
    return round(usage.ru_maxrss / 1024, 1) if status == 0 else None


def cpu_of_screen(cli: list[str], clip: Path, test: str) -> float | None:
    """User + system CPU seconds of one fresh screen process and its threads."""
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.Popen(cli + ["screen", str(clip), "--test", test, "--out", str(Path(tmp) / "run"), "--json"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO)
        _, status, usage = os.wait4(proc.pid, 0)
    return round(usage.ru_utime + usage.ru_stime, 2) if status == 0 else None


def startup(cli: list[str]) -> dict:
    """Fresh-process start-up: `--help`, and importing the screening run (what `screen` loads before work)."""
    def wall(cmd: list[str]) -> float:
        runs = []
        for _ in range(3):
            t0 = time.perf_counter()
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO, check=False)
            runs.append(time.perf_counter() - t0)
        return round(statistics.median(runs), 2)
    return {"help_s": wall(cli + ["--help"]),
            "import_screening_run_s": wall([sys.executable, "-c", "import agent.cli.screen, agent.screening.run"])}


def stages_in_process(clip: Path, test: str) -> dict:
    """Each step's wall and CPU seconds in one in-process screen (CPU of all threads: rusage of the process)."""
    import functools

    import agent.screening.steps as steps
    from agent.screening.protocol import ScreenRequest
    from agent.screening.run import screen

    figures: dict = {}

    def timed(name, fn):
        @functools.wraps(fn)
        def wrapper(*a, **k):
            r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                r1 = resource.getrusage(resource.RUSAGE_SELF)
                figures[name] = {"wall_s": round(time.perf_counter() - t0, 2),
                                 "cpu_s": round(r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime, 2)}
        return wrapper

    originals = dict(steps.STEP_FUNCTIONS)
    for name, fn in originals.items():
        steps.STEP_FUNCTIONS[name] = timed(name, fn)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            screen(ScreenRequest(source=str(clip), test=test, run_dir=str(Path(tmp) / "run")))
            figures["total"] = {"wall_s": round(time.perf_counter() - t0, 2)}
    finally:
        steps.STEP_FUNCTIONS.update(originals)
    return figures


def compare(before_path: Path, after_path: Path, tolerance: float) -> dict:
    """Per clip: do the score, review flag and every criterion value agree between two outputs?"""
    before, after = (json.loads(Path(p).read_text()) for p in (before_path, after_path))
    out = {}
    for name, b in before["clips"].items():
        a = after["clips"].get(name)
        if a is None or not b["runs"] or not a["runs"] or "verdict" not in b["runs"][0] or "verdict" not in a["runs"][0]:
            out[name] = "missing"
            continue
        vb, va = b["runs"][0]["verdict"], a["runs"][0]["verdict"]
        diffs = []
        for key in ("score", "review"):
            if vb[key] != va[key]:
                diffs.append(f"{key}: {vb[key]} -> {va[key]}")
        for cid, cb in vb["criteria"].items():
            ca = va["criteria"].get(cid)
            if ca is None:
                diffs.append(f"{cid}: missing after")
                continue
            if cb["passed"] != ca["passed"]:
                diffs.append(f"{cid}: passed {cb['passed']} -> {ca['passed']}")
            if (cb["value"] is None) != (ca["value"] is None) or (
                    cb["value"] is not None and abs(cb["value"] - ca["value"]) > tolerance * max(1.0, abs(cb["value"]))):
                diffs.append(f"{cid}: {cb['value']} -> {ca['value']}")
        out[name] = diffs or "same"
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clip", action="append", default=[], help="clip to screen (repeatable; default the 10 s 1080p clip)")
    ap.add_argument("--test", default="deep_squat")
    ap.add_argument("--repeat", type=int, default=3, help="fresh-process runs per clip (median reported)")
    ap.add_argument("--cli", default="", help="command that runs formscout (default: this checkout's CLI)")
    ap.add_argument("--stages", action="store_true", help="also time each step in-process (wall and CPU)")
    ap.add_argument("--json", default="", help="also write the figures to this file")
    ap.add_argument("--compare", nargs=2, metavar=("BEFORE", "AFTER"), help="compare two outputs' verdicts")
    ap.add_argument("--tolerance", type=float, default=0.02)
    args = ap.parse_args()
    if args.compare:
        print(json.dumps(compare(Path(args.compare[0]), Path(args.compare[1]), args.tolerance), indent=2))
        return
    from tools.video.clip import probe_video
    cli = shlex.split(args.cli) if args.cli else [sys.executable, "-m", "agent.cli.main"]
    clips = [Path(c) for c in args.clip] or [make_clip(300)]
    out = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_1min": load_1min()},
           "cli": " ".join(cli), "startup": startup(cli), "clips": {}}
    for clip in clips:
        info = probe_video(clip)
        runs = [run_screen(cli, clip, args.test, info.duration_s) for _ in range(max(1, args.repeat))]
        ok = [r for r in runs if "error" not in r]
        row = {"duration_s": info.duration_s, "size": f"{info.width}x{info.height}", "fps": info.fps, "runs": runs}
        if ok:
            row["median"] = {k: round(statistics.median(r[k] for r in ok), 3)
                             for k in ("wall_to_verdict_s", "wall_to_exit_s", "ratio_to_verdict", "ratio_to_exit")}
            row["cpu_s"] = cpu_of_screen(cli, clip, args.test)
            row["peak_rss_mb"] = peak_rss_mb(cli, clip, args.test)
        if args.stages:
            row["stages_in_process"] = stages_in_process(clip, args.test)
        out["clips"][clip.name] = row
    text = json.dumps(out, indent=2)
    if args.json:
        Path(args.json).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
