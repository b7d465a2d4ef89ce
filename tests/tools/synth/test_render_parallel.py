"""`synth --render` in parallel workers: the same bytes as one process and as a plain render_video call."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from agent.cli.main import main
from tools.synth.library import LibraryConfig, generate_library, library_camera, library_samples, render_video
from tools.synth.parallel import map_in_processes, resolve_workers
from tools.synth.render import POSE_SIZE


def digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def small(out: Path, workers: int) -> LibraryConfig:
    return LibraryConfig(out_dir=out, per_test=1, seed=5, render=True, views=("front", "side"),
                         tests=("deep_squat",), width=96, height=72, workers=workers)


def test_parallel_render_writes_the_same_files_as_one_process(tmp_path):
    seen = []
    one = generate_library(small(tmp_path / "one", 1))
    two = generate_library(small(tmp_path / "two", 2), progress=lambda stage, done, total: seen.append((stage, done, total)))
    assert one["clips"] == two["clips"] == 2 and two["render_workers"] == 2
    a, b = digests(tmp_path / "one"), digests(tmp_path / "two")
    assert len([k for k in a if k.startswith("videos/")]) == 2
    assert a == b
    assert [s for s in seen if s[0] == "skeletons"][-1] == ("skeletons", 2, None)
    assert sorted(d for stage, d, _ in seen if stage == "render") == [1, 2]
    # and the same bytes as rendering each clip directly, the way synth rendered before it had workers
    config = small(tmp_path / "direct", 1)
    sample = next(s for _, s in library_samples(config))
    direct = render_video(sample, library_camera(sample, "side", config), tmp_path / "direct.mp4")
    assert hashlib.sha256(direct.read_bytes()).hexdigest() == a[f"videos/{sample.sample_id}-side.mp4"]


def _square(x: int) -> int:
    return x * x


def test_map_in_processes_keeps_the_order_and_sizes_the_pool():
    assert map_in_processes(_square, [(i,) for i in range(7)], workers=2) == [i * i for i in range(7)]
    assert map_in_processes(_square, [], workers=2) == []
    assert resolve_workers(8, 3) == 3 and resolve_workers(0, 100) >= 1 and resolve_workers(1, 5) == 1


def test_cli_pose_size_and_workers(tmp_path, capsys):
    rc = main(["synth", "--out", str(tmp_path / "lib"), "--per-test", "1", "--tests", "deep_squat", "--views", "front",
               "--size", "pose", "--workers", "1", "--no-progress"])
    summary = json.loads(capsys.readouterr().out)
    assert rc == 0 and summary["render_workers"] == 0   # nothing to render without --render
    truth = json.loads((tmp_path / "lib" / "truth.jsonl").read_text().splitlines()[0])
    assert (truth["camera"]["width"], truth["camera"]["height"]) == POSE_SIZE
    assert main(["synth", "--out", str(tmp_path / "x"), "--workers", "-1", "--render"]) == 2
    assert "--workers must be 0" in capsys.readouterr().err
