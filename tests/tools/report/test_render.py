"""The session report renderer (tools/report/render.py) directly: headlines per clip, integrity, provisional."""
from __future__ import annotations

import re

from tools.report.render import render_html, write_report
from tools.report.scorecard import ClipResult, build_scorecard

CRIT = [{"id": "dowel_over_feet", "value": 0.264, "unit": "m", "threshold": 0.1, "pass_if": "<=", "passed": False,
         "deciding_frame": 12, "measure": "hands_outside_feet_m"}]


def _clip(line: int, test: str, side: str, score, review: bool, **kw) -> ClipResult:
    return ClipResult(line=line, clip=f"clip{line}.npz", test=test, side=side, score=score, review=review,
                      confidence=0.9, deciding_criterion=kw.pop("decider", None), criteria=kw.pop("criteria", []),
                      **kw)


def _scorecard():
    rec_no = {"asked": "deep_squat", "asked_score": 0.0, "looks_like": None, "matches_asked": False}
    clips = [
        _clip(2, "hurdle_step", "L", 3, False, trace_intact=True),
        _clip(3, "hurdle_step", "R", 2, True, trace_intact=True, reasons=["borderline: lumbar stability"]),
        _clip(4, "deep_squat", "NA", None, True, trace_intact=True, test_recognition=rec_no,
              decider="dowel_over_feet", criteria=CRIT, reasons=["the movement does not look like the asked-for test"]),
        _clip(5, "inline_lunge", "L", None, True, trace_intact=False,
              reasons=["NOT intact: do not use this result: the run's trace does not verify"]),
    ]
    return build_scorecard(clips, athlete_id="ATH-R1", sex="M")


def test_each_clip_reads_as_its_headline_says():
    page = render_html(_scorecard(), "FMS session report - ATH-R1")
    assert "This does not look like a deep squat: no score" in page
    assert "Measured as if it were this test (not a result)" in page
    assert "NOT intact: do not use this result" in page
    assert "provisional 2" in page and 'class="score provisional"' in page       # the review drawn as provisional
    assert "Dowel over the feet" in page and "at most 0.1 m" in page              # physio names and thresholds
    lunge = page[page.index("In-line lunge, left"):]
    lunge = lunge[: lunge.index("</div>")]
    assert not re.search(r'class="score"[^>]*>[0-3]<', lunge)                    # no score badge when not intact


def test_write_report_html_only(tmp_path):
    paths = write_report(_scorecard(), tmp_path, pdf=False)
    assert paths["pdf"] is None and (tmp_path / "session_report.html").read_text().startswith("<!DOCTYPE html>")
