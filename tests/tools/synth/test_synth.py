"""Synthetic FMS library: determinism, labels that follow the knobs, exact truth geometry, sides, noise, CLI."""
from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tools.core.errors import InputError
from tools.core.skeleton import JOINT_INDEX as J
from tools.core.skeleton import Skeleton
from tools.synth import aslr, hurdle, lunge, pushup, rotary, shoulder, squat
from tools.synth.body import SYNTHETIC_ID_PREFIX, make_athlete
from tools.core.fms import BILATERAL, TESTS
from tools.synth.criteria import CRITERIA
from tools.synth.library import (LABEL_COLUMNS, LibraryConfig, generate_library, library_samples, make_sample,
                                 truth_skeleton)
from tools.synth.noise import add_noise


def _side(test: str) -> str:
    return "L" if test in BILATERAL else "NA"


def _athlete(sex: str = "male"):
    return make_athlete(np.random.default_rng(5), index=5, sex=sex)


# ----- determinism --------------------------------------------------------------------------------

@pytest.mark.parametrize("test", TESTS)
def test_same_seed_same_sample(test):
    a = make_sample(test, seed=21, side=_side(test))
    b = make_sample(test, seed=21, side=_side(test))
    c = make_sample(test, seed=22, side=_side(test))
    np.testing.assert_array_equal(a.motion.joints, b.motion.joints)
    assert a.knobs == b.knobs and a.label == b.label and a.athlete == b.athlete
    assert not np.array_equal(a.motion.joints[:10], c.motion.joints[:10])


def test_library_is_deterministic(tmp_path):
    cfg = dict(per_test=1, seed=4, noise="realistic", views=("side",), tests=("deep_squat", "hurdle_step"))
    generate_library(LibraryConfig(out_dir=tmp_path / "a", **cfg))
    generate_library(LibraryConfig(out_dir=tmp_path / "b", **cfg))
    assert (tmp_path / "a" / "labels.csv").read_text() == (tmp_path / "b" / "labels.csv").read_text()
    assert (tmp_path / "a" / "truth.jsonl").read_text() == (tmp_path / "b" / "truth.jsonl").read_text()
    for f in sorted((tmp_path / "a" / "skeletons").glob("*.npz")):
        x, y = Skeleton.load(f), Skeleton.load(tmp_path / "b" / "skeletons" / f.name)
        np.testing.assert_array_equal(x.xyz, y.xyz)
        np.testing.assert_array_equal(x.conf, y.conf)


# ----- labels follow the knobs --------------------------------------------------------------------

def test_deep_squat_labels():
    passing = squat.DeepSquatKnobs()
    assert squat.label(passing).score == 3 and squat.label(passing).failed == ()
    board = replace(passing, heel_board=True)
    assert squat.label(board).score == 2
    assert squat.label(board).failed == ("heel_board_needed",)
    shallow = replace(board, thigh_below_horizontal_deg=-15.0)
    assert squat.label(shallow).score == 1 and "thigh_below_horizontal" in squat.label(shallow).failed
    valgus = replace(board, knee_separation_ratio=0.5)
    assert squat.label(valgus).failed == ("heel_board_needed", "knee_valgus")
    assert squat.label(replace(board, pain=True)).score == 0
    with pytest.raises(InputError, match="board"):
        squat.label(replace(passing, torso_minus_tibia_deg=25.0))   # a flat-heel fail decides nothing


def test_hurdle_labels():
    ok = hurdle.HurdleStepKnobs()
    assert hurdle.label(ok).score == 3
    touch = replace(ok, foot_clearance_m=-0.01)
    assert hurdle.label(touch).score == 1 and hurdle.label(touch).failed == ("hurdle_clearance",)
    assert hurdle.label(replace(ok, dowel_tilt_deg=12.0)).failed == ("dowel_parallel",)
    assert hurdle.label(replace(ok, trunk_sway_deg=15.0)).score == 2
    assert hurdle.label(replace(ok, knee_out_of_plane_m=0.1)).failed == ("sagittal_alignment",)
    assert hurdle.label(replace(ok, balance_loss=True)).score == 1


def test_shoulder_labels():
    def score(g):
        return shoulder.label(shoulder.ShoulderMobilityKnobs(fist_gap_hand_lengths=g)).score
    assert score(0.9) == 3
    assert score(1.2) == 2
    assert score(1.6) == 1
    assert shoulder.label(shoulder.ShoulderMobilityKnobs(1.2)).failed == ("fists_within_1_hand",)
    assert shoulder.label(shoulder.ShoulderMobilityKnobs(0.5, pain=True)).score == 0


def test_lunge_aslr_pushup_rotary_labels():
    ok = lunge.InlineLungeKnobs()
    assert lunge.label(ok).score == 3
    assert lunge.label(replace(ok, back_knee_gap_m=0.1)).failed == ("back_knee_touch",)
    assert lunge.label(replace(ok, balance_loss=True)).score == 1

    def aslr_label(f, lift=0.0):
        return aslr.label(aslr.ActiveStraightLegRaiseKnobs(ankle_fraction_asis_to_knee=f, down_leg_lift_m=lift))
    assert aslr_label(0.2).score == 3
    assert aslr_label(0.7).score == 2
    assert aslr_label(1.3).score == 1
    assert aslr_label(0.2, lift=0.1).score == 2 and "down_leg_flat" in aslr_label(0.2, lift=0.1).failed

    man, woman = _athlete("male"), _athlete("female")
    P = pushup.TrunkStabilityPushupKnobs
    assert pushup.label(P("forehead"), man).score == 3
    assert pushup.label(P("chin"), man).score == 2
    assert pushup.label(P("chin"), woman).score == 3
    assert pushup.label(P("collarbone"), woman).score == 2
    assert pushup.label(P("chin", lumbar_lag_deg=20.0), man).score == 1
    assert pushup.label(P("collarbone", completes=False), woman).score == 1
    with pytest.raises(InputError):
        pushup.label(P("collarbone"), man)

    R = rotary.RotaryStabilityKnobs
    assert rotary.label(R("unilateral")).score == 3
    assert rotary.label(R("diagonal")).score == 2
    assert rotary.label(R("diagonal", elbow_knee_gap_m=0.15)).score == 1
    assert "balance" in rotary.label(R("diagonal", balance_loss=True)).failed


@pytest.mark.parametrize("test", TESTS)
@pytest.mark.parametrize("score", [0, 1, 2, 3])
def test_sampled_knobs_give_the_target_score(test, score):
    for seed in range(3):
        s = make_sample(test, seed=seed, score=score, side=_side(test))
        assert s.label.score == score
        assert set(s.label.failed) <= set(CRITERIA[test]) | {"pain"}
        assert s.label.pain == (score == 0)


# ----- the truth skeleton is what the knobs say --------------------------------------------------

def _bottom(s) -> int:
    return s.motion.events["bottom"] + 3


def test_squat_truth_matches_knobs():
    for seed in range(8):
        s = make_sample("deep_squat", seed=seed, side="NA", score=1 + seed % 3)
        k, x = s.knobs, s.motion.joints[_bottom(s)]
        thigh = np.degrees(np.arcsin((x[J["left_knee"], 1] - x[J["left_hip"], 1]) / s.athlete.thigh_m))
        assert thigh == pytest.approx(k.thigh_below_horizontal_deg, abs=4.0)
        ratio = abs(x[J["left_knee"], 0] - x[J["right_knee"], 0]) / abs(x[J["left_ankle"], 0] - x[J["right_ankle"], 0])
        assert ratio == pytest.approx(k.knee_separation_ratio, abs=0.05)
        hands_z = 0.5 * (x[J["left_hand"], 2] + x[J["right_hand"], 2])
        toes_z = max(x[J["left_toe"], 2], x[J["right_toe"], 2])
        assert hands_z - toes_z == pytest.approx(k.dowel_ahead_of_toes_m, abs=0.02)
        mid_hip = 0.5 * (x[J["left_hip"]] + x[J["right_hip"]])
        mid_sh = 0.5 * (x[J["left_shoulder"]] + x[J["right_shoulder"]])
        trunk = np.degrees(np.arctan2(mid_sh[2] - mid_hip[2], mid_sh[1] - mid_hip[1]))
        shank = x[J["left_knee"]] - x[J["left_ankle"]]
        tib = np.degrees(np.arctan2(shank[2], shank[1]))
        assert trunk - tib == pytest.approx(k.torso_minus_tibia_deg, abs=3.0)
        if k.heel_board:
            assert x[J["left_heel"], 1] >= 0.035


def test_hurdle_clearance_shoulder_gap_aslr_fraction_are_exact():
    for seed in range(4):
        s = make_sample("hurdle_step", seed=seed, side="L")
        cord = next(p for p in s.motion.props if p.name == "hurdle_cord")
        heel, toe = s.motion.joints[:, J["left_heel"]], s.motion.joints[:, J["left_toe"]]
        clearance = hurdle._sole_clearance(heel, toe, float(cord.ends[0, 2]), float(cord.ends[0, 1]))
        assert clearance == pytest.approx(s.knobs.foot_clearance_m, abs=0.002)
        assert cord.ends[0, 1] == pytest.approx(s.athlete.tibial_tuberosity_height_m)

        s = make_sample("shoulder_mobility", seed=seed, side="L")
        x = s.motion.joints[s.motion.events["hold"] + 2]
        gap = np.linalg.norm(x[J["left_hand"]] - x[J["right_hand"]]) / s.athlete.hand_length_m
        assert gap == pytest.approx(s.knobs.fist_gap_hand_lengths, abs=1e-6)

        s = make_sample("active_straight_leg_raise", seed=seed, side="L")
        x0, x = s.motion.joints[0], s.motion.joints[s.motion.events["top"] + 2]
        asis_z = 0.5 * (x0[J["left_hip"], 2] + x0[J["right_hip"], 2]) - aslr.ASIS_CRANIAL_M
        frac = (x[J["left_ankle"], 2] - asis_z) / (x0[J["right_knee"], 2] - asis_z)
        assert frac == pytest.approx(s.knobs.ankle_fraction_asis_to_knee, abs=0.03)


def test_lunge_back_knee_and_rotary_touch():
    for seed in range(4):
        s = make_sample("inline_lunge", seed=seed, side="L", score=3 - seed % 2)
        knee_y = s.motion.joints[_bottom(s), J["right_knee"], 1]
        expected = 0.038 + s.athlete.knee_radius_m + s.knobs.back_knee_gap_m  # board 0.038 m high
        assert knee_y == pytest.approx(expected, abs=0.01)
        s = make_sample("rotary_stability", seed=seed, side="L")
        x = s.motion.joints[s.motion.events["touch"] + 2]
        leg = "left" if s.knobs.pattern == "unilateral" else "right"
        if not s.knobs.balance_loss:
            # the knob is the gap between skin; joint centres stay apart by the limbs' thickness as well
            centre_gap = np.linalg.norm(x[J["left_elbow"]] - x[J[f"{leg}_knee"]])
            skin_gap = centre_gap - s.athlete.elbow_radius_m - s.athlete.knee_radius_m
            assert skin_gap == pytest.approx(s.knobs.elbow_knee_gap_m, abs=0.02)


@pytest.mark.parametrize("test", TESTS)
def test_bones_keep_their_length_and_nothing_sinks_into_the_floor(test):
    s = make_sample(test, seed=8, side=_side(test))
    a, x = s.athlete, s.motion.joints
    for side in ("left", "right"):
        for (p, q), length in {("hip", "knee"): a.thigh_m, ("knee", "ankle"): a.shank_m,
                               ("shoulder", "elbow"): a.upper_arm_m, ("elbow", "wrist"): a.forearm_m}.items():
            d = np.linalg.norm(x[:, J[f"{side}_{p}"]] - x[:, J[f"{side}_{q}"]], axis=-1)
            assert np.allclose(d, length, atol=2e-3), (side, p, q, d.min(), d.max(), length)
    for name in ("left_heel", "right_heel", "left_toe", "right_toe"):
        assert x[:, J[name], 1].min() > -0.005
    assert not np.isnan(x).any()


# ----- sides --------------------------------------------------------------------------------------

def test_every_test_and_side_is_produced(tmp_path):
    cfg = LibraryConfig(out_dir=tmp_path, per_test=1, seed=2, views=("side",))
    pairs = {(s.test_name, s.side) for _, s in library_samples(cfg)}
    expected = {(t, side) for t in TESTS for side in (("L", "R") if t in BILATERAL else ("NA",))}
    assert pairs == expected and len(expected) == 12


@pytest.mark.parametrize("test", sorted(BILATERAL))
def test_mirror_of_left_equals_right(test):
    left = make_sample(test, seed=31, side="L")
    right = make_sample(test, seed=31, side="R")
    assert left.knobs == right.knobs and left.label.score == right.label.score
    assert (left.label.side, right.label.side) == ("L", "R")
    np.testing.assert_allclose(truth_skeleton(left).mirrored().xyz, truth_skeleton(right).xyz, atol=1e-6)


def test_synthetic_ids_cannot_pass_for_real_ones():
    assert make_sample("deep_squat", seed=3).athlete.athlete_id.startswith(SYNTHETIC_ID_PREFIX)


def test_library_athlete_ids_are_unique_across_seeds(tmp_path):
    """Two libraries made with different seeds never share an athlete id (they are pooled and held out)."""
    ids = {}
    for seed in (0, 1):
        cfg = LibraryConfig(out_dir=tmp_path, per_test=3, seed=seed, tests=("deep_squat", "hurdle_step"))
        ids[seed] = {s.athlete.athlete_id for _, s in library_samples(cfg)}
    assert ids[0] == {"SYN-s0-0000", "SYN-s0-0001", "SYN-s0-0002"}
    assert len(ids[1]) == 3 and not ids[0] & ids[1]
    assert all(a.startswith(SYNTHETIC_ID_PREFIX) for a in ids[0] | ids[1])


def test_bad_side_and_test_are_input_errors():
    with pytest.raises(InputError):
        make_sample("hurdle_step", seed=1, side="NA")
    with pytest.raises(InputError):
        make_sample("deep_squat", seed=1, side="L")
    with pytest.raises(InputError):
        make_sample("plank", seed=1)


# ----- noise -------------------------------------------------------------------------------------

def test_noise_levels():
    truth = truth_skeleton(make_sample("deep_squat", seed=4))
    clean = add_noise(truth, "clean", np.random.default_rng(0))
    np.testing.assert_array_equal(clean.xyz, truth.xyz)
    real_a = add_noise(truth, "realistic", np.random.default_rng(1))
    real_b = add_noise(truth, "realistic", np.random.default_rng(1))
    np.testing.assert_array_equal(real_a.xyz, real_b.xyz)
    hard = add_noise(truth, "hard", np.random.default_rng(1))
    for noisy in (real_a, hard):
        missing = np.isnan(noisy.xyz).any(axis=-1)
        assert (noisy.conf[missing] == 0).all()
        assert noisy.meta["noise"]["level"] in ("realistic", "hard")
    err = lambda s: np.nanmedian(np.linalg.norm(s.xyz - truth.xyz, axis=-1))  # noqa: E731
    assert 0.003 < err(real_a) < err(hard) < 0.06
    assert np.isnan(hard.xyz).sum() > np.isnan(real_a.xyz).sum()
    with pytest.raises(InputError):
        add_noise(truth, "extreme", np.random.default_rng(0))


# ----- CLI ----------------------------------------------------------------------------------------

def test_cli_writes_labels_in_the_fms_schema(tmp_path):
    from agent.cli.main import main
    out = tmp_path / "lib"
    rc = main(["synth", "--out", str(out), "--per-test", "2", "--seed", "7", "--noise", "realistic",
               "--views", "front,side", "--tests", "deep_squat,shoulder_mobility"])
    assert rc == 0
    rows = list(csv.DictReader(open(out / "labels.csv")))
    assert tuple(rows[0].keys()) == LABEL_COLUMNS
    assert len(rows) == 2 * 2 * (1 + 2)   # per-test x views x (squat + shoulder L/R)
    for r in rows:
        assert r["athlete_id"].startswith("SYN-") and r["score"] in "0123"
        assert r["side"] in ("L", "R", "NA") and r["camera_view"] in ("front", "side")
        skel = Skeleton.load(out / "skeletons" / f"{r['clip_id']}.npz")
        assert skel.uv is not None and skel.image_size == (640, 480)
        assert skel.meta["score"] == int(r["score"])
    assert Path(out / "truth.jsonl").read_text().count("\n") == len(rows)


def test_cli_rejects_a_bad_view(tmp_path, capsys):
    from agent.cli.main import main
    assert main(["synth", "--out", str(tmp_path), "--views", "top"]) == 2
    assert "views" in capsys.readouterr().err
