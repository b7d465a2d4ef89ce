"""Benchmark the retrieval index: add throughput, search latency at scale, peak memory, retrieval quality.

Usage:
  .venv/bin/python benchmarks/bench_index.py            # everything (a few minutes on 2 cores)
  .venv/bin/python benchmarks/bench_index.py --quick    # smaller sizes
  .venv/bin/python benchmarks/bench_index.py --json out/bench_index.json

Each phase runs in its own child process, so "peak RSS" is that phase's own
peak resident memory (ru_maxrss), not the sum of everything before it.

Phases
  add_skeletons  clips/s of `Library.add_labels` on synthetic .npz skeletons
                 (validation, hashing, copy, angles + embedding, DuckDB + FAISS
                 commit), batch size 128.
  add_video      s/clip of the same path from a real video (pose + 3D lift),
                 when tools.pose.backends/tools.geometry.lift3d and the real-footage clip sports2d_demo.mp4 exist.
  search_N       latency of `Library.search_clips(vector, ...)` over N catalog
                 clips with random unit vectors of the kinematic embedder's
                 dimension: unfiltered, and filtered to one test and side (the
                 catalog query for the allowed ids is included). Also the time
                 to embed a query skeleton.
  quality        held-out retrieval on the synthetic library (index.library.demo clip
                 source: tools.synth where it has the test, else index.library.toy_clips):
                 share of top-5 neighbours with the same test (unfiltered
                 search) and with the same score (search filtered to the
                 clip's test and side), next to the chance rate.
Figures only; no timed asserts (docs/DESIGN.md).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _percentiles_ms(samples: list[float], cpu: list[float] | None = None) -> dict:
    """Wall-clock p50/p95 and, when given, the calling thread's CPU-time p50/p95.

    A search runs in the calling thread (FAISS single-threaded for one query,
    no SQL), so its CPU time is what it costs on an idle core; wall time adds
    whatever waiting for a core the machine's load imposes.
    """
    a = np.asarray(samples) * 1000.0
    out = {"p50_ms": round(float(np.percentile(a, 50)), 3), "p95_ms": round(float(np.percentile(a, 95)), 3),
           "n": len(samples)}
    if cpu is not None:
        c = np.asarray(cpu) * 1000.0
        out.update(cpu_p50_ms=round(float(np.percentile(c, 50)), 3), cpu_p95_ms=round(float(np.percentile(c, 95)), 3))
    return out


def _timed(fn, items) -> dict:
    wall, cpu = [], []
    for item in items:
        t, c = time.perf_counter(), time.thread_time()
        fn(item)
        cpu.append(time.thread_time() - c)
        wall.append(time.perf_counter() - t)
    return _percentiles_ms(wall, cpu)


# ----- phases (each runs in a child process) -------------------------------------------------
def phase_add_skeletons(n_per_test: int, workers: int = 1) -> dict:
    from index.library.api import Library
    from index.library.toy_clips import write_toy_library
    with tempfile.TemporaryDirectory() as tmp:
        labels = write_toy_library(Path(tmp) / "clips", per_test=n_per_test, seed=1)
        n = sum(1 for _ in open(labels)) - 1
        with Library(Path(tmp) / "lib.duckdb") as lib:
            lib.motion_embedder  # build outside the timing (imports)
            t0, c0 = time.perf_counter(), time.process_time()
            summary = lib.add_labels(labels, Path(tmp) / "clips", batch_size=128, workers=workers)
            dt, cpu = time.perf_counter() - t0, time.process_time() - c0
            assert len(summary.added) == n
            t1 = time.perf_counter()
            again = lib.add_labels(labels, Path(tmp) / "clips")
            dt_again = time.perf_counter() - t1
            clean = lib.verify().clean
    out = {"clips": n, "workers": workers, "seconds": round(dt, 3), "clips_per_s": round(n / dt, 1),
           "readd_skip_clips_per_s": round(len(again.skipped) / dt_again, 1), "verify_clean": clean}
    if workers == 1:  # CPU time of this process = all the work: load-independent figure
        out["clips_per_cpu_s"] = round(n / cpu, 1)
    return out


def phase_add_video(n_clips: int) -> dict:
    clip = REPO.parent / "shared" / "data" / "sports2d_demo.mp4"
    try:
        import tools.geometry.lift3d  # noqa: F401
        import tools.pose.backends  # noqa: F401
    except ImportError as exc:
        return {"skipped": f"pose tools not importable: {exc}"}
    if not clip.is_file():
        return {"skipped": f"{clip} not present"}
    from index.library.api import Library
    from tools.video.clip import probe_video
    info = probe_video(clip)
    with tempfile.TemporaryDirectory() as tmp:
        clips = Path(tmp) / "clips"
        clips.mkdir()
        lines = ["clip_id,athlete_id,date,test_name,side,score,pain,compensation_notes,camera_view,consent_on_file"]
        for i in range(n_clips):
            (clips / f"vid{i}.mp4").symlink_to(clip)
            lines.append(f"vid{i},ATH-BENCH-{i},2025-01-01,deep_squat,NA,2,false,,side,true")
        (clips / "labels.csv").write_text("\n".join(lines) + "\n")
        with Library(Path(tmp) / "lib.duckdb") as lib:
            t0 = time.perf_counter()
            summary = lib.add_labels(clips / "labels.csv", clips)
            dt = time.perf_counter() - t0
    return {"clips": n_clips, "added": len(summary.added), "failed": summary.failed,
            "video_frames": info.n_frames, "video_s": round(info.duration_s, 2),
            "seconds_per_clip": round(dt / n_clips, 2), "clips_per_s": round(n_clips / dt, 3),
            "video_frames_per_s": round(info.n_frames * n_clips / dt, 1)}


def _fill_catalog(lib, n: int, rng: np.random.Generator) -> None:
    """n catalog clips (random labels) with random unit vectors, committed like an add."""
    from index.storage.catalog import ClipRecord, utc_now
    from index.storage.vectors import VectorStore
    from tools.core.fms import BILATERAL, TESTS
    emb = lib.motion_embedder
    keys = np.asarray(lib.catalog.next_keys(n), dtype=np.int64)
    tests = rng.integers(0, len(TESTS), n)
    now = utc_now()
    recs = []
    for i, k in enumerate(keys):
        test = TESTS[tests[i]]
        side = ("L", "R")[i % 2] if test in BILATERAL else "NA"
        recs.append(ClipRecord(
            clip_id=f"B{k}", athlete_id=f"SYN-B{i % 2000:04d}", date=date(2025, 1, 1), test_name=test, side=side,
            score=int(rng.integers(0, 4)), pain=False, compensation_notes="", camera_view="side",
            consent_on_file=True, skeleton_path=f"skeletons/none/B{k}.npz", source_kind="skeleton",
            source_sha256="0" * 64, embedder=emb.name, embedder_version=emb.version, synthetic=True,
            clip_key=int(k), added=now))
    vecs = rng.normal(size=(n, emb.dim)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    store = VectorStore.empty("clip", emb.name, emb.version, emb.dim)
    with lib.commit() as c:                      # the library's one commit: rows and the FAISS generation together
        for start in range(0, n, 20000):
            c.catalog.insert_clips(recs[start:start + 20000])
            c.catalog.insert_vectors("clip", keys[start:start + 20000], emb.name, emb.version,
                                     vecs[start:start + 20000])
        store.add(keys, vecs)
        c.put_store(store)
    lib.forget_stores()


def phase_search(n: int, queries: int) -> dict:
    from index.library.api import Library
    from index.library.toy_clips import toy_clip
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        with Library(Path(tmp) / "lib.duckdb") as lib:
            t0 = time.perf_counter()
            _fill_catalog(lib, n, rng)
            build_s = time.perf_counter() - t0
        with Library(Path(tmp) / "lib.duckdb", read_only=True) as lib:
            emb = lib.motion_embedder
            t0 = time.perf_counter()
            lib.store("clip", emb)
            load_s = time.perf_counter() - t0
            qs = rng.normal(size=(queries, emb.dim)).astype(np.float32)
            qs /= np.linalg.norm(qs, axis=1, keepdims=True)
            lib.search_clips(qs[0], k=5)  # warm up
            out = {"clips": n, "dim": emb.dim, "build_s": round(build_s, 2), "store_load_s": round(load_s, 3)}
            for label, kwargs in (("unfiltered", {}), ("test_filter", {"test": "deep_squat"}),
                                  ("test_side_filter", {"test": "hurdle_step", "side": "L"})):
                assert len(lib.search_clips(qs[0], k=5, **kwargs).hits) == 5
                out[label] = _timed(lambda q: lib.search_clips(q, k=5, **kwargs), qs)
            store = lib.store("clip", emb)
            out["faiss_only_unfiltered"] = _timed(lambda q: store.search(q, 5), qs)
            skels = [toy_clip("deep_squat", 2, "NA", rng) for _ in range(20)]
            out["embed_query_skeleton"] = _timed(lambda s: emb.embed([s]), skels)
    return out


def phase_quality(n_per_test: int, n_query_per_test: int) -> dict:
    from index.library.demo import write_demo_clips
    from index.library.api import Library
    with tempfile.TemporaryDirectory() as tmp:
        lib_labels = write_demo_clips(Path(tmp) / "lib", n_per_test, seed=1)
        query_labels = write_demo_clips(Path(tmp) / "query", n_query_per_test, seed=2)  # other athletes
        import csv
        queries = list(csv.DictReader(open(query_labels)))
        sources = {}
        for r in csv.DictReader(open(lib_labels)):
            sources[r["test_name"]] = "tools.synth" if "tools.synth" in r["compensation_notes"] else "index.library.toy_clips"
        with Library(Path(tmp) / "lib.duckdb") as lib:
            lib.add_labels(lib_labels, Path(tmp) / "lib")
            scores = [c.score for c in lib.catalog.all_clips()]
            same_test, same_score, chance = [], [], []
            per_test: dict[str, list[float]] = {}
            for q in queries:
                path = Path(tmp) / "query" / f"{q['clip_id']}.npz"
                hits = lib.search_clips(path, k=5, exclude_athlete=q["athlete_id"]).hits
                same_test.append(np.mean([h.test_name == q["test_name"] for h in hits]))
                hits = lib.search_clips(path, test=q["test_name"], side=q["side"], k=5,
                                        exclude_athlete=q["athlete_id"]).hits
                s = np.mean([h.score == int(q["score"]) for h in hits])
                same_score.append(s)
                per_test.setdefault(q["test_name"], []).append(s)
                pool = [c.score for c in lib.catalog.all_clips() if c.test_name == q["test_name"]
                        and c.side == q["side"] and c.athlete_id != q["athlete_id"]]
                chance.append(np.mean([p == int(q["score"]) for p in pool]))
    return {"library_clips": len(scores), "held_out_queries": len(queries),
            "held_out": "query clips are new clips (another seed); each query's own athlete is excluded "
                        "from its neighbours",
            "clip_source_per_test": sources,
            "top5_same_test_share": round(float(np.mean(same_test)), 3),
            "top5_same_score_share_within_test_side": round(float(np.mean(same_score)), 3),
            "chance_same_score_share": round(float(np.mean(chance)), 3),
            "same_score_share_per_test": {t: round(float(np.mean(v)), 3) for t, v in per_test.items()}}


PHASES = {"add_skeletons": phase_add_skeletons, "add_video": phase_add_video, "search": phase_search,
          "quality": phase_quality}


def _child(name: str, kwargs: dict) -> dict:
    """Run one phase in a fresh interpreter; returns its result plus its peak RSS."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--phase", name, "--kwargs", json.dumps(kwargs)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1:] or ["failed"]}
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["wall_s"] = round(time.perf_counter() - t0, 2)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smaller sizes (1k/10k search, fewer clips)")
    ap.add_argument("--json", help="also write the figures to this file")
    ap.add_argument("--only", help="comma-separated phase labels to run (default: all)")
    ap.add_argument("--phase", help=argparse.SUPPRESS)
    ap.add_argument("--kwargs", default="{}", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phase:
        result = PHASES[args.phase](**json.loads(args.kwargs))
        result["peak_rss_mb"] = round(_peak_rss_mb(), 1)
        print(json.dumps(result, default=str))
        return
    plan = [
        ("add_skeletons", "add_skeletons", {"n_per_test": 20 if args.quick else 60}),
        ("add_skeletons_2_workers", "add_skeletons", {"n_per_test": 20 if args.quick else 60, "workers": 2}),
        ("add_video", "add_video", {"n_clips": 1 if args.quick else 2}),
        ("search_10k", "search", {"n": 1_000 if args.quick else 10_000, "queries": 200}),
        ("search_100k", "search", {"n": 10_000 if args.quick else 100_000, "queries": 200}),
        ("quality", "quality", {"n_per_test": 6 if args.quick else 15, "n_query_per_test": 3 if args.quick else 6}),
    ]
    import platform
    report = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                          "when": datetime.now().isoformat(timespec="seconds"),
                          "load_avg_1m_at_start": round(os.getloadavg()[0], 2)}, "phases": {}}
    if args.only:
        plan = [p for p in plan if p[0] in args.only.split(",")]
    for label, phase, kwargs in plan:
        print(f"[bench_index] {label} {kwargs} ...", file=sys.stderr, flush=True)
        report["phases"][label] = {"params": kwargs, **_child(phase, kwargs)}
        print(json.dumps({label: report["phases"][label]}, default=str), flush=True)
    report["machine"]["load_avg_1m_at_end"] = round(os.getloadavg()[0], 2)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report, indent=2, default=str))
    ph = report["phases"]
    print("\nsummary (targets: search p95 <= 10 ms at 100k, add >= 100 skeleton clips/s); load average "
          f"{report['machine']['load_avg_1m_at_start']} -> {report['machine']['load_avg_1m_at_end']} "
          f"on {report['machine']['cpus']} cores")
    for label, p in ph.items():
        if "error" in p or "skipped" in p:
            print(f"  {label}: {p.get('error') or p.get('skipped')}")
        elif label.startswith("add_skeletons"):
            print(f"  {label}: {p['clips_per_s']} clips/s wall"
                  + (f", {p['clips_per_cpu_s']} clips per CPU-second" if "clips_per_cpu_s" in p else "")
                  + f" ({p['clips']} clips, {p['workers']} worker(s), peak RSS {p['peak_rss_mb']} MB)")
        elif label == "add_video":
            print(f"  add_video: {p['seconds_per_clip']} s/clip ({p['video_frames']} frames each), "
                  f"peak RSS {p['peak_rss_mb']} MB")
        elif label.startswith("search"):
            u, f = p["unfiltered"], p["test_side_filter"]
            print(f"  {label} ({p['clips']} clips x {p['dim']}): unfiltered p50/p95 wall {u['p50_ms']}/{u['p95_ms']} ms, "
                  f"CPU {u['cpu_p50_ms']}/{u['cpu_p95_ms']} ms; test+side filter wall {f['p50_ms']}/{f['p95_ms']} ms, "
                  f"CPU {f['cpu_p50_ms']}/{f['cpu_p95_ms']} ms; peak RSS {p['peak_rss_mb']} MB")
        elif label == "quality":
            print(f"  quality ({p['held_out_queries']} held-out clips, library {p['library_clips']}): top-5 same test "
                  f"{p['top5_same_test_share']}, same score {p['top5_same_score_share_within_test_side']} "
                  f"(chance {p['chance_same_score_share']})")

if __name__ == "__main__":
    main()
