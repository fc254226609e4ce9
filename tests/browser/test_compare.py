"""Compare runs: two runs trained from the page with different learning rates, listed and
overlaid on one chart, and one's design loaded back into the editor."""

from __future__ import annotations

import pytest
from browser_helpers import LABELS, experiment_hash, spiral, wait_drawn, wait_status

pytestmark = pytest.mark.browser


def train_to_end(page) -> str:
    page.click("#train")
    wait_status(page, "finished")
    return page.evaluate("window.layerlab.session.runId")


def test_compare_two_runs_and_load_a_design(lab):
    page = lab.page
    lab.open(experiment_hash(spiral(epochs=15, samples=200, learning_rate=0.01)))
    page.wait_for_selector("body[data-check='ok']")
    first = train_to_end(page)

    page.fill("#live-lr", "0.05")
    page.wait_for_function("window.layerlab.experiment.training.learning_rate === 0.05")
    page.click("#reset")
    wait_status(page, "idle")
    second = train_to_end(page)
    assert first != second

    # Closed until asked for; opening it lists the runs, newest first, this page's run marked.
    assert not page.is_visible("#compare-table")
    page.click("#compare-runs > summary")
    page.wait_for_selector(f"#compare-table tr[data-run='{first}']")
    page.wait_for_selector(f"#compare-table tr[data-run='{second}']")
    order = page.eval_on_selector_all(
        "#compare-table tbody tr", "rows => rows.map(r => r.dataset.run)"
    )
    assert order.index(second) < order.index(first)
    assert page.get_attribute(f"tr[data-run='{second}']", "aria-current") == "true"
    assert page.get_attribute(f"tr[data-run='{first}']", "aria-current") is None
    row = page.text_content(f"tr[data-run='{first}']")
    assert "spiral" in row and "dense 8 · dense 8" in row and "finished" in row and "15 / 15" in row
    assert page.get_attribute("#compare-chart", "data-series") == "0"

    for run_id in (first, second):
        page.check(f"[id='compare-{run_id}']")
    page.wait_for_function("document.getElementById('compare-chart').dataset.series === '2'")
    wait_drawn(page, "compare-chart")
    assert page.get_attribute("#compare-chart", "data-points") == "15"
    legend = page.text_content("#compare-legend")
    assert first in legend and second in legend and "lr 0.05" in legend and "lr 0.01" in legend

    # Keyboard: the chart reads both runs' values at one epoch.
    page.focus("#compare-chart")
    page.keyboard.press("Home")
    readout = page.text_content("#compare-readout")
    assert readout.startswith("epoch 1") and first in readout and second in readout
    assert page.evaluate(LABELS) == []
    page.keyboard.press("End")
    lab.screenshot("compare-runs")

    # Load design: the first run's learning rate is back in the editor and the URL.
    page.click(f".compare-load[data-run='{first}']")
    page.wait_for_function("window.layerlab.experiment.training.learning_rate === 0.01")
    assert page.input_value("#live-lr") == "0.01"
    assert page.evaluate("window.layerlab.session.runId") is None
    assert page.get_attribute(f"tr[data-run='{second}']", "aria-current") is None


def test_compare_empty_state_in_words(lab):
    page = lab.page
    lab.open()
    page.route(
        "**/api/runs",
        lambda route: route.fulfill(status=200, content_type="application/json", body="[]"),
    )
    page.click("#compare-runs > summary")
    page.wait_for_function(
        "document.getElementById('compare-status').textContent.startsWith('No runs yet')"
    )
    assert not page.is_visible("#compare-table")
    assert page.get_attribute("#compare-chart", "data-series") == "0"
