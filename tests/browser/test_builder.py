"""The design side of the page: errors at the right layer, shared links, labels and themes."""

from __future__ import annotations

import json

import pytest
from browser_helpers import LABELS, experiment_hash, spiral

pytestmark = pytest.mark.browser


def layer_error(page, index: int) -> str:
    el = page.locator(f"[data-layer-index='{index}'] .layer-error")
    return el.text_content() if el.is_visible() else ""


def test_shape_error_shown_at_the_right_layer(lab):
    lab.allow(r"status of 422")  # the check's answer to an impossible design
    page = lab.page
    lab.open()
    page.select_option("#starter", "digits-cnn")
    page.wait_for_selector("body[data-check='ok']")

    # A convolution after the dense layer: the input there is flat, not an image.
    page.click("[data-add-layer='conv2d']")
    page.wait_for_selector("[data-layer-index='4'] .layer-error:visible")
    message = layer_error(page, 4)
    assert "image" in message, message
    assert page.locator("[data-layer-index='4']").get_attribute("class").count("has-error") == 1
    for i in range(4):
        assert layer_error(page, i) == "", f"layer {i} shows an error"
    # Train refuses an impossible design, in words: it is disabled with the reason.
    page.wait_for_selector("body[data-check='error']")
    assert page.is_disabled("#train")
    blocked = page.text_content("#train-blocked")
    assert blocked.startswith("Train is off until the design is fixed: Layer 5 (conv2d)"), blocked

    # Removing it clears the error and the check shows the shapes again.
    page.click("[data-layer-index='4'] button[aria-label^='Remove']")
    page.wait_for_selector("body[data-check='ok']")
    assert page.locator(".layer-error:visible").count() == 0

    # A kernel typed too large for the 8x8 digits, with valid padding: error at layer 0, in the
    # kernel field's words.
    page.select_option("#layer-0-padding", "valid")
    page.fill("#layer-0-kernel_size", "12")
    page.wait_for_selector("[data-layer-index='0'] .layer-error:visible")
    assert "kernel" in layer_error(page, 0).lower()
    assert layer_error(page, 1) == ""
    lab.screenshot("builder-shape-error")

    # A value out of the field's bounds is named at its field.
    page.fill("#layer-0-kernel_size", "3")
    page.fill("#layer-3-units", "0")
    page.wait_for_selector("[data-layer-index='3'] .layer-error:visible")
    assert page.get_attribute("#layer-3-units", "aria-invalid") == "true"
    assert layer_error(page, 0) == ""


def test_shared_link_restores_the_design(lab, browser):
    page = lab.page
    lab.open()
    page.select_option("#starter", "spiral-mlp")
    page.select_option("#dataset", "xor")
    page.fill("#dataset-noise", "0.25")
    page.check("#dataset-crosses-4")  # x1_x2
    page.click("[data-add-layer='dropout']")
    page.fill("#layer-2-rate", "0.3")
    page.click("[data-layer-index='2'] button[aria-label^='Move layer 3']")  # up: now 2nd
    page.fill("#layer-0-units", "5")
    page.fill("#live-lr", "0.003")
    page.select_option("#training-optimizer", "rmsprop")
    page.fill("#training-epochs", "42")
    page.wait_for_selector("body[data-check='ok']")
    page.wait_for_function("window.layerlab.experiment.training.learning_rate === 0.003")
    designed = page.evaluate("window.layerlab.experiment")
    assert designed["dataset"]["name"] == "xor"
    assert designed["model"]["layers"][1]["type"] == "dropout"

    page.click("#share")
    link = page.get_attribute("#share", "data-link")
    assert link and "#e=" in link and link == page.url

    # Elsewhere: a new browser context (no shared storage) opens the link.
    other = browser.new_context(viewport={"width": 1200, "height": 800})
    try:
        p2 = other.new_page()
        errors = []
        p2.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        p2.goto(link)
        p2.wait_for_selector("body[data-ready='true']")
        p2.wait_for_selector("body[data-check='ok']")
        restored = p2.evaluate("window.layerlab.experiment")
        assert json.dumps(restored, sort_keys=True) == json.dumps(designed, sort_keys=True)
        assert p2.input_value("#dataset") == "xor"
        assert p2.input_value("#dataset-noise") == "0.25"
        assert p2.is_checked("#dataset-crosses-4")
        assert p2.locator("#layer-stack > li").count() == 3
        assert p2.get_attribute("[data-layer-index='1']", "data-layer-type") == "dropout"
        assert p2.input_value("#layer-1-rate") == "0.3"
        assert p2.input_value("#layer-0-units") == "5"
        assert p2.input_value("#live-lr") == "0.003"
        assert p2.input_value("#training-optimizer") == "rmsprop"
        assert p2.input_value("#training-epochs") == "42"
        assert errors == []
    finally:
        other.close()


def test_a_hand_written_link_and_a_bad_link(lab):
    page = lab.page
    doc = spiral(epochs=7)
    lab.open(experiment_hash(doc))
    page.wait_for_selector("body[data-check='ok']")
    assert page.input_value("#training-epochs") == "7"
    assert page.evaluate("window.layerlab.experiment") == doc
    # A link that cannot be read says so and falls back to a starter design.
    page.goto(f"{lab.base}/#e=not-base64-json")
    page.reload()
    page.wait_for_selector("body[data-ready='true']")
    assert "This link is broken" in page.text_content("#page-error")
    assert page.locator("#layer-stack > li").count() >= 1


@pytest.mark.parametrize("starter", ["spiral-mlp", "digits-cnn", "sine-lstm", "digits-autoencoder"])
def test_every_control_is_labelled(lab, starter):
    page = lab.page
    lab.open(f"#starter={starter}")
    page.wait_for_selector("body[data-check='ok']")
    assert page.evaluate(LABELS) == []


def test_keyboard_builds_and_trains(lab):
    """Tab to the palette, add a layer with Enter, move it with Alt+Up, train with the keyboard."""
    page = lab.page
    lab.open(experiment_hash(spiral(epochs=3)))
    page.wait_for_selector("body[data-check='ok']")
    page.focus("[data-add-layer='dropout']")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.dataset.layerIndex") == "2"
    page.keyboard.press("Alt+ArrowUp")
    assert page.get_attribute("[data-layer-index='1']", "data-layer-type") == "dropout"
    assert page.evaluate("document.activeElement.dataset.layerIndex") == "1"
    page.wait_for_selector("body[data-check='ok']")
    page.focus("#train")
    page.keyboard.press("Enter")
    page.wait_for_function("document.getElementById('status').dataset.status === 'finished'")
    # Focus is visible: the focused control draws an outline.
    page.focus("#reset")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("", "none")


def test_dark_theme_follows_the_system(browser, server_url):
    context = browser.new_context(viewport={"width": 1400, "height": 900}, color_scheme="dark")
    try:
        page = context.new_page()
        page.goto(f"{server_url}/#starter=spiral-mlp")
        page.wait_for_selector("body[data-check='ok']")
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        red, green, blue = (int(v) for v in background[4:-1].split(",")[:3])
        assert red + green + blue < 150, background
        page.screenshot(path=str(_artifact("theme-dark")), full_page=True)
    finally:
        context.close()


def _artifact(name):
    from browser_helpers import ARTIFACTS

    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / f"{name}.png"
