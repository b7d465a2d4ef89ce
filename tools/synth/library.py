"""Synthetic FMS samples: pick a test, an athlete and knobs; label, generate, project, render.

A `Sample` is everything about one synthetic clip (athlete, test, side, knobs,
label, the movement in the body frame). `truth_skeleton` turns it into the
canonical Skeleton a camera would give (world frame: x = the athlete's left at
the start, y up, z the facing direction, metres, floor at y = 0; plus uv and
image_size for the camera). Right-side samples are the exact mirror of the
left-side sample drawn from the same random stream, so mirroring a left
sample gives the right one's geometry.
"""
from __future__ import annotations

import csv
import importlib
import json
import logging
import time
from dataclasses import asdict, dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Callable

import numpy as np

from tools.core.errors import InputError
from tools.core.skeleton import Skeleton
from tools.synth.body import SYNTHETIC_ID_PREFIX, Athlete, make_athlete
from tools.synth.camera import VIEWS, Camera, view_camera
from tools.core.fms import BILATERAL, TESTS
from tools.synth.criteria import Label
from tools.synth.parallel import map_in_processes, resolve_workers
from tools.synth.rig import Motion
from tools.synth.style import GeneratorStyle, get_style, place, retime

log = logging.getLogger(__name__)

GENERATOR_VERSION = "formscout-synth 1"

# test name -> module under tools.synth with Knobs, sample_knobs, label, generate
_MODULES = {
    "deep_squat": "squat",
    "hurdle_step": "hurdle",
    "inline_lunge": "lunge",
    "shoulder_mobility": "shoulder",
    "active_straight_leg_raise": "aslr",
    "trunk_stability_pushup": "pushup",
    "rotary_stability": "rotary",
}


def test_module(test_name: str):
    if test_name not in _MODULES:
        raise InputError(f"unknown FMS test {test_name!r}; use one of: {', '.join(TESTS)}")
    return importlib.import_module(f"tools.synth.{_MODULES[test_name]}")


@dataclass
class Sample:
    """One synthetic clip before any camera: who, what, which knobs, which label, the movement."""

    sample_id: str
    athlete: Athlete
    test_name: str
    side: str
    knobs: object
    label: Label
    motion: Motion
    speed: float
    seed: int
    style: str = "classic"                  # generator style (tools/synth/style.py)
    facing_deg: float = 0.0                 # the athlete's facing in the world frame (0 = +z)
    offset_m: tuple[float, float] = (0.0, 0.0)   # where the athlete stands on the floor (x, z)
    retiming: dict | None = None            # the style's uneven tempo / padding, when applied
    depth: float | None = None              # the style's depth of movement for this sample (None: whole band)

    def meta(self) -> dict:
        return {
            "source": "synthetic", "generator": GENERATOR_VERSION, "sample_id": self.sample_id,
            "style": self.style, "facing_deg": round(float(self.facing_deg), 3),
            "offset_m": [round(float(v), 4) for v in self.offset_m], "depth": self.depth,
            "retiming": self.retiming,
            "test_name": self.test_name, "side": self.side, "score": self.label.score,
            "failed_criteria": list(self.label.failed), "pain": self.label.pain,
            "knobs": {k: (bool(v) if isinstance(v, (bool, np.bool_)) else v) for k, v in asdict(self.knobs).items()},
            "athlete": self.athlete.to_dict(), "speed": self.speed, "seed": self.seed,
            "events": dict(self.motion.events),
            "props": [p.to_dict() for p in self.motion.props],
            "frame": ("world: y up, metres, floor y=0; the body frame (x = athlete's left at the start, z = the "
                      "facing direction) turned by facing_deg about y and moved by offset_m"),
        }


def make_sample(test_name: str, seed: int, score: int | None = None, side: str = "NA",
                athlete: Athlete | None = None, knobs: object | None = None, speed: float | None = None,
                fps: float = 30.0, sample_id: str | None = None,
                style: str | GeneratorStyle | None = None) -> Sample:
    """Draw one sample. Same arguments and seed -> the same sample, bit for bit.

    `score` picks the target score (knobs are drawn to imply it) unless `knobs`
    are given. For bilateral tests `side` is "L" or "R"; the R sample is the
    mirror of the L sample with the same seed. `style` (tools/synth/style.py, default
    classic) sets the body range, tempo, depth of movement, facing and placement.
    """
    style = get_style(style)
    module = test_module(test_name)
    bilateral = test_name in BILATERAL
    if bilateral and side not in ("L", "R"):
        raise InputError(f"{test_name} is bilateral: side must be 'L' or 'R', got {side!r}")
    if not bilateral and side != "NA":
        raise InputError(f"{test_name} has one score: side must be 'NA', got {side!r}")
    rng = np.random.default_rng(seed)
    if athlete is None:
        athlete = make_athlete(rng, index=seed % 10000, body=style.body)
    depth = float(rng.uniform(*style.depth)) if style.depth is not None else None
    if knobs is None:
        if score is None:
            score = int(rng.integers(0, 4)) if rng.random() < 0.1 else int(rng.integers(1, 4))
        if score not in (0, 1, 2, 3):
            raise InputError(f"score must be 0-3, got {score}")
        knobs = module.sample_knobs(rng, score, athlete, **({"depth": depth} if depth is not None else {}))
    lab = module.label(knobs, athlete)
    if speed is None:
        speed = (float(rng.uniform(*style.speed_range)) if style.speed_range is not None
                 else float(rng.choice([0.8, 1.0, 1.0, 1.25])))
    motion = module.generate(athlete, knobs, rng, fps=fps, speed=speed)
    retiming = None
    if style.tempo_warp > 0 or style.lead_in_s[1] > 0:
        motion, rt = retime(motion, rng, style.tempo_warp, style.lead_in_s)
        retiming = asdict(rt)
    facing = float(rng.uniform(*style.facing_deg)) if style.facing_deg != (0.0, 0.0) else 0.0
    offset = (tuple(float(v) for v in rng.uniform(-style.offset_m, style.offset_m, size=2))
              if style.offset_m > 0 else (0.0, 0.0))
    if side == "R":
        motion = motion.mirrored()
    lab = replace(lab, side=side)
    sid = sample_id or f"syn_{test_name}_{side}_{seed}"
    return Sample(sid, athlete, test_name, side, knobs, lab, motion, speed, seed, style=style.name,
                  facing_deg=facing, offset_m=offset, retiming=retiming, depth=depth)


def auto_camera(sample: Sample, view: str, width: int = 640, height: int = 480,
                distance_m: float | None = None, height_m: float | None = None,
                azimuth_offset_deg: float = 0.0, hfov_deg: float = 60.0, fill: float = 0.85) -> Camera:
    """A camera for `view` aimed at the movement's centre; unless `distance_m` is given, as close as
    keeps every joint and prop of every frame inside `fill` of the image."""
    pts = [sample.motion.joints.reshape(-1, 3)]
    for prop in sample.motion.props:
        ends = getattr(prop, "ends", None)
        if ends is not None:
            pts.append(ends.reshape(-1, 3))
        else:
            c, h = np.asarray(prop.centre), np.asarray(prop.half_size)
            pts.append(np.array([c + h * np.array([sx, sy, sz]) for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)]))
    pts = np.concatenate(pts)
    pts = pts[~np.isnan(pts).any(axis=1)]
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    lo[1] = 0.0
    centre = 0.5 * (lo + hi)
    if height_m is None:
        height_m = float(np.clip(centre[1], 0.5, 1.2))
    target = (float(centre[0]), float(centre[1]), float(centre[2]))

    def make(d: float) -> Camera:
        return view_camera(view, side=sample.side, distance_m=d, height_m=height_m, target=target, width=width,
                           height=height, hfov_deg=hfov_deg, azimuth_offset_deg=azimuth_offset_deg)

    if distance_m is not None:
        return make(distance_m)
    d = 3.0
    for _ in range(4):
        uv, depth = make(d).project(pts)
        if (depth <= 0.2).any():
            d *= 1.5
            continue
        half_u = np.abs(uv[:, 0] - width / 2).max() / (fill * width / 2)
        half_v = np.abs(uv[:, 1] - height / 2).max() / (fill * height / 2)
        d = float(np.clip(d * max(half_u, half_v), 1.5, 12.0))
    return make(d)


def truth_skeleton(sample: Sample, camera: Camera | None = None) -> Skeleton:
    """The exact ground-truth Skeleton (conf 1), with uv/image_size when a camera is given.

    The camera is set up in the body frame (as renders are); xyz and the camera recorded in
    meta are both turned and moved by the sample's facing and offset, so uv stays exact.
    """
    placed = sample.facing_deg != 0.0 or sample.offset_m != (0.0, 0.0)
    joints = place(sample.motion.joints, sample.facing_deg, sample.offset_m) if placed else sample.motion.joints
    xyz = joints.astype(np.float32)
    conf = np.ones(xyz.shape[:2], np.float32)
    meta = sample.meta()
    uv = None
    size = None
    if camera is not None:
        uv, _ = camera.project(sample.motion.joints)
        size = (camera.width, camera.height)
        meta["camera"] = camera.to_dict()
        if placed:
            meta["camera"]["position"] = [float(v) for v in place(np.asarray(camera.position), sample.facing_deg,
                                                                   sample.offset_m)]
            meta["camera"]["target"] = [float(v) for v in place(np.asarray(camera.target), sample.facing_deg,
                                                                 sample.offset_m)]
        meta["camera_view"] = camera.view
    return Skeleton(xyz=xyz, conf=conf, fps=sample.motion.fps, uv=uv, image_size=size, meta=meta)


def render_video(sample: Sample, camera: Camera, path: str | Path, crf: int = 23) -> Path:
    """Render the sample's clip from `camera` to an H.264 mp4 at `path`."""
    from tools.synth.render import Renderer
    from tools.video.clip import write_video
    renderer = Renderer(camera, sample.athlete, sample.motion)
    log.info("render %s: %d frames %dx%d view=%s", sample.sample_id, sample.motion.n_frames,
             camera.width, camera.height, camera.view)
    return write_video(path, renderer.frames(), fps=sample.motion.fps, crf=crf)


# ----- a whole library on disk ---------------------------------------------------------------------

LABEL_COLUMNS = ("clip_id", "athlete_id", "date", "test_name", "side", "score", "pain",
                 "compensation_notes", "camera_view", "consent_on_file")
PAIN_SHARE = 0.08          # share of samples with pain reported (score 0)
ASYMMETRY_SHARE = 0.4      # share of bilateral trials whose right side scores differently from the left
BASE_DATE = date(2025, 1, 6)


@dataclass(frozen=True)
class LibraryConfig:
    """What `generate_library` writes. Views are camera names from tools.synth.camera.VIEWS."""

    out_dir: Path
    per_test: int = 4
    seed: int = 0
    noise: str = "clean"
    style: str = "classic"            # generator style (tools/synth/style.py); its noise models replace `noise`
    render: bool = False
    views: tuple[str, ...] = ("front", "side")
    tests: tuple[str, ...] = TESTS
    width: int = 640
    height: int = 480
    fps: float = 30.0
    workers: int = 1                  # render processes: 1 = here (as a plain loop), 0 = one per core


def _child_seed(*keys: int) -> int:
    return int(np.random.SeedSequence(list(keys)).generate_state(1)[0])


def library_athlete_id(seed: int, index: int) -> str:
    """Athlete id in a library: unique across seeds (SYN-s<seed>-<index>), so libraries made with
    different seeds can be pooled or held out without two different athletes sharing an id."""
    return f"{SYNTHETIC_ID_PREFIX}s{seed}-{index:04d}"


def library_samples(config: LibraryConfig):
    """Yield (index, Sample) for the library: per test, `per_test` trials; bilateral tests give L and R.

    Trial i of every test is done by the same synthetic athlete (id SYN-s<seed>-<i>,
    see library_athlete_id), so a library holds whole screens. Target scores cycle 3, 2, 1 over trials; on bilateral
    tests the right side differs from the left in ASYMMETRY_SHARE of trials;
    PAIN_SHARE of samples report pain (score 0).
    """
    style = get_style(config.style)
    for i in range(config.per_test):
        athlete = make_athlete(np.random.default_rng(_child_seed(config.seed, 1, i)), index=i, body=style.body)
        athlete = replace(athlete, athlete_id=library_athlete_id(config.seed, i))
        for t_index, test in enumerate(config.tests):
            test_module(test)
            sides = ("L", "R") if test in BILATERAL else ("NA",)
            for s_index, side in enumerate(sides):
                seed = _child_seed(config.seed, 2, i, TESTS.index(test), s_index)
                rng = np.random.default_rng(seed)
                score = (3, 2, 1)[i % 3]
                if side == "R" and rng.random() < ASYMMETRY_SHARE:   # the other side scores differently
                    score = int(rng.choice([v for v in (1, 2, 3) if v != score]))
                if rng.random() < PAIN_SHARE:
                    score = 0
                sample_id = f"syn-{config.seed}-{test}-{side}-{i:04d}"
                yield i, make_sample(test, seed=seed, score=score, side=side, athlete=athlete,
                                     fps=config.fps, sample_id=sample_id, style=style)


def library_camera(sample: Sample, view: str, config: LibraryConfig) -> Camera:
    """Per-clip camera: the named view with its height, distance and angle varied a little."""
    rng = np.random.default_rng(_child_seed(sample.seed, 3, VIEWS.index(view)))
    return auto_camera(sample, view, width=config.width, height=config.height,
                       height_m=float(rng.uniform(0.6, 1.2)), azimuth_offset_deg=float(rng.uniform(-8, 8)),
                       fill=float(rng.uniform(0.7, 0.9)))


def generate_library(config: LibraryConfig, progress: Callable[[str, int, int | None], None] | None = None) -> dict:
    """Write skeletons/<clip>.npz (noisy as asked), truth/<clip>.npz (exact), optional videos/<clip>.mp4,
    labels.csv (the FMS label schema) and truth.jsonl (knobs, failed criteria, camera per clip).

    Deterministic for a seed: the same bytes whatever `config.workers` (videos are rendered after the
    skeletons, by tools.synth.parallel). `progress(stage, done, total)` is called per clip ("skeletons",
    total None) and per video ("render"). Returns a summary dict (counts, paths, seconds).
    """
    from tools.synth.noise import NOISE_LEVELS, add_noise
    if config.noise not in NOISE_LEVELS:
        raise InputError(f"--noise must be one of {', '.join(NOISE_LEVELS)}; got {config.noise!r}")
    bad = [v for v in config.views if v not in VIEWS]
    if bad or not config.views:
        raise InputError(f"--views must name some of {', '.join(VIEWS)}; got {','.join(config.views) or 'none'}")
    if config.per_test < 1:
        raise InputError(f"--per-test must be at least 1, got {config.per_test}")
    out = Path(config.out_dir)
    for sub in ("skeletons", "truth") + (("videos",) if config.render else ()):
        (out / sub).mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    rows, n_frames_rendered, render_s = [], 0, 0.0
    truth_lines, render_jobs = [], []
    for i, sample in library_samples(config):
        for view in config.views:
            camera = library_camera(sample, view, config)
            clip_id = f"{sample.sample_id}-{view}"
            truth = truth_skeleton(sample, camera)
            truth.meta["clip_id"] = clip_id
            noise_rng = np.random.default_rng(_child_seed(sample.seed, 4, VIEWS.index(view)))
            noise = _noise_for(config, noise_rng)
            noisy = add_noise(truth, noise, noise_rng)
            noisy.save(out / "skeletons" / f"{clip_id}.npz")
            truth.save(out / "truth" / f"{clip_id}.npz")
            files = {"skeleton": f"skeletons/{clip_id}.npz", "truth": f"truth/{clip_id}.npz"}
            if config.render:
                render_jobs.append((sample, camera, out / "videos" / f"{clip_id}.mp4"))
                n_frames_rendered += sample.motion.n_frames
                files["video"] = f"videos/{clip_id}.mp4"
            if progress:
                progress("skeletons", len(rows) + 1, None)
            lab = sample.label
            rows.append({
                "clip_id": clip_id, "athlete_id": sample.athlete.athlete_id,
                "date": (BASE_DATE + timedelta(days=i)).isoformat(), "test_name": sample.test_name,
                "side": sample.side, "score": lab.score, "pain": lab.pain,
                "compensation_notes": lab.compensation_notes(), "camera_view": view,
                "consent_on_file": True,
            })
            truth_lines.append({
                "clip_id": clip_id, "sample_id": sample.sample_id, "test_name": sample.test_name,
                "side": sample.side, "score": lab.score, "pain": lab.pain,
                "failed_criteria": list(lab.failed), "notes": list(lab.notes),
                "knobs": noisy.meta["knobs"], "athlete_id": sample.athlete.athlete_id,
                "athlete": sample.athlete.to_dict(), "speed": sample.speed, "seed": sample.seed,
                "camera": camera.to_dict(), "noise": noise, "events": dict(sample.motion.events),
                "style": sample.style, "facing_deg": sample.facing_deg, "depth": sample.depth,
                "n_frames": sample.motion.n_frames, "fps": sample.motion.fps, "files": files,
            })
    if render_jobs:
        t0 = time.perf_counter()
        map_in_processes(render_video, render_jobs, config.workers,
                         on_done=(lambda done, total: progress("render", done, total)) if progress else None)
        render_s = time.perf_counter() - t0
        log.info("rendered %d videos (%d frames) on %d worker(s) in %.1f s", len(render_jobs), n_frames_rendered,
                 resolve_workers(config.workers, len(render_jobs)), render_s)
    with open(out / "labels.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=LABEL_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    with open(out / "truth.jsonl", "w") as fh:
        for line in truth_lines:
            fh.write(json.dumps(line, sort_keys=True, default=_jsonable) + "\n")
    summary = {
        "out_dir": str(out), "clips": len(rows), "tests": list(config.tests), "views": list(config.views),
        "noise": config.noise, "style": config.style, "seed": config.seed, "rendered_frames": n_frames_rendered,
        "seconds": round(time.perf_counter() - started, 2), "render_seconds": round(render_s, 2),
        "render_workers": resolve_workers(config.workers, len(render_jobs)) if render_jobs else 0,
        "labels": str(out / "labels.csv"), "truth": str(out / "truth.jsonl"),
    }
    log.info("synthetic library: %d clips (%s) -> %s in %.1f s", len(rows), config.noise, out, summary["seconds"])
    return summary


def _noise_for(config: LibraryConfig, rng: np.random.Generator) -> str:
    """The clip's noise model: the one asked for, or (a style with its own models) one drawn from the style's."""
    models = get_style(config.style).noise
    if not models:
        return config.noise
    return str(models[int(rng.integers(len(models)))]) if len(models) > 1 else models[0]


def _jsonable(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON-serialisable: {type(value)}")
