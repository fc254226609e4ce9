"""The embedding projector on the page: a real digits CNN trains in the real server, the
learner opens "Project the data" from the stage, sees the validation examples drawn as dots
that follow the training (live PCA), switches to t-SNE (a visible progress state while the
server computes it) and hovers a dot to see its example (the digit's own thumbnail)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from browser_helpers import canvas_colours, experiment_hash, wait_status

pytestmark = pytest.mark.browser
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

# Every data-state the projector's status line takes, in order (it may pass quickly).
RECORD_STATES = """
() => {
  const el = document.getElementById('projector-status');
  window.projectorStates = [el.dataset.state];
  new MutationObserver(() => window.projectorStates.push(el.dataset.state))
    .observe(el, { attributes: true, attributeFilter: ['data-state'] });
}
"""


def digits_cnn() -> dict:
    doc = json.loads((EXAMPLES / "digits_cnn.json").read_text())
    doc["training"].update(epochs=None, device="auto")  # until paused: still training later
    return doc


def status_epoch(page) -> int:
    text = page.text_content("#projector-status") or ""
    return int(text.split("epoch ", 1)[1].split(" ", 1)[0]) if "epoch " in text else -1


def test_projector_draws_a_training_run_live_then_tsne_and_hover(lab):
    page = lab.page
    lab.open(experiment_hash(digits_cnn()))
    page.wait_for_selector("body[data-check='ok']")
    assert page.is_visible("#open-projector")  # on the stage, under the network
    assert page.is_hidden("#open-recommend")  # not a recommender
    page.click("#train")
    page.wait_for_function("window.layerlab.session.epoch >= 1", timeout=120_000)
    page.click("#open-projector")
    page.wait_for_selector("#projector-canvas[data-drawn='true']", timeout=60_000)
    assert canvas_colours(page, "projector-canvas") > 8
    assert page.evaluate("document.getElementById('projector-canvas').projected.length") == 300
    assert page.get_attribute("#projector-canvas", "data-method") == "pca"
    assert page.get_attribute("#projector-canvas", "data-layer") == "3"  # the last layer
    options = page.locator("#projector-layer option").all_text_contents()
    assert options[0].startswith("input") and options[-1].startswith("output")
    assert "10 classes" not in page.text_content("#projector-readout")
    assert "300 examples at 4. dense: 64 numbers each" in page.text_content("#projector-readout")

    # Live: the PCA is asked again while the run trains, at later epochs.
    first = status_epoch(page)
    page.wait_for_function(
        "(e) => { const t = document.getElementById('projector-status').textContent;"
        " const m = t.match(/epoch (\\d+)/); return m && Number(m[1]) > e; }",
        arg=first,
        timeout=60_000,
    )

    page.click("#pause")
    wait_status(page, "paused")
    page.evaluate(RECORD_STATES)
    page.click("#projector-tsne")
    page.wait_for_selector("#projector-canvas[data-method='tsne']", timeout=120_000)
    page.wait_for_selector("#projector-status[data-state='ready']")
    states = page.evaluate("window.projectorStates")
    assert "busy" in states and states[-1] == "ready", states
    assert page.get_attribute("#projector-tsne", "aria-pressed") == "true"
    assert "t-SNE" in page.text_content("#projector-readout")

    # Hover a dot: its example appears, with its class and its thumbnail.
    x, y = page.evaluate("document.getElementById('projector-canvas').projected[7]")
    box = page.locator("#projector-canvas").bounding_box()
    page.mouse.move(box["x"] + x, box["y"] + y)
    card = page.locator("#projector-hover")
    card.wait_for(state="visible")
    assert "class: " in card.text_content()
    assert page.locator("#projector-hover canvas.projector-thumb").count() == 1
    index = int(card.get_attribute("data-index"))
    assert 0 <= index < 300
    lab.screenshot("projector-tsne-hover")
    page.mouse.move(box["x"] - 20, box["y"] - 20)
    card.wait_for(state="hidden")
    page.click("#stop")
    wait_status(page, "stopped")
