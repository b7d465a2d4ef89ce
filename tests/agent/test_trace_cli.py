"""The trace: its JSON Schema, `formscout trace verify` (fails on any one-character edit), publish and list."""
import json
import re
import shutil

import pytest
from jsonschema import Draft202012Validator

from agent.cli.main import main
from agent.screening.protocol import ScreenRequest
from agent.screening.run import screen
from agent.trace.record import load_trace
from agent.trace.check import SCHEMA_FILE, check_trace, schema_problems, trace_schema
from tests.skeleton_factory import squat_clip


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("trace")
    npz = squat_clip(depth_deg=15, trunk_deg=30, tibia_deg=35).save(tmp / "sq.npz")
    # the five core steps, whether or not an ST-GCN checkpoint or a clip library is installed on this machine
    screen(ScreenRequest(source=str(npz), test="deep_squat", run_dir=str(tmp / "run"), athlete_id="ATH-1",
                         use_stgcn=False, use_retrieval=False))
    return tmp / "run"


def test_schema_is_valid_and_documented():
    schema = trace_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["properties"]["schema"]["const"] == "formscout-trace/1"
    step = schema["$defs"]["step"]["properties"]
    assert all("description" in v for v in step.values())
    assert SCHEMA_FILE.name == "schema.json"


def test_a_real_trace_matches_the_schema(run_dir):
    doc = load_trace(run_dir / "trace.json")
    assert schema_problems(doc) == []
    check = check_trace(doc)
    assert check.intact and check.n_steps == 6   # the five core steps and segment_repetitions


@pytest.mark.parametrize("breakage, where", [
    (lambda d: d.pop("seal"), "(top)"),
    (lambda d: d["steps"][0].update(duration_ms="fast"), "steps/0/duration_ms"),
    (lambda d: d["input"].update(sha256="not-a-hash"), "input/sha256"),
    (lambda d: d["verdict"].update(score=5), "verdict/score"),
    (lambda d: d.update(raw_video="AAAA"), "(top)"),
    (lambda d: d["steps"][1].update(extra=1), "steps/1"),
])
def test_schema_catches_malformed_traces(run_dir, breakage, where):
    doc = load_trace(run_dir / "trace.json")
    breakage(doc)
    problems = schema_problems(doc)
    assert problems and any(p.startswith(f"schema: {where}") for p in problems), problems


def test_verify_says_intact(run_dir, capsys):
    assert main(["trace", "verify", str(run_dir / "trace.json")]) == 0
    out = capsys.readouterr().out
    assert "intact" in out and "NOT" not in out


def _digit_positions(text: str) -> list[int]:
    """Positions of digits spread over the file: in the header, the steps, the verdict and the seal."""
    marks = [text.index('"run_id"'), text.index('"steps"'), text.index('"decide"'), text.index('"verdict"'),
             text.index('"seal"')]
    out = []
    for m in marks:
        found = re.search(r"\d", text[m:])
        out.append(m + found.start())
    return out


def test_any_one_character_edit_fails_verify(run_dir, tmp_path, capsys):
    text = (run_dir / "trace.json").read_text()
    for i, pos in enumerate(_digit_positions(text)):
        edited = text[:pos] + ("1" if text[pos] != "1" else "2") + text[pos + 1:]
        path = tmp_path / f"edited_{i}.json"
        path.write_text(edited)
        rc = main(["trace", "verify", str(path)])
        out = capsys.readouterr().out
        assert rc == 1, (pos, text[pos - 40:pos + 10])
        assert "NOT intact" in out and "  - " in out


def test_verify_json_and_an_edited_score(run_dir, tmp_path, capsys):
    doc = json.loads((run_dir / "trace.json").read_text())
    doc["verdict"]["score"] = 2
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(doc))
    assert main(["trace", "verify", str(path), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["intact"] is False and report["schema_problems"] == []
    assert report["chain_problems"] == ["verdict or finish time changed after the run was sealed"]


def test_verify_bad_file_is_exit_2(tmp_path, capsys):
    bad = tmp_path / "x.json"
    bad.write_text("{not json")
    assert main(["trace", "verify", str(bad)]) == 2
    assert main(["trace", "verify", str(tmp_path / "missing.json")]) == 2
    assert "not found" in capsys.readouterr().err


def test_publish_is_one_self_contained_page(run_dir, tmp_path, capsys):
    out = tmp_path / "page.html"
    assert main(["trace", "publish", str(run_dir / "trace.json"), "--out", str(out)]) == 0
    assert "self-contained" in capsys.readouterr().out
    page = out.read_text()
    doc = load_trace(run_dir / "trace.json")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert not re.search(r"""(src|href)=['"](https?:)?//""", page)            # nothing fetched from outside
    assert page.count("data:image/jpeg;base64,") == 5                         # 4 keyframes + deciding frame
    assert page.count("data:image/png;base64,") >= 4                          # angle plots of the criteria
    assert "intact" in page and "NOT intact" not in page
    assert "Screening aid, not a diagnosis" in page
    for step in doc["steps"]:
        assert f"{step['index']}. {step['tool']}" in page
    for c in doc["verdict"]["criteria"]:
        assert c["id"] in page
    assert doc["run_id"] in page and "<details>" in page
    assert "[deep_squat.score3]" in page                                       # passages the score rests on


def test_publish_without_frames_and_of_an_edited_trace(run_dir, tmp_path, capsys):
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    text = (copy / "trace.json").read_text()
    (copy / "trace.json").write_text(text.replace('"athlete_id": "ATH-1"', '"athlete_id": "ATH-2"', 1))
    out = tmp_path / "p.html"
    assert main(["trace", "publish", str(copy / "trace.json"), "--out", str(out), "--no-frames"]) == 0
    page = out.read_text()
    assert "data:image/jpeg" not in page and "left out" in page
    assert "NOT intact" in page


def test_list_finds_traces(run_dir, capsys):
    assert main(["trace", "list", str(run_dir.parent), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 1 and rows[0]["test"] == "deep_squat" and rows[0]["score"] == 3 and rows[0]["intact"]
    assert main(["trace", "list", str(run_dir.parent)]) == 0
    assert "score 3  [intact]" in capsys.readouterr().out
