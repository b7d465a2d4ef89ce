"""The app end to end in a real browser (Chromium through Playwright): screen, library, traces, chat, bad input.

Screenshots of each tab land in docs/app_*.png only on request (FORMSCOUT_SCREENSHOTS=1: `make screenshots`).
"""
from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from tests.app.browser.conftest import MAX_UPLOAD_MB, screenshot, start_app, upload_clip
from tests.skeleton_factory import squat_clip

# browser tests start the app (15-25 s here) and drive Chromium: `slow` as well, per the project's markers
pytestmark = [pytest.mark.browser, pytest.mark.slow]
VERDICT_DONE = """() => {
  const el = document.querySelector('#verdict');
  if (!el) return false;
  const head = el.querySelector('h2, h3');
  return !!head && /of 3|physio review|no score|NOT intact|Could not do that|Something went wrong/.test(head.innerText);
}"""


def _screen(page, timeout_s: float = 180.0) -> str:
    page.click("#screen_button")
    page.wait_for_function(VERDICT_DONE, timeout=timeout_s * 1000)
    return page.inner_text("#verdict")


def _tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()


def _no_stack_trace(page) -> None:
    body = page.inner_text("body")
    assert "Traceback" not in body and 'File "' not in body


def _ask(page, question: str) -> str:
    """Ask the chat and wait for the answer (the question box empties when it lands); returns the new text."""
    before = page.inner_text("#chat")
    page.fill("#question input, #question textarea", question)
    page.click("#ask_button")
    page.wait_for_function("(b) => document.querySelector('#chat').innerText !== b && "
                           "document.querySelector('#question textarea, #question input').value === ''", arg=before)
    after = page.inner_text("#chat")
    return after[len(before):] if after.startswith(before) else after


def _labels_csv(path: Path, rows: list[dict]) -> Path:
    header = ["clip_id", "athlete_id", "date", "test_name", "side", "score", "pain", "compensation_notes",
              "camera_view", "consent_on_file"]
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=header)
        w.writeheader()
        w.writerows(rows)
    return path


# ----- bad input ------------------------------------------------------------------------------------------------
def test_bad_inputs_get_a_clear_message_and_no_stack_trace(page, app_server, tmp_path):
    url = app_server[0]
    assert "No clip yet" in _screen(page)
    _no_stack_trace(page)

    cases = []
    txt = tmp_path / "notes.txt"
    txt.write_text("session notes, not a video")
    cases.append((txt, "not a video clip"))
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    cases.append((empty, "empty (0 bytes)"))
    fake = tmp_path / "fake.mp4"
    fake.write_text("plain text wearing a video's name")
    cases.append((fake, "fake.mp4"))
    for path, needle in cases:
        page.goto(url)
        page.wait_for_selector("#screen_button")
        upload_clip(page, path)
        text = _screen(page)
        assert "Could not do that" in text and needle in text, text
        _no_stack_trace(page)
    screenshot(page, "app_bad_input.png")

    # the chat with nothing to talk about, and with an athlete the library does not know
    page.goto(url)
    page.wait_for_selector("#screen_button")
    _tab(page, "Ask")
    _ask(page, "why this score?")
    assert "Screen a clip first" in page.inner_text("#chat")
    page.fill("#ask_athlete input, #ask_athlete textarea", "NOBODY-9")
    _ask(page, "why a 2 on the left hurdle step?")
    assert "no screening runs for athlete NOBODY-9" in page.inner_text("#chat")
    _no_stack_trace(page)

    big = tmp_path / "big.mp4"
    big.write_bytes(b"\0" * int(1.5 * MAX_UPLOAD_MB * 1024 * 1024))
    page.goto(url)
    page.wait_for_selector("#screen_button")
    page.locator("#clip_upload input[type=file]").set_input_files(str(big))
    page.get_by_text("exceed the maximum allowed size").first.wait_for()
    _no_stack_trace(page)


def test_login_from_environment_variables(browser, tmp_path):
    with start_app(tmp_path, {"FORMSCOUT_APP_USER": "physio", "FORMSCOUT_APP_PASSWORD": "knee-over-toe"}) as url:
        context = browser.new_context()
        pg = context.new_page()
        pg.set_default_timeout(90_000)
        pg.goto(url)
        pg.locator("input[type=password]").wait_for()
        assert pg.locator("#screen_button").count() == 0
        pg.locator("input[type=text], input:not([type])").first.fill("physio")
        pg.locator("input[type=password]").fill("wrong")
        pg.get_by_role("button", name=re.compile("log ?in", re.I)).click()
        pg.get_by_text(re.compile("incorrect", re.I)).first.wait_for()
        pg.locator("input[type=text], input:not([type])").first.fill("physio")   # the form clears after a miss
        pg.locator("input[type=password]").fill("knee-over-toe")
        pg.get_by_role("button", name=re.compile("log ?in", re.I)).click()
        pg.wait_for_selector("#screen_button")
        context.close()


# ----- end to end ----------------------------------------------------------------------------------------------
def test_library_screen_traces_and_chat_end_to_end(page, app_server, tmp_path):
    url, home = app_server

    # 1. add a labelled clip (a skeleton) and refuse one without consent
    _tab(page, "Library")
    npz = squat_clip(depth_deg=12, trunk_deg=30, tibia_deg=35).save(tmp_path / "LIB-C1.npz")
    labels = _labels_csv(tmp_path / "labels.csv", [
        dict(clip_id="LIB-C1", athlete_id="ATH-LIB-1", date="2026-01-05", test_name="deep_squat", side="NA",
             score=3, pain="false", compensation_notes="clean squat", camera_view="side", consent_on_file="true"),
        dict(clip_id="LIB-C2", athlete_id="ATH-LIB-2", date="2026-01-05", test_name="deep_squat", side="NA",
             score=2, pain="false", compensation_notes="", camera_view="side", consent_on_file="false")])
    page.locator("#labels_csv input[type=file]").set_input_files(str(labels))
    page.locator("#label_clips input[type=file]").set_input_files([str(npz)])
    page.wait_for_function("() => document.querySelector('#label_clips').innerText.includes('LIB-C1.npz')")
    page.click("#add_button")
    page.wait_for_function("() => document.querySelector('#add_result').innerText.includes('Added')",
                           timeout=120_000)
    added = page.inner_text("#add_result")
    assert "Added 1" in added and "refused 1" in added and "no consent on file" in added
    assert "1 physio-scored clips" in page.inner_text("#library_stats")
    screenshot(page, "app_library.png", full_page=True)

    # 2. screen the bundled demo clip
    page.goto(url)
    page.wait_for_selector("#screen_button")
    page.check("#use_demo input[type=checkbox]")
    page.fill("#athlete input, #athlete textarea", "ATH-DEMO-1")
    text = _screen(page)
    assert re.search(r"Deep squat: (score [0-3] of 3|provisional [0-3], physio review|no score, physio review)",
                     text), text
    assert "not a diagnosis" in text
    verdict_files = sorted((home / "app" / "runs").glob("*/verdict.json"))
    verdict = json.loads(verdict_files[-1].read_text())
    table = page.inner_text("#criteria")
    assert verdict["criteria"], "the demo clip was not measured"
    from tools.report.vocabulary import criterion_name
    for c in verdict["criteria"]:
        assert criterion_name("deep_squat", c["id"]).name in table
        if c["value"] is not None:
            assert f"{c['value']:.3g} {c['unit']}" in table
    if verdict["score"] is not None and not verdict["review"]:
        assert f"score {verdict['score']} of 3" in text
    elif verdict["score"] is not None:
        assert f"provisional {verdict['score']}, physio review" in text and "Confidence" not in text
    assert "ATH-LIB-1" in page.inner_text("#similar") or "LIB-C1" in page.inner_text("#similar")

    # the overlay plays and jumps to the deciding frame
    if verdict.get("deciding_time_s") is not None:
        page.wait_for_selector("#overlay video")
        page.wait_for_function("() => document.querySelector('#overlay video').readyState >= 1")
        page.click("#jump_button")
        page.wait_for_function("(t) => Math.abs(document.querySelector('#overlay video').currentTime - t) < 0.05",
                               arg=verdict["deciding_time_s"])
    screenshot(page, "app_screen.png", full_page=True)

    # 3. ask why: the answer, bound to this run, cites the measured value of the deciding criterion
    _tab(page, "Ask")
    page.wait_for_function("() => document.querySelector('#ask_context').innerText.includes('Talking about')")
    answer = _ask(page, "why this score?")
    decider = next((c for c in verdict["criteria"] if c["id"] == verdict["deciding_criterion"]), None)
    if decider is not None and decider["value"] is not None:
        cited = re.search(r"measured (-?\d+(?:\.\d+)?) (\w+)", answer)
        assert cited, answer
        assert abs(float(cited.group(1)) - decider["value"]) <= 0.01 * abs(decider["value"]) + 1e-3
        assert cited.group(2) == decider["unit"]
        page.wait_for_selector("#chat img")              # the deciding frame, inline
    else:
        # no criterion could be judged from this view: the answer says why the clip goes to a physio instead
        assert verdict["review"] and "review" in answer.lower(), answer
    screenshot(page, "app_ask.png", full_page=True)

    # 4. the run's trace verifies and publishes
    _tab(page, "Traces")
    page.click("#trace_refresh")
    page.locator("#trace_run input").click()
    page.get_by_role("option").first.click()
    page.click("#trace_verify")
    page.wait_for_function("() => document.querySelector('#trace_result').innerText.includes('Trace')")
    assert "Trace intact" in page.inner_text("#trace_result")
    page.click("#trace_publish")
    page.wait_for_selector("#trace_page iframe", timeout=120_000)
    page.frame_locator("#trace_page iframe").get_by_text("Screening aid, not a diagnosis").first.wait_for()
    screenshot(page, "app_traces.png", full_page=True)
    _no_stack_trace(page)

    # 5. a whole session (synthetic athlete, every test): scorecard, report, history from the catalog
    page.goto(url)
    page.wait_for_selector("#screen_button")
    _tab(page, "Session scorecard")
    page.check("#session_demo input[type=checkbox]")
    page.fill("#session_athlete input, #session_athlete textarea", "SYN-SESSION-1")
    page.locator("#session_sex").get_by_label("Male", exact=True).check()
    page.click("#session_button")
    page.wait_for_function("() => /Composite|Could not do that|went wrong/.test("
                           "document.querySelector('#session_summary').innerText)", timeout=600_000)
    summary = page.inner_text("#session_summary")
    sessions = sorted((home / "app" / "sessions").glob("*/out/session.json"))
    scorecard = json.loads(sessions[-1].read_text())
    assert f"Composite for SYN-SESSION-1: {scorecard['composite']['label']}" in summary, summary
    table = page.inner_text("#session_table")
    for label in ("Deep squat", "Hurdle step", "In-line lunge", "Shoulder mobility", "Active straight-leg raise",
                  "Trunk stability push-up", "Rotary stability"):
        assert label in table
    report = page.frame_locator("#session_report iframe")
    report.get_by_text(f"Composite: {scorecard['composite']['label']}").wait_for()
    assert ".pdf" in page.inner_text("#session_files")
    page.wait_for_function("() => document.querySelector('#session_history').innerText.includes('Hurdle step')")
    page.locator("#session_report iframe").scroll_into_view_if_needed()
    page.wait_for_timeout(1500)                          # let the 0.8 MB report paint before the screenshots
    screenshot(page, "app_session.png", full_page=True)
    screenshot(page.locator("#session_report iframe"), "app_session_report.png")
    _no_stack_trace(page)

    # 6. the library: rubric passages, similar clips, and erasing an athlete (with a confirmation step)
    _tab(page, "Library")
    page.get_by_text("Search the library").click()
    page.locator("#search_file input[type=file]").set_input_files(str(npz))
    page.wait_for_function("() => document.querySelector('#search_file').innerText.includes('LIB-C1.npz')")
    page.click("#search_button")
    page.wait_for_function("() => document.querySelector('#search_results').innerText.includes('LIB-C1')")
    page.click("#passage_sync")
    page.wait_for_function("() => document.querySelector('#passage_note').innerText.includes('added')",
                           timeout=180_000)
    page.fill("#passage_query input, #passage_query textarea", "heels rise off the floor in the squat")
    page.click("#passage_button")
    page.wait_for_function("() => document.querySelector('#passage_results').innerText.includes('deep_squat')")

    demo_runs = [p.parent for p in (home / "app" / "runs").glob("*/trace.json")
                 if json.loads(p.read_text()).get("athlete_id") == "ATH-DEMO-1"]
    assert demo_runs
    page.get_by_text("Erase an athlete").click()
    page.fill("#erase_athlete input, #erase_athlete textarea", "ATH-DEMO-1")
    page.click("#erase_check")
    page.wait_for_function("() => document.querySelector('#erase_plan').innerText.includes('Erase athlete')")
    assert "1 screening runs" in page.inner_text("#erase_plan")
    assert all(d.exists() for d in demo_runs)               # nothing goes before the confirmation
    page.click("#erase_confirm")
    page.wait_for_function("() => document.querySelector('#erase_plan').innerText.includes('Erased athlete')")
    assert not any(d.exists() for d in demo_runs)
    screenshot(page, "app_library_search_erase.png", full_page=True)
    _no_stack_trace(page)


# ----- several people in frame: the physio clicks on the athlete ------------------------------------------------
def test_a_click_on_the_first_frame_chooses_between_two_athletes(page, app_server, tmp_path):
    """Two people squat side by side: FormScout alone cannot tell who is screened; a click settles it."""
    from tools.synth.crowd import make_crowd_clip

    url, home = app_server
    out = make_crowd_clip(tmp_path / "two", "two_athletes", size=(480, 360))
    import numpy as np
    with np.load(out["files"]["truth"]) as t:
        x0, y0, x1, y1 = (float(v) for v in t["others_box_xyxy"][0, 0])    # pick the *second* person
    page.locator("#clip_upload input[type=file]").set_input_files(str(out["files"]["video"]))
    page.get_by_text("Other people in the frame? Click on the athlete").click()
    img = page.locator("#pick_frame img")
    img.wait_for(state="visible", timeout=60_000)
    page.wait_for_function("() => { const i = document.querySelector('#pick_frame img'); "
                           "return i && i.complete && i.naturalWidth > 0; }")
    shown = img.bounding_box()
    natural_w = page.evaluate("() => document.querySelector('#pick_frame img').naturalWidth")
    scale = shown["width"] / natural_w
    img.click(position={"x": (x0 + x1) / 2 * scale, "y": (y0 + y1) / 2 * scale})
    page.wait_for_function("() => document.querySelector('#pick_note').innerText.includes('Athlete picked')")
    note = page.inner_text("#pick_note")
    px, py = (float(v) for v in re.search(r"x=(\d+), y=(\d+)", note).groups())
    assert abs(px - (x0 + x1) / 2) <= 3 and abs(py - (y0 + y1) / 2) <= 3
    screenshot(page, "app_pick_athlete.png", full_page=True)

    text = _screen(page)
    _no_stack_trace(page)
    assert "two people could be the athlete" not in text
    trace = json.loads(sorted((home / "app" / "runs").glob("*/trace.json"))[-1].read_text())
    pose = next(s for s in trace["steps"] if s["tool"] == "estimate_pose" and s["error"] is None)
    assert pose["arguments"]["athlete_point"] == [px, py]
    selection = pose["result"]["selection"]
    assert selection["method"] == "point" and not selection["ambiguous"]
