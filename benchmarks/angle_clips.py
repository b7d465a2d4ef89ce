"""Rendered clip sets with known truth for the angle benchmarks: specs, rendering and a pose cache.

Used by benchmarks/bench_angles_video.py and benchmarks/bench_rubric_video.py.
A clip is one synthetic sample (tools.synth) filmed by one camera: a view
azimuth (degrees about the vertical, 0 = in front of the athlete at the start,
+90 = on the athlete's left), a lens height, an image size and a horizontal
field of view. Every clip is rendered once into a cache folder and posed once
(MediaPipe through tools.people.athlete_pose.estimate_pose, athlete selection on, as
`formscout screen` does); later runs read the cached files, so the fit can be
re-run on hundreds of clips in minutes.

Sets (`clip_set(name)`):
  tune      the clips the fit's weights were chosen on: every test, azimuths
            0/30/45/60/90/135/180, lens at 0.6 and 1.2 m, 960x540, hfov 60 deg,
            seeds 100-199 (bilateral tests: one L and one R sample)
  heldout   never used to choose anything: other bodies and movements
            (seeds 900-999), other target scores, azimuths 15/40/75/120/165,
            lens at 0.9 m, 1280x720 with hfov 70 deg (a wider phone-like lens)
  budget    the error-budget grid of knowledge/error_budget.yaml: azimuths
            0/30/45/60/90/135/180 x lens at 0.6 and 1.2 m, seeds 500-599
            (bodies and movements not in tune), two samples per test
"""
from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.core.fms import BILATERAL, TESTS  # noqa: E402

TUNE_AZIMUTHS = (0.0, 30.0, 45.0, 60.0, 90.0, 135.0, 180.0)
HELDOUT_AZIMUTHS = (15.0, 40.0, 75.0, 120.0, 165.0)
HEIGHTS_M = (0.6, 1.2)


@dataclass(frozen=True)
class ClipSpec:
    """One rendered clip: which sample, which camera."""

    test: str
    seed: int
    side: str
    score: int
    azimuth_deg: float
    lens_height_m: float
    width: int = 960
    height: int = 540
    hfov_deg: float = 60.0
    set_name: str = "tune"

    @property
    def clip_id(self) -> str:
        return (f"{self.set_name}-{self.test}-{self.side}-{self.seed}-s{self.score}-a{self.azimuth_deg:g}"
                f"-h{self.lens_height_m:g}-{self.width}x{self.height}-f{self.hfov_deg:g}")


def _samples(test: str, base: int, n: int, scores: tuple[int, ...]) -> list[tuple[int, str, int]]:
    sides = ("L", "R") if test in BILATERAL else ("NA",)
    return [(base + TESTS.index(test) * 10 + i, sides[i % len(sides)], scores[i % len(scores)]) for i in range(n)]


def clip_set(name: str, tests: tuple[str, ...] = TESTS, size: str = "") -> list[ClipSpec]:
    """The named clip set (module docstring). `size` "pose" (or "WxH") renders every clip of the set at that
    image size instead (384x288 "pose": MediaPipe's full input detail, about 3x cheaper to render and pose);
    the clip ids name the size, so caches of both sizes live side by side."""
    out = _clip_set(name, tests)
    if size:
        from dataclasses import replace
        from tools.synth.render import POSE_SIZE
        w, h = POSE_SIZE if size == "pose" else (int(v) for v in size.lower().split("x"))
        out = [replace(s, width=int(w), height=int(h)) for s in out]
    return out


def _clip_set(name: str, tests: tuple[str, ...]) -> list[ClipSpec]:
    out: list[ClipSpec] = []
    for test in tests:
        if name == "tune":
            for seed, side, score in _samples(test, 100, 2, (3, 2)):
                out += [ClipSpec(test, seed, side, score, a, h) for a in TUNE_AZIMUTHS for h in HEIGHTS_M]
        elif name == "heldout":
            for seed, side, score in _samples(test, 900, 2, (1, 3)):
                out += [ClipSpec(test, seed, side, score, a, 0.9, 1280, 720, 70.0, "heldout") for a in HELDOUT_AZIMUTHS]
        elif name == "budget":
            for seed, side, score in _samples(test, 500, 2, (2, 3)):
                out += [ClipSpec(test, seed, side, score, a, h, set_name="budget") for a in TUNE_AZIMUTHS
                        for h in HEIGHTS_M]
        else:
            raise ValueError(f"unknown clip set {name!r}: tune, heldout or budget")
    return out


def select(specs: list[ClipSpec], azimuths: str = "", heights: str = "", samples: int = 0) -> list[ClipSpec]:
    """The clips of `specs` at these azimuths / lens heights (comma-separated; empty = all), and of the first
    `samples` seeds per test (0 = all)."""
    if azimuths:
        keep = {float(a) for a in azimuths.split(",")}
        specs = [s for s in specs if s.azimuth_deg in keep]
    if heights:
        keep_h = {float(h) for h in heights.split(",")}
        specs = [s for s in specs if s.lens_height_m in keep_h]
    if samples:
        seeds: dict[str, list[int]] = {}
        for s in specs:
            got = seeds.setdefault(s.test, [])
            if s.seed not in got:
                got.append(s.seed)
        specs = [s for s in specs if s.seed in seeds[s.test][:samples]]
    return specs


def sample_and_camera(spec: ClipSpec):
    from tools.synth.library import auto_camera, make_sample
    sample = make_sample(spec.test, spec.seed, score=spec.score, side=spec.side)
    camera = auto_camera(sample, "front", width=spec.width, height=spec.height, height_m=spec.lens_height_m,
                         azimuth_offset_deg=spec.azimuth_deg, hfov_deg=spec.hfov_deg)
    return sample, camera


def clip_files(spec: ClipSpec, cache: Path) -> dict[str, Path]:
    d = Path(cache) / spec.clip_id
    return {"dir": d, "video": d / "clip.mp4", "truth": d / "truth.npz", "pose": d / "pose_2d.npz",
            "spec": d / "spec.json"}


def ensure_clip(spec: ClipSpec, cache: Path, *, pose: bool = True) -> dict[str, Path]:
    """Render (and pose) the clip unless the cache already holds it; returns its file paths."""
    from tools.synth.library import render_video, truth_skeleton
    files = clip_files(spec, cache)
    files["dir"].mkdir(parents=True, exist_ok=True)
    timings = {}
    if not files["video"].is_file() or not files["truth"].is_file():
        sample, camera = sample_and_camera(spec)
        t0 = time.process_time()
        render_video(sample, camera, files["video"])
        timings["render_cpu_s"] = time.process_time() - t0
        truth = truth_skeleton(sample, camera)
        truth.meta["clip_spec"] = asdict(spec)
        truth.save(files["truth"])
    if pose and not files["pose"].is_file():
        timings["pose_cpu_s"], timings["pose_wall_s"] = write_pose(files["video"], files["pose"])
    if timings:
        old = json.loads(files["spec"].read_text()) if files["spec"].is_file() else {}
        files["spec"].write_text(json.dumps({**old, **asdict(spec), **timings}, indent=1))
    return files


def write_pose(video: Path, out: Path) -> tuple[float, float]:
    """MediaPipe pose (athlete selection on) saved like the screening step's pose_2d.npz; (cpu s, wall s)."""
    from tools.people.athlete_pose import estimate_pose
    c0, t0 = time.process_time(), time.perf_counter()
    pose = estimate_pose(video)
    cpu, wall = time.process_time() - c0, time.perf_counter() - t0
    arrays = dict(uv=pose.uv, conf=pose.conf, fps=np.float64(pose.fps), image_size=np.asarray(pose.image_size),
                  meta=np.asarray(json.dumps(pose.meta, default=str)))
    if pose.world_xyz is not None:
        arrays["world_xyz"] = pose.world_xyz
    tmp = out.with_name(out.stem + ".tmp.npz")
    np.savez_compressed(tmp, **arrays)
    tmp.replace(out)
    return cpu, wall


def load_pose(path: Path):
    from tools.pose.backends import PoseResult
    with np.load(path, allow_pickle=False) as d:
        return PoseResult(uv=d["uv"], conf=d["conf"], world_xyz=d["world_xyz"] if "world_xyz" in d.files else None,
                          image_size=tuple(int(v) for v in d["image_size"]), fps=float(d["fps"]),
                          meta=json.loads(str(d["meta"])))


def main(argv: list[str] | None = None) -> int:
    """Fill the cache: `python benchmarks/angle_clips.py --set tune --cache DIR [--tests a,b]`."""
    import argparse
    import logging
    import warnings
    p = argparse.ArgumentParser(description=main.__doc__)
    p.add_argument("--set", default="tune")
    p.add_argument("--cache", required=True)
    p.add_argument("--tests", default=",".join(TESTS))
    p.add_argument("--size", default="", help="'pose' (384x288) or WxH instead of the set's image size")
    p.add_argument("--azimuths", default="", help="only these azimuths (comma-separated)")
    p.add_argument("--heights", default="", help="only these lens heights in m (comma-separated)")
    p.add_argument("--samples", type=int, default=0, help="only the first N samples (seeds) per test")
    p.add_argument("--shard", default="0/1", help="k/n: this process does every n-th clip from k")
    p.add_argument("--priority", action="store_true",
                   help="the front, side, 45-degree and back views at 1.2 m of every test first")
    args = p.parse_args(argv)
    warnings.simplefilter("ignore")
    logging.basicConfig(level=logging.WARNING)
    k, n = (int(v) for v in args.shard.split("/"))
    specs = select(clip_set(args.set, tuple(args.tests.split(",")), args.size), args.azimuths, args.heights,
                   args.samples)
    if args.priority:
        rank = {0.0: 0, 90.0: 1, 45.0: 2, 180.0: 3}
        specs = sorted(specs, key=lambda s: (s.lens_height_m != 1.2, rank.get(s.azimuth_deg, 9), s.seed % 10))
    specs = specs[k::n]
    t0 = time.perf_counter()
    for i, spec in enumerate(specs):
        ensure_clip(spec, Path(args.cache))
        print(f"[{i + 1}/{len(specs)}] {spec.clip_id} ({time.perf_counter() - t0:.0f} s)", flush=True)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
