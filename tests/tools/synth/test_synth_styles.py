"""Generator styles: classic is unchanged, styles move bodies / tempo / depth / facing, labels never change."""
from __future__ import annotations

import numpy as np
import pytest

from tools.core.errors import InputError
from tools.core.fms import BILATERAL, TESTS
from tools.synth.body import make_athlete
from tools.synth.library import LibraryConfig, generate_library, make_sample, truth_skeleton, auto_camera
from tools.synth.noise import NOISE_LEVELS, add_noise
from tools.synth.style import STYLES, TRAINING_STYLES, HELD_OUT_STYLE, banded, get_style, monotone_warp, place


def _side(test: str) -> str:
    return "L" if test in BILATERAL else "NA"


def test_the_held_out_style_is_not_a_training_style_and_brings_an_unseen_noise_model():
    assert HELD_OUT_STYLE not in TRAINING_STYLES and set(TRAINING_STYLES) | {HELD_OUT_STYLE} == set(STYLES)
    train_noise = {n for s in TRAINING_STYLES for n in (STYLES[s].noise or ())}
    assert set(STYLES[HELD_OUT_STYLE].noise) - train_noise == {"tracker"}
    with pytest.raises(InputError, match="unknown generator style"):
        get_style("no-such-style")


def test_classic_style_draws_exactly_what_the_generator_drew_before_styles():
    a = make_sample("deep_squat", seed=8, score=2)
    b = make_sample("deep_squat", seed=8, score=2, style="classic")
    np.testing.assert_array_equal(a.motion.joints, b.motion.joints)
    assert a.knobs == b.knobs and b.facing_deg == 0.0 and b.retiming is None and b.depth is None


@pytest.mark.parametrize("test", TESTS)
def test_a_style_changes_the_movement_but_never_the_label(test):
    for score in (1, 2, 3):
        s = make_sample(test, seed=31, score=score, side=_side(test), style="uneven")
        assert s.label.score == score
        assert s.style == "uneven" and -180 <= s.facing_deg <= 180 and s.depth is not None


def test_facing_turns_the_world_skeleton_and_its_camera_together_so_pixels_stay_exact():
    s = make_sample("hurdle_step", seed=4, score=3, side="L", style="compact")
    cam = auto_camera(s, "side")
    sk = truth_skeleton(s, cam)
    # pixels are the body-frame projection; the world camera is turned with the body
    uv, _ = cam.project(s.motion.joints)
    np.testing.assert_allclose(sk.uv, uv, atol=1e-4)
    world_cam = np.asarray(sk.meta["camera"]["position"])
    np.testing.assert_allclose(world_cam, place(np.asarray(cam.position), s.facing_deg, s.offset_m), atol=1e-9)
    # bone lengths do not change with placement
    bone = np.linalg.norm(sk.xyz[:, 13] - sk.xyz[:, 11], axis=-1)
    body = np.linalg.norm(s.motion.joints[:, 13] - s.motion.joints[:, 11], axis=-1)
    np.testing.assert_allclose(bone, body, atol=1e-5)


def test_uneven_tempo_is_monotone_and_keeps_the_whole_repetition():
    a = np.array([0.7, -0.2, 0.1])
    pos = monotone_warp(200, 150, a / np.abs(a).sum(), 0.9)
    assert pos[0] == 0.0 and pos[-1] == pytest.approx(149.0) and (np.diff(pos) >= 0).all()
    s = make_sample("deep_squat", seed=3, score=3, style="uneven")
    assert s.retiming["pad_before"] >= 0 and 0 < s.motion.events["bottom"] < s.motion.n_frames


def test_depth_moves_knobs_inside_their_score_band():
    rng = np.random.default_rng(0)
    shallow = [banded(rng, 6.0, 20.0, 0.0) for _ in range(200)]
    deep = [banded(rng, 6.0, 20.0, 1.0) for _ in range(200)]
    assert 6.0 <= min(shallow) and max(shallow) <= 6.0 + 0.4 * 14 + 1e-9
    assert min(deep) >= 20.0 - 0.4 * 14 - 1e-9 and max(deep) <= 20.0
    gaps = [banded(rng, 0.3, 0.85, 1.0, more_is_high=False) for _ in range(100)]   # more movement = smaller gap
    assert max(gaps) <= 0.3 + 0.4 * 0.55 + 1e-9


def test_body_ranges_move_proportions_across_the_population():
    long = [make_athlete(np.random.default_rng(i), body=STYLES["long_limbed"].body) for i in range(30)]
    short = [make_athlete(np.random.default_rng(i), body=STYLES["compact"].body) for i in range(30)]
    leg = lambda a: (a.thigh_m + a.shank_m) / a.height_m   # noqa: E731
    assert np.mean([leg(a) for a in long]) > np.mean([leg(a) for a in short]) * 1.05
    assert np.mean([a.trunk_m / a.height_m for a in short]) > np.mean([a.trunk_m / a.height_m for a in long])


def test_noise_models_depth_bias_lag_and_flicker():
    s = make_sample("deep_squat", seed=2, score=3)
    cam = auto_camera(s, "front")
    sk = truth_skeleton(s, cam)
    axis = np.asarray(cam.target) - np.asarray(cam.position)
    axis /= np.linalg.norm(axis)
    mono = add_noise(sk, "monocular", np.random.default_rng(1))
    real = add_noise(sk, "realistic", np.random.default_rng(1))
    err = np.nan_to_num(mono.xyz - sk.xyz)
    along = np.abs(err @ axis).mean()
    across = np.abs(err - (err @ axis)[..., None] * axis).mean()
    assert along > 1.5 * across                       # depth along the camera axis is the noisiest
    assert mono.meta["noise"]["level"] == "monocular" and real.meta["noise"]["level"] == "realistic"
    tracker = add_noise(sk, "tracker", np.random.default_rng(3))
    assert tracker.meta["noise"]["flicker"] is not None
    assert NOISE_LEVELS["realistic"].bias_m == 0.0 and NOISE_LEVELS["realistic"].depth_factor == 1.0


def test_a_styled_library_records_style_and_noise(tmp_path):
    import json
    generate_library(LibraryConfig(out_dir=tmp_path, per_test=1, seed=5, style="long_limbed", views=("side",),
                                   tests=("shoulder_mobility",), noise="clean"))
    rows = [json.loads(line) for line in (tmp_path / "truth.jsonl").read_text().splitlines()]
    assert {r["style"] for r in rows} == {"long_limbed"}
    assert {r["noise"] for r in rows} <= {"realistic", "monocular"}     # the style's own models
