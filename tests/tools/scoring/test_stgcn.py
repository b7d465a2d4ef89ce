"""ST-GCN: graph, model, normalisation/augmentation, training, calibration, inference, LoRA."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tests.tools.scoring.test_stgcn_toydata import toy_clip, write_toy_library
from tools.core.errors import InputError
from tools.core.labels import read_labels, resolve_clips
from tools.core.fms import TESTS
from tools.core.skeleton import JOINT_INDEX, JOINTS, Skeleton
from tools.scoring.stgcn.calibrate import expected_calibration_error, fit_softmax_temperature
from tools.scoring.stgcn.data import augment, mirror, normalise, to_tensor
from tools.scoring.stgcn.graph import spatial_adjacency
from tools.scoring.stgcn.model import STGCN, STGCNConfig, count_parameters, cumulative_to_probs
from tools.scoring.stgcn.train import (LoraSettings, TrainConfig, finetune_lora, load_adapter, load_checkpoint,
                               pretrain, score_class_weights, split_by_athlete)

J = JOINT_INDEX
TINY = STGCNConfig(channels=(16, 24), strides=(1, 2), n_frames=24)   # fast enough for unit tests


# ----- graph ---------------------------------------------------------------
def test_adjacency_partitions_and_normalisation():
    a = spatial_adjacency()
    assert a.shape == (3, len(JOINTS), len(JOINTS))
    np.testing.assert_allclose(a.sum(axis=(0, 2)), 1.0, atol=1e-6)   # row-normalised over all partitions
    knee, hip, ankle = J["left_knee"], J["left_hip"], J["left_ankle"]
    assert a[0, knee, knee] > 0                  # self: root subset
    assert a[1, knee, hip] > 0                   # hip is closer to the root: centripetal
    assert a[2, knee, ankle] > 0                 # ankle is further: centrifugal
    assert a[0, J["left_hip"], J["right_hip"]] > 0   # both roots: same distance
    assert a[:, knee, J["right_knee"]].sum() == 0    # not a bone


# ----- model ---------------------------------------------------------------
def test_model_shapes_and_size():
    model = STGCN()
    n_params = count_parameters(model)
    assert 100_000 < n_params < 500_000
    x = torch.randn(3, 7, model.config.n_frames, len(JOINTS))      # N x C x T x V
    out = model(x)
    assert out["test_logits"].shape == (3, len(TESTS))
    assert out["side_logits"].shape == (3, 3)
    assert out["score_cum_logits"].shape == (3, len(TESTS), 2)
    assert out["features"].shape == (3, model.embedding_dim)


def test_cumulative_probs_are_ordinal_and_sum_to_one():
    cum = torch.tensor([[2.0, -1.0], [-3.0, -4.0], [0.0, 5.0]])   # last row: cut-points crossed
    p = cumulative_to_probs(cum)
    np.testing.assert_allclose(p.sum(-1).numpy(), 1.0, atol=1e-6)
    assert (p >= 0).all()
    model = STGCN()
    cuts = model.score_cuts()
    assert (cuts[:, 1] >= cuts[:, 0]).all()      # ordered by construction


# ----- normalisation and augmentation ------------------------------------------
def test_normalise_root_scale_and_body_frame():
    rng = np.random.default_rng(1)
    skel = toy_clip("deep_squat", 3, "NA", rng, yaw_deg=40.0)
    skel = skel.replace(xyz=skel.xyz * 1.3 + np.array([2.0, 0.5, -1.0], dtype=np.float32))
    x = normalise(skel)
    mid_hip = 0.5 * (x[:, J["left_hip"]] + x[:, J["right_hip"]])
    mid_sh = 0.5 * (x[:, J["left_shoulder"]] + x[:, J["right_shoulder"]])
    np.testing.assert_allclose(np.median(mid_hip, axis=0), 0.0, atol=0.05)
    assert abs(np.median(np.linalg.norm(mid_sh - mid_hip, axis=-1)) - 1.0) < 1e-3
    hip_line = np.median(x[:, J["left_hip"]] - x[:, J["right_hip"]], axis=0)
    assert hip_line[0] > 0 and abs(hip_line[2]) < 0.02 * abs(hip_line[0])   # hip line along +x


def test_mirror_swaps_side_and_is_an_involution():
    x = normalise(toy_clip("hurdle_step", 3, "L", np.random.default_rng(2)))
    m, side = mirror(x, "L")
    assert side == "R"
    back, side2 = mirror(m, side)
    assert side2 == "L"
    np.testing.assert_allclose(back, x)
    # the left knee lifts in an L clip; after mirroring the right knee does
    lift = lambda a, j: a[:, J[j], 1].max() - a[:, J[j], 1].min()   # noqa: E731
    assert lift(x, "left_knee") > 2 * lift(x, "right_knee")
    assert lift(m, "right_knee") > 2 * lift(m, "left_knee")


def test_missing_joints_become_zero_with_mask_and_augment_is_finite():
    skel = toy_clip("inline_lunge", 2, "R", np.random.default_rng(3))
    xyz = skel.xyz.copy()
    xyz[:, J["left_wrist"]] = np.nan            # never seen: stays missing
    x = normalise(skel.replace(xyz=xyz))
    t = to_tensor(x, 32)
    assert t.shape == (7, 32, len(JOINTS))
    assert (t[6, :, J["left_wrist"]] == 0).all() and (t[:6, :, J["left_wrist"]] == 0).all()
    assert (t[6, :, J["nose"]] == 1).all()
    rng = np.random.default_rng(0)
    sides = set()
    for _ in range(20):
        a, side = augment(x, "R", 32, rng)
        assert a.shape == (7, 32, len(JOINTS)) and np.isfinite(a).all()
        sides.add(side)
    assert sides == {"L", "R"}                  # mirror happened and swapped the label


def test_normalise_rejects_clip_without_hips():
    skel = toy_clip("deep_squat", 3, "NA", np.random.default_rng(4))
    xyz = skel.xyz.copy()
    xyz[:, J["left_hip"]] = np.nan
    with pytest.raises(InputError, match="hips and shoulders"):
        normalise(skel.replace(xyz=xyz))


# ----- calibration -------------------------------------------------------------
def test_temperature_scaling_cools_an_overconfident_head():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 400)
    logits = rng.normal(0, 1, (400, 3))
    logits[np.arange(400), labels] += 1.0        # somewhat informative
    logits *= 6.0                                # ... but far too confident
    t = fit_softmax_temperature(logits, labels)
    assert t > 2.0
    z = logits / t
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    p_raw = np.exp(logits - logits.max(1, keepdims=True))
    p_raw /= p_raw.sum(1, keepdims=True)
    ok = p.argmax(1) == labels
    assert expected_calibration_error(p.max(1), ok) < expected_calibration_error(p_raw.max(1), ok)


# ----- training, inference, LoRA -----------------------------------------------
@pytest.fixture(scope="module")
def toy_rows(tmp_path_factory):
    root = tmp_path_factory.mktemp("toy")
    csv_path = write_toy_library(root, n_athletes=6, tests=("deep_squat", "shoulder_mobility"), seed=3)
    return resolve_clips(read_labels(csv_path), root / "clips", csv_path)


@pytest.fixture(scope="module")
def tiny_checkpoint(toy_rows, tmp_path_factory):
    out = tmp_path_factory.mktemp("ck") / "tiny.pt"
    result = pretrain(toy_rows, out, TrainConfig(epochs=4, batch_size=8, val_fraction=0.34, seed=0), model_cfg=TINY)
    return out, result


def test_split_by_athlete_keeps_athletes_apart(toy_rows):
    train, val = split_by_athlete(toy_rows, 0.34, seed=1)
    a_train = {toy_rows[i].athlete_id for i in train}
    a_val = {toy_rows[i].athlete_id for i in val}
    assert a_train and a_val and not a_train & a_val
    assert len(train) + len(val) == len(toy_rows)


def test_class_weights_favour_rare_levels(toy_rows):
    from dataclasses import replace
    rows = [replace(r, score=3) for r in toy_rows[:-2]] + [replace(r, score=1) for r in toy_rows[-2:]]
    w = score_class_weights(rows, cap=5.0)
    assert w[0] > w[2]          # score 1 (rare) weighs more than score 3 (common)
    assert w[1] == 1.0          # absent level keeps weight 1


def test_pretrain_checkpoint_and_predict(tiny_checkpoint, toy_rows):
    path, result = tiny_checkpoint
    assert path.stat().st_size < 3_000_000
    assert result.n_val > 0 and not set(result.train_athletes) & set(result.val_athletes)
    assert set(result.temperatures) == {"test", "side", "score"}
    assert 0.0 <= result.metrics["test_accuracy"] <= 1.0
    model, norm, temps, meta = load_checkpoint(path)
    assert meta["train_athletes"] == result.train_athletes and len(meta["sha256"]) == 64
    from tools.scoring.stgcn.infer import STGCNScorer
    scorer = STGCNScorer(model=model, norm_cfg=norm, temperatures=temps, meta=meta)
    skel = Skeleton.load(toy_rows[0].path)
    p = scorer.predict(skel, "deep_squat")
    json.dumps(p)                                           # JSON-serialisable
    assert abs(sum(p["test_probabilities"].values()) - 1) < 1e-3
    assert abs(sum(p["score_probabilities"].values()) - 1) < 1e-3
    assert p["score_probabilities"]["0"] == 0.0 and p["score"] in (1, 2, 3)
    assert p["p_score"] == [p["score_probabilities"][str(k)] for k in range(4)]
    assert p["test_used_for_score"] == "deep_squat" and p["predicted_side"] == "NA"
    pain = scorer.predict(skel, "deep_squat", pain=True)
    assert pain["score"] == 0 and pain["score_probabilities"]["0"] == 1.0
    e = scorer.embed(skel)
    assert e.dtype == np.float32 and e.shape == (model.embedding_dim,)
    assert abs(np.linalg.norm(e) - 1) < 1e-5
    assert scorer.embedding_version.startswith("formscout-stgcn-embed-d")
    with pytest.raises(InputError):
        scorer.predict(skel, "deep_squat", side="L")         # one-sided test given a side


def test_load_checkpoint_rejects_other_files(tmp_path):
    bad = tmp_path / "x.pt"
    torch.save({"format": "something-else"}, bad)
    with pytest.raises(InputError, match="not a FormScout ST-GCN checkpoint"):
        load_checkpoint(bad)
    with pytest.raises(InputError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt")


def test_lora_saves_only_the_adapter_and_reloads(tiny_checkpoint, toy_rows, tmp_path):
    path, _ = tiny_checkpoint
    merged, result = finetune_lora(toy_rows[:8], path, tmp_path / "adapter", LoraSettings(epochs=2, batch_size=4),
                                   TrainConfig(seed=0))
    files = {p.name for p in (tmp_path / "adapter").iterdir()}
    assert {"adapter_model.safetensors", "adapter_config.json", "formscout_adapter.json"} <= files
    assert (tmp_path / "adapter" / "adapter_model.safetensors").stat().st_size < 0.3 * path.stat().st_size
    assert result.trainable_parameters < 0.3 * result.n_parameters
    model, _, temps, meta = load_adapter(path, tmp_path / "adapter")
    assert meta["adapter_meta"]["base_sha256"] == meta["sha256"]
    x = torch.from_numpy(to_tensor(normalise(Skeleton.load(toy_rows[0].path)), TINY.n_frames))[None]
    with torch.no_grad():
        a, b = merged(x)["score_cum_logits"], model(x)["score_cum_logits"]
        base, *_ = load_checkpoint(path)
        c = base(x)["score_cum_logits"]
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, c)                  # the adapter changed the model
    other = tmp_path / "other.pt"
    pretrain(toy_rows, other, TrainConfig(epochs=1, batch_size=8, val_fraction=0.0, seed=5), model_cfg=TINY)
    with pytest.raises(InputError, match="different base checkpoint"):
        load_adapter(other, tmp_path / "adapter")


def test_lora_targets_only_the_last_blocks_and_score_head():
    from tools.scoring.stgcn.model import lora_target_modules
    model = STGCN()
    names = lora_target_modules(model, last_blocks=1)
    assert names and all(n.startswith("blocks.4.") or n == "score_latent" for n in names)
    assert "score_latent" in names and "blocks.4.gcn.conv" in names and "blocks.4.tcn" in names
    assert not any(n.startswith(("blocks.3.", "test_head", "side_head")) for n in names)
    every = lora_target_modules(model, last_blocks=None, heads=("score_latent", "test_head"))
    assert "blocks.0.gcn.conv" in every and "test_head" in every and "side_head" not in every


def test_lora_guard_rejects_keeps_base_and_says_so(tiny_checkpoint, toy_rows, tmp_path):
    """An adapter that is not better on the inner-validation athletes is never used silently."""
    from agent.cli.main import main
    path, _ = tiny_checkpoint
    never = LoraSettings(epochs=2, batch_size=8, patience=5, guard_margin=1e6)   # no adapter can pass
    model, result = finetune_lora(toy_rows, path, tmp_path / "rej", never, TrainConfig(seed=0))
    assert result.adopted is False and any("NOT adopted" in n for n in result.notes)
    val = set(result.guard["val_athletes"])
    assert len(val) >= 2 and not val & set(result.train_athletes)          # split by athlete
    assert 1 <= result.guard["best_epoch"] <= 2 and len(result.guard["history"]) == result.guard["epochs_run"]
    x = torch.from_numpy(to_tensor(normalise(Skeleton.load(toy_rows[0].path)), TINY.n_frames))[None]
    base, *_ = load_checkpoint(path)
    with torch.no_grad():
        torch.testing.assert_close(model(x)["score_cum_logits"], base(x)["score_cum_logits"])  # the base is kept
    meta = json.loads((tmp_path / "rej" / "formscout_adapter.json").read_text())
    assert meta["adopted"] is False and meta["guard"]["base"]["score_nll"] > 0
    with pytest.raises(InputError, match="rejected by its own validation"):
        load_adapter(path, tmp_path / "rej")
    load_adapter(path, tmp_path / "rej", allow_rejected=True)
    csv_path = tmp_path / "labels.csv"
    with open(csv_path, "w") as fh:
        fh.write("clip_id,athlete_id,test_name,side,score,path\n")
        for r in toy_rows[:6]:
            fh.write(f"{r.clip_id},{r.athlete_id},{r.test_name},{r.side},{r.score},{r.path}\n")
    common = ["eval", str(csv_path), "--scorer", "stgcn", "--checkpoint", str(path), "--adapter", str(tmp_path / "rej")]
    assert main(common + ["--out", str(tmp_path / "e1")]) == 2
    assert main(common + ["--allow-rejected-adapter", "--out", str(tmp_path / "e2"), "--json"]) == 0


def test_lora_guard_adopts_and_eval_uses_base_plus_adapter(tiny_checkpoint, toy_rows, tmp_path, capsys):
    from agent.cli.main import main
    path, _ = tiny_checkpoint
    always = LoraSettings(epochs=2, batch_size=8, guard_margin=-1e6, guard_confidence=0.0)   # any adapter passes
    model, result = finetune_lora(toy_rows, path, tmp_path / "ok", always, TrainConfig(seed=1))
    assert result.adopted is True and any("ADOPTED" in n for n in result.notes)
    merged, _, _, meta = load_adapter(path, tmp_path / "ok")
    assert meta["adapter_meta"]["adopted"] is True
    x = torch.from_numpy(to_tensor(normalise(Skeleton.load(toy_rows[0].path)), TINY.n_frames))[None]
    with torch.no_grad():
        torch.testing.assert_close(model(x)["score_cum_logits"], merged(x)["score_cum_logits"])
    csv_path = tmp_path / "labels.csv"
    with open(csv_path, "w") as fh:
        fh.write("clip_id,athlete_id,test_name,side,score,path\n")
        for r in toy_rows:
            fh.write(f"{r.clip_id},{r.athlete_id},{r.test_name},{r.side},{r.score},{r.path}\n")
    capsys.readouterr()
    assert main(["eval", str(csv_path), "--scorer", "stgcn", "--checkpoint", str(path), "--adapter",
                 str(tmp_path / "ok"), "--out", str(tmp_path / "e"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert "+lora:ok" in summary["scorer_description"]
    assert any("adapter's) training" in n for n in summary["notes"])   # its athletes are flagged as seen


def test_train_cli_pretrain_and_finetune(toy_rows, tmp_path):
    from agent.cli.main import main
    csv_path = write_toy_library(tmp_path / "lib", n_athletes=3, tests=("deep_squat",), seed=9)
    ck = tmp_path / "m.pt"
    assert main(["train", "--data", str(tmp_path / "lib"), "--epochs", "1", "--out", str(ck)]) == 0
    _, _, _, meta = load_checkpoint(ck)
    assert "--epochs 1" in meta["command"]
    assert main(["train", "--finetune", str(csv_path), "--clips", str(tmp_path / "lib" / "clips"), "--lora",
                 "--base", str(ck), "--epochs", "1", "--out", str(tmp_path / "ad")]) == 0
    assert (tmp_path / "ad" / "adapter_model.safetensors").is_file()
    assert main(["train", "--finetune", str(csv_path), "--base", str(ck)]) == 2   # no --lora: clear error
    assert main(["train", "--data", str(tmp_path / "nowhere")]) == 2


@pytest.mark.slow
def test_network_learns_toy_tests(tmp_path):
    """A few epochs on distinct toy movements must beat chance clearly on held-out athletes."""
    csv_path = write_toy_library(tmp_path, n_athletes=10, seed=11)
    rows = resolve_clips(read_labels(csv_path), tmp_path / "clips", csv_path)
    result = pretrain(rows, tmp_path / "m.pt", TrainConfig(epochs=20, val_fraction=0.3))
    assert result.metrics["test_accuracy"] > 0.6      # chance = 1/7


def test_package_entry_points_and_committed_checkpoint():
    import tools.scoring.stgcn as stgcn
    from tools.scoring.stgcn.infer import DEFAULT_CHECKPOINT
    assert STGCNConfig().channels[-1] == stgcn.EMBEDDING_DIM
    assert DEFAULT_CHECKPOINT.is_file(), "the committed checkpoint tools/assets/stgcn/stgcn_fms.pt is missing"
    assert DEFAULT_CHECKPOINT.stat().st_size < 5_000_000
    skel = toy_clip("deep_squat", 3, "NA", np.random.default_rng(0), n_frames=60)
    e = stgcn.embed_skeleton(skel)
    assert e.shape == (stgcn.EMBEDDING_DIM,) and abs(np.linalg.norm(e) - 1) < 1e-5
    assert stgcn.embedding_version().startswith("formscout-stgcn-embed-d64+")
    p = stgcn.predict(skel, "deep_squat")
    assert p["test_used_for_score"] == "deep_squat" and len(p["embedding"]) == stgcn.EMBEDDING_DIM
