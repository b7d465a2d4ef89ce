"""Run the ST-GCN on a canonical Skeleton: which test, which side, P(score 0-3), motion embedding.

`predict(skel, test_name=None, side=None, pain=False)` returns a JSON-serialisable
dict (see `STGCNScorer.predict`). When the caller knows the test (the screening
protocol always does), the score head of that test is read; otherwise the
recognised test's head is. Score 0 = pain: the network never predicts it
(pain is not visible); P(0) is 1 when `pain=True` and 0 otherwise.

`embed(skel)` returns the L2-normalised pooled features (the layer before the
heads) as float32[D]; `embedding_version()` names the checkpoint that made
them, so an index knows when its vectors must be recomputed.

Weights come from an explicit local file (default: the committed
tools/assets/stgcn/stgcn_fms.pt); nothing is downloaded. Runs on CPU.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from tools.core.errors import BackendUnavailable
from tools.core.fms import BILATERAL, TESTS, check_test_and_side
from tools.core.skeleton import Skeleton
from tools.scoring.stgcn.data import NormalisationConfig, skeleton_to_input
from tools.scoring.stgcn.model import SCORE_LEVELS, SIDES, STGCN, cumulative_to_probs

log = logging.getLogger(__name__)

MODEL_NAME = "formscout-stgcn"
DEFAULT_CHECKPOINT = Path(__file__).resolve().parents[2] / "assets" / "stgcn" / "stgcn_fms.pt"


def _softmax(logits: np.ndarray, temperature: float) -> np.ndarray:
    z = logits / temperature
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


@dataclass
class STGCNScorer:
    """A loaded ST-GCN (base checkpoint, optionally with a LoRA adapter merged in)."""

    model: STGCN
    norm_cfg: NormalisationConfig
    temperatures: dict
    meta: dict

    @classmethod
    def from_checkpoint(cls, checkpoint: str | Path | None = None, adapter: str | Path | None = None,
                        allow_rejected_adapter: bool = False) -> "STGCNScorer":
        """Load the base checkpoint (default: the committed one), with a LoRA adapter merged in when
        given; an adapter its own validation rejected raises InputError unless allowed."""
        from tools.scoring.stgcn.train import load_adapter, load_checkpoint
        path = Path(checkpoint) if checkpoint else DEFAULT_CHECKPOINT
        if checkpoint is None and not path.is_file():
            raise BackendUnavailable(f"the bundled ST-GCN checkpoint is missing ({path}); "
                                     "train one with `formscout train --data DIR` and pass --checkpoint")
        if adapter:
            model, norm, temps, meta = load_adapter(path, adapter, allow_rejected=allow_rejected_adapter)
        else:
            model, norm, temps, meta = load_checkpoint(path)
        log.info("ST-GCN %s loaded on cpu (sha256 %s%s)", path.name, meta["sha256"][:12],
                 f", adapter {adapter}" if adapter else "")
        return cls(model=model, norm_cfg=norm, temperatures=temps, meta=meta)

    @property
    def version(self) -> str:
        v = f"{MODEL_NAME}-1+{self.meta.get('sha256', 'unsaved')[:12]}"
        if self.meta.get("adapter"):
            v += f"+lora:{Path(self.meta['adapter']).name}"
        return v

    @property
    def embedding_version(self) -> str:
        return f"{MODEL_NAME}-embed-d{self.model.embedding_dim}+{self.meta.get('sha256', 'unsaved')[:12]}"

    @torch.no_grad()
    def _forward(self, skels: list[Skeleton]) -> dict[str, np.ndarray]:
        x = torch.from_numpy(np.stack([skeleton_to_input(s, self.norm_cfg) for s in skels]))
        self.model.eval()
        return {k: v.numpy() for k, v in self.model(x).items()}

    def embed(self, skel: Skeleton) -> np.ndarray:
        """float32[D] L2-normalised motion embedding."""
        f = self._forward([skel])["features"][0].astype(np.float32)
        return f / max(float(np.linalg.norm(f)), 1e-8)

    def predict_batch(self, skels: list[Skeleton], tests: list[str | None] | None = None,
                      sides: list[str | None] | None = None, pains: list[bool] | None = None) -> list[dict]:
        """`predict` for several clips in one forward pass."""
        n = len(skels)
        tests = tests or [None] * n
        sides = sides or [None] * n
        pains = pains or [False] * n
        out = self._forward(skels)
        t_test = float(self.temperatures.get("test", 1.0))
        t_side = float(self.temperatures.get("side", 1.0))
        t_score = float(self.temperatures.get("score", 1.0))
        p_test = _softmax(out["test_logits"], t_test)
        p_side = _softmax(out["side_logits"], t_side)
        results = []
        for i in range(n):
            recognised = TESTS[int(p_test[i].argmax())]
            given = tests[i]
            if given is not None:
                check_test_and_side(given, sides[i])
            used = given or recognised
            ti = TESTS.index(used)
            levels = cumulative_to_probs(torch.from_numpy(out["score_cum_logits"][i, ti]), t_score).numpy()
            levels = levels / levels.sum()
            if pains[i]:
                p_score = {"0": 1.0, "1": 0.0, "2": 0.0, "3": 0.0}
                score = 0
            else:
                p_score = {"0": 0.0, **{str(s): round(float(p), 4) for s, p in zip(SCORE_LEVELS, levels)}}
                score = int(SCORE_LEVELS[int(levels.argmax())])
            side_probs = {s: round(float(p), 4) for s, p in zip(SIDES, p_side[i])}
            if used in BILATERAL:
                lr = p_side[i][:2] / max(p_side[i][:2].sum(), 1e-8)
                predicted_side = SIDES[int(lr.argmax())]
            else:
                predicted_side = "NA"
            f = out["features"][i]
            emb = f / max(float(np.linalg.norm(f)), 1e-8)
            notes = ["score 0 means pain, which a camera cannot see: it comes only from the pain input"]
            if given is not None and recognised != given:
                notes.append(f"the movement looks more like {recognised} (p={p_test[i].max():.2f}) "
                             f"than {given} (p={p_test[i][ti]:.2f})")
            results.append({
                "model": MODEL_NAME, "version": self.version,
                "checkpoint_sha256": self.meta.get("sha256"), "adapter": self.meta.get("adapter"),
                "test_probabilities": {t: round(float(p), 4) for t, p in zip(TESTS, p_test[i])},
                "predicted_test": recognised, "test_confidence": round(float(p_test[i].max()), 4),
                "test_used_for_score": used, "test_given": given is not None,
                "test_mismatch": bool(given is not None and recognised != given),
                "side_probabilities": side_probs, "predicted_side": predicted_side,
                "score_probabilities": p_score,
                "p_score": [p_score[str(k)] for k in range(4)],   # same, as a list indexed by score 0-3
                "score": score,
                "score_confidence": round(float(max(p_score.values())), 4),
                "expected_score": round(float(sum(int(k) * v for k, v in p_score.items())), 4),
                "pain": bool(pains[i]),
                "embedding": [round(float(v), 6) for v in emb],
                "embedding_version": self.embedding_version,
                "temperatures": {"test": t_test, "side": t_side, "score": t_score},
                "n_frames_in": int(skels[i].n_frames), "n_frames_model": int(self.norm_cfg.n_frames),
                "notes": notes,
            })
        return results

    def predict(self, skel: Skeleton, test_name: str | None = None, side: str | None = None,
                pain: bool = False) -> dict:
        """One clip -> test probabilities (7), side probabilities (L/R/NA), P(score 0-3) for the
        given (or recognised) test, the score and its probability, and the motion embedding."""
        return self.predict_batch([skel], [test_name], [side], [pain])[0]


@lru_cache(maxsize=4)
def load_scorer(checkpoint: str | None = None, adapter: str | None = None) -> STGCNScorer:
    """Cached loader (one model per checkpoint/adapter pair)."""
    return STGCNScorer.from_checkpoint(checkpoint, adapter)


def predict(skel: Skeleton, test_name: str | None = None, side: str | None = None, pain: bool = False,
            checkpoint: str | None = None, adapter: str | None = None) -> dict:
    """See STGCNScorer.predict; uses the committed checkpoint unless one is given."""
    return load_scorer(checkpoint, adapter).predict(skel, test_name, side, pain)


def embed(skel: Skeleton, checkpoint: str | None = None) -> np.ndarray:
    """float32[D] L2-normalised motion embedding for retrieval (see embedding_version)."""
    return load_scorer(checkpoint).embed(skel)


def embedding_version(checkpoint: str | None = None) -> str:
    """Names the model that makes the embeddings, e.g. 'formscout-stgcn-embed-d64+1a2b3c4d5e6f'."""
    return load_scorer(checkpoint).embedding_version
