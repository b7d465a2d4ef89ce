"""The scorers `formscout eval` can put next to the physio: rules and ST-GCN.

Each takes labelled clips (tools.core.labels.LabelRow with a resolved
skeleton path) and returns one tools.study.cv.ToolOutput per clip. The
tool is told what the physio's protocol tells it (test, side, reported pain),
never the score. A clip it cannot score comes back with score None and the
reason, never an exception. The agent scorer lives in agent/ (tools/ never
imports agent/) and follows the same protocol.
"""
from __future__ import annotations

import logging

from tools.core.errors import InputError
from tools.study.cv import ToolOutput, is_pain
from tools.core.labels import LabelRow
from tools.core.skeleton import Skeleton

log = logging.getLogger(__name__)


class RulesScorer:
    """The deterministic rubric (tools.scoring.rubric.score_test) with fixed thresholds."""

    name = "rules"
    fits_labels = False

    def __init__(self, criteria_file: str | None = None):
        self.criteria_file = criteria_file

    def describe(self) -> str:
        src = self.criteria_file or "knowledge/criteria.yaml (defaults)"
        return (f"deterministic rubric (tools.scoring.rubric), thresholds from {src}. Nothing is fitted on the "
                "evaluated labels, so cross-validation cannot change its scores; if the thresholds were "
                "fitted to these same clips (formscout fit-criteria), these figures are optimistic: "
                "refit inside each fold to report them honestly.")

    def notes(self, rows: list[LabelRow]) -> list[str]:
        return []

    def fit(self, rows: list[LabelRow]) -> None:
        return None

    def reset(self) -> None:
        return None

    def predict(self, rows: list[LabelRow]) -> list[ToolOutput]:
        from tools.scoring.rubric import score_test
        from tools.scoring.criteria import load_criteria
        criteria = load_criteria(self.criteria_file)
        out = []
        for row in rows:
            try:
                skel = Skeleton.load(row.path)
                res = score_test(skel, row.test_name, row.side, pain=is_pain(row), criteria=criteria)
            except InputError as exc:
                out.append(ToolOutput(score=None, review=True, error=str(exc), reasons=[str(exc)]))
                continue
            out.append(ToolOutput(score=res.score, review=bool(res.review), confidence=float(res.confidence),
                                  reasons=list(res.reasons)))
        return out


class STGCNEvalScorer:
    """The ST-GCN: the frozen checkpoint (+ adapter), or LoRA-fine-tuned on each training fold.

    review is set when P(score) of the chosen level is below `review_threshold`,
    or when the movement looks like another test than the one labelled.
    """

    name = "stgcn"

    def __init__(self, checkpoint: str | None = None, adapter: str | None = None,
                 finetune_per_fold: bool = False, review_threshold: float = 0.6,
                 lora_epochs: int | None = None, seed: int = 0, allow_rejected_adapter: bool = False):
        from tools.scoring.stgcn.infer import DEFAULT_CHECKPOINT, STGCNScorer
        self.checkpoint = str(checkpoint or DEFAULT_CHECKPOINT)
        self.adapter = adapter
        self.fits_labels = bool(finetune_per_fold)
        self.review_threshold = float(review_threshold)
        self.lora_epochs = lora_epochs
        self.seed = seed
        if finetune_per_fold and adapter:
            raise InputError("--finetune-per-fold starts from the base checkpoint: leave out --adapter")
        self._base = STGCNScorer.from_checkpoint(checkpoint, adapter, allow_rejected_adapter)
        self._current = self._base
        self.fold_verdicts: list[bool | None] = []   # per fold: did the LoRA guard adopt the adapter?

    def describe(self) -> str:
        what = (f"ST-GCN {self._base.version}, LoRA-fine-tuned on each training fold (the held-out "
                "athlete/clip never seen; the adapter is used only where its guard, on inner-validation "
                "athletes of that fold, adopts it)" if self.fits_labels else
                f"ST-GCN {self._base.version}, frozen: no weights are fitted on the evaluated labels")
        return (f"{what}; score = most probable level of the labelled test's head; physio review when "
                f"P(score) < {self.review_threshold:.2f} or the clip looks like another test")

    def notes(self, rows: list[LabelRow]) -> list[str]:
        seen = set(self._base.meta.get("train_athletes", [])) | set(self._base.meta.get("val_athletes", []))
        ad = self._base.meta.get("adapter_meta") or {}
        seen |= set(ad.get("train_athletes", [])) | set(ad.get("val_athletes", []))
        overlap = sorted({r.athlete_id for r in rows} & seen)
        notes = []
        if ad.get("adopted") is False:
            notes.append(f"the adapter {self._base.meta.get('adapter')} was REJECTED by its own validation and is "
                         "evaluated anyway (--allow-rejected-adapter)")
        if not overlap:
            return notes + ["none of the evaluated athletes is in the checkpoint's (or adapter's) training or "
                            "calibration data"]
        return notes + [f"{len(overlap)} evaluated athlete(s) were in the checkpoint's (or adapter's) "
                        f"training/calibration data ({', '.join(overlap[:5])}{' ...' if len(overlap) > 5 else ''}): "
                        "their figures are optimistic"]

    def fit(self, rows: list[LabelRow]) -> None:
        from tools.scoring.stgcn.infer import STGCNScorer
        from tools.scoring.stgcn.train import LoraSettings, TrainConfig, finetune_lora
        settings = LoraSettings() if self.lora_epochs is None else LoraSettings(epochs=self.lora_epochs)
        model, result = finetune_lora(rows, self.checkpoint, None, settings, TrainConfig(seed=self.seed))
        self.fold_verdicts.append(result.adopted)
        if result.adopted is False:     # the guard kept the base model for this fold
            self._current = self._base
            return
        self._current = STGCNScorer(model=model, norm_cfg=self._base.norm_cfg,
                                    temperatures=result.temperatures,
                                    meta=dict(self._base.meta, adapter="per-fold-lora"))

    def reset(self) -> None:
        self._current = self._base

    def fit_summary(self) -> list[str]:
        """After per-fold fitting: in how many folds the LoRA guard adopted the adapter."""
        v = self.fold_verdicts
        if not v:
            return []
        return [f"LoRA per fold: adapter adopted in {sum(x is True for x in v)} of {len(v)} folds, base model kept "
                f"in {sum(x is False for x in v)} (guard on inner-validation athletes), unchecked in "
                f"{sum(x is None for x in v)} (too few athletes to validate)"]

    def predict(self, rows: list[LabelRow]) -> list[ToolOutput]:
        out: list[ToolOutput | None] = [None] * len(rows)
        loaded: list[tuple[int, Skeleton]] = []
        for i, row in enumerate(rows):
            try:
                loaded.append((i, Skeleton.load(row.path)))
            except InputError as exc:
                out[i] = ToolOutput(score=None, review=True, error=str(exc), reasons=[str(exc)])
        for start in range(0, len(loaded), 64):
            chunk = loaded[start:start + 64]
            try:
                results = self._current.predict_batch(
                    [s for _, s in chunk], [rows[i].test_name for i, _ in chunk],
                    [rows[i].side for i, _ in chunk], [is_pain(rows[i]) for i, _ in chunk])
            except InputError:   # one unusable clip in the batch: score them one by one
                results = [self._predict_one(rows[i], s) for i, s in chunk]
            for (i, _), res in zip(chunk, results):
                out[i] = res if isinstance(res, ToolOutput) else self._to_output(res)
        return out

    def _predict_one(self, row: LabelRow, skel: Skeleton) -> ToolOutput | dict:
        try:
            return self._current.predict(skel, row.test_name, row.side, is_pain(row))
        except InputError as exc:
            return ToolOutput(score=None, review=True, error=str(exc), reasons=[str(exc)])

    def _to_output(self, res: dict) -> ToolOutput:
        if res.get("score") is None:          # it abstains (unreadable clip, push-up without sex)
            why = res.get("abstain_reason") or "the ST-GCN gave no score"
            return ToolOutput(score=None, review=True, reasons=[why], error=why,
                              predicted_test=res.get("predicted_test"))
        reasons = []
        if res.get("abstain"):
            reasons.append(res["abstain_reason"])
        if not res["pain"] and res["score_confidence"] < self.review_threshold:
            reasons.append(f"P(score {res['score']}) = {res['score_confidence']:.2f} < {self.review_threshold:.2f}")
        if res["test_mismatch"]:
            reasons.append(res["notes"][-1])
        return ToolOutput(score=int(res["score"]), review=bool(reasons), confidence=float(res["score_confidence"]),
                          reasons=reasons, predicted_test=res["predicted_test"],
                          probabilities=res["score_probabilities"])

