"""The Recording tab in a real browser: a whole screen in one take split, corrected by the physio, scored.

Screenshots land in docs/app_recording_timeline.png (the split with every repetition and, after scoring,
the one that counted) and docs/app_recording_correction.png (the correction step: a moved boundary).
"""
from __future__ import annotations

import pytest

from tests.app.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()


def _wait_text(page, selector: str, needle: str, timeout_s: float = 600.0) -> str:
    page.wait_for_function("([s, n]) => { const el = document.querySelector(s); return !!el && "
                           "(el.innerText.includes(n) || el.innerText.includes('Could not do that') || "
                           "el.innerText.includes('Something went wrong')); }", arg=[selector, needle],
                           timeout=timeout_s * 1000)
    return page.inner_text(selector)


def _cell(page, row: int, col: int):
    return page.locator(f"#recording_segments [data-testid='cell-{row}-{col}']")


def test_recording_split_correct_and_score(page):
    _tab(page, "Recording")
    page.check("#recording_demo input[type=checkbox]")
    page.click("#recording_split")
    summary = _wait_text(page, "#recording_summary", "tests found")
    assert "7 tests found" in summary, summary
    page.wait_for_selector("#recording_timeline_bar .fs-split")
    assert page.locator("#recording_timeline .fs-split").count() == 6
    assert page.locator("#recording_timeline .fs-rep").count() >= 7         # every test shows its repetitions
    assert page.locator("#recording_timeline .fs-thumb img").count() == 6   # a thumbnail per split point
    first_end = float(_cell(page, 0, 3).inner_text().split()[0])

    # the correction step: move the first boundary 2 s earlier, apply
    cell = _cell(page, 0, 3)
    cell.dblclick()
    editor = cell.locator("textarea, input").first
    editor.fill(f"{first_end - 2:.1f}")
    editor.press("Enter")
    page.wait_for_function("(v) => document.querySelector(\"#recording_segments [data-testid='cell-0-3']\")"
                           ".innerText.trim().startsWith(v)", arg=f"{first_end - 2:.1f}")
    page.click("#recording_apply")
    summary = _wait_text(page, "#recording_summary", "corrected by the physio", 120)
    assert "corrected by the physio" in summary, summary
    assert "set by the physio" in page.inner_text("#recording_timeline")
    box = page.locator("#recording_correct_box")
    box.scroll_into_view_if_needed()
    screenshot(page, "app_recording_correction.png", full_page=True)

    # score the corrected split: every test, the composite, the repetitions that counted
    page.click("#recording_score")
    result = _wait_text(page, "#recording_result", "omposite", 900)
    assert "omposite" in result and "Could not" not in result, result
    page.wait_for_selector("#recording_timeline .fs-counted")
    page.locator("#recording_timeline").scroll_into_view_if_needed()
    screenshot(page.locator("#recording_timeline"), "app_recording_timeline.png")
    assert "Traceback" not in page.inner_text("body")
