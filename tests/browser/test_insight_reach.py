"""How a learner finds the projector and the recommendations: the "Recommending" lesson says to
press Try it, and Try it and Project sit on the stage under the network, on screen without
scrolling at 1280x720 and 1440x900 (and reachable on a phone, 390x844), never moving the stage
when a run starts. Screenshots of each size go to test-artifacts/ to be looked at."""

from __future__ import annotations

import contextlib

import pytest
from browser_helpers import PageWatch, wait_status

pytestmark = pytest.mark.browser

SIZES = (
    {"width": 1280, "height": 720},
    {"width": 1440, "height": 900},
    {"width": 390, "height": 844},
)


@contextlib.contextmanager
def page_at(browser, base: str, viewport: dict):
    context = browser.new_context(viewport=viewport)
    try:
        page = context.new_page()
        page.set_default_timeout(60_000)
        watch = PageWatch(page, base)
        yield watch
        assert not watch.unexpected_errors(), watch.unexpected_errors()
    finally:
        context.close()


def box(page, selector: str) -> dict:
    return page.evaluate(
        "(s) => { const r = document.querySelector(s).getBoundingClientRect();"
        " return {x: r.x, y: r.y + window.scrollY, w: r.width, h: r.height}; }",
        selector,
    )


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s['width']}x{s['height']}")
def test_the_recommending_lesson_leads_to_try_it_on_the_stage(browser, server_url, size):
    with page_at(browser, server_url, size) as lab:
        page = lab.page
        lab.open("#lesson=ratings-recommender")
        page.wait_for_selector("body[data-check='ok']")
        note = " ".join(page.text_content("#lesson-note").split())
        assert "press Try it under the network" in note
        strip = page.locator("#insight-strip")
        assert page.is_visible("#open-recommend") and page.is_visible("#open-projector")
        before = box(page, "#open-recommend")
        step = box(page, "#step-mode")
        beside = "document.getElementById('insight-strip').previousElementSibling.id"
        assert page.evaluate(beside) == "step-mode"  # in the Step through row
        if size["width"] >= 1280:  # the stage fits the screen: no scrolling to find it
            assert abs(before["y"] - step["y"]) < step["h"]  # on its line (a phone's row wraps)
            assert before["y"] + before["h"] <= size["height"], before
        page.click("#train")  # a lesson trains until paused
        page.wait_for_function("window.layerlab.session.epoch >= 8", timeout=180_000)
        page.click("#pause")
        wait_status(page, "paused")
        if size["width"] >= 1280:  # (a phone's stacked page grows above it as a run goes)
            assert box(page, "#open-recommend") == before  # the stage did not move
        lab.screenshot(f"insight-stage-{size['width']}x{size['height']}")

        strip.locator("#open-recommend").click()
        page.wait_for_selector("#rec-map[data-drawn='true']", timeout=120_000)
        page.wait_for_selector("#rec-rmse[data-better='true']")
        top = box(page, "#recommend-section")
        scrolled = page.evaluate("window.scrollY")
        assert abs(top["y"] - scrolled) < size["height"] / 2  # scrolled to it
        path = lab.screenshot(f"insight-recommend-{size['width']}x{size['height']}")
        assert path.exists()
        page.click("#stop")
        wait_status(page, "stopped")
