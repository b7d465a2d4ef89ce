"""`formscout session`: manifest checks, scorecard rules, and one synthetic athlete's screen end to end."""
import json

import pytest

from agent.cli.main import main
from tools.core.errors import InputError
from tools.report.manifest import read_manifest
from tools.report.scorecard import ClipResult, build_scorecard
from tools.core.fms import BILATERAL, TESTS


def write(tmp_path, text, name="manifest.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_bad_manifest_rows_are_all_named_with_their_field(tmp_path):
    (tmp_path / "a.npz").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("x")
    m = write(tmp_path, "clip,test,side,pain,clearing_pain\n"
                        "missing.npz,deep_squat,,,\n"
                        "a.npz,squat,,,\n"
                        "a.npz,hurdle_step,X,,\n"
                        "a.npz,trunk_stability_pushup,L,,\n"
                        "a.npz,deep_squat,,maybe,\n"
                        "a.npz,hurdle_step,L,,yes\n"
                        "notes.txt,deep_squat,,,\n")
    with pytest.raises(InputError) as err:
        read_manifest(m)
    msg = str(err.value)
    assert "7 problem(s)" in msg
    for expected in ("line 2, field clip: file not found", "line 3, field test: unknown test 'squat'",
                     "line 4, field side: 'X' must be L, R or blank",
                     "line 5, field side: trunk_stability_pushup is scored once",
                     "line 6, field pain: expected yes/no", "line 7, field clearing_pain: hurdle_step has no clearing test",
                     "line 8, field clip: notes.txt is not a video or skeleton"):
        assert expected in msg


def test_manifest_header_problems(tmp_path):
    with pytest.raises(InputError, match="lacks column"):
        read_manifest(write(tmp_path, "path,test\nx,deep_squat\n"))
    with pytest.raises(InputError, match="unknown column"):
        read_manifest(write(tmp_path, "clip,test,colour\nx,deep_squat,red\n"))
    with pytest.raises(InputError, match="manifest not found"):
        read_manifest(tmp_path / "nope.csv")


def test_good_manifest_rows(tmp_path):
    (tmp_path / "a.npz").write_bytes(b"x")
    rows = read_manifest(write(tmp_path, "clip,test,side,clearing_pain,hand_length_m\n"
                                         "a.npz,shoulder_mobility,left,yes,0.19\na.npz,deep_squat,,,\n"
                                         "a.npz,hurdle_step,,,\n"))
    assert rows[0].side == "L" and rows[0].clearing_pain and rows[0].hand_length_m == 0.19
    assert rows[1].side == "NA" and rows[2].side is None and rows[0].line == 2


def clip(test, side, score, review=False, **kw):
    return ClipResult(line=1, clip=f"{test}_{side}.npz", test=test, side=side, score=score, confidence=0.9,
                      review=review, **kw)


def full_screen(scores):
    out = []
    for t in TESTS:
        if t in BILATERAL:
            out += [clip(t, "L", scores[t][0]), clip(t, "R", scores[t][1])]
        else:
            out.append(clip(t, "NA", scores[t]))
    return out


SCORES = {"deep_squat": 2, "hurdle_step": (3, 2), "inline_lunge": (2, 2), "shoulder_mobility": (3, 1),
          "active_straight_leg_raise": (3, 3), "trunk_stability_pushup": 3, "rotary_stability": (2, 2)}


def test_composite_takes_the_lower_side_and_lists_asymmetries():
    sc = build_scorecard(full_screen(SCORES), athlete_id="A1", sex="F")
    assert sc["composite"] == {"score": 2 + 2 + 2 + 1 + 3 + 3 + 2, "max": 21, "complete": True, "tests_counted": 7,
                               "label": "15/21"}
    assert [a["test"] for a in sc["asymmetries"]] == ["hurdle_step", "shoulder_mobility"]
    assert sc["tests"]["shoulder_mobility"]["counted"] == 1 and sc["missing_tests"] == []
    json.dumps(sc)


def test_missing_tests_make_the_composite_incomplete():
    clips = [c for c in full_screen(SCORES) if not (c.test == "rotary_stability" and c.side == "R")
             and c.test != "deep_squat"]
    sc = build_scorecard(clips)
    assert sc["composite"]["complete"] is False
    assert sc["missing_tests"] == ["deep_squat", "rotary_stability"]
    assert sc["tests"]["rotary_stability"]["missing_sides"] == ["R"]
    assert sc["composite"]["label"].startswith("incomplete: ")


def test_clearing_pain_scores_the_cleared_test_zero():
    clips = full_screen(SCORES)
    clips = [ClipResult(**{**c.to_dict(), "clearing_pain": True}) if c.test == "rotary_stability" and c.side == "L"
             else ClipResult(**{**c.to_dict(), "clearing_pain": True}) if c.test == "shoulder_mobility" and c.side == "R"
             else c for c in clips]
    sc = build_scorecard(clips)
    rot = sc["tests"]["rotary_stability"]
    assert rot["L"]["score"] == 0 and rot["R"]["score"] == 0      # spinal flexion clears both sides
    sm = sc["tests"]["shoulder_mobility"]
    assert sm["L"]["score"] == 3 and sm["R"]["score"] == 0        # shoulder clearing is per side
    cleared = {c["test"]: c for c in sc["clearing_tests"]}
    assert cleared["rotary_stability"]["pain"] and cleared["trunk_stability_pushup"]["pain"] is False


def test_best_repetition_counts_and_errors_are_kept():
    clips = full_screen(SCORES) + [clip("deep_squat", "NA", 3), ClipResult(line=9, clip="x.npz", test="hurdle_step",
                                                                           side="?", error="side not given")]
    sc = build_scorecard(clips)
    assert sc["tests"]["deep_squat"]["counted"] == 3 and sc["tests"]["deep_squat"]["clips"] == 2
    assert sc["tests"]["hurdle_step"]["errors"][0]["line"] == 9


def test_session_cli_scores_a_synthetic_screen(tmp_path, capsys):
    from tools.synth.session import make_synthetic_session
    manifest = make_synthetic_session(tmp_path / "clips", seed=5, sex="female",
                                      clearing_pain_tests=("trunk_stability_pushup",))
    # keep the test fast: four rows (one bilateral pair, the push-up with clearing pain, one bad side)
    lines = manifest.read_text().splitlines()
    keep = [lines[0]] + [ln for ln in lines[1:] if ln.startswith(("inline_lunge", "trunk_stability_pushup"))]
    keep.append("hurdle_step_L.npz,hurdle_step,,,,,")   # fine: the side is inferred
    manifest.write_text("\n".join(keep) + "\n")
    out = tmp_path / "session"
    rc = main(["session", str(manifest), "--out", str(out), "--athlete", "SYN-0005", "--sex", "F", "--json"])
    assert rc == 0
    sc = json.loads(capsys.readouterr().out)
    truth = json.loads((tmp_path / "clips" / "truth.json").read_text())["labels"]
    lunge = sc["tests"]["inline_lunge"]
    assert lunge["L"]["score"] == truth["inline_lunge_L"]["score"]
    assert lunge["R"]["score"] == truth["inline_lunge_R"]["score"]
    assert sc["tests"]["trunk_stability_pushup"]["counted"] == 0           # spinal extension clearing pain
    assert sc["tests"]["hurdle_step"]["L"]["side_inferred"] is True
    assert sc["composite"]["complete"] is False and "deep_squat" in sc["missing_tests"]
    assert (out / "session_report.html").is_file() and (out / "session_report.pdf").stat().st_size > 10_000
    html = (out / "session_report.html").read_text()
    assert "Composite: incomplete" in html and "data:image/png;base64," in html


def test_session_cli_bad_manifest_exits_2(tmp_path, capsys):
    m = write(tmp_path, "clip,test,side\nnothere.npz,hurdle_step,L\n")
    assert main(["session", str(m), "--out", str(tmp_path / "o")]) == 2
    assert "line 2, field clip: file not found" in capsys.readouterr().err
    assert main(["session", str(m), "--sex", "Q"]) == 2
