"""The network graph before training: drawn from the design (its latest check), redrawn on every
edit, replaced by the run's snapshots once they arrive, and back to the design after Reset.
`#network-graph` is the links canvas behind the blocks; its data-columns count the neurons of
each neuron column (the inputs, each dense layer, the head)."""

from __future__ import annotations

import pytest
from browser_helpers import experiment_hash, spiral, wait_drawn, wait_status

pytestmark = pytest.mark.browser

GRAPH = "network-graph"


def wait_graph(page, columns: str | None, mode: str = "design") -> None:
    """Until the graph draws in `mode` with `columns` neurons per column (e.g. "2,8,8,2")."""
    page.wait_for_function(
        "([cols, mode]) => { const c = document.getElementById('network-graph');"
        " return c.dataset.mode === mode && (cols === null || c.dataset.columns === cols); }",
        arg=[columns, mode],
        timeout=10_000,
    )


def test_network_drawn_from_the_design_before_training(lab):
    page = lab.page
    doc = spiral(epochs=3, samples=100)
    doc["dataset"]["crosses"] = ["x1", "x2", "sin_x1"]
    lab.open(experiment_hash(doc))
    page.wait_for_selector("body[data-check='ok']")
    wait_drawn(page, "data-preview")

    # Before any training: the 3 features, both dense layers and the 2-unit head.
    wait_graph(page, "3,8,8,2")
    wait_drawn(page, GRAPH)
    assert page.evaluate("window.layerlab.session.snapshot") is None
    assert page.get_attribute("#status", "data-status") == "idle"
    assert page.locator("#graph .gblock").count() == 4  # input, two dense, the head
    # The feature nodes carry the crosses' names (keyboard: down the input column).
    page.focus("#graph")
    for _ in range(3):
        page.keyboard.press("ArrowDown")
    assert "Input feature sin(x₁)" in page.text_content("#network-graph-readout")
    page.keyboard.press("ArrowRight")
    assert "Layer 1, neuron 1" in page.text_content("#network-graph-readout")
    page.keyboard.press("Escape")

    # Editing layer 0's units through the form redraws it at once.
    page.fill("#layer-0-units", "5")
    wait_graph(page, "3,5,8,2")
    # A dense layer from the palette adds a column; a dropout layer adds none (not drawn).
    page.click("[data-add-layer='dense']")
    units = page.input_value("#layer-2-units")
    wait_graph(page, f"3,5,8,{units},2")
    page.click("[data-add-layer='dropout']")
    page.wait_for_function(
        f"document.querySelector('[data-layer-index=\"3\"] .layer-shape')?.textContent === '{units}'"
    )
    wait_graph(page, f"3,5,8,{units},2")
    # A wide layer: 64 neurons in its column, as the probes send.
    page.fill("#layer-1-units", "70")
    wait_graph(page, f"3,5,64,{units},2")
    # The crosses are the input column.
    page.uncheck("#dataset-panel input[value='sin_x1']")
    wait_graph(page, f"2,5,64,{units},2")
    wait_drawn(page, GRAPH)
    lab.screenshot("network-design-time")
    design_columns = page.get_attribute(f"#{GRAPH}", "data-columns")

    # A short run: the graph shows the snapshot (neuron heatmaps, one output surface).
    page.fill("#training-epochs", "3")
    page.wait_for_selector("body[data-check='ok']")
    page.click("#train")
    wait_status(page, "finished", timeout=60_000)
    wait_graph(page, f"2,5,64,{units},1", "snapshot")
    wait_drawn(page, GRAPH)
    page.focus("#graph")
    page.keyboard.press("ArrowRight")
    assert "its activation over the plane" in page.text_content("#network-graph-readout")

    # Reset: back to the design.
    page.click("#reset")
    wait_graph(page, design_columns, "design")
    wait_drawn(page, GRAPH)
