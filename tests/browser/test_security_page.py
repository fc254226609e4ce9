"""The page and /docs under the Content-Security-Policy, in real Chromium: nothing refused,
nothing loaded from elsewhere; and the cost of each layer on the page (issue 7)."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from browser_helpers import PageWatch, experiment_hash, spiral, wait_drawn, wait_status

pytestmark = pytest.mark.browser

# Collected before any page script runs: every CSP refusal is one of these events.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) =>
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
"""


def _watch_requests(page, base: str) -> list[str]:
    foreign: list[str] = []
    origin = urlparse(base).netloc

    def on_request(request) -> None:
        url = urlparse(request.url)
        if url.scheme in ("http", "https", "ws", "wss") and url.netloc != origin:
            foreign.append(request.url)

    page.on("request", on_request)
    return foreign


@pytest.fixture
def strict(browser, server_url):
    """A page whose context enforces the CSP (the other tests' contexts bypass it)."""
    context = browser.new_context(viewport={"width": 1400, "height": 900}, bypass_csp=False)
    page = context.new_page()
    page.set_default_timeout(30_000)
    watch = PageWatch(page, server_url)
    yield watch
    errors = watch.unexpected_errors()
    context.close()
    assert not errors, "the page logged errors:\n" + "\n".join(errors)


def test_the_page_trains_under_its_csp_with_no_violation(strict):
    lab = strict
    page = lab.page
    page.add_init_script(RECORD_VIOLATIONS)
    foreign = _watch_requests(page, lab.base)
    response = page.goto(f"{lab.base}/{experiment_hash(spiral(epochs=5))}")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    page.wait_for_selector("body[data-ready='true']", timeout=20_000)
    page.wait_for_selector("body[data-check='ok']")
    # Every layer shows its compute next to its parameters, and the step's total.
    assert "FLOPs" in page.text_content("[data-layer-index='0'] .layer-params")
    assert "per training step" in page.text_content("#total-params")
    page.click("#train")
    wait_status(page, "finished")
    wait_drawn(page, "loss-chart")  # its legend swatches carry inline style attributes
    page.hover("#loss-chart", position={"x": 60, "y": 100})
    assert page.evaluate("window.__cspViolations") == []
    assert foreign == []


def test_docs_render_from_this_server_under_their_csp(strict):
    lab = strict
    page = lab.page
    page.add_init_script(RECORD_VIOLATIONS)
    foreign = _watch_requests(page, lab.base)
    page.goto(f"{lab.base}/docs")
    page.wait_for_selector(".opblock", timeout=30_000)  # Swagger UI drew the operations
    assert page.locator(".opblock").count() >= 10
    assert "/api/check" in page.text_content("#swagger-ui")
    assert page.evaluate("window.__cspViolations") == []
    assert foreign == []
