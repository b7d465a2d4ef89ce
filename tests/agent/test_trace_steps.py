"""Optional protocol steps: they run, feed decide and land in the trace when their backends exist, and
are skipped with the reason recorded when they do not."""
import json
from pathlib import Path

import pytest

from agent.screening.protocol import ScreenRequest
from agent.screening.run import screen
from agent.screening.steps import STGCN_CHECKPOINT, optional_steps_unavailable
from agent.trace.record import load_trace
from agent.trace.check import check_trace
from tests.skeleton_factory import squat_clip


@pytest.fixture(scope="module")
def squat_npz(tmp_path_factory):
    return str(squat_clip(depth_deg=15, trunk_deg=30, tibia_deg=35).save(tmp_path_factory.mktemp("c") / "sq.npz"))


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> Path:
    from index.library.demo import seed_demo_library
    db = tmp_path_factory.mktemp("lib") / "lib.duckdb"
    seed_demo_library(db, n_per_test=2, seed=0, index_passages=False)
    return db


def test_stgcn_checkpoint_path_is_the_one_infer_loads():
    from tools.scoring.stgcn.infer import DEFAULT_CHECKPOINT
    assert STGCN_CHECKPOINT == DEFAULT_CHECKPOINT


def test_without_backends_the_skips_are_recorded(tmp_path, squat_npz, monkeypatch):
    monkeypatch.setenv("FORMSCOUT_DB", str(tmp_path / "none.duckdb"))
    skip = optional_steps_unavailable()
    assert "no clip library" in skip["retrieve_similar_clips"] and "retrieve_passages" in skip
    assert optional_steps_unavailable(use_stgcn=False, use_retrieval=False) == {
        "score_stgcn": "not asked for", "retrieve_similar_clips": "not asked for",
        "retrieve_passages": "not asked for"}
    screen(ScreenRequest(source=squat_npz, test="deep_squat", run_dir=str(tmp_path / "run")))
    trace = load_trace(tmp_path / "run" / "trace.json")
    assert set(trace["optional_steps_skipped"]) >= {"retrieve_similar_clips", "retrieve_passages"}
    assert not {"retrieve_similar_clips", "retrieve_passages"} & {s["tool"] for s in trace["steps"]}


def test_with_a_library_neighbours_and_passages_are_retrieved(tmp_path, squat_npz, library, monkeypatch):
    monkeypatch.setenv("FORMSCOUT_DB", str(library))
    v = screen(ScreenRequest(source=squat_npz, test="deep_squat", run_dir=str(tmp_path / "run"),
                             use_stgcn=False))
    trace = load_trace(tmp_path / "run" / "trace.json")
    assert check_trace(trace).intact
    tools = [s["tool"] for s in trace["steps"]]
    # this library holds clips but no indexed passages: passage retrieval is skipped, and says why
    assert tools == ["prepare_skeleton", "measure_angles", "segment_repetitions", "score_rubric",
                     "retrieve_similar_clips", "decide", "render_overlay"]
    assert "holds no rubric passages" in trace["optional_steps_skipped"]["retrieve_passages"]
    steps = {s["tool"]: s for s in trace["steps"]}
    hits = steps["retrieve_similar_clips"]["result"]["neighbours"]
    assert len(hits) == 2 and all(h["test_name"] == "deep_squat" and h["score"] in (1, 2, 3) for h in hits)
    assert steps["decide"]["arguments"]["neighbours_json"] == hits          # decide saw exactly what was found
    assert v["evidence"]["neighbour_scores"] == [h["score"] for h in hits]
    assert v["evidence"]["neighbours"] == hits


def test_retrieve_passages_cites_score_and_criteria(library, monkeypatch):
    from agent.screening.steps import retrieve_passages
    monkeypatch.setenv("FORMSCOUT_DB", str(library))
    out = retrieve_passages("hurdle_step", ["lumbar_stability"], score=2)
    ids = [p["passage_id"] for p in out["passages"]]
    assert ids[:3] == ["hurdle_step.score2", "hurdle_step.lumbar_stability", "hurdle_step.lumbar_stability.fail"]
    assert out["search"] == {}                                               # no indexed passages to search
    assert all(len(p["text"]) <= 400 for p in out["passages"])


def test_a_runs_only_catalog_does_not_switch_retrieval_on(tmp_path, monkeypatch):
    from index.library.api import record_run
    db = tmp_path / "runs.duckdb"
    record_run(db=db, run_id="r1", athlete_id="A1", test="deep_squat", side="NA", score=3, review=False,
               trace_path=None)
    skip = optional_steps_unavailable(db=str(db))
    assert "no scored clips" in skip["retrieve_similar_clips"] and "no rubric passages" in skip["retrieve_passages"]


@pytest.fixture
def random_stgcn_checkpoint(tmp_path, monkeypatch) -> Path:
    """A random-weight ST-GCN checkpoint in the committed format, put where the protocol looks for it."""
    import torch
    from dataclasses import asdict

    import tools.scoring.stgcn.infer as infer
    from agent.screening import steps
    from tools.scoring.stgcn.data import NormalisationConfig
    from tools.scoring.stgcn.model import STGCN, STGCNConfig
    from tools.scoring.stgcn.train import CHECKPOINT_FORMAT
    cfg = STGCNConfig(channels=(16, 24), strides=(1, 2), n_frames=24)
    torch.manual_seed(0)
    path = tmp_path / "stgcn_fms.pt"
    torch.save({"format": CHECKPOINT_FORMAT, "model_config": cfg.to_dict(),
                "norm_config": asdict(NormalisationConfig(n_frames=cfg.n_frames)),
                "state_dict": STGCN(cfg).state_dict(), "temperatures": {"test": 1.0, "side": 1.0, "score": 1.0},
                "meta": {"note": "random weights, for a test"}}, path)
    monkeypatch.setattr(steps, "STGCN_CHECKPOINT", path)
    monkeypatch.setattr(infer, "DEFAULT_CHECKPOINT", path)
    infer.load_scorer.cache_clear()
    yield path
    infer.load_scorer.cache_clear()


def test_with_a_checkpoint_the_stgcn_opinion_feeds_decide(tmp_path, squat_npz, monkeypatch, random_stgcn_checkpoint):
    monkeypatch.setenv("FORMSCOUT_DB", str(tmp_path / "none.duckdb"))
    v = screen(ScreenRequest(source=squat_npz, test="deep_squat", run_dir=str(tmp_path / "run")))
    trace = load_trace(tmp_path / "run" / "trace.json")
    assert "score_stgcn" not in trace["optional_steps_skipped"]
    steps = {s["tool"]: s for s in trace["steps"]}
    result = steps["score_stgcn"]["result"]
    assert len(result["p_score"]) == 4 and abs(sum(result["p_score"]) - 1) < 1e-3
    assert result["test_used_for_score"] == "deep_squat"
    assert "embedding" not in result and len(json.dumps(result)) < 5000
    assert steps["decide"]["arguments"]["stgcn_json"] == result
    assert "stgcn_score" in v["evidence"] and "stgcn_p_rule_score" in v["evidence"]
