"""The decision policy: one place that turns the evidence into a score or a physio-review flag.

Evidence, in order of authority:
1. Pain reported by the athlete: always 0, never overridden.
2. The rule score and its criterion margins (tools/scoring/rubric): the score a physio
   can audit. Its own review reasons (borderline margin, unjudgeable view,
   not the asked-for test) pass through.
3. Pose quality (tools/quality): the athlete not found, joints the test needs
   not seen, jitter or identity jumps make every measurement doubtful.
   Athlete selection (tools/track via tools/quality "selection_problems"): the
   drawn box holds nobody, two people could be the athlete, the skeleton went
   to another person and could not be brought back, or the athlete was out of
   frame: each is a review reason ("athlete selection: ...").
4. The ST-GCN second opinion, when a checkpoint is loaded: P(score) per level.
   Disagreement with the rules (its most likely score differs and it gives the
   rule score less than `min_stgcn_agreement`) sends the clip to review.
5. Neighbours: the physio's own scored clips most like this one. When enough
   of them agree on another score, the clip goes to review.

Confidence = rule confidence x quality factor (x ST-GCN P(rule score), when present).
A confident wrong answer is worse than a flag: every reason is listed.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class DecisionPolicy:
    min_confidence: float = 0.6          # below this the verdict goes to physio review
    min_athlete_share: float = 0.8       # share of frames with the athlete found
    min_stgcn_agreement: float = 0.25    # P(rule score) under the ST-GCN below this = disagreement
    neighbour_k: int = 5
    min_neighbour_disagreement: float = 0.8  # share of neighbours agreeing on another score

    def to_dict(self) -> dict:
        return asdict(self)


def decide(rubric: dict, quality: dict | None = None, stgcn: dict | None = None,
           neighbours: list[dict] | None = None, policy: DecisionPolicy | None = None) -> dict:
    """Final verdict: {score, confidence, review, reasons, evidence} (all JSON)."""
    policy = policy or DecisionPolicy()
    score = rubric.get("score")
    confidence = float(rubric.get("confidence", 0.0))
    reasons = list(rubric.get("reasons", []))
    evidence: dict = {"rule_score": score, "rule_confidence": confidence}

    if quality is not None:
        share = float(quality.get("athlete_share", 0.0))
        factor = min(1.0, share / policy.min_athlete_share) if policy.min_athlete_share > 0 else 1.0
        confidence *= factor
        evidence["quality_factor"] = round(factor, 3)
        for problem in quality.get("selection_problems", []):
            reasons.append(f"athlete selection: {problem}")
        for problem in quality.get("problems", []):
            reasons.append(f"pose quality: {problem}")

    if stgcn and score is not None and stgcn.get("p_score"):
        p = [float(v) for v in stgcn["p_score"]]
        p_rule = p[score] if 0 <= score < len(p) else 0.0
        best = max(range(len(p)), key=p.__getitem__)
        evidence.update(stgcn_score=best, stgcn_p_rule_score=round(p_rule, 3))
        if best != score and p_rule < policy.min_stgcn_agreement:
            reasons.append(f"the ST-GCN second opinion disagrees: it favours {best} "
                           f"(P={p[best]:.2f}) and gives the rule score {score} P={p_rule:.2f}")
        confidence *= 0.5 + 0.5 * p_rule

    if neighbours:
        near = [n for n in neighbours[: policy.neighbour_k] if n.get("score") is not None]
        if near and score is not None:
            counts: dict[int, int] = {}
            for n in near:
                counts[int(n["score"])] = counts.get(int(n["score"]), 0) + 1
            top, top_n = max(counts.items(), key=lambda kv: kv[1])
            evidence.update(neighbour_scores=[int(n["score"]) for n in near])
            if top != score and top_n / len(near) >= policy.min_neighbour_disagreement:
                reasons.append(f"{top_n} of the {len(near)} most similar physio-scored clips were scored {top}, "
                               f"not {score}")

    pain = bool(rubric.get("inputs", {}).get("pain"))
    if pain:
        score, confidence = 0, 1.0
        reasons = [r for r in reasons if r.startswith(("pose quality", "athlete selection"))]  # pain decides; keep the record honest
    elif score is not None and confidence < policy.min_confidence:
        reasons.append(f"overall confidence {confidence:.2f} is below {policy.min_confidence:.2f}")
    if score is None and not reasons:
        reasons.append("no score could be reached")
    review = bool(reasons)
    return {"score": score, "confidence": round(confidence, 3), "review": review,
            "reasons": _unique(reasons), "evidence": evidence, "policy": policy.to_dict()}


def _unique(items: list[str]) -> list[str]:
    seen, out = set(), []
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out
