"""Browser tests: the real server in a subprocess, real Chromium through Playwright.

Chromium is Debian's /usr/bin/chromium. Without it the tests skip, except in CI (CI set),
where a missing browser is a failure. Each test's page collects console errors and page
errors and fails on any the test did not expect; screenshots go to test-artifacts/.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest
import servers
from browser_helpers import CspBypassingBrowser, PageWatch
from servers import CHROMIUM, CHROMIUM_ARGS


@pytest.fixture(scope="session")
def server_url(tmp_path_factory):
    """`python -m server.cli serve` on a free port, with small limits; its base URL."""
    state = tmp_path_factory.mktemp("layerlab")
    env = {
        # Eager training paces the runs these tests watch, pause and reconnect to (on the
        # fast path a 300-epoch spiral ends in under a second); tests/engine/test_fastpath.py
        # and the API tests cover the fast path.
        "LAYERLAB_FAST_PATH": "false",
        "LAYERLAB_DEVICE": "cpu",
        "LAYERLAB_STATE_DIR": str(state / "state"),
        "LAYERLAB_DATA_DIR": str(state / "data"),
        "LAYERLAB_CACHE_DIR": str(state / "cache"),
        "LAYERLAB_PERSIST_RUNS": "true",  # in a fresh state dir: ended runs' exports
        "LAYERLAB_MAX_SAMPLES": "5000",
        "LAYERLAB_MAX_EPOCHS": "20000",
        "LAYERLAB_MAX_PARAMS": "500000",
        "LAYERLAB_MAX_RUNS": "16",
        "LAYERLAB_MAX_RUNS_PER_CLIENT": "16",
        # Every test's browser is one address (loopback) on this one server, and a class stays
        # open for the day: more than the default 8 classes a test session opens are refused.
        "LAYERLAB_MAX_CLASSES_PER_CLIENT": "100",
        # An owner's page that is gone pauses its run after 10 s (the page beats every 2.5 s),
        # so a test can see an abandoned run pause, and closed pages free the worker.
        "LAYERLAB_OWNER_IDLE_PAUSE_S": "10",
        "LAYERLAB_OWNER_IDLE_STOP_S": "60",
    }
    with servers.running(env=env, workers=1, log=state / "server.log") as server:
        yield server.base


# Module scope: Playwright's sync API keeps an event loop running while it is open, which
# would break asyncio.run() in the tests collected after the browser tests.
@pytest.fixture(scope="module")
def browser():
    """Chromium, or a skip when it is missing outside CI (in CI a missing browser fails)."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: CI must run the browser tests")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium); CI is not set")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield CspBypassingBrowser(b)
        finally:
            b.close()


@pytest.fixture
def lab(browser, server_url, request):
    """A fresh page on the LayerLab server; fails the test on unexpected console errors."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    watch = PageWatch(page, server_url)
    yield watch
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        with contextlib.suppress(Exception):  # a screenshot must not hide the failure
            watch.screenshot(f"FAILED-{request.node.name}")
    errors = watch.unexpected_errors()
    context.close()
    assert not errors, "the page logged errors:\n" + "\n".join(errors)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.rep_call = report
