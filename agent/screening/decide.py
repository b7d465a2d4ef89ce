"""The decision policy: one place that turns the evidence into a score or a physio-review flag.

Evidence, each named in every reason it raises ("rules margin: ...", "pose
quality: ...") and in `decided_by`, which says which one settled the verdict:
1. pain: reported by the athlete; always 0, never overridden.
2. rules: the rubric's own reasons (a view that cannot judge a criterion,
   joints not seen, not the asked-for test, a needed input missing).
3. rules margin: the rule score and its criterion margins in units of the
   expected measurement error (tools/scoring/rubric/confidence.py). The rule
   confidence is mapped to P(the rule score is right) by the calibration in the
   policy file, then multiplied by the pose-quality factor; below the policy's
   review line the clip goes to review.
4. pose quality / athlete selection (tools/geometry/quality.py): athlete lost,
   joints the test needs not seen, jitter, identity jumps, the wrong person.
   Each problem is a reason and multiplies the confidence by a factor < 1, so a
   clip whose quality check fails can never show a confidence of 1.00.
5. second opinion (ST-GCN): it abstains when the clip is unlike its training
   clips or unreadable (recorded in `notes`, never a reason, never a veto). In
   distribution, a confident disagreement (it gives its own score at least
   `min_stgcn_confidence` and the rule score at most `max_stgcn_p_rule`) sends
   the clip to review with both scores. It never changes the confidence; where
   the policy allows it (`rescue_*`), a rule score just under the review line
   that the ST-GCN, in distribution, confidently shares is scored without review.
6. neighbours: when most of the physio-scored clips most like this one agree
   on another score, the clip goes to review.

The policy's values live in knowledge/decision_policy.yaml (read by path),
each with the figures that justify it (written by `formscout eval --scorer
decision --fit-policy`). A confident wrong answer is worse than a flag, and a
flag that fires on clear cases teaches physios to ignore it.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field, fields
from functools import lru_cache
from pathlib import Path

import numpy as np
import yaml

from tools.core.errors import InputError

log = logging.getLogger(__name__)

POLICY_FILE = Path(__file__).resolve().parents[2] / "knowledge" / "decision_policy.yaml"

# evidence names, in the order that settles `decided_by` when several raise a reason
EVIDENCE_ORDER = ("pain", "athlete_selection", "pose_quality", "rules", "rules_margin", "second_opinion",
                  "neighbours")
EVIDENCE_LABEL = {"pain": "pain", "athlete_selection": "athlete selection", "pose_quality": "pose quality",
                  "rules": "rules", "rules_margin": "rules margin", "second_opinion": "second opinion",
                  "neighbours": "neighbours"}


@dataclass(frozen=True)
class DecisionPolicy:
    """The policy's values (defaults = knowledge/decision_policy.yaml as shipped; the file says why)."""

    min_confidence: float = 0.9              # calibrated confidence below this -> physio review
    calibration_rule_confidence: tuple[float, ...] = ()   # knots: raw rule confidence ...
    calibration_p_correct: tuple[float, ...] = ()         # ... -> P(rule score right); empty = identity
    min_athlete_share: float = 0.8           # share of frames with the athlete found; less lowers confidence
    quality_problem_factor: float = 0.5      # each pose-quality problem multiplies the confidence by this
    selection_problem_factor: float = 0.5    # each athlete-selection problem multiplies it by this
    min_stgcn_confidence: float = 0.8        # the ST-GCN's P(its own score) needed to disagree
    min_stgcn_agreement: float = 0.1         # ... and its P(rule score) at most this (name kept from version 1)
    rescue_min_confidence: float = 1.0       # a rule score under the review line but at least this calibrated
    rescue_min_stgcn_p: float = 1.0          # ... that the ST-GCN, in distribution, also gives P >= this is not
                                             # sent to review for its margin (1.0 / 1.0 = never)
    rescue_p_correct: float = 0.0            # accuracy of such rescued clips where the policy was fitted: their
                                             # confidence (the two opinions together)
    neighbour_k: int = 5
    min_neighbour_disagreement: float = 0.8  # share of neighbours agreeing on another score
    source: str = "defaults"

    def to_dict(self) -> dict:
        d = asdict(self)
        for k in ("calibration_rule_confidence", "calibration_p_correct"):
            d[k] = list(d[k])
        return d

    def calibrated(self, rule_confidence: float) -> float:
        """P(rule score right) for a raw rule confidence: piecewise-linear through the knots (monotone)."""
        x, y = self.calibration_rule_confidence, self.calibration_p_correct
        if not x:
            return float(rule_confidence)
        return float(np.interp(rule_confidence, x, y))


def load_policy(path: str | Path | None = None) -> DecisionPolicy:
    """The policy file (default knowledge/decision_policy.yaml); defaults where it is missing."""
    return _load(str(path or POLICY_FILE))


@lru_cache(maxsize=4)
def _load(path: str) -> DecisionPolicy:
    p = Path(path)
    if not p.is_file():
        log.warning("decision policy file %s not found: using the built-in defaults", p)
        return DecisionPolicy()
    try:
        data = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"decision policy {p} is not valid YAML: {exc}") from exc
    values = data.get("policy", {})
    known = {f.name for f in fields(DecisionPolicy)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise InputError(f"decision policy {p} has unknown keys {unknown}; known: {sorted(known - {'source'})}")
    cal = data.get("calibration", {}) or {}
    kw = {k: values[k] for k in values}
    kw["calibration_rule_confidence"] = tuple(float(v) for v in cal.get("rule_confidence", ()))
    kw["calibration_p_correct"] = tuple(float(v) for v in cal.get("p_correct", ()))
    if len(kw["calibration_rule_confidence"]) != len(kw["calibration_p_correct"]):
        raise InputError(f"decision policy {p}: calibration.rule_confidence and p_correct differ in length")
    return DecisionPolicy(**kw, source=str(p))


@dataclass
class _Evidence:
    items: list[tuple[str, str]] = field(default_factory=list)     # (evidence, text)

    def add(self, evidence: str, text: str) -> None:
        label = EVIDENCE_LABEL[evidence] + ": "
        self.items.append((evidence, text if text.startswith(label) else label + text))


def decide(rubric: dict, quality: dict | None = None, stgcn: dict | None = None,
           neighbours: list[dict] | None = None, policy: DecisionPolicy | None = None) -> dict:
    """Final verdict: {score, confidence, review, reasons, reason_details, decided_by, second_opinion,
    notes, evidence, policy} (all JSON). See the module docstring for the evidence and its order."""
    policy = policy or load_policy()
    score = rubric.get("score")
    rule_conf = float(rubric.get("confidence", 0.0) or 0.0)
    calibrated = policy.calibrated(rule_conf) if score is not None else 0.0
    confidence = calibrated
    found = _Evidence()
    notes: list[str] = []
    evidence: dict = {"rule_score": score, "rule_confidence": round(rule_conf, 4),
                      "rule_confidence_calibrated": round(calibrated, 4)}

    for r in rubric.get("reasons", []):
        if str(r).startswith("borderline:"):
            continue                      # the margin is judged below, against the policy's own line
        found.add("rules", str(r))

    factor = 1.0
    if quality is not None:
        share = float(quality.get("athlete_share", 0.0))
        factor = min(1.0, share / policy.min_athlete_share) if policy.min_athlete_share > 0 else 1.0
        problems = list(quality.get("problems", []))
        selection = list(quality.get("selection_problems", []))
        factor *= policy.quality_problem_factor ** len(problems) * policy.selection_problem_factor ** len(selection)
        for problem in selection:
            found.add("athlete_selection", str(problem))
        for problem in problems:
            found.add("pose_quality", str(problem))
        evidence["quality_factor"] = round(factor, 3)
    confidence *= factor

    second = _second_opinion(rubric, stgcn, score, policy)
    rescued = (score is not None and policy.rescue_min_confidence <= calibrated < policy.min_confidence
               and second.get("status") == "agrees" and second.get("p_rule_score", 0.0) >= policy.rescue_min_stgcn_p)
    if rescued:
        notes.append(f"the rule score's margin is under the review line (confidence {calibrated:.2f} < "
                     f"{policy.min_confidence:.2f}) but the second opinion, in distribution, gives the same score "
                     f"P={second['p_rule_score']:.2f}: scored without review")
        evidence["rescued_by_second_opinion"] = True
        confidence = max(confidence, policy.rescue_p_correct * factor)
    if score is not None and calibrated < policy.min_confidence and not rescued:
        found.add("rules_margin", _margin_reason(rubric, calibrated, policy.min_confidence))
    elif score is not None and confidence < policy.min_confidence and not rescued and not any(
            e in ("pose_quality", "athlete_selection") for e, _ in found.items):
        found.add("pose_quality", f"athlete found in only {100 * float(quality.get('athlete_share', 0)):.0f}% of "
                                  f"frames: confidence {confidence:.2f} < {policy.min_confidence:.2f}")

    evidence.update(second.pop("evidence"))
    if second.get("reason"):
        found.add("second_opinion", second["reason"])
    if second.get("note"):
        notes.append(second["note"])

    if neighbours:
        near = [n for n in neighbours[: policy.neighbour_k] if n.get("score") is not None]
        if near and score is not None:
            counts: dict[int, int] = {}
            for n in near:
                counts[int(n["score"])] = counts.get(int(n["score"]), 0) + 1
            top, top_n = max(counts.items(), key=lambda kv: kv[1])
            evidence.update(neighbour_scores=[int(n["score"]) for n in near])
            if top != score and top_n / len(near) >= policy.min_neighbour_disagreement:
                found.add("neighbours", f"{top_n} of the {len(near)} most similar physio-scored clips were scored "
                                        f"{top}, not {score}")

    pain = bool(rubric.get("inputs", {}).get("pain"))
    if pain:
        score, confidence = 0, 1.0
        # pain decides; the movement's own doubts no longer apply to the score (selection/quality stay on record)
        found.items = [(e, t) for e, t in found.items if e in ("pose_quality", "athlete_selection")]
    items = _unique(found.items)
    if score is None and not items:
        items.append(("rules", "rules: no score could be reached"))
    review = bool(items)
    decided_by = "pain" if pain else _decided_by(items, score)
    return {"score": score, "confidence": round(float(confidence), 3), "review": review,
            "reasons": [t for _, t in items], "reason_details": [{"evidence": e, "text": t} for e, t in items],
            "decided_by": decided_by, "second_opinion": second, "notes": notes,
            "evidence": {**evidence, "decided_by": decided_by}, "policy": policy.to_dict()}


def _decided_by(items: list[tuple[str, str]], score) -> str:
    if not items:
        return "rules_margin"                 # the rule score stands on clear margins (or, rescued, with the ST-GCN)
    present = {e for e, _ in items}
    return next(e for e in EVIDENCE_ORDER if e in present)


def _margin_reason(rubric: dict, calibrated: float, line: float) -> str:
    crit = next((c for c in rubric.get("criteria", []) if c.get("id") == rubric.get("deciding_criterion")), None)
    if crit is None or crit.get("value") is None:
        return f"the rule score's confidence {calibrated:.2f} is below {line:.2f}"
    by = f", {crit['margin_sd']:+.1f} expected-error sd" if crit.get("margin_sd") is not None else ""
    return (f"borderline: {crit['id']} is {crit['value']:.3g} {crit.get('unit', '')} against a threshold of "
            f"{crit['threshold']:.3g}{by} (confidence {calibrated:.2f} < {line:.2f})")


def _second_opinion(rubric: dict, stgcn: dict | None, score, policy: DecisionPolicy) -> dict:
    """What the ST-GCN says about the rule score: status agrees / disagrees / uncertain / abstains / not run."""
    if not stgcn:
        return {"status": "not run", "evidence": {}}
    if score is None:
        return {"status": "not asked", "evidence": {}}
    p = [float(v) for v in stgcn.get("p_score") or []]
    if stgcn.get("abstain"):
        ev: dict = {"stgcn_abstains": True}
        if sum(p) > 0 and 0 <= score < len(p):     # what it would have said, on record only
            ev.update(stgcn_score=max(range(len(p)), key=p.__getitem__), stgcn_p_rule_score=round(p[score], 3))
        return {"status": "abstains", "note": stgcn.get("abstain_reason") or "second opinion abstains",
                "evidence": ev}
    by_sex = stgcn.get("p_score_by_sex")
    sex = str((rubric.get("inputs") or {}).get("sex") or "").upper()[:1]
    if by_sex and sex in by_sex:                 # the push-up's head for the sex the physio gave
        p = [float(by_sex[sex].get(str(k), 0.0)) for k in range(4)]
    elif stgcn.get("abstain_score") or sum(p) <= 0:
        return {"status": "abstains", "note": stgcn.get("abstain_reason") or "second opinion abstains on the score",
                "evidence": {"stgcn_abstains": True}}
    p_rule = p[score] if 0 <= score < len(p) else 0.0
    best = max(range(len(p)), key=p.__getitem__)
    out = {"score": best, "p_score": [round(v, 4) for v in p], "p_rule_score": round(p_rule, 4),
           "evidence": {"stgcn_score": best, "stgcn_p_rule_score": round(p_rule, 3)}}
    if best == score:
        return {**out, "status": "agrees"}
    if p[best] >= policy.min_stgcn_confidence and p_rule <= policy.min_stgcn_agreement:
        return {**out, "status": "disagrees",
                "reason": f"the ST-GCN favours {best} (P={p[best]:.2f}) over the rule score {score} "
                          f"(P={p_rule:.2f}); both scores are shown for the physio to settle"}
    return {**out, "status": "uncertain"}


def _unique(items: list[tuple[str, str]]) -> list[tuple[str, str]]:
    seen, out = set(), []
    for e, t in items:
        if t not in seen:
            seen.add(t)
            out.append((e, t))
    return out
