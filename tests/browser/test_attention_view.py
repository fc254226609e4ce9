"""Issue 22 in real Chromium: a transformer block is one click in the palette and appears as
its parts; training on `reverse` draws each head's attention map for a chosen example, live;
dragging a layer's output onto a later layer adds a skip, whose add shows both shapes."""

from __future__ import annotations

import pytest
from browser_helpers import experiment_hash, wait_drawn, wait_status

pytestmark = pytest.mark.browser


def _reverse(layers: list[dict], epochs: int = 6) -> dict:
    return {
        "dataset": {"name": "reverse", "length": 8, "vocab": 10, "samples": 1000, "seed": 1},
        "model": {"layers": layers},
        "training": {
            "optimizer": "adam",
            "learning_rate": 0.003,
            "batch_size": 32,
            "epochs": epochs,
            "seed": 0,
        },
    }


def layers(page) -> list[dict]:
    return page.evaluate("window.layerlab.experiment.model.layers")


def test_a_transformer_block_trains_and_its_attention_is_drawn_per_head(lab):
    page = lab.page
    lab.open(experiment_hash(_reverse([{"type": "embedding", "dim": 16}])))
    page.wait_for_selector("body[data-check='ok']")
    page.click("[data-add-block='transformer_block']")
    page.wait_for_function("window.layerlab.experiment.model.layers.length === 8")
    assert [x["type"] for x in layers(page)] == [
        "embedding", "layernorm", "attention", "add", "layernorm", "dense", "dense", "add"
    ]  # fmt: skip
    page.wait_for_selector("body[data-check='ok']")
    # The add blocks show both incoming shapes, and where they read from.
    page.wait_for_function(
        "document.querySelector(\"[data-layer-index='3'] .layer-shape\")?.textContent"
        " === '8×16 + 8×16 → 8×16'"
        " || document.querySelector(\"[data-layer-index='3'] .layer-shape\")?.textContent"
        "?.includes(' + ')"
    )
    joined = page.text_content("[data-layer-index='3'] .layer-shape")
    assert joined.count("16") == 3 and " + " in joined and "→" in joined, joined
    assert page.text_content("[data-layer-index='3'] .layer-inputs") == "← l0, t0_attn"

    page.click("#train")
    wait_status(page, "finished", timeout=120_000)
    wait_drawn(page, "attention")
    assert page.get_attribute("#attention", "data-heads") == "2"
    # One map per head and example: choosing another example redraws it for that example.
    examples = page.eval_on_selector_all("#attention-example option", "os => os.length")
    assert examples == 4
    before = page.get_attribute("#attention", "data-strongest")
    page.select_option("#attention-example", "1")
    page.wait_for_function(
        "(b) => document.getElementById('attention').dataset.strongest !== b", arg=before
    )
    assert "row i shows where position i looks" in page.text_content("#attention-readout")
    wait_drawn(page, "joins")
    for size in ((1280, 720), (1440, 900), (390, 844)):
        page.set_viewport_size({"width": size[0], "height": size[1]})
        page.locator("#view-attention").scroll_into_view_if_needed()
        lab.screenshot(f"attention-view-{size[0]}x{size[1]}")


def test_dragging_an_output_onto_a_later_layer_adds_a_skip(lab):
    page = lab.page
    doc = {
        "dataset": {"name": "spiral", "samples": 100, "seed": 1},
        "model": {"layers": [{"type": "dense", "units": 8, "activation": "tanh"}] * 3},
        "training": {"epochs": 5},
    }
    lab.open(experiment_hash(doc))
    page.wait_for_selector("body[data-check='ok']")
    page.drag_and_drop("[data-skip-from='0']", "[data-layer-index='2']")
    page.wait_for_function("window.layerlab.experiment.model.layers.length === 4")
    got = layers(page)
    assert got[3] == {"type": "add", "inputs": ["l0", "l2"]}
    assert got[0]["id"] == "l0" and got[2]["id"] == "l2"
    page.wait_for_selector("body[data-check='ok']")
    page.wait_for_function(
        "document.querySelector(\"[data-layer-index='3'] .layer-shape\")?.textContent"
        "?.includes(' + ')"
    )
    assert page.text_content(".gblock[data-block='3'] .gjoin") == "8 + 8"  # on the stage too
    # The stage's network draws the skip as an arc from layer 1 over to the add.
    page.wait_for_function("document.getElementById('network-graph').dataset.skips === '1'")
    lab.screenshot("skip-added")


def test_step_through_follows_the_gradient_into_both_branches_of_an_add(lab):
    page = lab.page
    doc = {
        "dataset": {"name": "spiral", "samples": 100, "seed": 1, "crosses": ["x1", "x2"]},
        "model": {
            "layers": [
                {"type": "dense", "units": 4, "activation": "tanh", "id": "a"},
                {"type": "dense", "units": 4, "activation": "tanh", "id": "b"},
                {"type": "add", "inputs": ["a", "b"]},
            ]
        },
        "training": {"epochs": 5, "batch_size": 10},
    }
    lab.open(experiment_hash(doc))
    page.wait_for_selector("body[data-check='ok']")
    page.click("#step-mode")  # a paused run, stepped once: its trace is drawn
    page.wait_for_function("window.layerlab.session.trace", timeout=60_000)
    page.wait_for_selector("#step-explain[data-phase='forward']")
    page.keyboard.press("3")
    page.wait_for_selector("#step-explain[data-phase='backward']")
    explain = page.text_content("#step-explain")
    assert "at layer 3 (add) it flows back into layer 1 (‖δ‖" in explain, explain
    assert "and layer 2 (‖δ‖" in explain and "the same δ into each branch" in explain
    trace = page.evaluate("window.layerlab.session.trace")
    add = trace["layers"][2]
    assert add["inputs"] == [0, 1] and add["branch_grads"][0] == add["branch_grads"][1]
