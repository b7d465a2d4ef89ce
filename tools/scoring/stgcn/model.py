"""A small hand-rolled ST-GCN with three heads: which test, which side, what score.

Tensor layout throughout: N x C x T x V (batch, channels, frames, joints).
Input channels (C_in = 7, built by tools.scoring.stgcn.data.to_tensor): normalised
x, y, z (body frame, body-size units), their frame-to-frame velocity, and a
"seen" mask (1 = joint observed, 0 = missing; missing coordinates are 0).

Network: input BatchNorm over (C, V), then blocks of
  spatial graph conv (1x1 conv to K*C_out channels, mixed over joints by the
  K=3 partitioned adjacency of tools.scoring.stgcn.graph times a learnable edge
  importance) -> BN -> ReLU -> temporal conv (kernel 9 x 1, stride 1 or 2) ->
  BN, plus a residual (identity, or 1x1 conv + BN when shape changes) -> ReLU ->
  dropout. Global average pooling over T and V gives the motion embedding
  (C_last features); the heads read it:
  - test head: 7 logits, one per FMS test (tools.scoring.rubric.TESTS order);
  - side head: 3 logits, L / R / NA;
  - score head: ordinal, cumulative-link (CORAL-style) per test (and, with
    `pushup_by_sex`, a second push-up head for women: the thumb levels that earn
    each score differ by sex, docs/FMS.md). For test t a
    latent quality q_t = w_t . h gives P(score > 1) = sigmoid(q_t - c_t1) and
    P(score > 2) = sigmoid(q_t - c_t2) with ordered cut-points c_t1 <= c_t2
    (c_t2 = c_t1 + softplus(d_t)), so the two probabilities can never cross.
    Only the visible levels 1-3 are modelled: score 0 means pain, which the
    athlete reports and no camera sees, so it is set from the pain input,
    never predicted.
Building the model touches neither disk nor network.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from tools.scoring.stgcn.graph import spatial_adjacency
from tools.core.fms import TESTS

SIDES: tuple[str, ...] = ("L", "R", "NA")
SCORE_LEVELS: tuple[int, ...] = (1, 2, 3)   # the visible levels; 0 = pain, from input
IN_CHANNELS = 7


@dataclass(frozen=True)
class STGCNConfig:
    """Architecture of the network (stored in every checkpoint)."""

    in_channels: int = IN_CHANNELS
    channels: tuple[int, ...] = (32, 48, 48, 64, 64)
    strides: tuple[int, ...] = (1, 2, 1, 2, 1)
    temporal_kernel: int = 9
    dropout: float = 0.2
    n_frames: int = 32          # every clip is resampled to this many frames
    n_tests: int = len(TESTS)
    pushup_by_sex: bool = False  # the push-up's score levels differ by sex: a second push-up score head (women)

    @property
    def n_score_heads(self) -> int:
        """One ordinal score head per test, plus the women's push-up head when `pushup_by_sex`."""
        return self.n_tests + (1 if self.pushup_by_sex else 0)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "STGCNConfig":
        d = dict(d)
        d["channels"] = tuple(d["channels"])
        d["strides"] = tuple(d["strides"])
        return cls(**d)


PUSHUP = "trunk_stability_pushup"


def score_head_index(config: STGCNConfig, test: str, sex: str | None) -> int:
    """Which score head reads a clip of `test`: the test's own, or for the push-up of a woman (sex "F")
    the women's head when the config has one; -1 when the head cannot be chosen (push-up, sex unknown)."""
    ti = TESTS.index(test)
    if test != PUSHUP or not config.pushup_by_sex:
        return ti
    sex = (sex or "").strip().upper()[:1]
    if sex == "M":
        return ti
    if sex == "F":
        return config.n_tests
    return -1


class SpatialGraphConv(nn.Module):
    """x [N, C_in, T, V] -> [N, C_out, T, V]: per-partition 1x1 conv, then sum_k A_k mixing."""

    def __init__(self, c_in: int, c_out: int, adjacency: np.ndarray):
        super().__init__()
        self.n_parts = adjacency.shape[0]
        self.c_out = c_out
        self.register_buffer("adjacency", torch.as_tensor(adjacency, dtype=torch.float32))
        self.edge_importance = nn.Parameter(torch.ones_like(self.adjacency))
        self.conv = nn.Conv2d(c_in, c_out * self.n_parts, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, t, v = x.shape
        y = self.conv(x).view(n, self.n_parts, self.c_out, t, v)
        a = self.adjacency * self.edge_importance          # [K, V(i), V(j)]
        return torch.einsum("nkctj,kij->ncti", y, a)


class STGCNBlock(nn.Module):
    """Spatial graph conv -> temporal conv, with a residual. [N, C_in, T, V] -> [N, C_out, T/s, V]."""

    def __init__(self, c_in: int, c_out: int, adjacency: np.ndarray, stride: int = 1,
                 kernel: int = 9, dropout: float = 0.0):
        super().__init__()
        self.gcn = SpatialGraphConv(c_in, c_out, adjacency)
        self.gcn_bn = nn.BatchNorm2d(c_out)
        self.tcn = nn.Conv2d(c_out, c_out, kernel_size=(kernel, 1), stride=(stride, 1),
                             padding=((kernel - 1) // 2, 0))
        self.tcn_bn = nn.BatchNorm2d(c_out)
        if c_in == c_out and stride == 1:
            self.residual: nn.Module = nn.Identity()
        else:
            self.residual = nn.Sequential(nn.Conv2d(c_in, c_out, kernel_size=1, stride=(stride, 1)),
                                          nn.BatchNorm2d(c_out))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.gcn_bn(self.gcn(x)))
        y = self.tcn_bn(self.tcn(y))
        return self.dropout(F.relu(y + self.residual(x)))


class OrdinalCutPoints(nn.Module):
    """Per-test ordered cut-points [n_tests, 2] of the cumulative-link score head."""

    def __init__(self, n_tests: int):
        super().__init__()
        self.first = nn.Parameter(torch.full((n_tests,), -1.0))
        self.gap = nn.Parameter(torch.full((n_tests,), 0.5))   # softplus(0.5) ~ 0.97

    def forward(self) -> torch.Tensor:
        return torch.stack([self.first, self.first + F.softplus(self.gap)], dim=-1)


class STGCN(nn.Module):
    """The FormScout ST-GCN. forward(x [N, 7, T, V]) -> dict of tensors (see `forward`)."""

    def __init__(self, config: STGCNConfig | None = None):
        super().__init__()
        self.config = config or STGCNConfig()
        cfg = self.config
        adjacency = spatial_adjacency()
        n_joints = adjacency.shape[-1]
        self.data_bn = nn.BatchNorm1d(cfg.in_channels * n_joints)
        blocks = []
        c_prev = cfg.in_channels
        for c, s in zip(cfg.channels, cfg.strides):
            blocks.append(STGCNBlock(c_prev, c, adjacency, stride=s, kernel=cfg.temporal_kernel,
                                     dropout=cfg.dropout if c_prev != cfg.in_channels else 0.0))
            c_prev = c
        self.blocks = nn.ModuleList(blocks)
        self.embedding_dim = c_prev
        self.test_head = nn.Linear(c_prev, cfg.n_tests)
        self.side_head = nn.Linear(c_prev, len(SIDES))
        self.score_latent = nn.Linear(c_prev, cfg.n_score_heads)
        self.score_cuts = OrdinalCutPoints(cfg.n_score_heads)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """x [N, C, T, V] -> pooled features [N, C_last] (the motion embedding, before the heads)."""
        n, c, t, v = x.shape
        y = self.data_bn(x.permute(0, 1, 3, 2).reshape(n, c * v, t))
        y = y.view(n, c, v, t).permute(0, 1, 3, 2).contiguous()
        for block in self.blocks:
            y = block(y)
        return y.mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Returns features [N, D], test_logits [N, 7], side_logits [N, 3],
        score_cum_logits [N, H, 2] (logit of P(score > 1), P(score > 2) for every score head:
        H = 7 tests, or 8 with the women's push-up head)."""
        h = self.embed(x)
        latent = self.score_latent(h)                               # [N, H]
        cum = latent.unsqueeze(-1) - self.score_cuts().unsqueeze(0)  # [N, H, 2]
        return {"features": h, "test_logits": self.test_head(h),
                "side_logits": self.side_head(h), "score_cum_logits": cum}


def cumulative_to_probs(cum_logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """[..., 2] cumulative logits -> [..., 3] P(score = 1, 2, 3)."""
    p_gt = torch.sigmoid(cum_logits / temperature)
    p_gt1, p_gt2 = p_gt[..., 0], torch.minimum(p_gt[..., 1], p_gt[..., 0])
    return torch.stack([1 - p_gt1, p_gt1 - p_gt2, p_gt2], dim=-1).clamp_min(0.0)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def lora_target_modules(model: STGCN, last_blocks: int | None = None,
                        heads: tuple[str, ...] = ("score_latent",)) -> list[str]:
    """Names of the conv and linear layers LoRA adapts: those of the last `last_blocks` ST-GCN
    blocks (every block when None) plus the named heads (e.g. "score_latent", "test_head")."""
    n_blocks = len(model.blocks)
    first = 0 if last_blocks is None else max(0, n_blocks - int(last_blocks))
    keep_blocks = tuple(f"blocks.{i}." for i in range(first, n_blocks))
    return [name for name, m in model.named_modules()
            if isinstance(m, (nn.Conv2d, nn.Linear)) and (name.startswith(keep_blocks) or name in heads)]
