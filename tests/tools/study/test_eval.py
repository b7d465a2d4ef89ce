"""Evaluation harness: statistics against a hand-worked example, labels checks, CV, summary, report, CLI."""
from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest

from tests.tools.scoring.test_stgcn_toydata import write_toy_library
from tools.core.errors import InputError
from tools.study.cv import Prediction, cross_validate, make_folds
from tools.core.labels import read_labels, resolve_clips
from tools.core.stats import agreement, bland_altman, continuous_agreement, icc_2_1, reliability_bins
from tools.study.summary import asymmetry, composite, review_calibration


# ----- statistics: a small worked example, computed by hand here -----------------
PHYSIO = [1, 2, 3, 3, 2, 1, 2, 3]
TOOL = [1, 2, 3, 2, 2, 2, 2, 3]


def _kappa_by_hand(a, b, power):
    """Weighted kappa from its definition: 1 - sum(w*O) / sum(w*E), w = |i-j|^power, levels 0-3."""
    n = len(a)
    observed = [[0] * 4 for _ in range(4)]
    for x, y in zip(a, b):
        observed[x][y] += 1
    row = [sum(observed[i]) for i in range(4)]
    col = [sum(observed[i][j] for i in range(4)) for j in range(4)]
    num = sum(abs(i - j) ** power * observed[i][j] for i in range(4) for j in range(4))
    den = sum(abs(i - j) ** power * row[i] * col[j] / n for i in range(4) for j in range(4))
    return 1 - num / den


def test_worked_example_matches_hand_computation():
    a = agreement(PHYSIO, TOOL)
    # exact: 6 of 8 equal (clips 4 and 6 differ by one); within 1: all 8
    assert a["exact"] == 0.75 and a["within_1"] == 1.0
    # linear kappa: observed disagreement 2 (two off-by-one cells); margins physio (0,2,3,3),
    # tool (0,1,5,2): expected = sum |i-j| r_i c_j / 8 = (2*5*1 + 2*2*2 + 3*1*1 + 3*5*1) / 8 = 6
    # -> 1 - 2/6 = 0.6667
    assert a["kappa_linear"] == pytest.approx(1 - 2 / 6, abs=1e-4)
    assert a["kappa_linear"] == pytest.approx(_kappa_by_hand(PHYSIO, TOOL, 1), abs=1e-4)
    # quadratic: observed 2, expected (2*5*1 + 2*2*4 + 3*1*1 + 3*5*1) / 8 = 7.75 -> 1 - 2/7.75
    assert a["kappa_quadratic"] == pytest.approx(1 - 2 / 7.75, abs=1e-4)
    assert a["kappa_quadratic"] == pytest.approx(_kappa_by_hand(PHYSIO, TOOL, 2), abs=1e-4)
    # Spearman = Pearson of mid-ranks. physio ranks: 1s -> 1.5, 2s -> 4, 3s -> 7;
    # tool ranks: 1 -> 1, 2s -> 4 (ranks 2..6), 3s -> 7.5
    rp = np.array([1.5, 4, 7, 7, 4, 1.5, 4, 7])
    rt = np.array([1, 4, 7.5, 4, 4, 4, 4, 7.5])
    rho = np.sum((rp - rp.mean()) * (rt - rt.mean())) / math.sqrt(np.sum((rp - rp.mean()) ** 2)
                                                                  * np.sum((rt - rt.mean()) ** 2))
    assert a["spearman_rho"] == pytest.approx(rho, abs=1e-4)
    # ICC(2,1) (Shrout & Fleiss): two-way ANOVA on the 8 x 2 table
    x = np.array([PHYSIO, TOOL], dtype=float).T
    n, k = x.shape
    grand = x.mean()
    ms_rows = k * np.sum((x.mean(1) - grand) ** 2) / (n - 1)
    ms_cols = n * np.sum((x.mean(0) - grand) ** 2) / (k - 1)
    ss_err = np.sum((x - x.mean(1, keepdims=True) - x.mean(0, keepdims=True) + grand) ** 2)
    ms_err = ss_err / ((n - 1) * (k - 1))
    icc = (ms_rows - ms_err) / (ms_rows + (k - 1) * ms_err + k * (ms_cols - ms_err) / n)
    assert a["icc"] == pytest.approx(icc, abs=1e-4)
    assert "ICC(2,1)" in a["icc_form"]


def test_undefined_statistics_are_none_with_a_reason():
    a = agreement([2, 2, 2], [2, 2, 2])
    assert a["exact"] == 1.0 and a["kappa_quadratic"] is None and a["icc"] is None
    assert any("undefined" in n for n in a["notes"])
    assert agreement([], [])["n"] == 0
    assert math.isnan(icc_2_1([1, 2], [1, 2])[0])


def test_bland_altman_and_reliability_bins():
    ba = bland_altman([14, 15, 12, 17], [13, 15, 13, 16])
    d = np.array([-1, 0, 1, -1])
    assert ba["bias"] == pytest.approx(d.mean())
    assert ba["loa_high"] == pytest.approx(d.mean() + 1.96 * d.std(ddof=1), abs=1e-4)
    assert continuous_agreement([14, 15, 12, 17], [13, 15, 13, 16])["n"] == 4
    rel = reliability_bins([0.95, 0.95, 0.55, 0.55], [True, True, True, False])
    full = [b for b in rel["bins"] if b["n"]]
    assert [b["accuracy"] for b in full] == [0.5, 1.0]
    assert rel["ece"] == pytest.approx(0.5 * abs(0.5 - 0.55) + 0.5 * abs(1.0 - 0.95))


# ----- labels: bad input is named, never a crash ----------------------------------
def _write(path, rows, header=("clip_id", "athlete_id", "date", "test_name", "side", "score", "pain")):
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_a_note_over_two_lines_and_a_stray_cell_keep_the_file_line_numbers(tmp_path):
    header = ("clip_id", "athlete_id", "date", "test_name", "side", "score", "pain", "compensation_notes")
    p = _write(tmp_path / "l.csv", [
        ["c1", "A", "2026-01-01", "deep_squat", "NA", "2", "false", "heels rise\nand trunk leans"],
        ["c2", "A", "2026-01-01", "deep_squat", "NA", "2", "false", "", "stray cell"],
        ["c3", "A", "2026-01-01", "overhead_press", "NA", "2", "false", ""],
    ], header=header)
    with pytest.raises(InputError) as err:
        read_labels(p)
    msg = str(err.value)
    assert "line 5 (clip c3): unknown test 'overhead_press'" in msg     # the note spans lines 2-3
    assert "c2" not in msg                                               # a cell past the header is ignored


def test_labels_report_every_bad_row(tmp_path):
    p = _write(tmp_path / "l.csv", [
        ["c1", "A", "2026-01-01", "deep_squat", "NA", "2", "false"],
        ["c2", "A", "2026-01-01", "overhead_press", "NA", "2", "false"],
        ["c3", "A", "2026-01-01", "hurdle_step", "L", "5", "false"],
        ["c4", "A", "2026-01-01", "hurdle_step", "NA", "2", "false"],
        ["c1", "B", "2026-01-01", "deep_squat", "NA", "1", "maybe"],
    ])
    with pytest.raises(InputError) as err:
        read_labels(p)
    msg = str(err.value)
    assert "unknown test 'overhead_press'" in msg and "line 3" in msg
    assert "score '5' is not a whole number 0-3" in msg
    assert "hurdle_step needs side L or R" in msg
    assert "appears twice" in msg and "'maybe' is not true/false" in msg
    with pytest.raises(InputError, match="lacks column"):
        read_labels(_write(tmp_path / "m.csv", [["c1", "A"]], header=("clip_id", "athlete_id")))
    with pytest.raises(InputError, match="not found"):
        read_labels(tmp_path / "nope.csv")


def test_missing_clips_error_or_skip(tmp_path):
    csv_path = write_toy_library(tmp_path, n_athletes=2, tests=("deep_squat",))
    (tmp_path / "clips" / "TOY-00-001-deep_squat-NA.npz").unlink()
    rows = read_labels(csv_path)
    with pytest.raises(InputError, match="1 of 2 labelled clips have no skeleton file.*--skip-missing"):
        resolve_clips(rows, tmp_path / "clips", csv_path)
    assert len(resolve_clips(rows, tmp_path / "clips", csv_path, on_missing="skip")) == 1


# ----- cross-validation ------------------------------------------------------------
def test_folds_keep_athletes_apart_and_flag_single_clip_athletes(tmp_path):
    csv_path = write_toy_library(tmp_path, n_athletes=3, tests=("deep_squat", "hurdle_step"))
    rows = resolve_clips(read_labels(csv_path), tmp_path / "clips", csv_path)
    rows.append(rows[0].__class__(**{**rows[0].to_dict(), "clip_id": "solo", "athlete_id": "SOLO"}))
    folds, notes = make_folds(rows, "athlete")
    assert len(folds) == 4
    for train, test in folds:
        assert not {rows[i].athlete_id for i in train} & {rows[i].athlete_id for i in test}
    assert any("single clip" in n and "SOLO" in n for n in notes)
    with pytest.raises(InputError, match="at least 2 athletes"):
        make_folds([r for r in rows if r.athlete_id == "SOLO"], "athlete")
    assert len(make_folds(rows, "clip")[0]) == len(rows)


class _FittingScorer:
    """Predicts the mean score of its training fold: shows what the harness lets a scorer see."""

    name, fits_labels = "mean", True

    def __init__(self):
        self.seen: list[set] = []
        self.value = 2

    def describe(self):
        return "mean of the training fold"

    def notes(self, rows):
        return []

    def fit(self, rows):
        self.seen.append({r.athlete_id for r in rows})
        self.value = int(round(np.mean([r.score for r in rows])))

    def reset(self):
        self.value = 2

    def predict(self, rows):
        from tools.study.cv import ToolOutput
        return [ToolOutput(score=self.value, review=False, confidence=0.5) for _ in rows]


def test_fitting_scorer_never_sees_the_held_out_athlete(tmp_path):
    csv_path = write_toy_library(tmp_path, n_athletes=4, tests=("deep_squat",))
    rows = resolve_clips(read_labels(csv_path), tmp_path / "clips", csv_path)
    scorer = _FittingScorer()
    result = cross_validate(rows, scorer, "athlete")
    assert result.fitted_per_fold and len(scorer.seen) == 4
    for p in result.predictions:
        assert p.athlete_id not in scorer.seen[p.fold]


# ----- summary: composite, asymmetry, review calibration ---------------------------
def _pred(athlete, test, side, physio, tool, review=False, pain=False, clip=None):
    return Prediction(clip_id=clip or f"{athlete}-{test}-{side}", athlete_id=athlete, date="d", test_name=test,
                      side=side, physio_score=physio, pain=pain, fold=0, tool_score=tool, review=review,
                      confidence=0.8, reasons=[], predicted_test=None, probabilities=None, error="")


def _session(athlete, physio, tool):
    from tools.core.fms import BILATERAL, TESTS
    preds = []
    for t in TESTS:
        for s in (("L", "R") if t in BILATERAL else ("NA",)):
            preds.append(_pred(athlete, t, s, physio.get((t, s), 2), tool.get((t, s), 2)))
    return preds


def test_composite_takes_lower_side_and_asymmetry_counts():
    a = _session("A", {("hurdle_step", "L"): 3, ("hurdle_step", "R"): 1}, {("hurdle_step", "R"): 1})
    b = _session("B", {("inline_lunge", "L"): 1}, {})
    c = _session("C", {}, {("shoulder_mobility", "L"): 3})
    preds = a + b + c + [_pred("D", "deep_squat", "NA", 2, 2)]     # D: incomplete session
    comp = composite(preds)
    # A: physio 7 tests x 2 with hurdle min(3,1)=1 -> 13; tool min(2,1)=1 -> 13. B: physio 13, tool 14. C: 14, 14
    assert comp["n_sessions_complete"] == 3 and comp["n_sessions_incomplete"] == 1
    assert comp["physio"] == [13, 13, 14] and comp["tool"] == [13, 14, 14]
    asym = asymmetry(preds)
    tot = asym["total"]
    assert tot["physio_asymmetric"] == 2 and tot["detected"] == 1 and tot["tool_false_alarms"] == 1
    assert asym["per_test"]["hurdle_step"]["detection_rate"] == 1.0
    assert asym["per_test"]["inline_lunge"]["detection_rate"] == 0.0


def test_review_calibration_counts_flagged_and_unflagged():
    preds = [_pred("A", "deep_squat", "NA", 2, 2, clip="1"), _pred("A", "deep_squat", "NA", 3, 3, clip="2"),
             _pred("B", "deep_squat", "NA", 1, 2, review=True, clip="3"),
             _pred("B", "deep_squat", "NA", 2, 2, review=True, clip="4"),
             _pred("C", "deep_squat", "NA", 0, 0, pain=True, clip="5")]
    r = review_calibration(preds)
    assert r["n"] == 4 and r["n_flagged"] == 2 and r["coverage"] == 0.5
    assert r["exact_unflagged"] == 1.0 and r["exact_flagged"] == 0.5


# ----- the CLI end to end ----------------------------------------------------------
@pytest.fixture(scope="module")
def toy_lib(tmp_path_factory):
    root = tmp_path_factory.mktemp("evlib")
    return write_toy_library(root, n_athletes=2, seed=4, with_pain=False)


@pytest.fixture(scope="module")
def tiny_ck(toy_lib, tmp_path_factory):
    from tools.scoring.stgcn.model import STGCNConfig
    from tools.scoring.stgcn.train import TrainConfig, pretrain
    rows = resolve_clips(read_labels(toy_lib), toy_lib.parent / "clips", toy_lib)
    out = tmp_path_factory.mktemp("evck") / "tiny.pt"
    pretrain(rows, out, TrainConfig(epochs=1, val_fraction=0.5),
             model_cfg=STGCNConfig(channels=(16, 24), strides=(1, 2), n_frames=24))
    return out


def test_eval_cli_stgcn_writes_the_report(toy_lib, tiny_ck, tmp_path, capsys):
    from agent.cli.main import main
    out = tmp_path / "rep"
    rc = main(["eval", str(toy_lib), "--scorer", "stgcn", "--checkpoint", str(tiny_ck), "--out", str(out), "--json"])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["n_clips"] == 2 * 12 and summary["cv"] == "athlete" and summary["n_folds"] == 2
    assert set(summary["per_test"]) >= {"deep_squat", "rotary_stability", "all"}
    assert summary["composite"]["n_sessions_complete"] == 2
    assert summary["test_recognition"]["n"] == 24
    assert any("training/calibration data" in n for n in summary["notes"])     # leakage is said out loud
    html = (out / "report.html").read_text()
    for needed in ("0.74-0.84", "Cuff 2018", "ICC(2,1)", "leave-one-athlete-out", "Bland-Altman"):
        assert needed in html
    for png in ("confusion.png", "reliability.png", "bland_altman.png", "kappa_vs_human.png"):
        assert (out / png).stat().st_size > 5000
    with open(out / "predictions.csv") as fh:
        assert len(list(csv.DictReader(fh))) == 24


def test_eval_cli_rules_never_crashes_on_tests_without_rules(toy_lib, tmp_path, capsys):
    from agent.cli.main import main
    rc = main(["eval", str(toy_lib), "--scorer", "rules", "--out", str(tmp_path / "r"), "--json"])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["scorer"] == "rules" and not summary["fitted_per_fold"]
    assert any("nothing is fitted" in n for n in summary["notes"])
    per = summary["per_test"]
    assert per["all"]["n_clips"] == 24
    assert per["all"]["n_scored"] + per["all"]["n_not_scored"] + per["all"]["n_pain_excluded"] == 24


def test_eval_cli_bad_inputs_exit_2_with_one_line(tmp_path, capsys):
    from agent.cli.main import main
    bad = _write(tmp_path / "bad.csv", [["c1", "A", "", "deep_squat", "NA", "7", "false"]])
    assert main(["eval", str(bad), "--clips", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "score '7'" in err[0]
    csv_path = write_toy_library(tmp_path / "one", n_athletes=1, tests=("deep_squat", "hurdle_step"))
    assert main(["eval", str(csv_path), "--scorer", "rules", "--out", str(tmp_path / "o")]) == 2
    assert "at least 2 athletes" in capsys.readouterr().err
    assert main(["eval", "--scorer", "rules"]) == 2


def test_eval_cli_stgcn_finetune_per_fold(toy_lib, tiny_ck, tmp_path, capsys):
    from agent.cli.main import main
    rc = main(["eval", str(toy_lib), "--scorer", "stgcn", "--checkpoint", str(tiny_ck), "--finetune-per-fold",
               "--lora-epochs", "1", "--out", str(tmp_path / "pf"), "--json"])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["fitted_per_fold"] and "LoRA-fine-tuned on each training fold" in summary["scorer_description"]
    assert summary["n_clips"] == 24
