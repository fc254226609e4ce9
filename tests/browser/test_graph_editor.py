"""The network on the stage is the editor: insert from a palette filtered to what fits, edit in
the inspector, +/- neurons and layers, move, remove; the check and the URL follow. Hover: a
neuron's formula with its numbers, a link's weight. Errors at the field as you type."""

from __future__ import annotations

import pytest
from browser_helpers import experiment_hash, spiral, wait_drawn, wait_status

pytestmark = pytest.mark.browser

URL_FOLLOWS = """
() => import('/static/js/state.js').then((m) =>
  m.encodeExperiment(window.layerlab.experiment) === location.hash)
"""


def layers(page) -> list[dict]:
    return page.evaluate("window.layerlab.experiment.model.layers")


def wait_columns(page, columns: str) -> None:
    page.wait_for_function(
        "(c) => document.getElementById('network-graph').dataset.columns === c", arg=columns
    )


def block_shape(page, index: int) -> str:
    return page.text_content(f".gblock[data-block='{index}'] .gshape")


def wait_block_shape(page, index: int, text: str) -> None:
    page.wait_for_function(
        "([i, t]) => document.querySelector(`.gblock[data-block='${i}'] .gshape`)"
        "?.textContent === t",
        arg=[index, text],
    )


def test_insert_edit_move_remove_and_neurons_through_the_graph(lab):
    page = lab.page
    lab.open(experiment_hash(spiral(epochs=5, samples=100)))
    page.wait_for_selector("body[data-check='ok']")
    wait_columns(page, "2,8,8,2")
    assert page.locator("#graph .gblock").count() == 4  # input, two dense, the head

    # Insert after layer 1: the palette offers what takes flat features, not convolutions.
    page.click("[data-insert='1']")
    offered = page.eval_on_selector_all(
        "#insert-palette [data-insert-type]", "els => els.map((e) => e.dataset.insertType)"
    )
    assert {"dense", "dropout", "batchnorm"} <= set(offered)
    assert "conv2d" not in offered and "lstm" not in offered and "maxpool2d" not in offered
    page.click("#insert-palette [data-insert-type='dropout']")
    assert [lay["type"] for lay in layers(page)] == ["dense", "dropout", "dense"]
    wait_block_shape(page, 1, "8")  # the check's shape on the new block
    assert page.evaluate(URL_FOLLOWS)

    # The inserted block is selected: its parameters are in the inspector.
    assert page.text_content("#inspector-title") == "Layer 2: Dropout"
    page.fill("#inspect-rate", "0.3")
    page.wait_for_function("window.layerlab.experiment.model.layers[1].rate === 0.3")
    assert page.evaluate(URL_FOLLOWS)
    # The layer list below shows the same design.
    assert page.input_value("#layer-1-rate") == "0.3"

    # +/- neurons on a dense block: the graph, the check and the URL follow.
    page.click(".gblock[data-block='0'] button[aria-label^='One neuron more']")
    wait_columns(page, "2,9,8,2")
    wait_block_shape(page, 0, "9")
    page.click(".gblock[data-block='2'] button[aria-label^='One neuron fewer']")
    wait_columns(page, "2,9,7,2")
    assert layers(page)[2]["units"] == 7
    assert page.evaluate(URL_FOLLOWS)

    # Select a block and edit it in the inspector.
    page.click(".gblock[data-block='0'] .gblock-head")
    assert page.text_content("#inspector-title") == "Layer 1: Dense"
    page.fill("#inspect-units", "5")
    wait_columns(page, "2,5,7,2")
    page.select_option("#inspect-activation", "relu")
    page.wait_for_function("window.layerlab.experiment.model.layers[0].activation === 'relu'")

    # Move it later (past the dropout), then remove the dropout.
    page.click("#inspect-later")
    assert [lay["type"] for lay in layers(page)] == ["dropout", "dense", "dense"]
    assert page.text_content("#inspector-title") == "Layer 2: Dense"
    page.click(".gblock[data-block='0'] .gblock-head")
    page.click("#inspect-remove")
    assert [lay["type"] for lay in layers(page)] == ["dense", "dense"]
    wait_columns(page, "2,5,7,2")

    # +/- layers, as in TensorFlow Playground.
    page.click("#graph-add-layer")
    wait_columns(page, "2,5,7,7,2")
    page.click("#graph-remove-layer")
    page.click("#graph-remove-layer")
    wait_columns(page, "2,5,2")
    assert page.evaluate(URL_FOLLOWS)
    lab.screenshot("graph-editor")


def test_the_palette_fits_images_and_blocks_show_shapes(lab):
    page = lab.page
    lab.open("#starter=digits-cnn")
    page.wait_for_selector("body[data-check='ok']")
    kinds = page.eval_on_selector_all(
        ".gblock[data-layer-type]", "els => els.map((e) => e.className)"
    )
    assert "gblock-maps" in kinds[0] and "gblock-narrow" in kinds[1]  # conv maps, then pooling
    wait_block_shape(page, 0, "16×8×8")
    page.click("[data-insert='0']")  # after the input: an 8x8 image
    offered = page.eval_on_selector_all(
        "#insert-palette [data-insert-type]", "els => els.map((e) => e.dataset.insertType)"
    )
    assert "conv2d" in offered and "maxpool2d" in offered and "dense" not in offered
    page.keyboard.press("Escape")
    assert page.is_hidden("#insert-palette")


def test_a_deep_wide_graph_stays_readable(lab):
    page = lab.page
    doc = spiral(epochs=3, samples=100)
    doc["model"]["layers"] = [{"type": "dense", "units": 64, "activation": "tanh"}] * 9
    lab.open(experiment_hash(doc))
    page.wait_for_selector("body[data-check='ok']")
    wait_columns(page, "2," + "64," * 9 + "2")
    # Large layers are summarised ("+56"), and no two labels of different blocks overlap.
    assert page.locator(".gblock[data-block='0'] .neuron-more").text_content() == "+56"
    overlaps = page.evaluate(
        """() => {
          const boxes = [...document.querySelectorAll('.gblock[data-block]')].map((b) =>
            [...b.querySelectorAll('.gtype, .gshape, .gparams, .gnum')].map((e) => {
              const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; }));
          const hit = (a, b) => a[0] < b[2] - 0.5 && b[0] < a[2] - 0.5 && a[1] < b[3] - 0.5 && b[1] < a[3] - 0.5;
          let n = 0;
          boxes.forEach((ls, i) => boxes.forEach((ms, j) => { if (i < j) for (const a of ls) for (const b of ms) if (hit(a, b)) n += 1; }));
          return n;
        }"""
    )
    assert overlaps == 0
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    lab.screenshot("graph-deep-wide")


def test_hover_a_neuron_for_its_formula_and_a_link_for_its_weight(lab):
    page = lab.page
    lab.open(experiment_hash(spiral(epochs=4, samples=100)))
    page.wait_for_selector("body[data-check='ok']")
    page.hover(".neuron[data-kind='hidden']")
    assert "z = Σ wᵢxᵢ + b" in page.text_content("#network-graph-readout")
    page.click("#train")
    wait_status(page, "finished")
    page.wait_for_function("document.getElementById('network-graph').dataset.mode === 'snapshot'")
    page.hover(".gblock[data-block='0'] .neuron[data-index='1']")
    text = page.text_content("#network-graph-readout")
    assert text.startswith("Layer 1, neuron 2: z = ") and "a = tanh(z)" in text, text
    assert "x₁" in text and "x₂" in text and "·" in text
    # ... and its heatmap is drawn large on the output.
    assert "Layer 1, neuron 2" in page.text_content("#boundary-readout")
    wait_drawn(page, "boundary")
    # A link: halfway between the first input node and the first neuron of layer 1.
    point = page.evaluate(
        """() => {
          const a = document.querySelector(".neuron[data-kind='input']").getBoundingClientRect();
          const b = document.querySelector(".gblock[data-block='0'] .neuron").getBoundingClientRect();
          return [(a.right + b.left) / 2, (a.top + a.bottom + b.top + b.bottom) / 4];
        }"""
    )
    page.mouse.move(point[0], point[1])
    page.wait_for_function(
        "document.getElementById('network-graph-readout').textContent.startsWith('Weight from')"
    )
    assert "to layer 1 neuron" in page.text_content("#network-graph-readout")


def test_errors_are_said_at_the_field_as_you_type(lab):
    lab.allow(r"status of 422")  # the check's answer to an impossible design
    page = lab.page
    lab.open(experiment_hash(spiral(epochs=3, samples=100)))
    page.wait_for_selector("body[data-check='ok']")

    # The run bar's learning rate: too large, not a number, negative; the layers stay drawn.
    for typed, words in (("1000", "at most 10"), ("abc", "not a number"), ("-1", "more than 0")):
        page.fill("#live-lr", typed)
        page.wait_for_function("document.getElementById('live-lr').ariaInvalid === 'true'")
        assert words in page.text_content("#live-lr-error"), typed
        assert page.is_disabled("#train")
        assert "valid learning rate" in page.text_content("#train-blocked")
        assert block_shape(page, 0) == "8" and block_shape(page, 1) == "8"
    assert page.evaluate("window.layerlab.experiment.training.learning_rate") == 0.01
    page.fill("#live-lr", "0.05")
    page.wait_for_function("window.layerlab.experiment.training.learning_rate === 0.05")
    assert page.get_attribute("#live-lr", "aria-invalid") == "false"
    assert page.is_enabled("#train") and page.is_hidden("#train-blocked")

    # A layer field: said at once in a sentence; the layer before keeps its shape, the head
    # shows no stale numbers, and Train says why it is off.
    page.click(".gblock[data-block='1'] .gblock-head")
    page.fill("#inspect-units", "0")
    page.wait_for_function("document.getElementById('inspect-units').ariaInvalid === 'true'")
    message = page.text_content("#inspect-units-error")
    assert message.startswith("Units must be a whole number from 1 to"), message
    page.wait_for_selector("body[data-check='error']")
    assert block_shape(page, 0) == "8"
    assert page.text_content(".gblock[data-block='head'] .gshape") == "–"
    assert page.is_disabled("#train")
    blocked = page.text_content("#train-blocked")
    assert blocked.startswith("Train is off until the design is fixed: ") and "Units" in blocked
    assert "Input should" not in blocked  # the validator's words became a sentence
    assert page.locator(".gblock[data-block='1'].has-error").count() == 1
    page.fill("#inspect-units", "6")
    page.wait_for_selector("body[data-check='ok']")
    assert page.is_enabled("#train") and page.is_hidden("#train-blocked")
    wait_block_shape(page, 1, "6")

    # A broken link says so, in words.
    page.goto(f"{lab.base}/#e=eyJkYXRhc2V0Ijp7Im5hbW")
    page.reload()
    page.wait_for_selector("body[data-ready='true']")
    text = page.text_content("#page-error")
    assert "This link is broken" in text and "atob" not in text
