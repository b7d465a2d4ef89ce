"""The ST-GCN's out-of-distribution detector and abstention: out of its depth it says so, never vetoes."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from tools.scoring.stgcn.ood import MahalanobisOOD, fit_ood


def test_mahalanobis_detector_flags_far_clips_and_round_trips_through_a_checkpoint():
    rng = np.random.default_rng(0)
    train = np.concatenate([rng.normal(0, 1, (300, 8)), rng.normal(5, 1, (300, 8))])
    classes = np.repeat([0, 1], 300)
    val = np.concatenate([rng.normal(0, 1, (100, 8)), rng.normal(5, 1, (100, 8))])
    ood = fit_ood(train, classes, val, np.repeat([0, 1], 100), n_classes=2, quantile=0.99)
    near = ood.check(rng.normal(0, 1, (200, 8)), np.zeros(200, int))
    far = ood.check(rng.normal(0, 1, (50, 8)) + 12.0, np.zeros(50, int))
    assert np.mean([c["in_distribution"] for c in near]) > 0.95
    assert not any(c["in_distribution"] for c in far)
    state = ood.to_state()
    assert all(isinstance(v, (torch.Tensor, float, int, str)) for v in state.values())
    again = MahalanobisOOD.from_state(state)
    np.testing.assert_allclose(again.thresholds, ood.thresholds, rtol=1e-6)


def _checkpoint(tmp_path, with_ood: bool):
    """A random-weight checkpoint (plumbing only), with a detector fitted on a few synthetic clips."""
    from dataclasses import asdict
    from tools.scoring.stgcn.data import NormalisationConfig, skeleton_to_input
    from tools.scoring.stgcn.model import STGCN, STGCNConfig
    from tools.synth.library import make_sample, truth_skeleton
    from tools.core.fms import TESTS
    torch.manual_seed(0)
    cfg = STGCNConfig(pushup_by_sex=True)
    model = STGCN(cfg).eval()
    norm = NormalisationConfig(n_frames=cfg.n_frames)
    ood = None
    if with_ood:
        clips = [truth_skeleton(make_sample(t, seed=s, score=3, side="L" if t not in ("deep_squat", "trunk_stability_pushup") else "NA"))
                 for s in range(4) for t in TESTS]
        with torch.no_grad():
            f = model.embed(torch.from_numpy(np.stack([skeleton_to_input(c, norm) for c in clips]))).numpy()
        cls = np.array([TESTS.index(c.meta["test_name"]) for c in clips])
        ood = fit_ood(f, cls, f, cls, len(TESTS)).to_state()
    path = tmp_path / f"ck_{with_ood}.pt"
    torch.save({"format": "formscout-stgcn-1", "model_config": cfg.to_dict(), "norm_config": asdict(norm),
                "state_dict": model.state_dict(), "temperatures": {"test": 1.0, "side": 1.0, "score": 1.0},
                "meta": {"note": "random weights"}, "ood": ood}, path)
    return path


def test_an_unreadable_clip_makes_the_second_opinion_abstain_not_fail(tmp_path):
    from tools.scoring.stgcn.infer import ABSTAIN_UNREADABLE, STGCNScorer
    from tools.synth.library import make_sample, truth_skeleton
    scorer = STGCNScorer.from_checkpoint(_checkpoint(tmp_path, True))
    skel = truth_skeleton(make_sample("active_straight_leg_raise", seed=1, score=2, side="L"))
    xyz = skel.xyz.copy()
    xyz[:, [5, 6]] = np.nan                    # shoulders never seen: cannot normalise
    out = scorer.predict(skel.replace(xyz=xyz), "active_straight_leg_raise", "L")
    assert out["abstain"] and out["abstain_reason"].startswith(ABSTAIN_UNREADABLE) and out["score"] is None


def test_far_from_training_abstains_and_no_detector_abstains(tmp_path):
    from tools.scoring.stgcn.infer import ABSTAIN_NO_DETECTOR, ABSTAIN_OOD, STGCNScorer
    from tools.synth.library import make_sample, truth_skeleton
    skel = truth_skeleton(make_sample("deep_squat", seed=2, score=3))
    plain = STGCNScorer.from_checkpoint(_checkpoint(tmp_path, False)).predict(skel, "deep_squat")
    assert plain["abstain"] and plain["abstain_reason"] == ABSTAIN_NO_DETECTOR
    scorer = STGCNScorer.from_checkpoint(_checkpoint(tmp_path, True))
    odd = skel.replace(xyz=(skel.xyz * np.array([1.0, -1.0, 1.0])).astype(np.float32))   # upside down
    out = scorer.predict(odd, "deep_squat")
    assert out["ood"] is not None and not out["ood"]["in_distribution"]
    assert out["abstain"] and out["abstain_reason"].startswith(ABSTAIN_OOD)


def test_the_pushup_score_needs_the_athletes_sex(tmp_path):
    from tools.scoring.stgcn.infer import STGCNScorer
    from tools.synth.library import make_sample, truth_skeleton
    scorer = STGCNScorer.from_checkpoint(_checkpoint(tmp_path, True))
    skel = truth_skeleton(make_sample("trunk_stability_pushup", seed=3, score=2))
    unknown = scorer.predict(skel, "trunk_stability_pushup")
    assert unknown["abstain_score"] and unknown["score"] is None and set(unknown["p_score_by_sex"]) == {"M", "F"}
    men, women = (scorer.predict(skel, "trunk_stability_pushup", sex=s) for s in ("M", "F"))
    assert men["score_head"] == "trunk_stability_pushup" and women["score_head"] == "push-up, women"
    assert men["p_score"] == pytest.approx([unknown["p_score_by_sex"]["M"][str(k)] for k in range(4)], abs=1e-4)


def test_the_committed_checkpoint_carries_its_detector_and_gives_an_opinion_on_familiar_clips():
    """Issue 17: the shipped checkpoint once had no detector, so the second opinion abstained on every clip."""
    from tools.scoring.stgcn.infer import DEFAULT_CHECKPOINT, STGCNScorer
    from tools.synth.library import make_sample, truth_skeleton
    scorer = STGCNScorer.from_checkpoint(DEFAULT_CHECKPOINT)
    assert scorer.ood is not None and scorer.ood.quantile == pytest.approx(0.99)
    assert scorer.ood.n_fit > 1000 and (scorer.ood.thresholds > 0).all()
    outs = [scorer.predict(truth_skeleton(make_sample("inline_lunge", seed=s, score=sc, side="L")), "inline_lunge", "L")
            for s, sc in ((3, 3), (4, 2), (5, 1))]
    assert all(o["ood"] is not None for o in outs)
    assert sum(o["ood"]["in_distribution"] and not o["abstain"] for o in outs) >= 2
