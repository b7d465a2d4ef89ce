"""`formscout fit-criteria`: thresholds fitted to labelled clips, agreement before/after/cross-validated."""
import csv
import json

import numpy as np
import pytest

from agent.cli.main import main
from tools.scoring.criteria import load_criteria
from tools.scoring.rubric.common import TestJudgement, capped_score
from tools.study.fit_criteria import FitClip, apply_thresholds, cross_validated_predictions, fit_thresholds, predict
from tools.scoring.rubric.result import CriterionResult


def fake_clip(i, value, label, athlete):
    c = CriterionResult(id="lumbar_stability", description="", measure="trunk_excursion_deg", value=value, unit="deg",
                        threshold=8.0, pass_if="<=", passed=value <= 8.0, margin=0.0, margin_scaled=0.0,
                        deciding_frame=0, view_needed="any")
    j = TestJudgement(criteria=[c], score=None, score_fn=lambda p: capped_score({"lumbar_stability": 2}, p))
    return FitClip.from_judgement(f"c{i}", athlete, "hurdle_step", label, False, None, j)


def test_grid_search_moves_a_threshold_to_where_the_physio_draws_the_line():
    # the physio fails trunk movement above ~12 deg, not 8
    values = [3, 5, 7, 9, 10, 11, 13, 15, 18, 20]
    clips = [fake_clip(i, v, 3 if v < 12 else 2, f"A{i % 5}") for i, v in enumerate(values)]
    criteria = load_criteria()
    before = [predict(c, {("hurdle_step", "lumbar_stability"): 8.0}, criteria) for c in clips]
    assert sum(p == c.label for p, c in zip(before, clips)) == 7
    fitted = fit_thresholds(clips, criteria)
    assert fitted[("hurdle_step", "lumbar_stability")] == pytest.approx(12.0)
    assert all(predict(c, fitted, criteria) == c.label for c in clips)
    assert apply_thresholds(criteria, fitted)["hurdle_step"]["lumbar_stability"]["threshold"] == pytest.approx(12.0)
    assert criteria["hurdle_step"]["lumbar_stability"]["threshold"] == 8.0     # the defaults are not touched
    cv = cross_validated_predictions(clips, criteria, folds=5)
    assert len(cv) == len(clips) and all(p in (2, 3) for p in cv)


def test_fit_criteria_cli_on_labelled_synthetic_clips(tmp_path, capsys):
    from tools.synth.body import make_athlete
    from tools.synth.library import auto_camera, make_sample, truth_skeleton
    clips_dir = tmp_path / "clips"
    clips_dir.mkdir()
    rows = []
    for a in range(4):
        athlete = make_athlete(np.random.default_rng(a), index=a)
        for k, score in enumerate((3, 2, 2, 1)):
            s = make_sample("hurdle_step", 500 + 10 * a + k, score=score, side="L", athlete=athlete)
            cid = f"hs_{a}_{k}"
            truth_skeleton(s, auto_camera(s, "45")).save(clips_dir / f"{cid}.npz")
            rows.append({"clip_id": cid, "athlete_id": athlete.athlete_id, "test_name": "hurdle_step", "side": "L",
                         "score": s.label.score, "pain": "false"})
    rows.append({"clip_id": "not_filmed", "athlete_id": "X", "test_name": "hurdle_step", "side": "L", "score": 2,
                 "pain": "false"})
    labels = tmp_path / "labels.csv"
    with open(labels, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    wrong = tmp_path / "team.yaml"
    wrong.write_text("hurdle_step:\n  lumbar_stability:\n    threshold: 40.0\n  dowel_parallel:\n    threshold: 40.0\n")
    out = tmp_path / "fitted.yaml"
    rc = main(["fit-criteria", str(labels), "--clips", str(clips_dir), "--criteria", str(wrong), "--out", str(out),
               "--folds", "4", "--json"])
    assert rc == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n_clips"] == 16 and report["n_athletes"] == 4
    assert report["after"]["exact"] > report["before"]["exact"]
    assert report["cross_validated"]["exact"] is not None and report["folds"] == 4
    assert any("not_filmed" in p for p in report["problems"])
    assert {"exact", "within_1", "kappa_quadratic"} <= set(report["before"])
    fitted = load_criteria(out)                      # the override loads and merges
    assert fitted["hurdle_step"]["lumbar_stability"]["threshold"] < 40.0
    assert "fitted by `formscout fit-criteria" in out.read_text()


def test_fit_criteria_needs_the_clips_folder(tmp_path, capsys):
    labels = tmp_path / "l.csv"
    labels.write_text("clip_id,athlete_id,test_name,side,score\nc,a,hurdle_step,L,2\n")
    assert main(["fit-criteria", str(labels), "--clips", str(tmp_path / "none")]) == 2
    assert "clips folder not found" in capsys.readouterr().err


def test_a_fit_stays_inside_the_documented_range_and_says_where_it_wanted_to_go():
    """Issue 17 item 7: the hurdle balance threshold once moved from 0.05 to 0.36 m silently."""
    from tools.study.fit_criteria import fit_thresholds, range_warnings
    criteria = {"hurdle_step": {"balance": {"threshold": 0.05, "pass_if": "<=", "range": [0.03, 0.10]}}}
    score_fn = lambda p: 1 if p.get("balance") is False else 3   # noqa: E731
    clips = []
    # labels that say a stance-toe shift of 0.2-0.3 m is still balance kept (a mislabelled or noisy set)
    for i, (value, label) in enumerate([(0.02, 3), (0.25, 3), (0.3, 3), (0.32, 3), (0.45, 1), (0.5, 1)]):
        clips.append(FitClip(f"c{i}", f"a{i}", "hurdle_step", label, False, None, {"balance": value},
                             {"balance": value <= 0.05}, score_fn))
    free = fit_thresholds(clips, criteria, respect_ranges=False)
    kept = fit_thresholds(clips, criteria)
    assert free[("hurdle_step", "balance")] > 0.3
    assert 0.03 <= kept[("hurdle_step", "balance")] <= 0.10
    warn = range_warnings(free, kept, criteria)
    assert warn and warn[0]["criterion"] == "balance" and warn[0]["range"] == [0.03, 0.10]


def test_fit_criteria_counts_the_same_rows_as_eval_when_pain_clips_are_present(tmp_path, capsys):
    """Issue 17 item 7: per-test counts once differed because pain clips were counted in one and not the other."""
    from tools.synth.body import make_athlete
    from tools.synth.library import auto_camera, make_sample, truth_skeleton
    clips_dir = tmp_path / "clips"
    clips_dir.mkdir()
    rows = []
    for a in range(3):
        athlete = make_athlete(np.random.default_rng(20 + a), index=a)
        for k, score in enumerate((3, 2, 1)):
            s = make_sample("hurdle_step", 700 + 10 * a + k, score=score, side="L", athlete=athlete)
            cid = f"hs_{a}_{k}"
            truth_skeleton(s, auto_camera(s, "45")).save(clips_dir / f"{cid}.npz")
            pain = a == 0 and k == 0                      # one clip reported painful: scored 0
            rows.append({"clip_id": cid, "athlete_id": athlete.athlete_id, "test_name": "hurdle_step", "side": "L",
                         "score": 0 if pain else s.label.score, "pain": "true" if pain else "false"})
    labels = tmp_path / "labels.csv"
    with open(labels, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    assert main(["fit-criteria", str(labels), "--clips", str(clips_dir), "--out", str(tmp_path / "f.yaml"),
                 "--folds", "3", "--json"]) == 0
    fit = json.loads(capsys.readouterr().out)
    assert main(["eval", str(labels), "--clips", str(clips_dir), "--scorer", "rules", "--out", str(tmp_path / "e"),
                 "--json"]) == 0
    ev = json.loads(capsys.readouterr().out)["per_test"]["hurdle_step"]
    assert fit["pain_clips_not_fitted"] == 1 and fit["per_test"]["hurdle_step"]["n_pain"] == 1
    assert ev["n_pain_excluded"] == 1
    assert fit["per_test"]["hurdle_step"]["n"] == ev["n_scored"] + ev["n_not_scored"] == 8
