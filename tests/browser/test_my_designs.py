"""My designs: save the current design with a name and a note, open it again after changing
the page, rename, duplicate, download and upload the file, delete; kept across a reload."""

from __future__ import annotations

import json

import pytest
from browser_helpers import LABELS, experiment_hash, spiral

pytestmark = pytest.mark.browser


def names(page) -> list[str]:
    return page.eval_on_selector_all(
        "#design-list .design-name", "els => els.map(e => e.textContent.trim())"
    )


def test_save_open_rename_duplicate_download_upload_delete(lab, tmp_path):
    page = lab.page
    saved_design = spiral(epochs=7, learning_rate=0.02)
    lab.open(experiment_hash(saved_design))
    page.wait_for_selector("body[data-check='ok']")
    page.click("#my-designs > summary")
    page.wait_for_function(
        "document.getElementById('designs-status').textContent.includes('No saved')"
    )

    page.fill("#design-name", "Two arms")
    page.fill("#design-note-text", "tanh layers of 8")
    page.click("#design-save")
    page.wait_for_function(
        "document.getElementById('designs-status').textContent.includes('Saved')"
    )
    assert names(page) == ["Two arms"]
    assert "tanh layers of 8" in page.text_content("#design-list")
    assert page.evaluate(LABELS) == []

    # Another design on the page, then Open brings the saved one back exactly.
    page.evaluate("(h) => { location.hash = h; }", experiment_hash(spiral(epochs=3)))
    page.wait_for_function("window.layerlab.experiment.training.epochs === 3")
    page.click(".design-item .design-open")
    page.wait_for_function("window.layerlab.experiment.training.epochs === 7")
    shown = page.evaluate("window.layerlab.experiment")
    assert shown["model"] == saved_design["model"]
    assert shown["training"]["learning_rate"] == 0.02

    page.click(".design-item .design-rename-button")
    page.fill(".design-rename", "Spiral arms")
    page.press(".design-rename", "Enter")
    page.wait_for_function(
        "document.getElementById('designs-status').textContent.includes('Renamed')"
    )
    assert names(page) == ["Spiral arms"]

    page.click(".design-item .design-duplicate")
    page.wait_for_function("document.querySelectorAll('#design-list .design-item').length === 2")
    assert sorted(names(page)) == ["Spiral arms", "Spiral arms (copy)"]

    with page.expect_download() as download:
        page.click("[data-design] .design-download >> nth=0")
    file = tmp_path / "design.json"
    download.value.save_as(file)
    content = json.loads(file.read_text())
    assert content["name"].startswith("Spiral arms") and content["note"] == "tanh layers of 8"
    assert content["experiment"]["model"] == saved_design["model"]

    page.set_input_files("#design-upload", str(file))
    page.wait_for_function("document.querySelectorAll('#design-list .design-item').length === 3")
    page.wait_for_function(
        "document.getElementById('designs-status').textContent.includes('Uploaded')"
    )

    copy = page.locator(".design-item", has_text="(copy)").first
    copy_id = copy.get_attribute("data-design")
    copy.locator(".design-delete").click()
    assert copy.locator(".design-delete").text_content() == "Confirm delete"
    copy.locator(".design-delete").click()
    page.wait_for_function("(id) => !document.querySelector(`[data-design='${id}']`)", arg=copy_id)

    # Saved on the server, found again by this browser's owner token after a reload.
    lab.open()
    page.click("#my-designs > summary")
    page.wait_for_function("document.querySelectorAll('#design-list .design-item').length === 2")
    assert all(n.startswith("Spiral arms") for n in names(page))


def test_runs_of_an_opened_design_are_listed_as_its_own(lab):
    """A run started from an opened design links to it; Compare lists "runs of this design"
    and "my runs" (this browser's X-Owner-Token) from the server."""
    page = lab.page
    lab.open(experiment_hash(spiral(epochs=4)))
    page.wait_for_selector("body[data-check='ok']")
    page.click("#my-designs > summary")
    page.fill("#design-name", "Four epochs")
    page.click("#design-save")
    page.wait_for_function(
        "document.getElementById('designs-status').textContent.includes('Saved')"
    )
    page.click(".design-item .design-open")
    page.click("#train")
    page.wait_for_function(
        "['finished', 'stopped'].includes(document.getElementById('status').dataset.status)",
        timeout=90_000,
    )
    run_id = page.evaluate("window.layerlab.session.runId")

    page.click("#compare-runs > summary")
    assert page.input_value("#compare-show") == "design"
    assert "Four epochs" in page.text_content("#compare-show option[value='design']")
    page.wait_for_function(
        "(id) => document.getElementById('compare-table').textContent.includes(id)", arg=run_id
    )
    listed = page.eval_on_selector_all(
        "#compare-table tbody tr", "rows => rows.map(r => r.textContent)"
    )
    assert len(listed) == 1 and run_id in listed[0]

    page.select_option("#compare-show", "mine")
    page.wait_for_function(
        "(id) => document.getElementById('compare-table').textContent.includes(id)", arg=run_id
    )
    # Another design on the page: the design filter goes with it.
    page.evaluate("(h) => { location.hash = h; }", experiment_hash(spiral(epochs=3)))
    page.wait_for_function("window.layerlab.experiment.training.epochs === 3")
    assert page.is_disabled("#compare-show option[value='design']")
