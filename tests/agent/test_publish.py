"""The published trace page (agent.trace.publish) directly: headlines that cannot be misread, integrity first."""
from __future__ import annotations

import copy
import re

import pytest

from agent.screening.protocol import ScreenRequest
from agent.screening.run import screen
from agent.trace.publish import publish, render_page
from agent.trace.record import load_trace, seal
from tests.skeleton_factory import squat_clip

BADGE = re.compile(r'class="score s[0-3]"')


def _run(tmp, name: str, **clip_kw) -> dict:
    npz = squat_clip(**clip_kw).save(tmp / f"{name}.npz")
    screen(ScreenRequest(source=str(npz), test="deep_squat", run_dir=str(tmp / name), use_stgcn=False,
                         use_retrieval=False))
    return load_trace(tmp / name / "trace.json")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("publish")
    clean = _run(tmp, "clean", depth_deg=15, trunk_deg=30, tibia_deg=35)
    no_dowel = _run(tmp, "no_dowel", depth_deg=15, trunk_deg=30, tibia_deg=35, arms_overhead=False)
    return tmp, clean, no_dowel


def _resealed(doc: dict, **verdict) -> dict:
    out = copy.deepcopy(doc)
    out["verdict"].update(verdict)
    out["seal"] = seal(out)
    return out


def test_a_clean_three_reads_score_3_with_the_decisions_confidence(runs):
    tmp, clean, _ = runs
    v = clean["verdict"]
    assert v["score"] == 3 and not v["review"] and v["test_recognition"]["matches_asked"] is True
    page = render_page(clean, tmp / "clean", frames=False)
    assert "Deep squat: score 3 of 3" in page and 'class="score s3"' in page
    assert f"Confidence {v['confidence']:.2f}" in page
    assert "Closest to failing" in page and "Deciding criterion" not in page     # a pass has no decider
    assert "Squat depth (thigh below horizontal)" in page                           # physio names ...
    assert "positive when the hip sits below the knee" in page                      # ... with the sign
    card = page[page.index('<div class="card verdict">'):page.index("<h2>")]
    assert "heels were on a board" in card and "--" not in card and "NOT intact" not in page


def test_a_review_is_provisional_without_a_confidence(runs):
    tmp, clean, _ = runs
    doc = _resealed(clean, review=True, confidence=1.0, reasons=["borderline: dowel over the feet"])
    page = render_page(doc, tmp / "clean", frames=False)
    assert "Deep squat: provisional 3, physio review" in page and "score provisional" in page
    assert not BADGE.search(page) and "confidence 1.00" not in page.lower()


def test_a_movement_that_is_not_the_test_has_no_score_on_the_page(runs):
    tmp, _, no_dowel = runs
    v = no_dowel["verdict"]
    assert v["test_recognition"]["matches_asked"] is False               # no dowel overhead: not a deep squat
    assert any("asked for deep squat, but the movement does not look like one" in r for r in v["reasons"])
    page = render_page(no_dowel, tmp / "no_dowel", frames=False)
    assert "This does not look like a deep squat: no score" in page
    assert not BADGE.search(page) and "score provisional" not in page and "no score</div>" in page
    assert "not a result" in page


def test_an_edited_trace_is_not_intact_everywhere_on_the_page(runs, tmp_path):
    tmp, clean, _ = runs
    edited = copy.deepcopy(clean)
    edited["verdict"]["score"] = 1                                       # changed after the run, seal not redone
    page = render_page(edited, tmp / "clean", frames=False)
    assert "NOT intact: do not use this result" in page
    assert not BADGE.search(page) and "score 1 of 3" not in page and "score 3 of 3" not in page
    assert "<title>FormScout trace" in page and "NOT intact: do not use this result</title>" in page


def test_publish_writes_one_file_atomically(runs, tmp_path):
    tmp, _, _ = runs
    out = publish(tmp / "clean" / "trace.json", tmp_path / "sub" / "page.html", frames=False)
    assert out.is_file() and out.read_text().startswith("<!DOCTYPE html>")
    assert not list(out.parent.glob(".*.tmp"))


def test_the_overlay_of_a_movement_that_is_not_the_test_marks_no_deciding_criterion(runs):
    tmp, clean, no_dowel = runs
    overlay = {s["tool"]: s for s in no_dowel["steps"]}["render_overlay"]
    assert overlay["arguments"]["deciding_criterion"] == "" and overlay["arguments"]["deciding_frame"] == -1
    assert overlay["result"]["deciding_frame_png"] is None
    clean_overlay = {s["tool"]: s for s in clean["steps"]}["render_overlay"]
    assert clean_overlay["arguments"]["deciding_criterion"]                 # the asked-for test: it is drawn
