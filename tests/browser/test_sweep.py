"""The Sweep panel in real Chromium: start a sweep of six variants from the page, watch their
curves overlaid and the metric plotted against the setting with a point for every variant;
a bad value is refused naming it; a sweep lesson fills in the panel."""

from __future__ import annotations

import importlib.util

import pytest
from browser_helpers import ARTIFACTS, LABELS, ROOT, experiment_hash, spiral, wait_drawn

pytestmark = pytest.mark.browser


def open_sweep(lab, experiment: dict) -> None:
    lab.open(experiment_hash(experiment))
    lab.page.wait_for_selector("body[data-check='ok']")
    lab.page.click("#sweep > summary")


def test_a_sweep_from_the_page_overlays_curves_and_plots_every_variant(lab):
    page = lab.page
    open_sweep(lab, spiral(epochs=None))
    assert page.evaluate(LABELS) == []
    page.select_option("#sweep-setting-0", "learning_rate")
    page.fill("#sweep-values-0", "0.003, 0.03, 0.3")
    page.select_option("#sweep-setting-1", "activation")
    assert page.input_value("#sweep-values-1") == "relu, tanh, sigmoid"  # the setting's default
    page.fill("#sweep-values-1", "tanh, relu")
    page.fill("#sweep-epochs", "60")
    page.click("#sweep-start")

    # Live: points appear while the variants still train, before the sweep has ended.
    page.wait_for_function(
        """() => Number(document.getElementById('sweep-plot').dataset.points) >= 1
                 && Number(document.getElementById('sweep-curves').dataset.points) >= 1
                 && !document.getElementById('sweep').dataset.status""",
        timeout=60_000,
    )
    page.wait_for_selector("#sweep[data-status='finished']", timeout=180_000)
    sweep_id = page.get_attribute("#sweep", "data-sweep")
    wait_drawn(page, "sweep-curves")
    wait_drawn(page, "sweep-plot")
    assert page.get_attribute("#sweep-curves", "data-series") == "6"
    assert page.get_attribute("#sweep-plot", "data-points") == "6"
    assert page.locator("#sweep-legend li").count() == 6
    assert page.input_value("#sweep-metric") == "val_accuracy"  # classification's own
    assert page.locator("#sweep-plot-legend li").count() == 2  # tanh, relu
    rows = page.locator("#sweep-table tbody tr")
    assert rows.count() == 6
    assert (
        page.eval_on_selector_all(
            "#sweep-table tbody tr", "rows => rows.map(r => r.dataset.status)"
        )
        == ["finished"] * 6
    )
    assert all("60 / 60" in t for t in rows.all_text_contents())

    # The page's curves are the runs' own records, and its summary is the server's.
    summary = page.evaluate("(id) => fetch(`/api/sweeps/${id}`).then((r) => r.json())", sweep_id)
    assert summary["status"] == "finished" and len(summary["variants"]) == 6
    shown = page.evaluate(
        "window.layerlab.sweeps.current.variants.map((v) => v.records[v.records.length - 1])"
    )
    assert shown == [v["final"] for v in summary["variants"]]
    assert summary["best"]["label"] in page.text_content("#sweep-status")

    ARTIFACTS.mkdir(exist_ok=True)
    for width, height in ((1280, 720), (1440, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(300)  # the resize redraw
        wait_drawn(page, "sweep-plot")
        page.locator("#sweep-panel").screenshot(path=str(ARTIFACTS / f"sweep-{width}x{height}.png"))
        box = page.locator("#sweep-plot").bounding_box()
        assert box["width"] <= width, (width, box)

    # After a reload the panel shows the same sweep again, from the server.
    lab.open()
    page.click("#sweep > summary")
    page.wait_for_selector(f"#sweep[data-sweep='{sweep_id}'][data-status='finished']")
    page.wait_for_function("document.getElementById('sweep-plot').dataset.points === '6'")


def test_a_bad_value_is_refused_naming_it(lab):
    page = lab.page
    lab.allow(r"422")  # the browser logs the refused request
    open_sweep(lab, spiral(epochs=None))
    page.select_option("#sweep-setting-0", "learning_rate")
    page.fill("#sweep-values-0", "0.01, 50")
    page.click("#sweep-start")
    page.wait_for_function(
        "document.getElementById('sweep-status').textContent.includes('could not start')"
    )
    text = page.text_content("#sweep-status")
    assert "learning_rate = 50" in text and "body.axes.0.values.1" in text
    assert "sweep-bad" in page.get_attribute("#sweep-values-0", "class")
    assert page.get_attribute("#train", "disabled") is None  # the page's own Train is not blocked


def test_a_sweep_lesson_fills_in_the_panel(lab):
    page = lab.page
    lab.open("#lesson=sweep-depth-activation")
    page.wait_for_selector("#lesson-note:not([hidden])")
    page.wait_for_selector("#sweep[open]")
    assert page.input_value("#sweep-setting-0") == "layers"
    assert page.input_value("#sweep-values-0") == "1, 2, 4, 6"
    assert page.input_value("#sweep-setting-1") == "activation"
    assert page.input_value("#sweep-values-1") == "sigmoid, relu"
    assert page.input_value("#sweep-epochs") == "60"
    # From the gallery too: another sweep lesson replaces the settings.
    page.click("#lesson-more")
    page.click("#lesson-gallery button[data-lesson='sweep-data-needed']")
    page.wait_for_function("document.getElementById('sweep-setting-0').value === 'data_fraction'")
    assert page.input_value("#sweep-setting-1") == ""
    assert page.input_value("#sweep-epochs") == "150"


def test_the_sweep_lessons_are_the_designs_their_figures_were_measured_on(lab):
    """bench/sweep_lessons.py measures what the lesson texts quote: the same designs."""
    spec = importlib.util.spec_from_file_location("sweep_lessons", ROOT / "bench/sweep_lessons.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    lab.open()
    shown = lab.page.evaluate(
        "import('/static/js/starters.js').then((m) => m.STARTERS.filter((s) => s.sweep)"
        ".map((s) => [s.id, s.experiment, s.sweep]))"
    )
    assert {i: (e, s) for i, e, s in shown} == bench.LESSONS
