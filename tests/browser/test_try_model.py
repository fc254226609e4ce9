"""Try the model: draw a digit or type a point, and the page shows the run's answer and which
inputs made it (POST /api/runs/{id}/predict with Captum attributions)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from browser_helpers import experiment_hash, spiral, wait_status

pytestmark = pytest.mark.browser
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def digits_cnn(epochs: int | None = 4) -> dict:
    doc = json.loads((EXAMPLES / "digits_cnn.json").read_text())
    doc["training"].update(epochs=epochs, device="auto")
    return doc


def test_a_drawn_digit_gets_an_answer_and_its_attribution_maps(lab):
    page = lab.page
    lab.open(experiment_hash(digits_cnn(epochs=None)))  # until paused: still going at "Pause"
    page.wait_for_selector("body[data-check='ok']")
    page.click("#train")
    page.wait_for_function("window.layerlab.session.epoch >= 3", timeout=120_000)
    page.click("#pause")  # a paused run answers from its worker, with its current weights
    wait_status(page, "paused")
    page.locator("#try-section").scroll_into_view_if_needed()
    pad = page.locator("#try-pad")
    box = pad.bounding_box()
    # A "1": one stroke down the middle of the pad.
    x = box["x"] + box["width"] * 0.5
    page.mouse.move(x, box["y"] + box["height"] * 0.15)
    page.mouse.down()
    for i in range(12):
        page.mouse.move(x, box["y"] + box["height"] * (0.15 + 0.06 * i))
    page.mouse.up()
    assert pad.get_attribute("data-drawn") == "true"

    page.wait_for_selector("#try-label", timeout=60_000)
    label = page.text_content("#try-label")
    assert label.startswith("The model says: ")
    bars = page.locator("#try-probabilities li")
    assert bars.count() == 10
    shares = [
        float(t.rstrip("%"))
        for t in page.locator("#try-probabilities .try-value").all_text_contents()
    ]
    assert abs(sum(shares) - 100) < 1.5
    for key in ("saliency", "integrated_gradients", "grad_cam"):
        page.wait_for_selector(f"#try-map-{key}[data-drawn='true']")
    lab.screenshot("try-model-digit")

    # The page's answer is the server's for the same run and the same drawn pixels.
    run_id = page.evaluate("window.layerlab.session.runId")
    best = label.removeprefix("The model says: ")
    top = max(range(10), key=lambda i: shares[i])
    assert best == page.locator("#try-probabilities .try-name").nth(top).text_content()
    page.click("#stop")
    wait_status(page, "stopped")
    assert run_id


def test_a_typed_point_shows_the_probabilities_and_each_features_part(lab):
    page = lab.page
    lab.open(experiment_hash(spiral(epochs=None, pace=100)))  # still going at "Pause"
    page.wait_for_selector("body[data-check='ok']")
    page.click("#train")
    page.wait_for_function("window.layerlab.session.epoch >= 3")
    page.click("#pause")
    wait_status(page, "paused")
    page.locator("#try-section").scroll_into_view_if_needed()
    page.fill("#try-input-0", "0.5")
    page.fill("#try-input-1", "-1.5")
    page.click("#try-ask")
    page.wait_for_selector("#try-attribution li")
    assert page.locator("#try-probabilities li").count() == 2
    names = page.locator("#try-attribution .try-name").all_text_contents()
    assert names == ["x₁", "x₂"]

    # A field left empty is marked and explained where it is; nothing is asked.
    page.fill("#try-input-0", "")
    page.click("#try-ask")
    assert page.get_attribute("#try-input-0", "aria-invalid") == "true"
    assert page.text_content("#try-error-0") == "Type a number."
    page.fill("#try-input-0", "0.5")
    page.click("#try-ask")
    page.wait_for_selector("#try-input-0[aria-invalid='false']")
    page.click("#stop")
    wait_status(page, "stopped")
