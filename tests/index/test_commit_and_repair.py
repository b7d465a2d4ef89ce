"""The library's one commit (index.library.core.LibraryCore.commit), `index verify` finding each kind of
mismatch, `index repair` fixing it, and erasure of the run and session folders recorded for an athlete."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from agent.cli.main import main
from index.library.api import Library, record_output, record_run
from index.library.toy_clips import write_toy_library
from tools.core.files import claim_folder


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    folder = tmp_path_factory.mktemp("toy")
    return write_toy_library(folder, per_test=2, seed=4), folder


@pytest.fixture
def lib(tmp_path, toy):
    labels, folder = toy
    with Library(tmp_path / "lib.duckdb") as lib:
        assert len(lib.add_labels(labels, folder).added) == 24
        yield lib


def test_a_failed_commit_changes_nothing_and_a_good_one_is_one_new_generation(lib):
    emb = lib.motion_embedder
    before = lib.catalog.stores()
    n_clips = lib.stats()["clips"]
    with pytest.raises(RuntimeError, match="boom"), lib.commit() as c:
        c.catalog.con.execute("DELETE FROM clips")
        c.store("clip", emb).remove(np.asarray([c.catalog.all_clips()[0].clip_key if c.catalog.all_clips()
                                                else 1], dtype=np.int64))
        raise RuntimeError("boom")
    assert lib.stats()["clips"] == n_clips and lib.catalog.stores() == before and lib.verify().clean
    files = sorted(p.name for p in lib.paths.faiss.iterdir())
    rec = next(iter(before.values()))
    with lib.commit() as c:
        key = c.catalog.all_clips()[0].clip_key
        c.catalog.con.execute("DELETE FROM vectors WHERE item_key = ?", [key])
        c.catalog.con.execute("DELETE FROM clips WHERE clip_key = ?", [key])
        c.store("clip", emb).remove(np.asarray([key], dtype=np.int64))
    after = lib.catalog.stores()[rec.store_name]
    assert after.generation == rec.generation + 1 and after.file_sha256 != rec.file_sha256
    assert sorted(p.name for p in lib.paths.faiss.iterdir()) == [after.file] != files   # old generation deleted
    assert lib.verify().clean


def test_a_stale_store_is_never_written_over_a_newer_generation(lib):
    emb = lib.motion_embedder
    stale = lib.store("clip", emb)
    with Library(lib.paths.db) as other:                 # another writer commits a new generation meanwhile
        other.rebuild()
    lib._stores[stale.record.store_name] = stale
    with pytest.raises(RuntimeError, match="reopen the library"), lib.commit() as c:
        c.store("clip", emb).remove(np.asarray([1], dtype=np.int64))
    assert lib.verify().clean


def _break_everything(lib: Library) -> dict:
    """One of each mismatch verify must find."""
    cat = lib.catalog
    rec = next(iter(cat.stores().values()))
    older = lib.paths.faiss / rec.file
    data = older.read_bytes()
    older.write_bytes(data[: len(data) // 2])                       # a truncated FAISS file
    clips = cat.all_clips()
    lib.paths.abs(clips[0].skeleton_path).unlink()                   # a clip whose skeleton is gone
    cat.con.execute("DELETE FROM clips WHERE clip_key = ?", [clips[1].clip_key])   # a vector with no row
    cat.con.execute("DELETE FROM vectors WHERE item_key = ?", [clips[2].clip_key])  # a clip with no vector
    (lib.paths.faiss / f"{rec.store_name}.g99.faiss").write_bytes(b"stray")        # an interrupted write's file
    lib.forget_stores()
    return {"gone": clips[0].clip_id, "orphan_vector": clips[1].clip_key, "no_vector": clips[2].clip_id}


def test_verify_finds_each_mismatch_and_repair_fixes_them(lib, capsys):
    broken = _break_everything(lib)
    report = lib.verify(fix_stray=False)
    text = " | ".join(report.problems)
    assert not report.clean
    for needle in ("FAISS file", "vector", "files named by the catalog are missing", "no vector"):
        assert needle in text, (needle, text)
    db = str(lib.paths.db)
    lib.close()
    assert main(["index", "verify", "--db", db]) == 1
    capsys.readouterr()
    assert main(["index", "repair", "--db", db, "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["clean"] and not list(Path(db).with_name("lib_files").joinpath("faiss").glob("*.g99.faiss"))
    fixed = " | ".join(rep["fixed"])
    assert broken["gone"] in fixed and "belonged to no clip" in fixed and "re-embedded 1" in fixed
    assert main(["index", "verify", "--db", db]) == 0
    with Library(db, read_only=True) as again:
        assert again.stats()["clips"] == 22                              # one dropped (no skeleton), one deleted
        assert len(again.search_clips(again.catalog.all_clips()[0].clip_id, k=3).hits) == 3
    lib.catalog = type(lib.catalog)(lib.paths.db)                        # for the fixture's close


def test_erase_removes_the_run_and_session_folders_recorded_for_the_athlete(lib, tmp_path):
    db = lib.paths.db
    lib.close()
    run = claim_folder(tmp_path / "anywhere" / "run1", "run_dir", "r" * 32)
    (run / "trace.json").write_text(json.dumps({"athlete_id": "A9"}))
    (run / "late_page.html").write_text("A9")                           # written after filing: still removed
    session = claim_folder(tmp_path / "sessions" / "s1", "session_dir", "s" * 32)
    (session / "runs").mkdir()
    (session / "session_report.pdf").write_bytes(b"%PDF A9")
    page = tmp_path / "pages" / "a9.html"
    page.parent.mkdir()
    page.write_text("A9")
    mine = tmp_path / "mine"                                             # not claimed by FormScout: kept
    mine.mkdir()
    (mine / "notes.txt").write_text("the physio's own file")
    record_run(db=db, run_id="r" * 32, athlete_id="A9", test="deep_squat", side="NA", score=2, review=False,
               trace_path=run / "trace.json", run_dir=run)
    record_output(db=db, athlete_id="A9", path=session, kind="session_dir", owner_id="s" * 32)
    record_output(db=db, athlete_id="A9", path=page, kind="file", owner_id="r" * 32)
    record_output(db=db, athlete_id="A9", path=mine, kind="run_dir", owner_id="x" * 32)
    shutil.copy(page, tmp_path / "copy_not_recorded.html")
    with Library(db) as lib2:
        rep = lib2.erase_athlete("A9")
        assert {str(run), str(session)} <= set(rep.folders) and str(page) in rep.files
        assert not run.exists() and not session.exists() and not page.exists()
        assert (mine / "notes.txt").is_file()                            # a folder FormScout did not claim stays
        assert lib2.catalog.outputs("A9") == [] and lib2.catalog.runs("A9") == []
        assert rep.outputs_forgotten == 4 and any(k.startswith(str(mine)) for k in rep.kept) and lib2.verify().clean
    assert (tmp_path / "copy_not_recorded.html").is_file()              # only what the catalog knows is touched
    lib.catalog = type(lib.catalog)(db)
