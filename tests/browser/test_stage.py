"""The stage: for every starter, at a projector's 1280x720 and at 1440x900, after Train the
network graph, the family's main output view and the loss chart are on the first screen, drawn,
with no sideways scroll; phones (390x844) get one column with no sideways scroll. Screenshots of
every starter at 1280x720 go to test-artifacts/stage-<starter>-1280x720.png."""

from __future__ import annotations

import pytest
from browser_helpers import ARTIFACTS, canvas_colours, wait_drawn

pytestmark = pytest.mark.browser

STARTERS = "import('/static/js/starters.js').then((m) => m.STARTERS.map((s) => s.id))"

# Bounding boxes of the three must-see parts, the page's width and the viewport.
LAYOUT = """
() => {
  const box = (sel) => { const r = document.querySelector(sel).getBoundingClientRect();
    return [r.left, r.top, r.right, r.bottom]; };
  const main = document.body.dataset.mainView;
  return {
    graph: box('#graph'), loss: box('#loss-chart'), main: box('#' + main), mainId: main,
    controls: box('#run-bar'), data: box('#data-preview'),
    scrollWidth: document.documentElement.scrollWidth, width: innerWidth, height: innerHeight,
  };
}
"""


def inside(box, width, height) -> bool:
    left, top, right, bottom = box
    return left >= 0 and top >= 0 and right <= width + 0.5 and bottom <= height + 0.5


def starter_ids(browser, server_url) -> list[str]:
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{server_url}/")
    page.wait_for_selector("body[data-ready='true']")
    ids = page.evaluate(STARTERS)
    context.close()
    return ids


def open_fresh(lab, fragment: str) -> None:
    lab.page.goto("about:blank")
    lab.open(fragment)
    lab.page.wait_for_selector("body[data-check='ok']", timeout=20_000)


@pytest.mark.parametrize("size", [(1280, 720), (1440, 900)])
def test_every_starter_fits_one_screen_after_train(lab, browser, server_url, size):
    width, height = size
    page = lab.page
    page.set_viewport_size({"width": width, "height": height})
    for starter in starter_ids(browser, server_url):
        open_fresh(lab, f"#starter={starter}")
        # Starters train until paused: the run goes on while a class watches.
        assert page.evaluate("window.layerlab.experiment.training.epochs") is None, starter
        page.click("#train")
        page.wait_for_function(
            "Number(document.getElementById('loss-chart').dataset.points || 0) >= 2",
            timeout=60_000,
        )
        layout = page.evaluate(LAYOUT)
        main = layout["mainId"]
        wait_drawn(page, main, timeout=60_000)
        wait_drawn(page, "loss-chart")
        page.wait_for_function(
            "Number(document.getElementById('network-graph').dataset.links || 0) > 0"
            " || document.querySelectorAll('.gblock').length >= 2"
        )
        assert page.get_attribute("#network-graph", "data-drawn") == "true", starter
        assert page.locator("#graph .gblock").count() >= 2, starter
        assert canvas_colours(page, "data-preview") > 8, f"{starter}: blank data preview"
        layout = page.evaluate(LAYOUT)
        for part in ("graph", "loss", "main", "controls", "data"):
            assert inside(layout[part], width, height), (starter, size, part, layout)
        assert layout["scrollWidth"] <= width, (starter, size, layout["scrollWidth"])
        if size == (1280, 720):
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"stage-{starter}-1280x720.png"))
        page.click("#pause")
        page.wait_for_function("document.getElementById('status').dataset.status === 'paused'")
        page.click("#stop")
        page.wait_for_function("document.getElementById('status').dataset.status === 'stopped'")


def test_phone_has_one_column_and_no_sideways_scroll(lab, browser, server_url):
    page = lab.page
    page.set_viewport_size({"width": 390, "height": 844})
    for starter in starter_ids(browser, server_url):
        open_fresh(lab, f"#starter={starter}")
        layout = page.evaluate(LAYOUT)
        assert layout["scrollWidth"] <= 390, (starter, layout["scrollWidth"])
        bar = layout["controls"]
        assert bar[3] - bar[1] <= 0.15 * 844, (starter, "run bar too tall", bar)
        # One column: the data, the network and the output stack vertically.
        columns = page.evaluate(
            "['data-column', 'model-column', 'output-column'].map((id) =>"
            " document.getElementById(id).getBoundingClientRect().left)"
        )
        assert max(columns) - min(columns) < 2, (starter, columns)
    # A trained spiral still fits sideways.
    open_fresh(lab, "#starter=spiral-mlp")
    page.click("#train")
    wait_drawn(page, "boundary", timeout=60_000)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "stage-spiral-mlp-390x844.png"), full_page=True)
    page.click("#stop")


def test_projector_mode_fits_graph_output_and_loss(lab):
    page = lab.page
    page.set_viewport_size({"width": 1280, "height": 720})
    open_fresh(lab, "#starter=spiral-mlp")
    page.click("#projector")
    assert page.evaluate("document.documentElement.classList.contains('projector')")
    page.click("#train")
    wait_drawn(page, "boundary", timeout=60_000)
    wait_drawn(page, "loss-chart")
    layout = page.evaluate(LAYOUT)
    for part in ("graph", "loss", "main"):
        assert inside(layout[part], 1280, 720), (part, layout)
    # No editing chrome: no insert buttons, no inspector; type is larger.
    assert not page.locator(".ginsert").first.is_visible()
    assert not page.is_visible("#inspector")
    assert page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)") >= 20
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "stage-projector-1280x720.png"))
    page.click("#stop")
