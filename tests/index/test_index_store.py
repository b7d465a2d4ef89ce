"""FAISS stores: exact inner-product search over catalog ids, filters, generations, corruption."""
from __future__ import annotations

import numpy as np
import pytest

from index.storage.catalog import StoreRecord
from index.embedders.base import l2_normalise
from index.storage.vectors import StoreCorrupt, VectorStore, sweep_stray_files


def _store(n=50, dim=8, seed=0):
    rng = np.random.default_rng(seed)
    vecs = l2_normalise(rng.normal(size=(n, dim)))
    keys = np.arange(100, 100 + n, dtype=np.int64) * 3  # catalog ids, not positions
    return VectorStore.from_vectors("clip", "kinematic", "v1", keys, vecs, dim), keys, vecs


def test_search_returns_catalog_ids_best_first():
    store, keys, vecs = _store()
    sims, ids = store.search(vecs[7], k=5)
    assert ids[0, 0] == keys[7] and np.isclose(sims[0, 0], 1.0, atol=1e-5)
    brute = np.argsort(-(vecs @ vecs[7]))[:5]
    assert ids[0].tolist() == keys[brute].tolist()
    assert np.all(np.diff(sims[0]) <= 1e-6)


def test_filter_only_returns_allowed_ids_and_never_pads():
    store, keys, vecs = _store()
    allowed = keys[::5]
    sims, ids = store.search(vecs[7], k=4, allowed=allowed)
    assert set(ids[0]) <= set(allowed) and len(ids[0]) == 4
    sims, ids = store.search(vecs[7], k=10, allowed=keys[:3])
    assert sorted(ids[0].tolist()) == sorted(keys[:3].tolist())
    sims, ids = store.search(vecs[7], k=3, allowed=np.array([], dtype=np.int64))
    assert ids.shape == (1, 0)


def test_remove_and_ids():
    store, keys, vecs = _store()
    assert store.remove(keys[:10]) == 10
    assert len(store) == 40 and set(store.ids()) == set(keys[10:])
    sims, ids = store.search(vecs[3], k=40)
    assert not set(ids[0]) & set(keys[:10])


def test_write_is_a_new_generation_and_load_checks_the_catalog(tmp_path):
    store, keys, vecs = _store()
    rec1 = store.write(tmp_path)
    assert rec1.generation == 1 and (tmp_path / rec1.file).is_file() and rec1.n_vectors == 50
    store.remove(keys[:5])
    rec2 = store.write(tmp_path)
    assert rec2.generation == 2 and rec2.file != rec1.file
    assert (tmp_path / rec1.file).is_file()  # the old generation is untouched until the caller drops it
    assert not list(tmp_path.glob("*.tmp"))
    loaded = VectorStore.load(tmp_path, rec2)
    assert len(loaded) == 45 and set(loaded.ids()) == set(keys[5:])
    assert rec2.file_sha256 and rec2.file_sha256 != rec1.file_sha256
    with pytest.raises(StoreCorrupt, match="repair"):
        VectorStore.load(tmp_path, StoreRecord(**{**rec2.__dict__, "n_vectors": 44, "file_sha256": None}))
    with pytest.raises(StoreCorrupt, match="sha256 differs"):       # an older generation under the new name
        VectorStore.load(tmp_path, StoreRecord(**{**rec2.__dict__, "file_sha256": rec1.file_sha256}))
    with pytest.raises(StoreCorrupt, match="for generation 3"):     # the catalog's generation is checked
        VectorStore.load(tmp_path, StoreRecord(**{**rec2.__dict__, "generation": 3}))
    with pytest.raises(StoreCorrupt, match="missing"):
        VectorStore.load(tmp_path, StoreRecord(**{**rec2.__dict__, "generation": 9,
                                                  "file": rec2.file.replace(".g2.", ".g9.")}))
    (tmp_path / rec2.file).write_bytes(b"not a faiss index")
    with pytest.raises(StoreCorrupt):
        VectorStore.load(tmp_path, rec2)
    with pytest.raises(StoreCorrupt, match="cannot read"):
        VectorStore.load(tmp_path, StoreRecord(**{**rec2.__dict__, "file_sha256": None}))
    removed = sweep_stray_files(tmp_path, referenced={rec2.file})
    assert [p.name for p in removed] == [rec1.file]


def test_query_of_another_dimension_is_refused():
    store, _, _ = _store(dim=8)
    from tools.core.errors import InputError
    with pytest.raises(InputError, match="another embedder"):
        store.search(np.ones(9, np.float32), k=3)


def test_subset_search_equals_faiss_selector_search(monkeypatch):
    import index.storage.vectors as store_module
    store, keys, vecs = _store(n=400, dim=16, seed=3)
    store.remove(keys[:7])
    allowed = np.concatenate([keys[::9], [10**9]])          # includes removed and unknown ids
    results = []
    for share in (1.0, 0.0):                                  # subset path, then FAISS IDSelector path
        monkeypatch.setattr(store_module, "PREFILTER_SHARE", share)
        results.append([store.search(vecs[i], k=6, allowed=allowed) for i in (8, 50, 123)])
    for (s1, i1), (s2, i2) in zip(*results):
        assert i1.tolist() == i2.tolist() and np.allclose(s1, s2, atol=1e-5)
    store.add(np.array([7, 8], np.int64), vecs[:2])          # a change drops the cached subsets
    monkeypatch.setattr(store_module, "PREFILTER_SHARE", 1.0)
    sims, ids = store.search(vecs[0], k=1, allowed=np.array([7, 8], np.int64))
    assert ids[0, 0] == 7 and np.isclose(sims[0, 0], 1.0, atol=1e-5)
