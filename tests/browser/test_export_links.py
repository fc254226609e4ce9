"""The run bar's Export group: download links for an ended run's script and weights."""

from __future__ import annotations

import pytest
from browser_helpers import experiment_hash, spiral, wait_status

pytestmark = pytest.mark.browser

FETCH_STATUS = """
async (urls) => Promise.all(urls.map(async (url) => {
  const response = await fetch(url);
  return [response.status, (await response.arrayBuffer()).byteLength];
}))
"""


def test_an_ended_run_offers_its_script_and_weights(lab):
    page = lab.page
    lab.open(experiment_hash(spiral(epochs=5)))
    page.wait_for_selector("body[data-check='ok']")
    assert page.is_hidden("#export-links")  # no run yet

    page.click("#train")
    wait_status(page, "finished")
    page.wait_for_selector("#export-links", state="visible")
    run_id = page.evaluate("window.layerlab.session.runId")
    hrefs = [
        page.get_attribute(f"#export-{name}", "href")
        for name in ("script", "weights", "onnx", "history")
    ]
    assert hrefs == [
        f"/api/runs/{run_id}/export/model.py",
        f"/api/runs/{run_id}/export/weights.safetensors",
        f"/api/runs/{run_id}/export/model.onnx",
        f"/api/runs/{run_id}/history.csv",
    ]
    # Labelled, and reachable from the keyboard.
    group = page.locator("#export-links")
    assert group.get_attribute("role") == "group"
    assert page.text_content(f"#{group.get_attribute('aria-labelledby')}") == "Export"
    for link in ("#export-script", "#export-weights", "#export-onnx", "#export-history"):
        assert page.get_attribute(link, "aria-label").startswith("Download")
        assert page.get_attribute(link, "download") is not None
    page.focus("#share-live")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "export-script"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "export-weights"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "export-onnx"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "export-history"

    fetched = page.evaluate(FETCH_STATUS, hrefs)
    assert [status for status, _ in fetched] == [200, 200, 200, 200]
    assert all(size > 100 for _, size in fetched)
    lab.screenshot("export-links")

    page.click("#reset")  # the run is forgotten: so are its links
    wait_status(page, "idle")
    assert page.is_hidden("#export-links")


def test_a_diverged_run_has_no_export_links(lab):
    page = lab.page
    doc = spiral(epochs=200, optimizer="sgd", learning_rate=10, momentum=0.9, batch_size=10)
    doc["dataset"] = {"name": "plane", "samples": 200, "noise": 0.1, "seed": 1}
    doc["model"]["layers"] = [{"type": "dense", "units": 8, "activation": "relu"}]
    lab.open(experiment_hash(doc))
    page.wait_for_selector("body[data-check='ok']")
    page.click("#train")
    wait_status(page, "diverged")
    page.wait_for_timeout(500)  # time for a lookup, were there one
    assert page.is_hidden("#export-links")
