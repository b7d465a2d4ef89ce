"""The DuckDB catalog: where it lives, versioned migrations, runs, compaction."""
from __future__ import annotations


import pytest

from index.storage.catalog import MIGRATIONS, Catalog, Migration, schema_version
from index.storage.paths import LibraryPaths, resolve_db_path
from tools.core.errors import InputError


def test_db_path_resolution_order(tmp_path, monkeypatch):
    monkeypatch.setenv("FORMSCOUT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("FORMSCOUT_DB", raising=False)
    assert resolve_db_path() == (tmp_path / "home" / "formscout.duckdb").resolve()
    monkeypatch.setenv("FORMSCOUT_DB", str(tmp_path / "env.duckdb"))
    assert resolve_db_path() == (tmp_path / "env.duckdb").resolve()
    assert resolve_db_path(tmp_path / "flag.duckdb") == (tmp_path / "flag.duckdb").resolve()
    paths = LibraryPaths.for_db(tmp_path / "flag.duckdb")
    assert paths.root == (tmp_path / "flag_files").resolve()
    assert paths.skeletons == paths.root / "skeletons"


def test_migrations_are_applied_once_and_in_order(tmp_path):
    db = tmp_path / "c.duckdb"
    with Catalog(db) as cat:
        assert schema_version(cat.con) == MIGRATIONS[-1].version
        tables = {r[0] for r in cat.con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        assert {"athletes", "clips", "passages", "runs", "vectors", "stores", "schema_version"} <= tables
    applied = []
    nxt = MIGRATIONS[-1].version + 1

    def add_column(con):
        applied.append(nxt)
        con.execute("ALTER TABLE clips ADD COLUMN physio TEXT")

    newer = MIGRATIONS + (Migration(nxt, "clips.physio", add_column),)
    with Catalog(db, migrations=newer) as cat:   # an old catalog is upgraded
        assert schema_version(cat.con) == nxt
        cols = [r[0] for r in cat.con.execute("DESCRIBE clips").fetchall()]
        assert "physio" in cols
    with Catalog(db, migrations=newer) as cat:   # and never twice
        assert schema_version(cat.con) == nxt
    assert applied == [nxt]
    with pytest.raises(InputError, match="newer"):  # an older FormScout refuses a newer catalog
        Catalog(db)


def test_failed_migration_rolls_back(tmp_path):
    def broken(con):
        con.execute("CREATE TABLE half_done (x INTEGER)")
        raise RuntimeError("boom")

    db = tmp_path / "c.duckdb"
    Catalog(db).close()
    with pytest.raises(RuntimeError):
        Catalog(db, migrations=MIGRATIONS + (Migration(MIGRATIONS[-1].version + 1, "broken", broken),))
    with Catalog(db) as cat:
        assert schema_version(cat.con) == MIGRATIONS[-1].version
        assert cat.con.execute("SELECT count(*) FROM information_schema.tables "
                               "WHERE table_name = 'half_done'").fetchone()[0] == 0


def test_read_only_missing_catalog_is_a_clear_input_error(tmp_path):
    with pytest.raises(InputError, match="no FormScout library"):
        Catalog(tmp_path / "absent.duckdb", read_only=True)


def test_record_run_and_read_back(tmp_path):
    from index.library.api import record_run
    db = tmp_path / "c.duckdb"
    record_run(db=db, run_id="run-1", athlete_id="A1", test="deep_squat", side="NA", score=None,
               review=True, trace_path=tmp_path / "run-1.json", clip_id="c1", confidence=0.4,
               review_reasons=["low margin"], artifact_paths=[tmp_path / "run-1.mp4"])
    record_run(db=db, run_id="run-1", athlete_id="A1", test="deep_squat", side="NA", score=2,
               review=False, trace_path=tmp_path / "run-1.json")  # same run id replaces
    with Catalog(db) as cat:
        runs = cat.runs("A1")
    assert len(runs) == 1 and runs[0]["score"] == 2 and runs[0]["review"] is False
    assert runs[0]["trace_path"] == str(tmp_path / "run-1.json")


def test_keys_stay_unique_across_compaction(tmp_path):
    """Erasure compacts the file; catalog ids handed out before must never be reused."""
    from index.library.api import Library
    from index.library.erase import compact
    with Library(tmp_path / "c.duckdb") as lib:
        first = lib.catalog.next_keys(5)
        compact(lib)
        after = lib.catalog.next_keys(3)
        assert min(after) > max(first)
        assert schema_version(lib.catalog.con) == MIGRATIONS[-1].version
