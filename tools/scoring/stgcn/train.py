"""Training the ST-GCN: pretraining on a labelled library, LoRA fine-tuning on a team's clips.

Splits are by athlete only (sklearn GroupShuffleSplit): no athlete's clips are
on both sides of a split. Losses: cross-entropy for the test head, for the
side head (weight 0.5), and for the score head a class-weighted binary
cross-entropy on the two cumulative logits of the clip's own test (CORAL
style), with weights inverse to the frequency of each score level in the
training split (capped at 5x) so the rare 1s are not drowned by 2s and 3s.
Clips scored 0 (pain, not visible) train the test and side heads only.
After training, one temperature per head is fitted on the validation split
(tools.scoring.stgcn.calibrate).

Checkpoint (torch.save of plain tensors and primitives, loadable with
weights_only=True): format, model_config, norm_config, state_dict,
temperatures {test, side, score}, meta {seed, command, data, athletes, metrics,
timing}. A LoRA adapter is a peft folder (adapter_model.safetensors +
adapter_config.json) plus formscout_adapter.json (base checkpoint hash,
temperatures, metrics); only the adapter is saved, never the base weights.
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from sklearn.model_selection import GroupShuffleSplit
from torch.nn import functional as F
from torch.utils.data import DataLoader

from tools.core.progress import report
from tools.core.errors import InputError
from tools.core.files import file_sha256
from tools.core.labels import LabelRow
from tools.core.stats import agreement
from tools.core.fms import TESTS
from tools.scoring.stgcn.calibrate import fit_ordinal_temperature, fit_softmax_temperature, ordinal_nll
from tools.scoring.stgcn.ood import fit_ood
from tools.scoring.stgcn.data import (AugmentConfig, ClipDataset, LabelledClips, NormalisationConfig,
                                      load_labelled_clips, score_target, to_tensor)
from tools.scoring.stgcn.model import (SCORE_LEVELS, SIDES, STGCN, STGCNConfig, count_parameters,
                                       cumulative_to_probs, lora_target_modules, score_head_index)

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "formscout-stgcn-1"
ADAPTER_META = "formscout_adapter.json"


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings (defaults = the committed checkpoint's)."""

    epochs: int = 30
    batch_size: int = 32
    lr: float = 3e-3
    weight_decay: float = 1e-4
    seed: int = 0
    val_fraction: float = 0.2
    threads: int = 2
    side_loss_weight: float = 0.5
    score_loss_weight: float = 1.0
    max_class_weight: float = 5.0
    augment: bool = True


@dataclass(frozen=True)
class LoraSettings:
    """LoRA fine-tuning settings (peft), for a team's small labelled set (tens of clips).

    Only the last `last_blocks` ST-GCN blocks and the `heads` get LoRA adapters
    (plus the per-test score cut-points, trained in full); everything else stays
    frozen, BatchNorm statistics included. Up to `epochs` epochs at a constant
    `lr` with AdamW weight decay; after every epoch the score head is checked on
    inner-validation athletes (a share of the fine-tune set's athletes, never
    trained on) and the epoch with the lowest score NLL is kept (stop after
    `patience` epochs without improvement). The guard then compares that epoch
    with the base model on the same athletes: the adapter is adopted only if its
    score NLL is lower by more than `guard_margin` and test recognition does not
    drop, and the improvement holds in `guard_confidence` of bootstrap
    resamples of the inner-validation athletes (20 clips give a handful of
    validation athletes: a small mean improvement is noise); otherwise the base
    model is kept and the result says so.
    """

    rank: int = 4
    alpha: int = 8
    last_blocks: int = 1
    heads: tuple[str, ...] = ("score_latent",)
    epochs: int = 30                   # at most (early stopping picks the epoch)
    patience: int = 8
    lr: float = 3e-3
    weight_decay: float = 0.05
    batch_size: int = 16
    inner_val_fraction: float = 0.3    # share of the fine-tune set's athletes held out for the guard
    min_val_athletes: int = 2          # fewer athletes than this + 2: no guard possible (said so)
    unchecked_epochs: int = 8          # epochs when there is no inner validation
    guard_margin: float = 0.0          # the adapter's mean score NLL must be lower than the base's by more
    guard_confidence: float = 0.9      # ... and lower in this share of athlete-bootstrap resamples
    guard_resamples: int = 2000
    min_clips_to_recalibrate: int = 40  # refit the score temperature on the inner validation clips only then


@dataclass
class TrainResult:
    """What a training run produced: where it was saved and how well it did on held-out athletes."""

    output: str
    metrics: dict
    n_train: int
    n_val: int
    train_athletes: list[str]
    val_athletes: list[str]
    seconds: float
    n_parameters: int
    trainable_parameters: int
    size_bytes: int
    temperatures: dict
    cpu_seconds: float | None = None      # process CPU time, summed over threads
    notes: list[str] = field(default_factory=list)
    adopted: bool | None = None           # LoRA: guard verdict (None = not checked: too few athletes)
    guard: dict = field(default_factory=dict)   # LoRA: inner-validation figures, base vs adapted

    def to_dict(self) -> dict:
        return asdict(self)


# ----- splits and weights ---------------------------------------------------
def split_by_athlete(rows: list[LabelRow], val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, val) with every athlete wholly on one side."""
    athletes = np.asarray([r.athlete_id for r in rows])
    n_ath = len(set(athletes))
    if n_ath < 2 or val_fraction <= 0:
        return np.arange(len(rows)), np.array([], dtype=int)
    n_val = min(n_ath - 1, max(1, int(round(val_fraction * n_ath))))
    splitter = GroupShuffleSplit(n_splits=1, test_size=n_val, random_state=seed)
    train, val = next(splitter.split(np.zeros(len(rows)), groups=athletes))
    return np.sort(train), np.sort(val)


def score_class_weights(rows: list[LabelRow], cap: float) -> torch.Tensor:
    """[3] weights for levels 1-3, inverse to their frequency (mean 1 over the clips), capped."""
    counts = np.array([sum(r.score == s for r in rows) for s in SCORE_LEVELS], dtype=float)
    total = counts.sum()
    if total == 0:
        return torch.ones(len(SCORE_LEVELS))
    w = np.where(counts > 0, total / (len(SCORE_LEVELS) * np.maximum(counts, 1)), 1.0)
    return torch.as_tensor(np.clip(w, 1.0 / cap, cap), dtype=torch.float32)


def ordinal_loss(cum_logits: torch.Tensor, target: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Class-weighted BCE on the two cumulative logits [N, 2] (target 0-2; -1 rows ignored)."""
    keep = target >= 0
    if not keep.any():
        return cum_logits.sum() * 0.0
    cl, y = cum_logits[keep], target[keep]
    levels = torch.arange(cl.shape[1], device=cl.device)
    bin_target = (y.unsqueeze(1) > levels).float()           # [n, 2]: score > 1, score > 2
    per = F.binary_cross_entropy_with_logits(cl, bin_target, reduction="none").sum(1)
    w = weights[y]
    return (per * w).sum() / w.sum()


def batch_loss(model: torch.nn.Module, batch: dict, weights: torch.Tensor, cfg: TrainConfig,
               heads: tuple[str, ...] = ("test", "side", "score")) -> torch.Tensor:
    out = model(batch["x"])
    loss = out["test_logits"].sum() * 0.0
    if "test" in heads:
        loss = loss + F.cross_entropy(out["test_logits"], batch["test"])
    if "side" in heads:
        loss = loss + cfg.side_loss_weight * F.cross_entropy(out["side_logits"], batch["side"])
    if "score" in heads:
        own = out["score_cum_logits"][torch.arange(len(batch["test"])), batch["score_head"]]
        loss = loss + cfg.score_loss_weight * ordinal_loss(own, batch["score"], weights)
    return loss


# ----- evaluation -----------------------------------------------------------
@torch.no_grad()
def collect_outputs(model: torch.nn.Module, clips: list[np.ndarray], n_frames: int,
                    batch_size: int = 64) -> dict[str, np.ndarray]:
    """Raw head outputs for normalised clips (no augmentation): test_logits [N, 7],
    side_logits [N, 3], score_cum_logits [N, 7, 2], features [N, D]."""
    model.eval()
    parts: dict[str, list[np.ndarray]] = {}
    for i in range(0, len(clips), batch_size):
        x = torch.from_numpy(np.stack([to_tensor(c, n_frames) for c in clips[i:i + batch_size]]))
        for k, v in model(x).items():
            parts.setdefault(k, []).append(v.numpy())
    return {k: np.concatenate(v) for k, v in parts.items()}


def _heads(rows: list[LabelRow], heads: list[int] | np.ndarray | None) -> np.ndarray:
    """Score head per row (the test's own unless given; -1 = no head: push-up of unknown sex)."""
    return np.asarray(heads, int) if heads is not None else np.array([TESTS.index(r.test_name) for r in rows])


def clip_heads(rows: list[LabelRow], sexes: list[str | None], config: STGCNConfig) -> list[int]:
    """Score head index per labelled clip (see tools.scoring.stgcn.model.score_head_index)."""
    return [score_head_index(config, r.test_name, s) for r, s in zip(rows, sexes)]


def held_out_metrics(rows: list[LabelRow], outputs: dict[str, np.ndarray], temperatures: dict,
                     heads: list[int] | None = None) -> dict:
    """Test-recognition accuracy, side accuracy, and per-test score agreement (score head of the
    labelled test; pain clips, and push-ups whose head cannot be chosen, left out of the score figures)."""
    if not rows:
        return {}
    test_true = np.array([TESTS.index(r.test_name) for r in rows])
    head = _heads(rows, heads)
    test_pred = outputs["test_logits"].argmax(1)
    side_true = np.array([SIDES.index(r.side) for r in rows])
    own = outputs["score_cum_logits"][np.arange(len(rows)), np.maximum(head, 0)]
    probs = cumulative_to_probs(torch.from_numpy(own), temperatures.get("score", 1.0)).numpy()
    score_pred = np.asarray(SCORE_LEVELS)[probs.argmax(1)]
    per_test = {}
    for ti, test in enumerate(TESTS):
        m = np.array([test_true[i] == ti and rows[i].score > 0 and head[i] >= 0 for i in range(len(rows))])
        if m.any():
            a = agreement([rows[i].score for i in np.flatnonzero(m)], score_pred[m])
            per_test[test] = {k: a[k] for k in ("n", "exact", "within_1", "kappa_quadratic", "spearman_rho")}
    scored = np.array([r.score > 0 and h >= 0 for r, h in zip(rows, head)])
    overall = agreement([r.score for r, s in zip(rows, scored) if s], score_pred[scored])
    return {"test_accuracy": round(float(np.mean(test_pred == test_true)), 4),
            "side_accuracy": round(float(np.mean(outputs["side_logits"].argmax(1) == side_true)), 4),
            "score_exact": overall["exact"], "score_kappa_quadratic": overall["kappa_quadratic"],
            "n": len(rows), "per_test": per_test}


def fit_temperatures(rows: list[LabelRow], outputs: dict[str, np.ndarray], heads: list[int] | None = None) -> dict:
    test_true = np.array([TESTS.index(r.test_name) for r in rows])
    head = _heads(rows, heads)
    own = outputs["score_cum_logits"][np.arange(len(rows)), np.maximum(head, 0)]
    targets = np.array([score_target(r.score) if h >= 0 else -1 for r, h in zip(rows, head)])
    return {"test": round(fit_softmax_temperature(outputs["test_logits"], test_true), 4),
            "side": round(fit_softmax_temperature(outputs["side_logits"],
                                                  np.array([SIDES.index(r.side) for r in rows])), 4),
            "score": round(fit_ordinal_temperature(own, targets), 4)}


# ----- the training loop ----------------------------------------------------
def _collate(items: list[dict]) -> dict:
    return {"x": torch.stack([i["x"] for i in items]),
            **{k: torch.tensor([i[k] for i in items]) for k in ("test", "side", "score", "score_head")}}


def _train_loop(model: torch.nn.Module, dataset: ClipDataset, weights: torch.Tensor, cfg: TrainConfig,
                epochs: int, lr: float, batch_size: int, freeze_bn: bool = False,
                weight_decay: float | None = None, one_cycle: bool = True,
                on_epoch: Callable[[int], bool] | None = None) -> list[float]:
    """Train in place; returns the mean loss per epoch. `on_epoch(epoch)` (1-based) runs after each
    epoch and stops training when it returns True (early stopping)."""
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=cfg.weight_decay if weight_decay is None else weight_decay)
    g = torch.Generator().manual_seed(cfg.seed)
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, collate_fn=_collate,
                        generator=g, drop_last=len(dataset) > batch_size)
    steps = max(1, epochs * len(loader))
    sched = (torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.2) if one_cycle
             else torch.optim.lr_scheduler.ConstantLR(opt, factor=1.0))
    losses = []
    t_start, c_start = time.perf_counter(), time.process_time()
    for epoch in range(epochs):
        model.train()
        if freeze_bn:
            for m in model.modules():
                if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
                    m.eval()
        total, n = 0.0, 0
        for batch in loader:
            loss = batch_loss(model, batch, weights, cfg)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(batch["test"])
            n += len(batch["test"])
        losses.append(total / max(n, 1))
        log.info("epoch %d/%d loss %.4f (%.0f s wall, %.0f s cpu so far)", epoch + 1, epochs, losses[-1],
                 time.perf_counter() - t_start, time.process_time() - c_start)
        report("epochs", epoch + 1, epochs, unit="epochs", detail=f"loss {losses[-1]:.4f}")
        if on_epoch is not None and on_epoch(epoch + 1):
            break
    return losses


def _prepare(rows: list[LabelRow], norm_cfg: NormalisationConfig) -> LabelledClips:
    got = load_labelled_clips(rows, norm_cfg)
    if len(got.rows) < 2:
        raise InputError(f"only {len(got.rows)} usable clip(s): training needs at least 2. "
                         + ("; ".join(got.problems[:3]) if got.problems else ""))
    return got


def pretrain(rows: list[LabelRow], out_path: str | Path, cfg: TrainConfig = TrainConfig(),
             model_cfg: STGCNConfig = STGCNConfig(pushup_by_sex=True), norm_cfg: NormalisationConfig | None = None,
             augment_cfg: AugmentConfig = AugmentConfig(), command: str = "", data_note: str = "") -> TrainResult:
    """Train from scratch on labelled clips (rows with resolved paths); save a checkpoint with its
    temperatures and its out-of-distribution detector (tools.scoring.stgcn.ood), both fitted on the
    validation athletes."""
    norm_cfg = norm_cfg or NormalisationConfig(n_frames=model_cfg.n_frames)
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    t0, c0 = time.perf_counter(), time.process_time()
    got = _prepare(rows, norm_cfg)
    rows, clips, problems = got.rows, got.clips, got.problems
    heads = clip_heads(rows, got.sexes, model_cfg)
    tr, va = split_by_athlete(rows, cfg.val_fraction, cfg.seed)
    tr_rows, va_rows = [rows[i] for i in tr], [rows[i] for i in va]
    log.info("pretrain: %d train clips (%d athletes), %d val clips (%d athletes), %d epochs, %d threads",
             len(tr), len({r.athlete_id for r in tr_rows}), len(va), len({r.athlete_id for r in va_rows}),
             cfg.epochs, cfg.threads)
    model = STGCN(model_cfg)
    weights = score_class_weights(tr_rows, cfg.max_class_weight)
    ds = ClipDataset(tr_rows, [clips[i] for i in tr], model_cfg.n_frames,
                     augment_cfg if cfg.augment else None, seed=cfg.seed, heads=[heads[i] for i in tr])
    losses = _train_loop(model, ds, weights, cfg, cfg.epochs, cfg.lr, cfg.batch_size)
    notes = list(problems)
    temps = {"test": 1.0, "side": 1.0, "score": 1.0}
    metrics: dict = {}
    ood_state = metric_state = None
    if va_rows:
        va_heads = [heads[i] for i in va]
        outputs = collect_outputs(model, [clips[i] for i in va], model_cfg.n_frames)
        metrics["uncalibrated"] = held_out_metrics(va_rows, outputs, temps, va_heads)
        temps = fit_temperatures(va_rows, outputs, va_heads)
        metrics = {**held_out_metrics(va_rows, outputs, temps, va_heads), **metrics}
        train_out = collect_outputs(model, [clips[i] for i in tr], model_cfg.n_frames)
        ood = fit_ood(train_out["features"], [TESTS.index(r.test_name) for r in tr_rows], outputs["features"],
                      [TESTS.index(r.test_name) for r in va_rows], len(TESTS))
        ood_state = ood.to_state()
        metrics["ood"] = {"quantile": ood.quantile, "thresholds": [round(float(v), 3) for v in ood.thresholds],
                          "n_fit": ood.n_fit, "n_calibration": ood.n_calibration}
        metric_state = _fit_metric_state(train_out["features"], tr_rows, cfg.seed)
    else:
        notes.append("one athlete only: no validation split, temperatures left at 1.0, no out-of-distribution "
                     "detector (the second opinion will abstain on every clip)")
    seconds = time.perf_counter() - t0
    cpu_seconds = time.process_time() - c0
    meta = {"seed": cfg.seed, "command": command, "data": data_note, "train_config": asdict(cfg),
            "augment_config": asdict(augment_cfg), "n_train": len(tr_rows), "n_val": len(va_rows),
            "train_athletes": sorted({r.athlete_id for r in tr_rows}),
            "val_athletes": sorted({r.athlete_id for r in va_rows}),
            "val_metrics": metrics, "final_train_loss": round(losses[-1], 4), "train_seconds": round(seconds, 1),
            "train_cpu_seconds": round(cpu_seconds, 1), "loss_per_epoch": [round(v, 4) for v in losses],
            "torch": str(torch.__version__), "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"format": CHECKPOINT_FORMAT, "model_config": model_cfg.to_dict(),
                "norm_config": asdict(norm_cfg), "state_dict": model.state_dict(),
                "temperatures": temps, "meta": meta, "ood": ood_state, "metric": metric_state}, out_path)
    log.info("saved %s (%.0f kB) in %.0f s", out_path, out_path.stat().st_size / 1024, seconds)
    return TrainResult(output=str(out_path), metrics=metrics, n_train=len(tr_rows), n_val=len(va_rows),
                       train_athletes=meta["train_athletes"], val_athletes=meta["val_athletes"],
                       seconds=round(seconds, 1), n_parameters=count_parameters(model),
                       trainable_parameters=count_parameters(model), size_bytes=out_path.stat().st_size,
                       temperatures=temps, cpu_seconds=round(cpu_seconds, 1), notes=notes)


def _fit_metric_state(features: np.ndarray, rows: list[LabelRow], seed: int) -> dict | None:
    """The retrieval metric (tools.scoring.stgcn.metric) on the training clips' features; pain clips left out."""
    from tools.scoring.stgcn.metric import fit_metric, retrieval_label
    keep = [i for i, r in enumerate(rows) if r.score > 0]
    if len(keep) < 10:
        return None
    labels = [retrieval_label(TESTS.index(rows[i].test_name), rows[i].score) for i in keep]
    return fit_metric(features[keep], np.asarray(labels), seed=seed).to_state()


def refit_post_hoc(rows: list[LabelRow], checkpoint: str | Path, out_path: str | Path, seed: int = 0) -> dict:
    """Refit the out-of-distribution detector and the retrieval metric of a trained checkpoint, with the
    training / validation athletes its meta records (the weights are not touched). Returns the figures."""
    path = Path(checkpoint)
    ck = torch.load(path, map_location="cpu", weights_only=True)
    model, norm_cfg, _, meta = load_checkpoint(path)
    got = _prepare(rows, norm_cfg)
    train_ids, val_ids = set(meta.get("train_athletes", [])), set(meta.get("val_athletes", []))
    tr = [i for i, r in enumerate(got.rows) if r.athlete_id in train_ids]
    va = [i for i, r in enumerate(got.rows) if r.athlete_id in val_ids]
    if not tr or not va:
        raise InputError(f"none of these clips belong to the athletes {path.name} was trained / validated on; "
                         "refit with the data it was trained on")
    n_frames = model.config.n_frames
    tr_out = collect_outputs(model, [got.clips[i] for i in tr], n_frames)
    va_out = collect_outputs(model, [got.clips[i] for i in va], n_frames)
    tr_rows, va_rows = [got.rows[i] for i in tr], [got.rows[i] for i in va]
    ood = fit_ood(tr_out["features"], [TESTS.index(r.test_name) for r in tr_rows], va_out["features"],
                  [TESTS.index(r.test_name) for r in va_rows], len(TESTS))
    ck["ood"] = ood.to_state()
    ck["metric"] = _fit_metric_state(tr_out["features"], tr_rows, seed)
    ck["meta"] = dict(ck.get("meta", {}), post_hoc_refit={
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "n_train": len(tr), "n_val": len(va),
        "ood_quantile": ood.quantile})
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(ck, out_path)
    return {"output": str(out_path), "n_train": len(tr), "n_val": len(va),
            "ood_thresholds": [round(float(v), 3) for v in ood.thresholds], "metric": ck["metric"] is not None}


# ----- checkpoints -------------------------------------------------------------
def load_checkpoint(path: str | Path) -> tuple[STGCN, NormalisationConfig, dict, dict]:
    """(model in eval mode, normalisation config, temperatures, meta) from a checkpoint file."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"ST-GCN checkpoint not found: {path}. Train one with `formscout train --data DIR`.")
    try:
        ck = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, OSError, ValueError, EOFError) as exc:
        raise InputError(f"cannot read ST-GCN checkpoint {path}: {exc}") from exc
    if not isinstance(ck, dict) or ck.get("format") != CHECKPOINT_FORMAT:
        raise InputError(f"{path} is not a FormScout ST-GCN checkpoint ({CHECKPOINT_FORMAT})")
    model = STGCN(STGCNConfig.from_dict(ck["model_config"]))
    model.load_state_dict(ck["state_dict"])
    model.eval()
    meta = dict(ck.get("meta", {}), sha256=file_sha256(path), path=str(path))
    if ck.get("ood"):
        meta["ood_state"] = ck["ood"]           # tools.scoring.stgcn.ood.MahalanobisOOD.from_state
    if ck.get("metric"):
        meta["metric_state"] = ck["metric"]     # tools.scoring.stgcn.metric.MetricProjection.from_state
    return model, NormalisationConfig(**ck["norm_config"]), dict(ck["temperatures"]), meta


# ----- LoRA -------------------------------------------------------------------
def _lora_model(model: STGCN, settings: LoraSettings):
    from peft import LoraConfig, get_peft_model
    targets = lora_target_modules(model, settings.last_blocks, settings.heads)
    config = LoraConfig(r=settings.rank, lora_alpha=settings.alpha, lora_dropout=0.0,
                        target_modules=targets, modules_to_save=["score_cuts"])
    return get_peft_model(model, config)


def score_check(rows: list[LabelRow], outputs: dict[str, np.ndarray], temperatures: dict,
                heads: list[int] | None = None) -> dict:
    """Score-head figures on labelled clips: NLL of the physio's level (at the score temperature),
    exact, quadratic kappa, test-recognition accuracy, and how many clips were scored."""
    test_true = np.array([TESTS.index(r.test_name) for r in rows])
    head = _heads(rows, heads)
    targets = np.array([score_target(r.score) if h >= 0 else -1 for r, h in zip(rows, head)])
    own = outputs["score_cum_logits"][np.arange(len(rows)), np.maximum(head, 0)]
    t = float(temperatures.get("score", 1.0))
    keep = targets >= 0
    out = {"n": int(keep.sum()), "score_nll": round(ordinal_nll(own, targets, t), 4),
           "test_accuracy": round(float(np.mean(outputs["test_logits"].argmax(1) == test_true)), 4)}
    if keep.any():
        probs = cumulative_to_probs(torch.from_numpy(own[keep]), t).numpy()
        a = agreement([r.score for r, k in zip(rows, keep) if k], np.asarray(SCORE_LEVELS)[probs.argmax(1)])
        out.update(exact=a["exact"], kappa_quadratic=a["kappa_quadratic"])
    return out


def per_clip_score_nll(rows: list[LabelRow], outputs: dict[str, np.ndarray], temperature: float,
                       heads: list[int] | None = None) -> np.ndarray:
    """NLL of each scored clip's physio level [n_scored] (pain clips and push-ups without a head left out)."""
    head = _heads(rows, heads)
    targets = np.array([score_target(r.score) if h >= 0 else -1 for r, h in zip(rows, head)])
    own = outputs["score_cum_logits"][np.arange(len(rows)), np.maximum(head, 0)]
    return np.array([ordinal_nll(own[i:i + 1], targets[i:i + 1], temperature)
                     for i in np.flatnonzero(targets >= 0)])


def bootstrap_improvement(base_nll: np.ndarray, adapted_nll: np.ndarray, athletes: list[str],
                          resamples: int, seed: int) -> float:
    """Share of athlete-level bootstrap resamples in which the adapted mean NLL is below the base's."""
    names = sorted(set(athletes))
    diff = base_nll - adapted_nll
    by = [diff[[a == n for a in athletes]] for n in names]
    rng = np.random.default_rng(seed)
    wins = 0
    for _ in range(resamples):
        pick = rng.integers(len(names), size=len(names))
        wins += float(np.concatenate([by[i] for i in pick]).mean()) > 0
    return wins / max(resamples, 1)


def inner_split(rows: list[LabelRow], settings: LoraSettings, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, inner-validation) indices, split by athlete; empty validation when the fine-tune set
    has fewer than min_val_athletes + 2 athletes or no scored clip would be validated."""
    athletes = np.asarray([r.athlete_id for r in rows])
    names = sorted(set(athletes))
    if len(names) < settings.min_val_athletes + 2 or settings.inner_val_fraction <= 0:
        return np.arange(len(rows)), np.array([], dtype=int)
    n_val = min(len(names) - 2, max(settings.min_val_athletes, int(round(settings.inner_val_fraction * len(names)))))
    val_names = set(np.random.default_rng(seed).permutation(names)[:n_val])
    va = np.array([i for i, a in enumerate(athletes) if a in val_names], dtype=int)
    if not any(rows[i].score > 0 for i in va):
        return np.arange(len(rows)), np.array([], dtype=int)
    return np.array([i for i, a in enumerate(athletes) if a not in val_names], dtype=int), va


def finetune_lora(rows: list[LabelRow], base_checkpoint: str | Path, out_dir: str | Path | None,
                  settings: LoraSettings = LoraSettings(), cfg: TrainConfig = TrainConfig(),
                  command: str = "", use_rejected: bool = False) -> tuple[torch.nn.Module, TrainResult]:
    """LoRA-adapt the base model to a team's labelled clips (see LoraSettings for the recipe).

    Saves only the adapter (when out_dir is given), with the guard's verdict in
    formscout_adapter.json. Returns (model for inference, result): the merged
    adapted model when the guard adopts it (or could not check it), otherwise
    the unchanged base model (`use_rejected=True` returns the adapted one
    anyway, for experiments). result.adopted / result.guard / result.notes say
    what happened in words and figures.
    """
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    t0, c0 = time.perf_counter(), time.process_time()
    base, norm_cfg, base_temps, base_meta = load_checkpoint(base_checkpoint)
    got = _prepare(rows, norm_cfg)
    rows, clips, problems = got.rows, got.clips, got.problems
    heads = clip_heads(rows, got.sexes, base.config)
    notes = list(problems)
    n_frames = base.config.n_frames
    tr, va = inner_split(rows, settings, cfg.seed)
    tr_rows, va_rows = [rows[i] for i in tr], [rows[i] for i in va]
    va_clips = [clips[i] for i in va]
    va_heads = [heads[i] for i in va]
    guard: dict = {}
    if va_rows:
        base_val_out = collect_outputs(base, va_clips, n_frames)
        guard["base"] = score_check(va_rows, base_val_out, base_temps, va_heads)
        guard["val_athletes"] = sorted({r.athlete_id for r in va_rows})
    model = _lora_model(base, settings)
    n_trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    log.info("LoRA fine-tune: rank %d on %s, %d trainable parameters, %d train clips (%d athletes), "
             "%d inner-validation clips (%d athletes), up to %d epochs, lr %g",
             settings.rank, lora_target_modules(base, settings.last_blocks, settings.heads), n_trainable,
             len(tr_rows), len({r.athlete_id for r in tr_rows}), len(va_rows), len({r.athlete_id for r in va_rows}),
             settings.epochs if va_rows else settings.unchecked_epochs, settings.lr)
    weights = score_class_weights(tr_rows, cfg.max_class_weight)
    ds = ClipDataset(tr_rows, [clips[i] for i in tr], n_frames, AugmentConfig() if cfg.augment else None,
                     seed=cfg.seed, heads=[heads[i] for i in tr])
    history: list[dict] = []
    best: dict = {"epoch": 0, "nll": float("inf"), "state": None}   # the best epoch >= 1 on inner validation

    def check(epoch: int) -> bool:
        res = score_check(va_rows, collect_outputs(model, va_clips, n_frames), base_temps, va_heads)
        history.append({"epoch": epoch, **res})
        if not res["score_nll"] >= best["nll"]:     # also takes the first epoch when its NLL is NaN
            best.update(epoch=epoch, nll=res["score_nll"],
                        state={k: v.detach().clone() for k, v in model.state_dict().items()})
        return epoch - best["epoch"] >= settings.patience

    epochs = settings.epochs if va_rows else settings.unchecked_epochs
    losses = _train_loop(model, ds, weights, cfg, epochs, settings.lr, settings.batch_size, freeze_bn=True,
                         weight_decay=settings.weight_decay, one_cycle=False,
                         on_epoch=check if va_rows else None)
    temps = dict(base_temps)
    adopted: bool | None
    if va_rows:
        if best["state"] is not None:
            model.load_state_dict(best["state"])
        adapted_out = collect_outputs(model, va_clips, n_frames)
        adapted = score_check(va_rows, adapted_out, base_temps, va_heads)
        t_score = float(base_temps.get("score", 1.0))
        scored = [r.athlete_id for r, h in zip(va_rows, va_heads) if r.score > 0 and h >= 0]
        p_better = bootstrap_improvement(per_clip_score_nll(va_rows, base_val_out, t_score, va_heads),
                                         per_clip_score_nll(va_rows, adapted_out, t_score, va_heads), scored,
                                         settings.guard_resamples, cfg.seed)
        guard.update(adapted=adapted, best_epoch=best["epoch"], epochs_run=len(losses), history=history,
                     margin=settings.guard_margin, p_better_bootstrap=round(p_better, 4),
                     confidence_required=settings.guard_confidence)
        adopted = bool(adapted["score_nll"] < guard["base"]["score_nll"] - settings.guard_margin
                       and p_better >= settings.guard_confidence
                       and adapted["test_accuracy"] >= guard["base"]["test_accuracy"])
        b, a = guard["base"], adapted
        verdict = (f"on {len(guard['val_athletes'])} inner-validation athletes ({b['n']} scored clips, never "
                   f"trained on) the adapter's score NLL is {a['score_nll']:.3f} vs the base model's "
                   f"{b['score_nll']:.3f} (exact {a.get('exact')} vs {b.get('exact')}, quadratic kappa "
                   f"{a.get('kappa_quadratic')} vs {b.get('kappa_quadratic')}; better in {p_better:.0%} of "
                   f"athlete-bootstrap resamples, {settings.guard_confidence:.0%} required; best epoch {best['epoch']})")
        if adopted:
            notes.append(f"adapter ADOPTED: {verdict}")
            if len(va_rows) >= settings.min_clips_to_recalibrate and len(guard["val_athletes"]) >= 4:
                own = collect_outputs(model, va_clips, n_frames)
                temps["score"] = fit_temperatures(va_rows, own, va_heads)["score"]
                notes.append(f"score temperature refitted on the inner-validation clips: {temps['score']}")
        else:
            notes.append(f"adapter NOT adopted, the base model is kept: {verdict}. The adapter is saved for "
                         "inspection only (marked rejected); more labelled athletes may help")
    else:
        adopted = None
        notes.append(f"{len(rows)} clips from {len({r.athlete_id for r in rows})} athlete(s): too few athletes "
                     f"to hold {settings.min_val_athletes} out for validation, so the adapter trained on every "
                     f"clip for {settings.unchecked_epochs} epochs and is NOT checked: evaluate it on other "
                     "athletes before relying on it (formscout eval ... --scorer stgcn --adapter DIR)")
    size = 0
    if out_dir is not None:
        out_dir = Path(out_dir)
        model.save_pretrained(str(out_dir))
        meta = {"format": CHECKPOINT_FORMAT + "-lora", "base_sha256": base_meta["sha256"],
                "base_path": base_meta["path"], "temperatures": temps, "settings": asdict(settings),
                "seed": cfg.seed, "command": command, "n_train": len(tr_rows), "n_val": len(va_rows),
                "train_athletes": sorted({r.athlete_id for r in tr_rows}),
                "val_athletes": sorted({r.athlete_id for r in va_rows}),
                "adopted": adopted, "guard": guard, "notes": notes}
        (out_dir / ADAPTER_META).write_text(json.dumps(meta, indent=2))
        size = sum(p.stat().st_size for p in out_dir.iterdir() if p.is_file())
    if adopted is False and not use_rejected:
        result_model, temps_out = load_checkpoint(base_checkpoint)[0], dict(base_temps)
    else:
        result_model, temps_out = model.merge_and_unload(), temps
    result_model.eval()
    seconds = time.perf_counter() - t0
    return result_model, TrainResult(
        output=str(out_dir) if out_dir is not None else "", metrics=guard.get("adapted", {}),
        n_train=len(tr_rows), n_val=len(va_rows), train_athletes=sorted({r.athlete_id for r in tr_rows}),
        val_athletes=sorted({r.athlete_id for r in va_rows}), seconds=round(seconds, 1),
        n_parameters=count_parameters(result_model), trainable_parameters=n_trainable, size_bytes=size,
        temperatures=temps_out, cpu_seconds=round(time.process_time() - c0, 1), notes=notes,
        adopted=adopted, guard=guard)


def load_adapter(base_checkpoint: str | Path, adapter_dir: str | Path,
                 allow_rejected: bool = False) -> tuple[STGCN, NormalisationConfig, dict, dict]:
    """Base checkpoint + saved LoRA adapter -> merged model, normalisation, temperatures, meta.
    An adapter its own guard rejected raises InputError unless `allow_rejected`."""
    from peft import PeftModel
    adapter_dir = Path(adapter_dir)
    meta_path = adapter_dir / ADAPTER_META
    if not meta_path.is_file():
        raise InputError(f"{adapter_dir} is not a FormScout LoRA adapter (no {ADAPTER_META}); "
                         "make one with `formscout train --finetune LABELS.csv --clips DIR --lora --out DIR`")
    base, norm_cfg, _, base_meta = load_checkpoint(base_checkpoint)
    ad_meta = json.loads(meta_path.read_text())
    if ad_meta.get("base_sha256") != base_meta["sha256"]:
        raise InputError(f"adapter {adapter_dir} was trained on a different base checkpoint "
                         f"(sha256 {str(ad_meta.get('base_sha256'))[:12]}, this one {base_meta['sha256'][:12]}); "
                         "pass the matching --base")
    if ad_meta.get("adopted") is False and not allow_rejected:
        b, a = ad_meta.get("guard", {}).get("base", {}), ad_meta.get("guard", {}).get("adapted", {})
        raise InputError(f"adapter {adapter_dir} was rejected by its own validation (score NLL "
                         f"{a.get('score_nll')} vs base {b.get('score_nll')} on its inner-validation athletes): "
                         "leave out --adapter to use the base model, or pass --allow-rejected-adapter to "
                         "evaluate it anyway")
    model = PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()
    model.eval()
    meta = dict(base_meta, adapter=str(adapter_dir), adapter_meta=ad_meta)
    return model, norm_cfg, dict(ad_meta["temperatures"]), meta
