"""SAM 3 athlete masks: the mask-to-athlete rules on fake instance masks (fast), the
loading guards (fast), and a random-weight SAM 3 built and run on CPU end to end (slow)."""
from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

from tools.core.boxes import box_iou as pairwise_iou
from tools.core.boxes import mask_to_box
from tools.core.errors import BackendUnavailable, InputError
from tools.people.sam3_mask import AthleteMask, load_sam3, segment_athlete
from tools.people.sam3_mask import choose_athlete_mask as choose_athlete


def box_iou(a, b) -> float:
    return float(pairwise_iou(a, b)[0, 0])

HAS_SAM3 = importlib.util.find_spec("sam3") is not None and importlib.util.find_spec("open_clip") is not None
needs_sam3 = pytest.mark.skipif(not HAS_SAM3, reason="sam3 / open-clip-torch not installed (optional backend)")

H, W = 120, 200


def _person(x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    m = np.zeros((H, W), dtype=bool)
    m[y0:y1, x0:x1] = True
    return m


def _scene(*people: tuple[int, int, int, int], scores=None) -> tuple[np.ndarray, np.ndarray]:
    masks = np.stack([_person(*p) for p in people]) if people else np.zeros((0, H, W), dtype=bool)
    return masks, np.asarray(scores if scores is not None else [0.9] * len(people), dtype=np.float32)


# athlete on the left (big), a passer-by on the right (smaller), an empty mask SAM 3 sometimes returns
ATHLETE, PASSER = (20, 10, 70, 115), (130, 30, 160, 110)


def test_mask_to_box_uses_pixel_edges_and_empty_is_none():
    assert mask_to_box(_person(*ATHLETE)) == (20.0, 10.0, 70.0, 115.0)
    one = np.zeros((H, W), dtype=bool)
    one[5, 7] = True
    assert mask_to_box(one) == (7.0, 5.0, 8.0, 6.0)
    assert mask_to_box(np.zeros((H, W), dtype=bool)) is None
    with pytest.raises(ValueError):
        mask_to_box(np.zeros((2, H, W), dtype=bool))


def test_box_iou():
    assert box_iou((0, 0, 10, 10), (0, 0, 10, 10)) == pytest.approx(1.0)
    assert box_iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(50 / 150)
    assert box_iou((0, 0, 10, 10), (20, 20, 30, 30)) == 0.0


def test_box_picks_the_person_it_overlaps_most():
    masks, scores = _scene(ATHLETE, PASSER, scores=[0.6, 0.95])
    chosen = choose_athlete(masks, scores, box_xyxy=(125, 25, 165, 112))
    assert chosen.found and chosen.chosen_by == "box_iou" and not chosen.ambiguous
    assert chosen.box_xyxy == tuple(float(v) for v in PASSER)
    assert np.array_equal(chosen.mask, masks[1])
    assert chosen.iou_with_box == pytest.approx(box_iou(PASSER, (125, 25, 165, 112)))
    assert chosen.n_candidates == 2 and chosen.score == pytest.approx(0.95)


def test_box_that_contains_nobody_is_a_reason_not_a_crash():
    masks, scores = _scene(ATHLETE, PASSER)
    chosen = choose_athlete(masks, scores, box_xyxy=(80, 0, 120, 20))
    assert not chosen.found and chosen.mask is None and chosen.box_xyxy is None
    assert chosen.chosen_by == "none" and "contains nobody" in chosen.reason
    assert chosen.n_candidates == 2 and len(chosen.candidate_boxes_xyxy) == 2


def test_box_between_two_equal_people_is_flagged_ambiguous():
    left, right = (40, 20, 80, 110), (120, 20, 160, 110)
    masks, scores = _scene(left, right)
    chosen = choose_athlete(masks, scores, box_xyxy=(40, 20, 160, 110))
    assert chosen.found and chosen.ambiguous and "two people" in chosen.reason


def test_point_picks_the_person_under_it_and_off_body_point_finds_nobody():
    masks, scores = _scene(ATHLETE, PASSER)
    chosen = choose_athlete(masks, scores, point_xy=(140, 60))
    assert chosen.chosen_by == "point" and chosen.box_xyxy == tuple(float(v) for v in PASSER)
    nobody = choose_athlete(masks, scores, point_xy=(100, 5))
    assert not nobody.found and "on nobody" in nobody.reason


def test_point_and_box_together_need_both():
    # two overlapping people: the point is on both, the box only fits the second
    masks, scores = _scene((20, 10, 100, 115), (60, 40, 110, 115), scores=[0.99, 0.5])
    chosen = choose_athlete(masks, scores, point_xy=(70, 80), box_xyxy=(58, 38, 112, 118))
    assert chosen.chosen_by == "point+box_iou" and chosen.box_xyxy == (60.0, 40.0, 110.0, 115.0)


def test_no_prompt_takes_the_largest_and_flags_similar_sizes():
    masks, scores = _scene(PASSER, ATHLETE)
    chosen = choose_athlete(masks, scores)
    assert chosen.chosen_by == "largest" and chosen.box_xyxy == tuple(float(v) for v in ATHLETE)
    assert not chosen.ambiguous
    twins = choose_athlete(*_scene((20, 10, 70, 110), (120, 10, 169, 110)))
    assert twins.ambiguous and "similar size" in twins.reason


def test_empty_masks_are_not_people():
    masks, scores = _scene(ATHLETE)
    masks = np.concatenate([np.zeros((2, H, W), dtype=bool), masks])
    chosen = choose_athlete(masks, np.array([0.99, 0.98, 0.5]))
    assert chosen.n_candidates == 1 and chosen.score == pytest.approx(0.5)
    nobody = choose_athlete(np.zeros((3, H, W), dtype=bool), np.ones(3))
    assert not nobody.found and nobody.n_candidates == 0 and "nobody found" in nobody.reason


@pytest.mark.parametrize("box", [(10, 10, 5, 50), (300, 300, 400, 400), (0, 0, float("nan"), 10), (1, 2, 3), "abc"])
def test_bad_box_is_input_error(box):
    masks, scores = _scene(ATHLETE)
    with pytest.raises(InputError, match="athlete box"):
        choose_athlete(masks, scores, box_xyxy=box)


def test_bad_point_is_input_error():
    masks, scores = _scene(ATHLETE)
    with pytest.raises(InputError, match="athlete point"):
        choose_athlete(masks, scores, point_xy=(W + 5, 10))


def test_result_dict_is_json_serialisable():
    masks, scores = _scene(ATHLETE, PASSER)
    d = choose_athlete(masks, scores, box_xyxy=(15, 5, 75, 118)).to_dict()
    text = json.dumps(d)
    assert d["athlete_box_xyxy_px"] == [20.0, 10.0, 70.0, 115.0] and d["mask_area_px"] == 50 * 105
    assert len(d["candidates"]) == 2 and "reason" in text


def test_load_refuses_hub_names_missing_files_and_no_checkpoint(tmp_path):
    for hub in ("facebook/sam3", "hf://facebook/sam3/sam3.pt", "https://example.org/sam3.pt"):
        with pytest.raises(InputError, match="never downloads"):
            load_sam3(hub)
    with pytest.raises(InputError, match="not a file"):
        load_sam3(tmp_path / "missing" / "sam3.pt")
    with pytest.raises(InputError, match="needs a checkpoint"):
        load_sam3(None)


def test_missing_package_says_how_to_install(monkeypatch, tmp_path):
    import tools.people.sam3_mask as seg

    real = importlib.util.find_spec
    monkeypatch.setattr(seg.importlib.util, "find_spec", lambda name, *a: None if name == "sam3" else real(name, *a))
    with pytest.raises(BackendUnavailable, match="pip install"):
        load_sam3(None, allow_random_weights=True)


@pytest.mark.slow   # importing sam3's model code takes ~30 s on 2 busy cores
@needs_sam3
def test_pin_memory_fix_is_needed_without_cuda_and_scoped():
    import torch
    from sam3.model_builder import _create_geometry_encoder

    from tools.people.sam3_mask import _inference_patches

    if torch.cuda.is_available():
        pytest.skip("the pin_memory fix only applies without CUDA")
    enc = _create_geometry_encoder()   # small: the box/point prompt encoder only
    args = (torch.zeros(0, 1, 4), torch.zeros(1, 0, dtype=torch.bool), torch.zeros(0, 1, dtype=torch.long),
            torch.zeros(1, 256, 8, 8))
    with pytest.raises(RuntimeError):      # sam3 0.1.4 pins memory even with no box prompt
        enc._encode_boxes(*args)
    original = torch.Tensor.pin_memory
    with _inference_patches():
        enc._encode_boxes(*args)
    assert torch.Tensor.pin_memory is original


@pytest.fixture(scope="module")
def random_sam3():
    if not HAS_SAM3:
        pytest.skip("sam3 / open-clip-torch not installed (optional backend)")
    # min_score 0: random weights score every query about the same, keep them all as candidates
    return load_sam3(None, allow_random_weights=True, min_score=0.0, seed=0)


@pytest.mark.slow
def test_random_weight_sam3_builds_on_cpu_and_leaves_no_patch_behind(random_sam3, tmp_path):
    import torch
    from sam3.model.decoder import TransformerDecoder
    from sam3.model.position_encoding import PositionEmbeddingSine

    from tools.people.sam3_mask import _load_state

    assert random_sam3.random_weights and random_sam3.checkpoint is None and random_sam3.device == "cpu"
    assert all(torch.isfinite(p).all() for p in random_sam3.model.parameters())
    assert PositionEmbeddingSine.__init__.__module__ == "sam3.model.position_encoding"
    assert TransformerDecoder._get_coords.__module__ == "sam3.model.decoder"
    not_sam3 = tmp_path / "not_sam3.pt"
    torch.save({"model": {"layer.weight": torch.zeros(3)}}, not_sam3)
    with pytest.raises(InputError, match="matches only"):
        _load_state(random_sam3.model, not_sam3)


@pytest.mark.slow
def test_random_weight_sam3_segments_a_small_image_end_to_end(random_sam3):
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 255, size=(96, 128, 3), dtype=np.uint8)
    frame[20:90, 30:60] = (200, 60, 40)          # something person-sized to look at
    box = (25.0, 15.0, 65.0, 95.0)
    chosen = segment_athlete(random_sam3, frame, box_xyxy=box)
    assert isinstance(chosen, AthleteMask) and chosen.n_candidates >= 1
    assert chosen.n_candidates == len(chosen.candidate_boxes_xyxy) == len(chosen.candidate_scores)
    best_iou = max(box_iou(b, box) for b in chosen.candidate_boxes_xyxy)
    if chosen.found:
        assert chosen.mask.shape == frame.shape[:2] and chosen.mask.dtype == bool
        assert chosen.box_xyxy == mask_to_box(chosen.mask)
        x0, y0, x1, y1 = chosen.box_xyxy
        assert 0 <= x0 < x1 <= 128 and 0 <= y0 < y1 <= 96
        assert chosen.chosen_by == "box_iou" and chosen.iou_with_box == pytest.approx(best_iou)
        assert 0.0 <= chosen.score <= 1.0
    else:   # random weights may find nobody near the box: then the rule must say so
        assert best_iou < 0.1 and "contains nobody" in chosen.reason
    d = chosen.to_dict()
    json.dumps(d)
    assert d["provenance"]["backend"] == "sam3" and d["provenance"]["random_weights"] is True

