"""The one clip resolver (tools.core.files.ClipResolver) and the commands that use it: index add, eval,
fit-criteria, session. `synth --out S` then `index add S/labels.csv --clips S` (or --clips S/skeletons)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from agent.cli.main import main
from index.library.toy_clips import toy_clip
from tools.core.files import SKELETON_SUFFIXES, ClipNotFound, ClipResolver, resolve_clip


def _clip(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    toy_clip("deep_squat", 2, "NA", np.random.default_rng(0)).save(path)
    return path


def test_resolution_order(tmp_path):
    labels = tmp_path / "sheet" / "labels.csv"
    labels.parent.mkdir()
    clips = tmp_path / "clips"
    absolute = _clip(tmp_path / "abs" / "a.npz")
    beside = _clip(tmp_path / "sheet" / "rel" / "b.npz")
    in_clips = _clip(clips / "rel" / "c.npz")
    r = ClipResolver(labels, clips)
    assert r.resolve("x", str(absolute)) == absolute                      # 1. absolute path column
    assert r.resolve("x", "rel/b.npz") == beside                          # 2. relative to the labels file
    assert r.resolve("x", "rel/c.npz") == in_clips                        # 3. relative to --clips
    top = _clip(clips / "d.npz")
    (clips / "d.mp4").write_bytes(b"video")
    assert r.resolve("d") == top                                          # 4. <clips>/<id>, a skeleton first
    sub = _clip(clips / "skeletons" / "e.npz")
    assert r.resolve("e") == sub                                          #    ... and skeletons/ clips/ videos/
    deep = _clip(clips / "2025" / "march" / "f.npz")
    assert ClipResolver(labels, clips).resolve("f") == deep               # 5. anywhere below, when unique


def test_an_unresolvable_row_names_every_path_tried(tmp_path):
    with pytest.raises(ClipNotFound) as err:
        resolve_clip("ghost", "missing/ghost.npz", labels_file=tmp_path / "l.csv", clips_dir=tmp_path / "c")
    msg, tried = str(err.value), err.value.tried
    for where in (tmp_path / "missing" / "ghost.npz", tmp_path / "c" / "missing" / "ghost.npz",
                  tmp_path / "c" / "ghost.{npz,", tmp_path / "c" / "skeletons" / "ghost.{npz,",
                  tmp_path / "c" / "**" / "ghost.*"):
        assert str(where) in msg
    assert len(tried) == 7 and "\n" not in msg


def test_two_files_of_one_clip_id_below_the_folder_are_an_error_not_a_guess(tmp_path):
    _clip(tmp_path / "a" / "dup.npz")
    _clip(tmp_path / "b" / "dup.npz").write_bytes(b"another file")
    with pytest.raises(ClipNotFound, match="2 files of that name"):
        ClipResolver(None, tmp_path).resolve("dup")
    only = ClipResolver(None, tmp_path / "a", suffixes=SKELETON_SUFFIXES)
    assert only.resolve("dup").parent.name == "a"


@pytest.fixture(scope="module")
def synth_library(tmp_path_factory):
    """What `formscout synth --out S --per-test 1 --seed 3 --tests deep_squat,hurdle_step` writes (the same
    function the command calls): S/labels.csv, S/skeletons/*.npz, and S/truth/*.npz of the same names."""
    from tools.synth.library import LibraryConfig, generate_library
    out = tmp_path_factory.mktemp("synth") / "S"
    generate_library(LibraryConfig(out_dir=out, per_test=1, seed=3, tests=("deep_squat", "hurdle_step")))
    assert (out / "skeletons").is_dir() and (out / "truth").is_dir()
    return out


@pytest.mark.parametrize("clips", ["S", "S/skeletons", None])
def test_synth_then_index_add_finds_the_clips(synth_library, clips, tmp_path, capsys):
    capsys.readouterr()
    folder = {"S": synth_library, "S/skeletons": synth_library / "skeletons", None: None}[clips]
    argv = ["index", "add", str(synth_library / "labels.csv"), "--db", str(tmp_path / "lib.duckdb"), "--json"]
    assert main(argv + (["--clips", str(folder)] if folder else [])) == 0
    out = json.loads(capsys.readouterr().out)
    n = sum(1 for _ in open(synth_library / "labels.csv")) - 1
    assert out["counts"]["added"] == n and out["fate_counts"]["added"] == n
    assert main(["index", "verify", "--db", str(tmp_path / "lib.duckdb")]) == 0


def test_eval_and_fit_criteria_find_the_synth_clips_the_same_way(synth_library, tmp_path, capsys):
    from tools.core.labels import read_labels, resolve_clips
    rows = resolve_clips(read_labels(synth_library / "labels.csv"), synth_library, synth_library / "labels.csv")
    assert all("/skeletons/" in r.path for r in rows)                    # not the exact truth/ files of the same name
    from agent.cli.fit_criteria import measure_labelled
    from tools.scoring.criteria import load_criteria
    clips, problems = measure_labelled(synth_library / "labels.csv", synth_library, load_criteria(),
                                       tmp_path / "cache", "mediapipe")
    assert not [p for p in problems if "no file" in p or "found" in p] and len(clips) == len(rows)
