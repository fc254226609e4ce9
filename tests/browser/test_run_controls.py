"""Running from the buttons: pause, step, resume, stop, reset, the live learning rate, and a
socket that drops and reconnects without losing an epoch."""

from __future__ import annotations

import time

import pytest
from browser_helpers import epoch, experiment_hash, record_epochs, spiral, wait_status

pytestmark = pytest.mark.browser


def test_pause_step_resume_stop(lab):
    page = lab.page
    # Until paused, at a pace: the run is still going when the buttons are pressed, however
    # fast the machine.
    lab.open(experiment_hash(spiral(epochs=None, samples=100, batch_size=50, pace=200)))
    page.wait_for_selector("body[data-check='ok']")
    assert page.is_disabled("#pause") and page.is_disabled("#stop")
    page.click("#train")
    wait_status(page, "running")
    page.wait_for_function("window.layerlab.session.epoch >= 3")
    assert page.is_disabled("#train")
    # However fast epochs arrive, the page paints at most once per animation frame.
    frames, epochs = page.evaluate("[window.layerlab.frames(), window.layerlab.session.epoch]")
    time.sleep(1.0)
    frames2, epochs2 = page.evaluate("[window.layerlab.frames(), window.layerlab.session.epoch]")
    assert epochs2 > epochs
    assert frames2 - frames <= 75, f"{frames2 - frames} frames painted in one second"

    page.click("#pause")
    wait_status(page, "paused")
    assert page.text_content("#status") == "Paused"
    assert page.text_content("#train").strip().endswith("Resume")
    time.sleep(0.3)  # let records still in flight arrive
    paused_at = epoch(page)
    time.sleep(0.7)
    assert epoch(page) == paused_at, "a paused run kept training"

    page.click("#step")
    page.wait_for_function(f"window.layerlab.session.epoch === {paused_at + 1}")
    wait_status(page, "paused")
    page.click("#step")
    page.wait_for_function(f"window.layerlab.session.epoch === {paused_at + 2}")
    time.sleep(0.5)
    assert epoch(page) == paused_at + 2, "step trained more than one epoch"
    assert page.text_content("#epoch").replace(",", "") == str(paused_at + 2)
    lab.screenshot("controls-paused-after-step")

    # The learning rate changes while the run is paused or running.
    page.fill("#live-lr", "0.002")
    page.click("#train")  # resume
    wait_status(page, "running")
    page.wait_for_function(
        "window.layerlab.session.records.some((r) => Math.abs(r.lr - 0.002) < 1e-9)",
        timeout=15_000,
    )
    page.wait_for_function(f"window.layerlab.session.epoch > {paused_at + 5}")
    page.wait_for_function("document.getElementById('eps').textContent.includes('epochs/s')")

    page.click("#stop")
    wait_status(page, "stopped")
    assert page.is_disabled("#stop") and page.is_disabled("#pause")
    assert record_epochs(page) == list(range(1, epoch(page) + 1))

    page.click("#reset")
    wait_status(page, "idle")
    assert page.text_content("#epoch") == "0"
    # The loss chart redraws at most 12 times a second: it is cleared within a frame or two.
    page.wait_for_function("document.getElementById('loss-chart').dataset.points === '0'")


def test_step_from_nothing_trains_one_epoch(lab):
    page = lab.page
    lab.open(experiment_hash(spiral(epochs=500, samples=100)))
    page.wait_for_selector("body[data-check='ok']")
    page.click("#step")
    wait_status(page, "paused")
    page.wait_for_function("window.layerlab.session.epoch >= 1")
    time.sleep(0.5)
    # The run is created paused (POST /api/runs?paused=true) and steps exactly one epoch.
    first = epoch(page)
    assert first == 1
    assert page.get_attribute("#status", "data-status") == "paused"
    page.click("#step")
    page.wait_for_function(f"window.layerlab.session.epoch === {first + 1}")
    time.sleep(0.3)
    assert epoch(page) == first + 1
    page.click("#stop")
    wait_status(page, "stopped")


def test_reconnect_resumes_without_gaps(lab):
    page = lab.page
    # At a pace, so that the socket is dropped while it trains, however fast the machine.
    lab.open(experiment_hash(spiral(epochs=400, samples=200, batch_size=10, pace=100)))
    page.wait_for_selector("body[data-check='ok']")
    page.click("#train")
    wait_status(page, ("running", "finished"))
    drops = 0
    for _ in range(3):
        if page.evaluate("window.layerlab.session.status") != "running":
            break
        page.evaluate("window.layerlab.session.socket && window.layerlab.session.socket.drop()")
        drops += 1
        time.sleep(0.15)
    wait_status(page, "finished", timeout=90_000)
    assert drops >= 1
    assert record_epochs(page) == list(range(1, 401))
    page.wait_for_function("document.getElementById('loss-chart').dataset.points === '400'")
    assert page.text_content("#connection") == ""


def test_a_diverged_run_says_so_in_words(lab):
    page = lab.page
    doc = {
        "dataset": {
            "name": "plane",
            "samples": 200,
            "noise": 0.1,
            "seed": 1,
            "crosses": ["x1", "x2"],
        },
        "model": {"layers": [{"type": "dense", "units": 8, "activation": "relu"}]},
        "training": {
            "optimizer": "sgd",
            "learning_rate": 10,
            "momentum": 0.9,
            "batch_size": 10,
            "epochs": 200,
            "seed": 0,
            "device": "auto",
        },
    }
    lab.open(experiment_hash(doc))
    page.wait_for_selector("body[data-check='ok']")
    page.click("#train")
    wait_status(page, "diverged")
    assert page.text_content("#status").startswith("Diverged")
    assert page.is_visible("#run-message")
    assert "learning rate" in page.text_content("#run-message")
    assert page.get_attribute("#run-message", "data-kind") == "error"
    lab.screenshot("controls-diverged")
