"""The library end to end: add, search, show, stats, versions, passages, demo seed, CLI."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from agent.cli.main import main
from index.embedders.motion import KinematicConfig, KinematicEmbedder
from index.library.api import Library
from index.library.toy_clips import toy_clip, write_toy_library
from tools.core.errors import InputError


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("toy")
    return write_toy_library(folder, per_test=6, seed=3), folder


@pytest.fixture()
def lib(tmp_path, toy):
    labels, folder = toy
    with Library(tmp_path / "lib.duckdb") as lib:
        summary = lib.add_labels(labels, folder, batch_size=16)
        assert len(summary.added) == 72 and not summary.failed and not summary.refused
        yield lib


def test_add_stores_skeletons_vectors_and_labels(lib, toy):
    labels, folder = toy
    stats = lib.stats()
    assert stats["clips"] == 72 and stats["synthetic_clips"] == 72
    assert stats["tests"]["hurdle_step"]["by_side"] == {"L": 6, "R": 6}
    assert stats["stores"][0]["vectors"] == 72
    shown = lib.show("SYN-deep_squat-NA-3-0002")
    assert Path(shown["skeleton_file"]).is_file() and shown["skeleton_file"].startswith(str(lib.paths.root))
    assert shown["embedder"] == "kinematic" and shown["vectors"][0]["version"] == shown["embedder_version"]
    assert shown["athlete"]["consent_on_file"] is True and shown["athlete"]["synthetic"] is True
    assert shown["source_kind"] == "skeleton" and shown["video_path"] is None
    assert lib.verify().clean


def test_re_adding_is_idempotent_and_a_changed_file_is_not_silently_replaced(lib, toy, tmp_path):
    labels, folder = toy
    again = lib.add_labels(labels, folder)
    assert not again.added and len(again.skipped) == 72
    assert all("same file" in s["reason"] for s in again.skipped)
    # same clip id, different file
    other = tmp_path / "other"
    other.mkdir()
    rows = list(csv.DictReader(open(labels)))[:1]
    with open(other / "labels.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=rows[0].keys())
        w.writeheader()
        w.writerows(rows)
    toy_clip(rows[0]["test_name"], 1, rows[0]["side"], np.random.default_rng(99)).save(
        other / f"{rows[0]['clip_id']}.npz")
    changed = lib.add_labels(other / "labels.csv", other)
    assert not changed.added and "different file" in changed.skipped[0]["reason"]
    assert lib.stats()["clips"] == 72


def test_search_filters_and_excludes_the_query_clip(lib):
    res = lib.search_clips("SYN-hurdle_step-L-3-0001", test="hurdle_step", side="L", k=4)
    assert len(res.hits) == 4
    assert all(h.test_name == "hurdle_step" and h.side == "L" for h in res.hits)
    assert "SYN-hurdle_step-L-3-0001" not in [h.clip_id for h in res.hits]
    sims = [h.similarity for h in res.hits]
    assert sims == sorted(sims, reverse=True)
    skel_path = lib.paths.abs(lib.catalog.clip("SYN-inline_lunge-R-3-0000").skeleton_path)
    res = lib.search_clips(skel_path, k=3)                 # a .npz file: itself is the best match
    assert res.hits[0].clip_id == "SYN-inline_lunge-R-3-0000" and res.hits[0].similarity > 0.999
    athlete = res.hits[0].athlete_id
    res = lib.search_clips(skel_path, k=10, exclude_athlete=athlete)
    assert athlete not in {h.athlete_id for h in res.hits}
    with pytest.raises(InputError, match="neither a file nor a clip id"):
        lib.search_clips("no-such-clip")
    with pytest.raises(InputError, match="scored once"):
        lib.search_clips(skel_path, test="deep_squat", side="L")


def test_unfiltered_neighbours_share_the_test(lib):
    clips = lib.catalog.all_clips()
    same = [np.mean([h.test_name == c.test_name for h in lib.search_clips(c.clip_id, k=5).hits])
            for c in clips[::3]]
    assert np.mean(same) > 0.9


def test_search_never_mixes_embedder_versions(lib):
    # a library embedded by one version cannot be searched with another until re-embedded
    with Library(lib.paths.db, motion_embedder=KinematicEmbedder(KinematicConfig(n_bins=6))) as other:
        with pytest.raises(InputError, match="rebuild --reembed"):
            other.search_clips("SYN-deep_squat-NA-3-0000", k=3)
        out = other.rebuild(reembed=True)
        assert out["reembedded"]["clip"]["count"] == 72
        res = other.search_clips("SYN-deep_squat-NA-3-0000", k=3)
        assert res.embedder_version == other.motion_embedder.version and len(res.hits) == 3
        versions = {(e, v) for k, e, v, n in other.catalog.vector_versions() if k == "clip"}
        assert versions == {("kinematic", other.motion_embedder.version)}
        assert other.verify().clean


def test_rebuild_recovers_a_lost_faiss_file(lib):
    rec = next(iter(lib.catalog.stores().values()))
    (lib.paths.faiss / rec.file).unlink()
    lib.forget_stores()
    report = lib.verify()
    assert not report.clean and any("missing" in p for p in report.problems)
    lib.rebuild()
    assert lib.verify().clean
    assert len(lib.search_clips("SYN-deep_squat-NA-3-0000", k=5).hits) == 5


def test_passages_sync_and_search(tmp_path):
    passages = [
        {"id": "deep_squat.heels", "test": "deep_squat", "criterion": "heel_rise", "score_level": 2,
         "title": "Heels on the board", "text": "If the heels must be raised on a board to reach depth, score 2."},
        {"id": "deep_squat.depth", "test": "deep_squat", "criterion": "depth", "score_level": 3,
         "title": "Depth", "text": "The thigh goes below horizontal: the hip ends lower than the knee."},
        {"id": "shoulder.gap", "test": "shoulder_mobility", "criterion": "fist_gap", "score_level": 3,
         "title": "Fist gap", "text": "The fists come within one hand length of each other behind the back."},
    ]
    with Library(tmp_path / "p.duckdb") as lib:
        assert lib.sync_passages(passages)["added"] == 3
        assert lib.sync_passages(passages)["added"] == 0          # unchanged: nothing re-embedded
        res = lib.search_passages("athlete lifts the heels to squat deep", k=2)
        assert res.hits[0].passage_id == "deep_squat.heels"
        res = lib.search_passages("distance between the hands", test="shoulder_mobility", k=5)
        assert [h.passage_id for h in res.hits] == ["shoulder.gap"]
        changed = [dict(passages[0], text="Heels raised on a board to reach depth: score 2 at best.")]
        out = lib.sync_passages(changed)
        assert out == {**out, "added": 1, "removed": 2}
        assert set(lib.catalog.passages()) == {"deep_squat.heels"}
        assert lib.verify().clean
        with pytest.raises(InputError, match="appears twice"):
            lib.sync_passages(passages + passages[:1])


def test_seed_demo_library_marks_synthetic_athletes(tmp_path):
    from index.library.demo import seed_demo_library
    db = tmp_path / "demo.duckdb"
    gen = lambda out, n, seed: write_toy_library(out, per_test=n, seed=seed)  # noqa: E731
    summary = seed_demo_library(db, n_per_test=2, seed=5, generator=gen, index_passages=False)
    assert summary["counts"]["added"] == 24
    again = seed_demo_library(db, n_per_test=2, seed=5, generator=gen, index_passages=False)
    assert again["counts"]["added"] == 0 and again["counts"]["skipped"] == 24
    with Library(db, read_only=True) as lib:
        stats = lib.stats()
        assert stats["clips"] == stats["synthetic_clips"] == 24
        assert stats["athletes"] == stats["synthetic_athletes"]
        hits = lib.search_clips("SYN-deep_squat-NA-5-0000", test="deep_squat", k=3).hits
        assert hits and all(h.synthetic and h.athlete_id.startswith("SYN-") for h in hits)


def test_cli_end_to_end(tmp_path, toy, capsys):
    labels, folder = toy
    db = str(tmp_path / "cli.duckdb")
    assert main(["index", "add", str(labels), "--clips", str(folder), "--db", db, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["counts"] == {"added": 72, "skipped": 0, "refused": 0, "failed": 0}
    assert main(["index", "search", "SYN-deep_squat-NA-3-0001", "--test", "deep_squat", "-k", "3",
                 "--db", db, "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert len(res["hits"]) == 3 and res["filters"]["test"] == "deep_squat"
    assert main(["index", "show", "SYN-deep_squat-NA-3-0001", "--db", db]) == 0
    assert "deep_squat" in capsys.readouterr().out
    assert main(["index", "stats", "--db", db, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["clips"] == 72
    assert main(["index", "verify", "--db", db]) == 0
    assert "verify: clean" in capsys.readouterr().out
    assert main(["index", "rebuild", "--db", db]) == 0
    capsys.readouterr()
    # bad input: one line on stderr, exit 2, nothing stored
    bad = tmp_path / "bad.csv"
    bad.write_text(labels.read_text().replace(",deep_squat,NA,", ",deep_squat,L,", 1))
    assert main(["index", "add", str(bad), "--clips", str(folder), "--db", str(tmp_path / "b.duckdb")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "row 2 side" in err and "Traceback" not in err
    with Library(tmp_path / "b.duckdb", read_only=True) as other:
        assert other.stats()["clips"] == 0
    assert main(["index", "search", "--db", str(tmp_path / "none.duckdb"), "x"]) == 2
    assert "no FormScout library" in capsys.readouterr().err
    assert main(["index", "show", "nope", "--db", db]) == 2


def test_refused_rows_are_reported_and_not_stored(tmp_path, toy):
    labels, folder = toy
    rows = list(csv.DictReader(open(labels)))
    rows[0]["consent_on_file"] = "false"
    path = tmp_path / "consent.csv"
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=rows[0].keys())
        w.writeheader()
        w.writerows(rows)
    with Library(tmp_path / "c.duckdb") as lib:
        summary = lib.add_labels(path, folder)
        assert len(summary.added) == 71 and summary.refused[0]["clip_id"] == rows[0]["clip_id"]
        assert lib.catalog.clip(rows[0]["clip_id"]) is None


@pytest.mark.slow
def test_add_a_video_goes_through_pose(tmp_path, sports2d_clip):
    clips = tmp_path / "v"
    clips.mkdir()
    (clips / "real01.mp4").symlink_to(sports2d_clip)
    (clips / "labels.csv").write_text(
        "clip_id,athlete_id,date,test_name,side,score,pain,compensation_notes,camera_view,consent_on_file\n"
        "real01,ATH-1,2025-05-01,deep_squat,NA,2,false,,side,true\n")
    with Library(tmp_path / "v.duckdb") as lib:
        summary = lib.add_labels(clips / "labels.csv", clips)
        assert [a["clip_id"] for a in summary.added] == ["real01"], summary.failed
        rec = lib.catalog.clip("real01")
        assert rec.source_kind == "video" and rec.video_path is None and rec.n_frames > 0
        assert not list(lib.paths.root.rglob("*.mp4"))   # raw video not kept by default
        assert lib.verify().clean


def test_parallel_workers_give_the_same_library(tmp_path, toy, monkeypatch):
    import index.library.adding as library_module
    labels, folder = toy
    monkeypatch.setattr(library_module, "PARALLEL_MIN_ROWS", 0)
    vectors = []
    for workers in (1, 2):
        with Library(tmp_path / f"w{workers}.duckdb") as lib:
            summary = lib.add_labels(labels, folder, workers=workers, batch_size=32)
            assert len(summary.added) == 72 and lib.verify().clean
            keys, vecs = lib.catalog.vectors("clip", lib.motion_embedder.name, lib.motion_embedder.version)
            ids = [c.clip_id for c in lib.catalog.all_clips()]
            vectors.append(dict(zip(ids, vecs)))
    assert vectors[0].keys() == vectors[1].keys()
    assert all(np.allclose(vectors[0][k], vectors[1][k], atol=1e-6) for k in vectors[0])


def test_cli_indexes_the_knowledge_passages(tmp_path, capsys):
    db = str(tmp_path / "k.duckdb")
    assert main(["index", "add", "--passages", "--db", db, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["added"] > 0
    assert main(["index", "search", "--text", "heels come up off the floor", "--test", "deep_squat",
                 "--db", db, "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)["hits"]
    assert hits and all(h["test"] in ("deep_squat", None, "") for h in hits)
