"""Training the ST-GCN: pretraining on a labelled library, LoRA fine-tuning on a team's clips.

Splits are by athlete only (sklearn GroupShuffleSplit): no athlete's clips are
on both sides of a split. Losses: cross-entropy for the test head, for the
side head (weight 0.5), and for the score head a class-weighted binary
cross-entropy on the two cumulative logits of the clip's own test (CORAL
style), with weights inverse to the frequency of each score level in the
training split (capped at 5x) so the rare 1s are not drowned by 2s and 3s.
Clips scored 0 (pain, not visible) train the test and side heads only.
After training, one temperature per head is fitted on the validation split
(tools.stgcn.calibrate).

Checkpoint (torch.save of plain tensors and primitives, loadable with
weights_only=True): format, model_config, norm_config, state_dict,
temperatures {test, side, score}, meta {seed, command, data, athletes, metrics,
timing}. A LoRA adapter is a peft folder (adapter_model.safetensors +
adapter_config.json) plus formscout_adapter.json (base checkpoint hash,
temperatures, metrics); only the adapter is saved, never the base weights.
"""
from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from sklearn.model_selection import GroupShuffleSplit
from torch.nn import functional as F
from torch.utils.data import DataLoader

from tools.errors import InputError
from tools.evaluate.labels import LabelRow
from tools.evaluate.stats import agreement
from tools.rubric import TESTS
from tools.stgcn.calibrate import fit_ordinal_temperature, fit_softmax_temperature
from tools.stgcn.data import AugmentConfig, ClipDataset, NormalisationConfig, load_clips, score_target, to_tensor
from tools.stgcn.model import (SCORE_LEVELS, SIDES, STGCN, STGCNConfig, count_parameters,
                               cumulative_to_probs, lora_target_modules)

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
    """LoRA fine-tuning settings (peft)."""

    rank: int = 4
    alpha: int = 8
    epochs: int = 20
    lr: float = 2e-3
    batch_size: int = 16
    calibration_fraction: float = 0.25   # athletes held out to refit temperatures ...
    min_clips_to_recalibrate: int = 40   # ... only with this many clips (and >= 4 athletes)


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
        own = out["score_cum_logits"][torch.arange(len(batch["test"])), batch["test"]]
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


def held_out_metrics(rows: list[LabelRow], outputs: dict[str, np.ndarray], temperatures: dict) -> dict:
    """Test-recognition accuracy, side accuracy, and per-test score agreement (score head of the
    labelled test; pain clips left out since their 0 comes from the pain input)."""
    if not rows:
        return {}
    test_true = np.array([TESTS.index(r.test_name) for r in rows])
    test_pred = outputs["test_logits"].argmax(1)
    side_true = np.array([SIDES.index(r.side) for r in rows])
    own = outputs["score_cum_logits"][np.arange(len(rows)), test_true]
    probs = cumulative_to_probs(torch.from_numpy(own), temperatures.get("score", 1.0)).numpy()
    score_pred = np.asarray(SCORE_LEVELS)[probs.argmax(1)]
    per_test = {}
    for ti, test in enumerate(TESTS):
        m = np.array([test_true[i] == ti and rows[i].score > 0 for i in range(len(rows))])
        if m.any():
            a = agreement([rows[i].score for i in np.flatnonzero(m)], score_pred[m])
            per_test[test] = {k: a[k] for k in ("n", "exact", "within_1", "kappa_quadratic", "spearman_rho")}
    scored = np.array([r.score > 0 for r in rows])
    overall = agreement([r.score for r, s in zip(rows, scored) if s], score_pred[scored])
    return {"test_accuracy": round(float(np.mean(test_pred == test_true)), 4),
            "side_accuracy": round(float(np.mean(outputs["side_logits"].argmax(1) == side_true)), 4),
            "score_exact": overall["exact"], "score_kappa_quadratic": overall["kappa_quadratic"],
            "n": len(rows), "per_test": per_test}


def fit_temperatures(rows: list[LabelRow], outputs: dict[str, np.ndarray]) -> dict:
    test_true = np.array([TESTS.index(r.test_name) for r in rows])
    own = outputs["score_cum_logits"][np.arange(len(rows)), test_true]
    return {"test": round(fit_softmax_temperature(outputs["test_logits"], test_true), 4),
            "side": round(fit_softmax_temperature(outputs["side_logits"],
                                                  np.array([SIDES.index(r.side) for r in rows])), 4),
            "score": round(fit_ordinal_temperature(own, np.array([score_target(r.score) for r in rows])), 4)}


# ----- the training loop ----------------------------------------------------
def _collate(items: list[dict]) -> dict:
    return {"x": torch.stack([i["x"] for i in items]),
            **{k: torch.tensor([i[k] for i in items]) for k in ("test", "side", "score")}}


def _train_loop(model: torch.nn.Module, dataset: ClipDataset, weights: torch.Tensor, cfg: TrainConfig,
                epochs: int, lr: float, batch_size: int, freeze_bn: bool = False) -> list[float]:
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=cfg.weight_decay)
    g = torch.Generator().manual_seed(cfg.seed)
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, collate_fn=_collate,
                        generator=g, drop_last=len(dataset) > batch_size)
    steps = max(1, epochs * len(loader))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.2)
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
    return losses


def _prepare(rows: list[LabelRow], norm_cfg: NormalisationConfig) -> tuple[list[LabelRow], list[np.ndarray], list[str]]:
    rows, clips, problems = load_clips(rows, norm_cfg)
    if len(rows) < 2:
        raise InputError(f"only {len(rows)} usable clip(s): training needs at least 2. "
                         + ("; ".join(problems[:3]) if problems else ""))
    return rows, clips, problems


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def pretrain(rows: list[LabelRow], out_path: str | Path, cfg: TrainConfig = TrainConfig(),
             model_cfg: STGCNConfig = STGCNConfig(), norm_cfg: NormalisationConfig | None = None,
             augment_cfg: AugmentConfig = AugmentConfig(), command: str = "", data_note: str = "") -> TrainResult:
    """Train from scratch on labelled clips (rows with resolved paths); save a checkpoint."""
    norm_cfg = norm_cfg or NormalisationConfig(n_frames=model_cfg.n_frames)
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    t0, c0 = time.perf_counter(), time.process_time()
    rows, clips, problems = _prepare(rows, norm_cfg)
    tr, va = split_by_athlete(rows, cfg.val_fraction, cfg.seed)
    tr_rows, va_rows = [rows[i] for i in tr], [rows[i] for i in va]
    log.info("pretrain: %d train clips (%d athletes), %d val clips (%d athletes), %d epochs, %d threads",
             len(tr), len({r.athlete_id for r in tr_rows}), len(va), len({r.athlete_id for r in va_rows}),
             cfg.epochs, cfg.threads)
    model = STGCN(model_cfg)
    weights = score_class_weights(tr_rows, cfg.max_class_weight)
    ds = ClipDataset(tr_rows, [clips[i] for i in tr], model_cfg.n_frames,
                     augment_cfg if cfg.augment else None, seed=cfg.seed)
    losses = _train_loop(model, ds, weights, cfg, cfg.epochs, cfg.lr, cfg.batch_size)
    notes = list(problems)
    temps = {"test": 1.0, "side": 1.0, "score": 1.0}
    metrics: dict = {}
    if va_rows:
        outputs = collect_outputs(model, [clips[i] for i in va], model_cfg.n_frames)
        metrics["uncalibrated"] = held_out_metrics(va_rows, outputs, temps)
        temps = fit_temperatures(va_rows, outputs)
        metrics = {**held_out_metrics(va_rows, outputs, temps), **metrics}
    else:
        notes.append("one athlete only: no validation split, temperatures left at 1.0")
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
                "temperatures": temps, "meta": meta}, out_path)
    log.info("saved %s (%.0f kB) in %.0f s", out_path, out_path.stat().st_size / 1024, seconds)
    return TrainResult(output=str(out_path), metrics=metrics, n_train=len(tr_rows), n_val=len(va_rows),
                       train_athletes=meta["train_athletes"], val_athletes=meta["val_athletes"],
                       seconds=round(seconds, 1), n_parameters=count_parameters(model),
                       trainable_parameters=count_parameters(model), size_bytes=out_path.stat().st_size,
                       temperatures=temps, cpu_seconds=round(cpu_seconds, 1), notes=notes)


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
    return model, NormalisationConfig(**ck["norm_config"]), dict(ck["temperatures"]), meta


# ----- LoRA -------------------------------------------------------------------
def _lora_model(model: STGCN, settings: LoraSettings):
    from peft import LoraConfig, get_peft_model
    config = LoraConfig(r=settings.rank, lora_alpha=settings.alpha, lora_dropout=0.0,
                        target_modules=lora_target_modules(model), modules_to_save=["score_cuts"])
    return get_peft_model(model, config)


def finetune_lora(rows: list[LabelRow], base_checkpoint: str | Path, out_dir: str | Path | None,
                  settings: LoraSettings = LoraSettings(), cfg: TrainConfig = TrainConfig(),
                  command: str = "") -> tuple[torch.nn.Module, TrainResult]:
    """LoRA-adapt the base model to a team's labelled clips. Saves only the adapter (when out_dir
    is given) and returns (merged model ready for inference, result)."""
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    t0, c0 = time.perf_counter(), time.process_time()
    base, norm_cfg, base_temps, base_meta = load_checkpoint(base_checkpoint)
    rows, clips, problems = _prepare(rows, norm_cfg)
    notes = list(problems)
    n_ath = len({r.athlete_id for r in rows})
    if n_ath >= 4 and len(rows) >= settings.min_clips_to_recalibrate and settings.calibration_fraction > 0:
        tr, va = split_by_athlete(rows, settings.calibration_fraction, cfg.seed)
    else:
        tr, va = np.arange(len(rows)), np.array([], dtype=int)
        notes.append(f"{len(rows)} clips from {n_ath} athlete(s): too few to hold some out for calibration "
                     f"(needs {settings.min_clips_to_recalibrate} clips, 4 athletes), so every clip trains "
                     "the adapter and the base model's temperatures are kept")
    tr_rows, va_rows = [rows[i] for i in tr], [rows[i] for i in va]
    model = _lora_model(base, settings)
    n_trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    log.info("LoRA fine-tune: rank %d, %d trainable parameters, %d clips (%d athletes), %d epochs",
             settings.rank, n_trainable, len(tr_rows), len({r.athlete_id for r in tr_rows}), settings.epochs)
    weights = score_class_weights(tr_rows, cfg.max_class_weight)
    ds = ClipDataset(tr_rows, [clips[i] for i in tr], base.config.n_frames,
                     AugmentConfig() if cfg.augment else None, seed=cfg.seed)
    _train_loop(model, ds, weights, cfg, settings.epochs, settings.lr, settings.batch_size, freeze_bn=True)
    temps = dict(base_temps)
    metrics: dict = {}
    if va_rows:
        outputs = collect_outputs(model, [clips[i] for i in va], base.config.n_frames)
        temps = fit_temperatures(va_rows, outputs)
        metrics = held_out_metrics(va_rows, outputs, temps)
    size = 0
    if out_dir is not None:
        out_dir = Path(out_dir)
        model.save_pretrained(str(out_dir))
        meta = {"format": CHECKPOINT_FORMAT + "-lora", "base_sha256": base_meta["sha256"],
                "base_path": base_meta["path"], "temperatures": temps, "settings": asdict(settings),
                "seed": cfg.seed, "command": command, "n_train": len(tr_rows), "n_val": len(va_rows),
                "train_athletes": sorted({r.athlete_id for r in tr_rows}), "metrics": metrics, "notes": notes}
        (out_dir / ADAPTER_META).write_text(json.dumps(meta, indent=2))
        size = sum(p.stat().st_size for p in out_dir.iterdir() if p.is_file())
    merged = model.merge_and_unload()
    merged.eval()
    seconds = time.perf_counter() - t0
    return merged, TrainResult(
        output=str(out_dir) if out_dir is not None else "", metrics=metrics, n_train=len(tr_rows),
        n_val=len(va_rows), train_athletes=sorted({r.athlete_id for r in tr_rows}),
        val_athletes=sorted({r.athlete_id for r in va_rows}), seconds=round(seconds, 1),
        n_parameters=count_parameters(merged), trainable_parameters=n_trainable, size_bytes=size,
        temperatures=temps, cpu_seconds=round(time.process_time() - c0, 1), notes=notes)


def load_adapter(base_checkpoint: str | Path, adapter_dir: str | Path) -> tuple[STGCN, NormalisationConfig, dict, dict]:
    """Base checkpoint + saved LoRA adapter -> merged model, normalisation, temperatures, meta."""
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
    model = PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()
    model.eval()
    meta = dict(base_meta, adapter=str(adapter_dir), adapter_meta=ad_meta)
    return model, norm_cfg, dict(ad_meta["temperatures"]), meta
