"""Throughput of `formscout batch`: clips per minute against workers, and a simulated season end to end.

    .venv/bin/python benchmarks/bench_throughput.py [--clips 24] [--workers 1,2,4] [--season 400]
                                                    [--videos 8] [--size 640x480] [--json FILE]

Prints (never asserts):
1. scaling: the same `--clips` skeleton clips (synthetic, side view, all seven
   tests) screened by agent.screening.batch.run_batch with 1, 2, 4... local
   workers (counts above this machine's cores are left out): wall seconds,
   clips/min, CPU seconds per clip (this process and its workers, robust to
   other load), and the scaling efficiency (clips/min at N workers) /
   (N x clips/min at 1 worker);
2. season: `--season` skeleton clips (synthetic athletes' whole screens, one
   side-view clip per test and side) generated, written to a manifest and
   screened end to end on all cores, then the same batch again (resumed:
   nothing re-run);
3. videos: `--videos` clips rendered by `synth --render` on all cores (the
   tools.synth.parallel pool) and screened from video (MediaPipe, person
   search, 3D, rubric) by the batch, timed end to end.
The machine's load average is printed before and after each part: wall-clock
figures taken while others share the machine are noisy; the CPU figures much
less so. The catalog is an empty temporary one (retrieval steps are skipped,
as on a fresh install); nothing is filed. The temporary folder is removed at the
end unless --keep.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import agent.screening.batch as batch_module  # noqa: E402
from agent.screening.batch import BatchConfig, run_batch  # noqa: E402
from agent.screening.batch_keys import code_version  # noqa: E402
from agent.screening.batch_engines import cpu_count  # noqa: E402
from tools.synth.library import LibraryConfig, generate_library  # noqa: E402


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} / {five:.1f} / {fifteen:.1f} (1/5/15 min) on {os.cpu_count()} cores"


def cpu_seconds() -> float:
    """CPU seconds of this process plus its finished children (the pool workers)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def library(out: Path, n_clips: int, seed: int, render: bool = False, size=(640, 480)) -> tuple[Path, dict]:
    """A synthetic library with at least `n_clips` side-view clips, and a batch manifest of the first n_clips."""
    per_athlete = 11                      # 3 one-sided tests + 4 bilateral x 2 sides
    config = LibraryConfig(out_dir=out, per_test=max(1, -(-n_clips // per_athlete)), seed=seed, views=("side",),
                           render=render, width=size[0], height=size[1], workers=0)
    summary = generate_library(config)
    lines = [json.loads(line) for line in (out / "truth.jsonl").read_text().splitlines()]
    lines.sort(key=lambda t: (t["athlete_id"], t["test_name"], t["side"]))
    lines = lines[:n_clips]
    manifest = out / "manifest.csv"
    kind = "video" if render else "skeleton"
    rows = ["clip,test,side"] + [f"{t['files'][kind]},{t['test_name']},{'' if t['side'] == 'NA' else t['side']}"
                                 for t in lines]
    manifest.write_text("\n".join(rows) + "\n")
    return manifest, summary


def timed_batch(manifest: Path, out: Path, workers: int, force: bool = True) -> dict:
    t0, c0 = time.perf_counter(), cpu_seconds()
    summary = run_batch(manifest, BatchConfig(out_dir=out, workers=workers, force=force, file_runs=False))
    wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    n = summary.counts["rows"]
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024   # the largest worker so far (KiB -> MiB)
    return {"workers": summary.engine["workers"], "clips": n, "wall_s": round(wall, 1),
            "peak_worker_rss_mb": round(peak_mb),
            "clips_per_min": round(60 * n / wall, 1), "cpu_s_per_clip": round(cpu / n, 2),
            "counts": summary.counts, "run_s": round(summary.run_seconds, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=24, help="clips for the scaling part")
    parser.add_argument("--workers", default="1,2,4", help="worker counts to try (those above the cores are skipped)")
    parser.add_argument("--season", type=int, default=400, help="skeleton clips in the simulated season (0 = skip)")
    parser.add_argument("--videos", type=int, default=8, help="rendered videos screened end to end (0 = skip)")
    parser.add_argument("--size", default="640x480", help="rendered video size")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (libraries, run folders)")
    args = parser.parse_args()
    cores = cpu_count()
    tmp = Path(tempfile.mkdtemp(prefix="bench_throughput_"))
    os.environ["FORMSCOUT_HOME"] = str(tmp / "home")          # an empty catalog: nothing of the user's is read
    os.environ["FORMSCOUT_DB"] = str(tmp / "home" / "formscout.duckdb")
    out: dict = {"cores": cores, "tmp": str(tmp)}
    # The code version is taken once: in a tree others edit while this runs, a fresh hash per batch would
    # (rightly) re-run the resumed season; a released install does not change under a batch.
    version = code_version()
    batch_module.code_version = lambda: version
    print(f"machine: {cores} usable cores; {load()}", flush=True)

    manifest, _ = library(tmp / "scaling_lib", args.clips, seed=11)
    scaling = []
    for w in [int(v) for v in args.workers.split(",") if v.strip()]:
        if w > cores:
            print(f"scaling: {w} workers skipped ({cores} cores)", flush=True)
            continue
        r = timed_batch(manifest, tmp / f"scaling_w{w}", w)
        r["load_after"] = load()
        scaling.append(r)
        print(f"scaling: {w} worker(s): {r['clips']} clips in {r['wall_s']} s = {r['clips_per_min']} clips/min, "
              f"{r['cpu_s_per_clip']} CPU s/clip; {r['load_after']}", flush=True)
    base = scaling[0]["clips_per_min"] if scaling and scaling[0]["workers"] == 1 else None
    for r in scaling:
        r["efficiency"] = round(r["clips_per_min"] / (r["workers"] * base), 2) if base else None
        print(f"scaling efficiency at {r['workers']} worker(s): {r['efficiency']}", flush=True)
    out["scaling"] = scaling

    if args.season:
        t0 = time.perf_counter()
        manifest, gen = library(tmp / "season_lib", args.season, seed=12)
        gen_s = time.perf_counter() - t0
        r = timed_batch(manifest, tmp / "season", 0)
        again = timed_batch(manifest, tmp / "season", 0, force=False)
        out["season"] = {"clips": args.season, "generate_s": round(gen_s, 1), "screen": r, "resume": again,
                         "end_to_end_s": round(gen_s + r["wall_s"], 1), "load_after": load()}
        print(f"season: {args.season} skeleton clips: generated in {gen_s:.1f} s, screened in {r['wall_s']} s on "
              f"{r['workers']} workers ({r['clips_per_min']} clips/min, {r['cpu_s_per_clip']} CPU s/clip; "
              f"{r['counts']}); end to end {out['season']['end_to_end_s']} s; resumed run {again['wall_s']} s "
              f"({again['counts']['resumed']} resumed); {load()}", flush=True)

    if args.videos:
        size = tuple(int(v) for v in args.size.split("x"))
        t0 = time.perf_counter()
        manifest, gen = library(tmp / "video_lib", args.videos, seed=13, render=True, size=size)
        render_s = time.perf_counter() - t0
        r = timed_batch(manifest, tmp / "videos", 0)
        out["videos"] = {"videos": args.videos, "size": args.size, "render_s": round(render_s, 1),
                         "rendered_frames": gen["rendered_frames"], "render_workers": gen["render_workers"],
                         "screen": r, "end_to_end_s": round(render_s + r["wall_s"], 1), "load_after": load()}
        print(f"videos: {gen['clips']} clips rendered at {args.size} ({gen['rendered_frames']} frames) in "
              f"{render_s:.1f} s on {gen['render_workers']} workers; {args.videos} screened from video in "
              f"{r['wall_s']} s ({r['clips_per_min']} clips/min, {r['cpu_s_per_clip']} CPU s/clip; {r['counts']}); "
              f"end to end {out['videos']['end_to_end_s']} s; {load()}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))
    if not args.keep:
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
