"""One design per model family, built or loaded through the page, trained to the end.

Each test asserts from the page itself: the loss chart gained a point per epoch, the family's
views drew something (non-blank canvases), the status reached finished, and (through the
`lab` fixture) that the console stayed free of errors. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import pytest
from browser_helpers import loss_points, record_epochs, wait_drawn, wait_status

pytestmark = pytest.mark.browser

COMMON_VIEWS = ("loss-chart", "metric-chart", "histograms", "norms-chart")


def train_to_end(lab, epochs: int) -> None:
    page = lab.page
    page.wait_for_selector("body[data-check='ok']")
    page.click("#train")
    wait_status(page, "finished", timeout=60_000)
    page.wait_for_function(
        f"Number(document.getElementById('loss-chart').dataset.points) === {epochs}"
    )
    assert record_epochs(page) == list(range(1, epochs + 1))
    assert loss_points(page) == epochs
    assert page.text_content("#epoch").strip() == str(epochs)


def test_2d_mlp_built_in_the_page(lab):
    page = lab.page
    lab.open()
    page.click("#new")  # an empty stack on the current 2D dataset
    page.select_option("#dataset", "circle")
    page.fill("#dataset-samples", "200")
    page.fill("#dataset-noise", "0.1")
    page.click("[data-add-layer='dense']")
    page.click("[data-add-layer='dense']")
    assert page.locator("#layer-stack > li").count() == 2
    page.fill("#layer-0-units", "6")
    page.select_option("#layer-0-activation", "tanh")
    page.fill("#layer-1-units", "4")
    page.select_option("#layer-1-activation", "tanh")
    page.select_option("#training-optimizer", "adam")
    page.fill("#live-lr", "0.03")
    page.fill("#training-batch_size", "20")
    page.fill("#training-epochs", "15")
    # The check shows each layer's shape and parameters: 2 -> 6 -> 4, plus the 2-class head.
    page.wait_for_function(
        "document.querySelector('[data-layer-index=\"1\"] .layer-shape').textContent === '4'"
    )
    assert page.text_content("[data-layer-index='0'] .layer-params").startswith("18 params")
    assert "56 parameters in all" in page.text_content("#total-params")

    train_to_end(lab, 15)
    for view in (*COMMON_VIEWS, "boundary", "network-graph"):
        wait_drawn(page, view)
    # Hovering the loss chart reads the values at that epoch.
    page.hover("#loss-chart", position={"x": 60, "y": 100})
    assert page.text_content("#loss-chart-readout").startswith("epoch 1 ")
    assert "training loss" in page.text_content("#loss-chart-readout")
    # A neuron picked in the network (keyboard here; hover does the same) shows its own
    # surface large in the decision-surface view.
    page.focus("#graph")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowRight")
    assert "Layer 1, neuron" in page.text_content("#network-graph-readout")
    page.wait_for_function(
        "document.getElementById('boundary-readout').textContent.includes('Layer 1, neuron')"
    )
    lab.screenshot("family-2d-mlp")


def load_starter(lab, starter: str, epochs: int, **dataset_fields) -> None:
    page = lab.page
    lab.open()
    page.select_option("#starter", starter)
    for field, value in dataset_fields.items():
        page.fill(f"#dataset-{field}", str(value))
    page.fill("#training-epochs", str(epochs))


def test_digits_cnn(lab):
    load_starter(lab, "digits-cnn", epochs=3)
    page = lab.page
    assert page.get_attribute("[data-layer-index='0']", "data-layer-type") == "conv2d"
    train_to_end(lab, 3)
    for view in (*COMMON_VIEWS, "filters", "feature-maps", "predictions", "confusion"):
        wait_drawn(page, view)
    lab.screenshot("family-digits-cnn")


@pytest.mark.parametrize(
    ("starter", "views"),
    [
        ("sine-lstm", ("forecast", "hidden-state")),
        ("waveform-gru", ("probabilities", "hidden-state")),
    ],
)
def test_sequence_rnn(lab, starter, views):
    load_starter(lab, starter, epochs=3, samples=300)
    page = lab.page
    train_to_end(lab, 3)
    for view in (*COMMON_VIEWS, *views):
        wait_drawn(page, view)
    lab.screenshot(f"family-sequence-{starter}")


def test_autoencoder_anomalies(lab):
    load_starter(lab, "anomaly-detector", epochs=5)
    page = lab.page
    train_to_end(lab, 5)
    for view in (*COMMON_VIEWS, "reconstructions", "latent", "anomaly"):
        wait_drawn(page, view)
    lab.screenshot("family-autoencoder")
