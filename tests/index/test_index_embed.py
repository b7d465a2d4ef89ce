"""Embedders: the kinematic motion embedder, the offline MiniLM text embedder, the registry."""
from __future__ import annotations

import numpy as np
import pytest

from index.embedders.motion import KinematicConfig, KinematicEmbedder
from index.embedders.registry import EMBEDDERS, get_embedder
from index.embedders.text import MiniLMTextEmbedder, minilm_model_path
from index.library.toy_clips import toy_clip
from tools.core.errors import BackendUnavailable, InputError
from tools.core.skeleton import JOINT_INDEX


def _squats(score: int, n: int, seed: int):
    rng = np.random.default_rng(seed)
    return [toy_clip("deep_squat", score, "NA", rng) for _ in range(n)]


def test_kinematic_vectors_are_unit_length_with_stated_dim_and_version():
    emb = KinematicEmbedder()
    vecs = emb.embed(_squats(3, 3, 0))
    assert vecs.shape == (3, emb.dim) and vecs.dtype == np.float32
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert emb.dim == 2 * len(emb.config.series) * (emb.config.n_bins + 2)
    # the version follows the configuration
    assert KinematicEmbedder(KinematicConfig(n_bins=6)).version != emb.version
    assert KinematicEmbedder().version == emb.version


def test_kinematic_similarity_follows_depth():
    emb = KinematicEmbedder()
    deep = emb.embed(_squats(3, 4, 1))
    deep2 = emb.embed(_squats(3, 4, 2))
    shallow = emb.embed(_squats(1, 4, 3))
    same = float(np.mean(deep @ deep2.T))
    other = float(np.mean(deep @ shallow.T))
    assert same > other + 0.01


def test_kinematic_handles_missing_joints():
    emb = KinematicEmbedder()
    skel = _squats(2, 1, 4)[0]
    xyz = skel.xyz.copy()
    xyz[:, JOINT_INDEX["left_heel"]] = np.nan            # never seen
    xyz[10:40, JOINT_INDEX["right_knee"]] = np.nan       # a long dropout
    holey = skel.replace(xyz=xyz)
    v = emb.embed([holey])
    assert np.isfinite(v).all()
    assert np.isclose(np.linalg.norm(v), 1.0, atol=1e-5)
    assert float(v @ emb.embed([skel])[0]) > 0.8
    nothing = skel.replace(xyz=np.full_like(skel.xyz, np.nan))
    assert np.isfinite(emb.embed([nothing])).all()


def test_kinematic_rejects_unknown_series_and_non_skeletons():
    with pytest.raises(InputError, match="unknown angle series"):
        KinematicEmbedder(KinematicConfig(series=("elbow_wiggle_deg",)))
    with pytest.raises(InputError, match="takes Skeletons"):
        KinematicEmbedder().embed(["not a skeleton"])


def test_registry():
    assert {"kinematic", "stgcn", "minilm", "qwen3-vl-embedding"} <= set(EMBEDDERS)
    assert get_embedder("kinematic").name == "kinematic"
    with pytest.raises(InputError, match="unknown embedder"):
        get_embedder("word2vec")
    with pytest.raises(BackendUnavailable):
        get_embedder("qwen3-vl-embedding", model_path="/nonexistent/qwen3-vl-embedding")


def test_stgcn_embedder_plugs_in_or_says_what_is_missing():
    try:
        emb = get_embedder("stgcn")
    except BackendUnavailable as exc:  # tools.scoring.stgcn or its checkpoint not there yet: a clear reason
        assert str(exc)
        return
    vec = emb.embed(_squats(3, 1, 5))
    assert np.isclose(np.linalg.norm(vec), 1.0, atol=1e-5) and emb.version


def test_minilm_loads_offline_from_the_package(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert (minilm_model_path() / "model.safetensors").is_file()
    emb = MiniLMTextEmbedder()
    assert emb.dim == 384 and "MiniLM" in emb.version
    v = emb.embed(["the heels lift off the floor during the squat",
                   "heels rise from the ground while squatting",
                   "the shoulder reach test measures the gap between the fists"])
    assert v.shape == (3, 384)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.1
