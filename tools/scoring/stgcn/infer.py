"""Run the ST-GCN on a canonical Skeleton: which test, which side, P(score 0-3), motion embedding.

`predict(skel, test_name=None, side=None, pain=False)` returns a JSON-serialisable
dict (see `STGCNScorer.predict`). When the caller knows the test (the screening
protocol always does), the score head of that test is read; otherwise the
recognised test's head is. Score 0 = pain: the network never predicts it
(pain is not visible); P(0) is 1 when `pain=True` and 0 otherwise.

Out of its depth it abstains rather than guesses: a clip it cannot normalise
(e.g. hips and shoulders never seen together) and a clip whose embedding is
farther from the training clips of its test than the detector's threshold
(tools.scoring.stgcn.ood, fitted at training time and stored in the
checkpoint) come back with `abstain: true` and the reason, never an error.

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

from tools.core.errors import BackendUnavailable, InputError
from tools.core.fms import BILATERAL, TESTS, check_test_and_side
from tools.core.skeleton import Skeleton
from tools.scoring.stgcn.data import NormalisationConfig, skeleton_to_input
from tools.scoring.stgcn.model import PUSHUP, SCORE_LEVELS, SIDES, STGCN, cumulative_to_probs, score_head_index
from tools.scoring.stgcn.metric import MetricProjection
from tools.scoring.stgcn.ood import MahalanobisOOD

log = logging.getLogger(__name__)

MODEL_NAME = "formscout-stgcn"
DEFAULT_CHECKPOINT = Path(__file__).resolve().parents[2] / "assets" / "stgcn" / "stgcn_fms.pt"


def _softmax(logits: np.ndarray, temperature: float) -> np.ndarray:
    z = logits / temperature
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


ABSTAIN_UNREADABLE = "second opinion abstains: it cannot read this clip"
ABSTAIN_OOD = "second opinion abstains: this movement is unlike its training clips"
ABSTAIN_NO_DETECTOR = "second opinion abstains: its checkpoint has no out-of-distribution detector"
ABSTAIN_SEX = ("second opinion abstains on the score: the push-up's thumb levels differ for men and women "
               "and the athlete's sex was not given")


@dataclass
class STGCNScorer:
    """A loaded ST-GCN (base checkpoint, optionally with a LoRA adapter merged in), with its
    out-of-distribution detector (None for checkpoints made before it existed)."""

    model: STGCN
    norm_cfg: NormalisationConfig
    temperatures: dict
    meta: dict
    ood: MahalanobisOOD | None = None
    ood_model: STGCN | None = None          # the base model whose features the detector was fitted on
    metric: MetricProjection | None = None  # the retrieval metric on the embedding (tools.scoring.stgcn.metric)

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
        base_model = None
        if adapter:
            model, norm, temps, meta = load_adapter(path, adapter, allow_rejected=allow_rejected_adapter)
            base_model = load_checkpoint(path)[0]     # the detector reads the base model's features
        else:
            model, norm, temps, meta = load_checkpoint(path)
        state = meta.pop("ood_state", None)
        metric_state = meta.pop("metric_state", None)
        ood = MahalanobisOOD.from_state(state) if state else None
        metric = MetricProjection.from_state(metric_state) if metric_state and not adapter else None
        log.info("ST-GCN %s loaded on cpu (sha256 %s%s%s)", path.name, meta["sha256"][:12],
                 f", adapter {adapter}" if adapter else "", "" if ood else ", no out-of-distribution detector")
        return cls(model=model, norm_cfg=norm, temperatures=temps, meta=meta, ood=ood, ood_model=base_model,
                   metric=metric)

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
        out = {k: v.numpy() for k, v in self.model(x).items()}
        if self.ood_model is not None:
            self.ood_model.eval()
            out["ood_features"] = self.ood_model.embed(x).numpy()
        return out

    def embed(self, skel: Skeleton) -> np.ndarray:
        """float32[D] L2-normalised motion embedding."""
        f = self._forward([skel])["features"][0].astype(np.float32)
        return f / max(float(np.linalg.norm(f)), 1e-8)

    def embed_metric(self, skel: Skeleton) -> np.ndarray:
        """float32[K] retrieval embedding: the features through the fitted metric (same test and score close)."""
        if self.metric is None:
            raise BackendUnavailable(f"the ST-GCN checkpoint {self.meta.get('path', '')} has no retrieval metric; "
                                     "refit one: formscout train --refit --base CHECKPOINT --data DIR")
        return self.metric.transform(self._forward([skel])["features"])[0]

    @property
    def metric_embedding_version(self) -> str:
        dim = self.metric.dim if self.metric is not None else 0
        return f"{MODEL_NAME}-metric-d{dim}+{self.meta.get('sha256', 'unsaved')[:12]}"

    def predict_batch(self, skels: list[Skeleton], tests: list[str | None] | None = None,
                      sides: list[str | None] | None = None, pains: list[bool] | None = None,
                      sexes: list[str | None] | None = None) -> list[dict]:
        """`predict` for several clips in one forward pass (a clip it cannot read gets an abstaining result)."""
        n = len(skels)
        tests = tests or [None] * n
        sides = sides or [None] * n
        pains = pains or [False] * n
        sexes = sexes or [None] * n
        for given, side in zip(tests, sides):
            if given is not None:
                check_test_and_side(given, side)
        readable, unreadable = [], {}
        for i, skel in enumerate(skels):
            try:
                skeleton_to_input(skel, self.norm_cfg)
                readable.append(i)
            except InputError as exc:
                unreadable[i] = str(exc)
        out = self._forward([skels[i] for i in readable]) if readable else {}
        results: list[dict] = []
        for i in range(n):
            if i in unreadable:
                results.append(self._unreadable(skels[i], tests[i], pains[i], unreadable[i]))
                continue
            k = readable.index(i)
            results.append(self._one({key: v[k] for key, v in out.items()}, skels[i], tests[i], pains[i], sexes[i]))
        return results

    def _base_result(self, skel: Skeleton, given: str | None, pain: bool) -> dict:
        return {"model": MODEL_NAME, "version": self.version, "checkpoint_sha256": self.meta.get("sha256"),
                "adapter": self.meta.get("adapter"), "test_given": given is not None, "pain": bool(pain),
                "embedding_version": self.embedding_version,
                "temperatures": {k: float(self.temperatures.get(k, 1.0)) for k in ("test", "side", "score")},
                "n_frames_in": int(skel.n_frames), "n_frames_model": int(self.norm_cfg.n_frames)}

    def _unreadable(self, skel: Skeleton, given: str | None, pain: bool, why: str) -> dict:
        p_score = {"0": 1.0 if pain else 0.0, "1": 0.0, "2": 0.0, "3": 0.0}
        return {**self._base_result(skel, given, pain), "abstain": True, "abstain_score": True,
                "abstain_reason": f"{ABSTAIN_UNREADABLE} ({why})", "ood": None,
                "test_probabilities": {}, "predicted_test": None, "test_confidence": None,
                "test_used_for_score": given, "test_mismatch": False, "side_probabilities": {},
                "predicted_side": None, "score_probabilities": p_score, "p_score": [p_score[str(k)] for k in range(4)],
                "score": 0 if pain else None, "score_confidence": None, "expected_score": None,
                "embedding": None, "notes": [f"{ABSTAIN_UNREADABLE}: {why}"]}

    def _levels(self, cum: np.ndarray, head: int, t_score: float) -> np.ndarray:
        levels = cumulative_to_probs(torch.from_numpy(cum[head]), t_score).numpy()
        return levels / levels.sum()

    def _one(self, out: dict, skel: Skeleton, given: str | None, pain: bool, sex: str | None) -> dict:
        t_test = float(self.temperatures.get("test", 1.0))
        t_side = float(self.temperatures.get("side", 1.0))
        t_score = float(self.temperatures.get("score", 1.0))
        p_test = _softmax(out["test_logits"][None], t_test)[0]
        p_side = _softmax(out["side_logits"][None], t_side)[0]
        recognised = TESTS[int(p_test.argmax())]
        used = given or recognised
        ti = TESTS.index(used)
        cfg = self.model.config
        by_sex = None
        head = score_head_index(cfg, used, sex)
        if used == PUSHUP and cfg.pushup_by_sex:
            by_sex = {s: {"0": 0.0, **{str(v): round(float(p), 4) for v, p in
                                       zip(SCORE_LEVELS, self._levels(out["score_cum_logits"], score_head_index(cfg, used, s), t_score))}}
                      for s in ("M", "F")}
        # the detector: distance of this clip's embedding to the training clips of the test it is scored as
        ood = None
        if self.ood is not None:
            feats = out.get("ood_features", out["features"])
            ood = self.ood.check(feats[None], np.array([ti]))[0]
        abstain_reason = None
        if self.ood is None:
            abstain_reason = ABSTAIN_NO_DETECTOR
        elif not ood["in_distribution"]:
            abstain_reason = (f"{ABSTAIN_OOD} (embedding distance {ood['distance']:.1f} to the {used} training clips, "
                              f"beyond the {100 * self.ood.quantile:.0f}th percentile of unseen familiar clips, "
                              f"{ood['threshold']:.1f})")
        abstain_score = abstain_reason is not None or head < 0
        if head < 0 and abstain_reason is None:
            abstain_reason = ABSTAIN_SEX
        if pain:
            p_score = {"0": 1.0, "1": 0.0, "2": 0.0, "3": 0.0}
            score = 0
        elif head < 0:
            p_score = {"0": 0.0, "1": 0.0, "2": 0.0, "3": 0.0}
            score = None
        else:
            levels = self._levels(out["score_cum_logits"], head, t_score)
            p_score = {"0": 0.0, **{str(v): round(float(p), 4) for v, p in zip(SCORE_LEVELS, levels)}}
            score = int(SCORE_LEVELS[int(levels.argmax())])
        side_probs = {s: round(float(p), 4) for s, p in zip(SIDES, p_side)}
        if used in BILATERAL:
            lr = p_side[:2] / max(p_side[:2].sum(), 1e-8)
            predicted_side = SIDES[int(lr.argmax())]
        else:
            predicted_side = "NA"
        f = out["features"]
        emb = f / max(float(np.linalg.norm(f)), 1e-8)
        notes = ["score 0 means pain, which a camera cannot see: it comes only from the pain input"]
        if given is not None and recognised != given:
            notes.append(f"the movement looks more like {recognised} (p={p_test.max():.2f}) "
                         f"than {given} (p={p_test[ti]:.2f})")
        if abstain_reason:
            notes.append(abstain_reason)
        scored = [v for k, v in p_score.items()]
        return {
            **self._base_result(skel, given, pain),
            "abstain": abstain_reason is not None and (abstain_reason != ABSTAIN_SEX),
            "abstain_score": bool(abstain_score), "abstain_reason": abstain_reason, "ood": ood,
            "test_probabilities": {t: round(float(p), 4) for t, p in zip(TESTS, p_test)},
            "predicted_test": recognised, "test_confidence": round(float(p_test.max()), 4),
            "test_used_for_score": used,
            "test_mismatch": bool(given is not None and recognised != given),
            "side_probabilities": side_probs, "predicted_side": predicted_side,
            "score_head": ("push-up, women" if head == cfg.n_tests and cfg.pushup_by_sex else
                           None if head < 0 else used),
            "score_probabilities": p_score,
            "p_score": [p_score[str(k)] for k in range(4)],   # same, as a list indexed by score 0-3
            "p_score_by_sex": by_sex,
            "score": score,
            "score_confidence": round(float(max(scored)), 4) if score is not None else None,
            "expected_score": (round(float(sum(int(k) * v for k, v in p_score.items())), 4)
                               if score is not None else None),
            "embedding": [round(float(v), 6) for v in emb],
            "notes": notes,
        }

    def predict(self, skel: Skeleton, test_name: str | None = None, side: str | None = None,
                pain: bool = False, sex: str | None = None) -> dict:
        """One clip -> test probabilities (7), side probabilities (L/R/NA), P(score 0-3) for the
        given (or recognised) test, the score and its probability, the motion embedding, and whether
        the second opinion abstains (`abstain`, `abstain_reason`: the clip is unreadable or unlike its
        training clips; `abstain_score`: also when the push-up's sex-specific head cannot be chosen,
        `p_score_by_sex` then gives both)."""
        return self.predict_batch([skel], [test_name], [side], [pain], [sex])[0]


@lru_cache(maxsize=4)
def load_scorer(checkpoint: str | None = None, adapter: str | None = None) -> STGCNScorer:
    """Cached loader (one model per checkpoint/adapter pair)."""
    return STGCNScorer.from_checkpoint(checkpoint, adapter)


def predict(skel: Skeleton, test_name: str | None = None, side: str | None = None, pain: bool = False,
            checkpoint: str | None = None, adapter: str | None = None, sex: str | None = None) -> dict:
    """See STGCNScorer.predict; uses the committed checkpoint unless one is given."""
    return load_scorer(checkpoint, adapter).predict(skel, test_name, side, pain, sex)


def embed(skel: Skeleton, checkpoint: str | None = None) -> np.ndarray:
    """float32[D] L2-normalised motion embedding for retrieval (see embedding_version)."""
    return load_scorer(checkpoint).embed(skel)


def embed_metric(skel: Skeleton, checkpoint: str | None = None) -> np.ndarray:
    """float32[K] retrieval embedding (tools.scoring.stgcn.metric); see metric_embedding_version."""
    return load_scorer(checkpoint).embed_metric(skel)


def metric_embedding_version(checkpoint: str | None = None) -> str:
    """Names the checkpoint and metric that make the retrieval embeddings; raises when it has no metric."""
    scorer = load_scorer(checkpoint)
    if scorer.metric is None:
        raise BackendUnavailable("the ST-GCN checkpoint has no retrieval metric (stgcn-metric embedder)")
    return scorer.metric_embedding_version


def embedding_version(checkpoint: str | None = None) -> str:
    """Names the model that makes the embeddings, e.g. 'formscout-stgcn-embed-d64+1a2b3c4d5e6f'."""
    return load_scorer(checkpoint).embedding_version
