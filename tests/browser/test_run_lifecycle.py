"""Runs a class can watch: a starter trains until paused; editing the design during a run stops
it and shows the new design at once (the learning rate applies live instead); a run whose
owner's page is gone pauses, and watchers do not keep it alive; a lesson chosen while a run is
being created stops that run."""

from __future__ import annotations

import httpx
import pytest
from browser_helpers import HeldAnswers, epoch, experiment_hash, spiral, wait_status

pytestmark = pytest.mark.browser


def until_paused(**training) -> dict:
    doc = spiral(samples=200, **training)
    doc["training"]["epochs"] = None
    return doc


def test_editing_the_model_during_a_run_stops_it_and_shows_the_new_design(lab):
    page = lab.page
    lab.open(experiment_hash(until_paused()))
    page.wait_for_selector("body[data-check='ok']")
    page.click("#train")
    wait_status(page, "running")
    page.wait_for_function("window.layerlab.session.epoch >= 3")
    page.wait_for_function("document.getElementById('network-graph').dataset.mode === 'snapshot'")
    run_id = page.evaluate("window.layerlab.session.runId")

    # The learning rate applies live: the same run goes on with it.
    page.fill("#live-lr", "0.02")
    page.wait_for_function(
        "window.layerlab.session.records.some((r) => Math.abs(r.lr - 0.02) < 1e-9)"
    )
    assert page.evaluate("window.layerlab.session.runId") == run_id
    assert page.get_attribute("#status", "data-status") == "running"

    # A layer inserted through the graph: the run stops, the graph shows the new design.
    page.click("[data-insert='1']")
    page.click("#insert-palette [data-insert-type='dense']")
    page.wait_for_function("window.layerlab.session.runId === null")
    page.wait_for_function(
        "document.getElementById('network-graph').dataset.mode === 'design'"
        " && document.getElementById('network-graph').dataset.columns.split(',').length === 5"
    )
    assert "stopped because the design changed" in page.text_content("#design-note")
    assert page.get_attribute("#status", "data-status") == "idle"
    assert page.get_attribute("#loss-chart", "data-points") in (None, "0")
    # On the server the old run is stopped (it stays in Compare runs).
    page.wait_for_function(
        "(id) => fetch('/api/runs/' + id).then((r) => r.json()).then((r) => r.status === 'stopped')",
        arg=run_id,
    )
    # Changing the dataset stops a run too.
    page.click("#train")
    wait_status(page, "running")
    page.wait_for_function("window.layerlab.session.epoch >= 1")
    page.fill("#dataset-noise", "0.2")
    page.wait_for_function("window.layerlab.session.runId === null")
    assert page.get_attribute("#status", "data-status") == "idle"


def test_an_abandoned_run_pauses_and_watchers_do_not_keep_it(lab, browser, server_url):
    """The browser tests' server pauses a run 10 s after its owner's last heartbeat."""
    owner_context = browser.new_context()
    owner = owner_context.new_page()
    owner.goto(f"{server_url}/{experiment_hash(until_paused())}")
    owner.wait_for_selector("body[data-check='ok']")
    owner.click("#train")
    wait_status(owner, "running")
    run_id = owner.evaluate("window.layerlab.session.runId")

    page = lab.page  # a watcher, for the whole time
    lab.open(f"#watch={run_id}")
    wait_status(page, "running")
    page.wait_for_timeout(12_000)  # longer than the idle pause: the owner's beats keep it going
    assert page.get_attribute("#status", "data-status") == "running"
    assert epoch(owner) > 0

    owner_context.close()  # the owner's page is gone; the watcher stays
    wait_status(page, "paused", timeout=30_000)
    assert "owner's page has been gone" in page.text_content("#run-message")
    run = httpx.get(f"{server_url}/api/runs/{run_id}").json()
    assert run["status"] == "paused"


def test_a_lesson_chosen_while_the_run_is_created_stops_that_run(lab):
    """Train, then a lesson chosen before the server's answer reaches the page: the page shows
    the lesson's design and follows no run, and the run created meanwhile is stopped (a
    reset stops this page's run; this one had no id on the page yet when it came)."""
    page = lab.page
    lab.open(experiment_hash(until_paused()))
    page.wait_for_selector("body[data-check='ok']")
    answers = HeldAnswers(page, "**/api/runs", method="POST")
    page.click("#train")
    run_id = answers.first().json()["id"]  # the server has created the run; its answer waits
    page.click("#lessons")
    page.click("#lesson-gallery button[data-lesson='xor-mlp']")
    page.wait_for_function("() => window.layerlab.session.status === 'idle'")
    answers.release()
    page.wait_for_function(
        "(id) => (localStorage.getItem('layerlab.myRuns') || '').includes(id)", arg=run_id
    )  # the start has returned
    assert page.evaluate("window.layerlab.session.runId") is None
    page.wait_for_function(
        "(id) => fetch('/api/runs/' + id).then((r) => r.json()).then((r) => r.status === 'stopped')",
        arg=run_id,
    )
