"""The presenter link: the owner shares a live run, a second browser watches it read-only
(history first, then live records and snapshots) and an unknown run falls back to the editor."""

from __future__ import annotations

import contextlib

import pytest
from browser_helpers import (
    LABELS,
    epoch,
    experiment_hash,
    loss_points,
    spiral,
    wait_drawn,
    wait_status,
)

pytestmark = pytest.mark.browser

RUN_BUTTONS = ("#reset", "#train", "#pause", "#step", "#stop")
# Enough work that the run is still training when the second page has opened the link
# (about 10 s on one CPU worker; longer here, where the owner's page draws it too).
EPOCHS = 300


@contextlib.contextmanager
def second_page(browser, base: str):
    """Another browser context (no shared storage): a student's own machine."""
    from browser_helpers import PageWatch

    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        page = context.new_page()
        page.set_default_timeout(30_000)
        yield PageWatch(page, base)
    finally:
        context.close()


def enabled_and_visible(page, selector: str) -> bool:
    return page.evaluate(
        """(sel) => [...document.querySelectorAll(sel)].some(
             (el) => !el.matches(':disabled') && el.offsetParent !== null)""",
        selector,
    )


def test_a_second_page_watches_the_run_live_and_read_only(lab, browser):
    owner = lab.page
    # At a classroom pace (15 s in all): still going when the viewer opens the link however
    # fast the machine, and the wait for its end no longer grows with a slow machine's load.
    lab.open(experiment_hash(spiral(epochs=EPOCHS, samples=400, batch_size=10, pace=20)))
    owner.wait_for_selector("body[data-check='ok']")
    assert owner.is_hidden("#share-live"), "nothing to share before a run exists"
    owner.click("#train")
    wait_status(owner, "running")
    owner.wait_for_function("window.layerlab.session.epoch >= 2")

    owner.focus("#share-live")  # from the keyboard
    owner.keyboard.press("Enter")
    owner.wait_for_selector("#share-live-link")
    run_id = owner.evaluate("window.layerlab.session.runId")
    link = owner.input_value("#share-live-link")
    assert link == f"{lab.base}/#watch={run_id}"
    assert owner.get_attribute("#share-live", "data-link") == link
    assert owner.get_attribute("#share-live-link", "readonly") is not None
    assert owner.get_attribute("#share-live", "title")
    assert owner.evaluate(LABELS) == []

    with second_page(browser, lab.base) as viewer:
        page = viewer.page
        page.goto(link)
        page.wait_for_selector("body[data-ready='true']", timeout=20_000)
        assert owner.evaluate("window.layerlab.session.status") == "running", (
            "the run ended before the viewer opened the link: give it more epochs"
        )
        assert page.evaluate("window.layerlab.watching") == run_id
        assert page.url.endswith(f"#watch={run_id}"), "a watcher's URL keeps the live link"

        # The banner names the run and links an editable copy of the same design.
        banner = page.text_content("#watch-banner")
        assert f"Watching run {run_id} live — read-only." in banner
        assert "Open an editable copy" in banner
        copy_href = page.get_attribute("#watch-copy", "href")
        assert "#e=" in copy_href

        # The design is the run's, and read-only: panels disabled, no palette, no run buttons.
        page.wait_for_selector("body[data-check='ok']")
        owner_design = owner.evaluate("window.layerlab.experiment")
        watched = page.evaluate("window.layerlab.experiment")
        assert watched["model"] == owner_design["model"]
        assert watched["dataset"]["name"] == "spiral"
        for control in ("#dataset", "#dataset-noise", "#layer-0-units", "#training-epochs"):
            assert page.is_disabled(control), f"{control} is editable for a watcher"
        assert page.is_disabled("#live-lr")
        assert page.is_hidden("#palette")
        assert not enabled_and_visible(page, "[data-add-layer]")
        assert not enabled_and_visible(page, "#layer-stack button")
        assert not enabled_and_visible(page, ", ".join(RUN_BUTTONS))
        for button in RUN_BUTTONS:
            assert page.is_disabled(button), f"{button} is enabled for a watcher"
        assert page.is_disabled("#starter") and page.is_disabled("#new")
        assert page.evaluate(LABELS) == []
        # Moving a layer from the keyboard does nothing either.
        page.focus("[data-layer-index='1']")
        page.keyboard.press("Alt+ArrowUp")
        assert page.get_attribute("[data-layer-index='0']", "data-layer-type") == "dense"
        assert page.locator("#layer-stack > li").count() == 2
        page.evaluate("document.activeElement.blur()")

        # History first, then live records: the loss chart gains points while the run trains.
        page.wait_for_function("Number(document.getElementById('loss-chart').dataset.points) > 0")
        first_points = loss_points(page)
        page.wait_for_function(
            f"Number(document.getElementById('loss-chart').dataset.points) > {first_points}"
        )
        wait_drawn(page, "boundary")
        wait_drawn(page, "loss-chart")
        page.wait_for_function("document.getElementById('eps').textContent.includes('epochs/s')")
        viewer.screenshot("watch-viewer-running")
        # A network blip on the watcher's side: it reconnects and loses no epoch.
        if page.evaluate("window.layerlab.session.status") == "running":
            page.evaluate("window.layerlab.session.socket.drop()")

        wait_status(owner, "finished", timeout=120_000)
        wait_status(page, "finished", timeout=60_000)
        final = epoch(owner)
        assert final == EPOCHS
        assert epoch(page) == final
        assert page.text_content("#epoch").replace(",", "") == str(final)
        assert page.text_content("#status") == "Finished"
        assert page.evaluate("window.layerlab.session.records.map((r) => r.epoch)") == list(
            range(1, final + 1)
        )
        # The chart draws on its next frame, not with the record: wait for that frame.
        page.wait_for_function(
            f"Number(document.getElementById('loss-chart').dataset.points) >= {final}"
        )
        assert loss_points(page) == final
        # Norms and histograms over time reach back before the watcher joined (the hello
        # carries every snapshot's per-layer summary): the same first epoch as the owner's.
        first_norms = "window.layerlab.session.snapshotHistory[0].epoch"
        assert page.evaluate(first_norms) == owner.evaluate(first_norms)
        assert page.text_content("#connection") == ""
        wait_drawn(page, "boundary")
        assert not enabled_and_visible(page, ", ".join(RUN_BUTTONS))
        # The watcher can pass the live link on (a projector page re-sharing it).
        assert page.is_visible("#share-live")
        lab.screenshot("watch-owner")
        viewer.screenshot("watch-viewer")

        # Projector mode (from the keyboard) redraws the watched run larger.
        page.focus("#projector")
        page.keyboard.press("Enter")
        page.wait_for_function("document.documentElement.classList.contains('projector')")
        assert page.is_visible("#watch-banner") and page.is_visible("#status")
        wait_drawn(page, "boundary")
        viewer.screenshot("watch-viewer-projector")
        page.focus("#projector")
        page.keyboard.press("Enter")

        # "Open an editable copy" (a link, from the keyboard): the same design, now editable.
        page.focus("#watch-copy")
        page.keyboard.press("Enter")
        page.wait_for_function("window.layerlab.watching === null")
        assert page.is_hidden("#watch-banner")
        assert page.is_enabled("#layer-0-units") and page.is_enabled("#train")
        assert page.is_visible("#palette")
        assert "#e=" in page.url
        assert page.evaluate("window.layerlab.experiment")["model"] == owner_design["model"]
        wait_status(page, "idle")

        assert viewer.unexpected_errors() == []
    # The owner's run was never touched by the watcher.
    assert owner.evaluate("window.layerlab.session.status") == "finished"


def test_an_unknown_run_says_so_and_shows_the_editor(lab):
    lab.allow(r"status of 404")  # the browser logs the refused GET /api/runs/{id}
    page = lab.page
    lab.open("#watch=no-such-run")
    message = page.text_content("#page-error")
    assert page.is_visible("#page-error")
    assert "no run “no-such-run”" in message and "editable page" in message, message
    assert page.evaluate("window.layerlab.watching") is None
    assert page.is_hidden("#watch-banner")
    page.wait_for_selector("body[data-check='ok']")
    assert page.is_enabled("#layer-0-units") and page.is_enabled("#train")
    assert page.is_visible("#palette")
    assert "#e=" in page.url
