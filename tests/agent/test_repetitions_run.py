"""The screening run on clips of several repetitions: segment_repetitions, per-repetition scores, the best counts."""
import json

import pytest

import agent.screening.protocol as protocol
from agent.cli.main import main
from agent.screening.protocol import ScreenRequest
from agent.screening.run import screen
from agent.trace.record import load_trace, verify
from tools.synth.library import auto_camera, make_sample, truth_skeleton
from tools.synth.repetitions import RepPlan, clip_skeleton, make_repetition_clip


@pytest.fixture(scope="module")
def hurdle_1_3_2(tmp_path_factory):
    clip = make_repetition_clip("hurdle_step", 5, plan=[RepPlan(1, side="L"), RepPlan(3, side="L", pause_before_s=1.5),
                                                        RepPlan(2, side="L")])
    assert [r.score for r in clip.reps] == [1, 3, 2]
    return str(clip_skeleton(clip, auto_camera(clip, "45")).save(tmp_path_factory.mktemp("reps") / "hurdle.npz"))


def test_the_best_repetition_counts_and_the_trace_records_each_one(tmp_path, hurdle_1_3_2):
    v = screen(ScreenRequest(source=hurdle_1_3_2, test="hurdle_step", side="L", run_dir=str(tmp_path / "run"),
                             use_stgcn=False, use_retrieval=False))
    assert v["score"] == 3 and v["repetition_mode"] is True and v["counted_repetition"] == 2
    assert [(r["index"], r["status"], r["score"]) for r in v["repetitions"]] == [(1, "scored", 1), (2, "counted", 3),
                                                                               (3, "scored", 2)]
    counted = v["repetitions"][1]
    assert counted["start_frame"] <= v["deciding_frame"] <= counted["end_frame"] + 30
    trace = load_trace(tmp_path / "run" / "trace.json")
    assert verify(trace) == []
    steps = {s["tool"]: s for s in trace["steps"]}
    seg = steps["segment_repetitions"]["result"]
    assert seg["mode"] == "repetitions" and seg["n_complete"] == 3
    assert steps["score_rubric"]["arguments"]["repetitions_path"] == "repetitions.json"
    evidence = steps["score_rubric"]["result"]["repetitions"]
    assert all(r["criteria"] and r["deciding_criterion"] is not None or r["score"] == 3 for r in evidence)
    assert (tmp_path / "run" / "overlay.mp4").is_file()
    assert [r["status"] for r in steps["render_overlay"]["arguments"]["repetitions"]] == ["scored", "counted", "scored"]


@pytest.mark.slow
def test_the_second_opinion_reads_the_counted_repetition(tmp_path, hurdle_1_3_2, monkeypatch):
    monkeypatch.setenv("FORMSCOUT_DB", str(tmp_path / "none.duckdb"))
    screen(ScreenRequest(source=hurdle_1_3_2, test="hurdle_step", run_dir=str(tmp_path / "run")))
    steps = {s["tool"]: s for s in load_trace(tmp_path / "run" / "trace.json")["steps"]}
    if "score_stgcn" not in steps:
        pytest.skip("no ST-GCN checkpoint in this install")
    assert steps["score_stgcn"]["arguments"]["skeleton_path"] == "repetitions/rep_02.npz"
    assert steps["score_stgcn"]["arguments"]["side"] == "L"


def test_a_single_repetition_clip_gives_the_verdict_it_gave_before(tmp_path, monkeypatch):
    s = make_sample("deep_squat", 31, score=3)
    npz = str(truth_skeleton(s, auto_camera(s, "45")).save(tmp_path / "one.npz"))
    keys = ("score", "confidence", "review", "reasons", "criteria", "deciding_criterion", "deciding_frame")
    with_seg = screen(ScreenRequest(source=npz, test="deep_squat", run_dir=str(tmp_path / "a"), use_stgcn=False,
                                    use_retrieval=False))
    monkeypatch.setattr(protocol, "PROTOCOL", tuple(p for p in protocol.PROTOCOL if p.tool != "segment_repetitions"))
    without = screen(ScreenRequest(source=npz, test="deep_squat", run_dir=str(tmp_path / "b"), use_stgcn=False,
                                   use_retrieval=False))
    assert with_seg["repetition_mode"] is False and len(with_seg["repetitions"]) == 1
    assert {k: with_seg[k] for k in keys} == {k: without[k] for k in keys}


@pytest.mark.slow
def test_cli_and_chat_name_the_repetition_that_counted(tmp_path, hurdle_1_3_2, capsys):
    assert main(["screen", hurdle_1_3_2, "--test", "hurdle_step", "--out", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert "repetitions: 3 found, the best counts" in out and "#2 L counted score 3" in out
    assert main(["ask", "why a 3 on left hurdle step?", "--run", str(tmp_path / "r"), "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["repetitions"]["counted"]["index"] == 2
    assert "Counted: repetition 2 (left side, score 3" in answer["text"]


@pytest.mark.slow
def test_a_clip_with_both_sides_scores_both_and_the_chat_answers_for_either(tmp_path, capsys):
    clip = make_repetition_clip("inline_lunge", 6, plan=[RepPlan(3, side="L"), RepPlan(2, side="R"),
                                                         RepPlan(2, side="R")])
    npz = str(clip_skeleton(clip, auto_camera(clip, "45")).save(tmp_path / "both.npz"))
    v = screen(ScreenRequest(source=npz, test="inline_lunge", run_dir=str(tmp_path / "run"), use_stgcn=False,
                             use_retrieval=False))
    assert set(v["sides"]) == {"L", "R"}
    assert v["sides"][v["side"]]["score"] == v["score"]
    other = "L" if v["side"] == "R" else "R"
    assert main(["ask", f"why that score on the {'left' if other == 'L' else 'right'} lunge?", "--run",
                 str(tmp_path / "run"), "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["run"]["side"] == other and answer["score"] == v["sides"][other]["score"]
