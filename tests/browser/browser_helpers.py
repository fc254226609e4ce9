"""Helpers for the browser tests: designs in the URL, reading the page's own state, and a page
that keeps its console errors (imported by name: a bare `conftest` is another folder's too)."""

from __future__ import annotations

import base64
import copy
import json
import re
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"

TERMINAL = ("finished", "stopped", "failed", "diverged")


def experiment_hash(experiment: dict) -> str:
    """The page's URL fragment for an experiment (static/js/state.js: #e=base64url(JSON))."""
    raw = base64.urlsafe_b64encode(json.dumps(experiment).encode()).decode().rstrip("=")
    return f"#e={raw}"


def spiral(epochs: int = 20, samples: int = 200, **training) -> dict:
    """A small spiral MLP, quick to train."""
    doc = {
        "dataset": {
            "name": "spiral",
            "samples": samples,
            "noise": 0.1,
            "train_fraction": 0.5,
            "seed": 1,
            "crosses": ["x1", "x2"],
        },
        "model": {
            "layers": [
                {"type": "dense", "units": 8, "activation": "tanh"},
                {"type": "dense", "units": 8, "activation": "tanh"},
            ]
        },
        "training": {
            "optimizer": "adam",
            "learning_rate": 0.01,
            "batch_size": 20,
            "epochs": epochs,
            "seed": 0,
            "device": "auto",
        },
    }
    doc["training"].update(training)
    return copy.deepcopy(doc)


# How many distinct colours a canvas holds: a drawn view has many, a blank one one or two.
CANVAS_COLOURS = """
(id) => {
  const c = document.getElementById(id);
  if (!c || !c.width || !c.height || c.offsetParent === null) return 0;
  const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  const seen = new Set();
  const step = Math.max(1, Math.floor(data.length / 4 / 40000)) * 4;
  for (let i = 0; i < data.length; i += step) {
    seen.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2] | (data[i + 3] << 24));
    if (seen.size > 64) break;
  }
  return seen.size;
}
"""


def canvas_colours(page, canvas_id: str) -> int:
    return page.evaluate(CANVAS_COLOURS, canvas_id)


def wait_drawn(page, canvas_id: str, timeout: float = 30_000) -> None:
    """Until the view says it drew data (data-drawn) and its pixels are not blank."""
    page.wait_for_function(
        "(id) => document.getElementById(id)?.dataset.drawn === 'true'",
        arg=canvas_id,
        timeout=timeout,
    )
    colours = canvas_colours(page, canvas_id)
    assert colours > 8, f"canvas #{canvas_id} looks blank ({colours} colours)"


def wait_status(page, status: str | tuple, timeout: float = 60_000) -> str:
    wanted = [status] if isinstance(status, str) else list(status)
    page.wait_for_function(
        "(w) => w.includes(document.getElementById('status').dataset.status)",
        arg=wanted,
        timeout=timeout,
    )
    return page.get_attribute("#status", "data-status")


def epoch(page) -> int:
    return page.evaluate("window.layerlab.session.epoch")


def record_epochs(page) -> list[int]:
    return page.evaluate("window.layerlab.session.records.map((r) => r.epoch)")


def loss_points(page) -> int:
    return int(page.get_attribute("#loss-chart", "data-points") or 0)


# Every visible control with a label (or an aria-label), every button named, every canvas described.
LABELS = """
() => {
  const missing = [];
  const named = (el) => {
    if (el.getAttribute('aria-label') || el.getAttribute('aria-labelledby')) return true;
    if (el.id && document.querySelector(`label[for="${CSS.escape(el.id)}"]`)) return true;
    if (el.closest('label')) return true;
    return false;
  };
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (el.type === 'hidden' || el.closest('[hidden]')) continue;
    if (!named(el)) missing.push(el.outerHTML.slice(0, 120));
  }
  for (const el of document.querySelectorAll('button')) {
    if (!(el.textContent.trim() || el.getAttribute('aria-label'))) missing.push(el.outerHTML.slice(0, 120));
  }
  for (const el of document.querySelectorAll('canvas')) {
    if (!el.getAttribute('aria-label') || !el.getAttribute('title')) missing.push(el.outerHTML.slice(0, 120));
  }
  return missing;
}
"""


class PageWatch:
    """A page plus the console errors it logged; tests may allow some by pattern."""

    def __init__(self, page, base: str):
        self.page = page
        self.base = base
        self.errors: list[str] = []
        self.allowed: list[re.Pattern] = []
        page.on("console", self._console)
        page.on("pageerror", lambda err: self.errors.append(f"page error: {err}"))

    def _console(self, msg) -> None:
        if msg.type == "error":
            self.errors.append(f"console error: {msg.text} ({msg.location.get('url', '')})")

    def allow(self, pattern: str) -> None:
        """Expect console errors matching `pattern` (e.g. the 422 of a design check)."""
        self.allowed.append(re.compile(pattern))

    def unexpected_errors(self) -> list[str]:
        return [e for e in self.errors if not any(p.search(e) for p in self.allowed)]

    def open(self, fragment: str = "") -> None:
        self.page.goto(f"{self.base}/{fragment}")
        self.page.wait_for_selector("body[data-ready='true']", timeout=20_000)

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.evaluate("window.scrollTo(0, 0)")  # the run bar is sticky
        self.page.screenshot(path=str(path), full_page=True)
        return path


class CspBypassingBrowser:
    """The browser, whose contexts bypass the page's Content-Security-Policy unless asked not
    to: Playwright evaluates string predicates (`wait_for_function("...")`) with eval, which
    the CSP refuses. The CSP itself is tested without the bypass (test_security_page.py)."""

    def __init__(self, browser):
        self._browser = browser

    def new_context(self, **options):
        options.setdefault("bypass_csp", True)
        return self._browser.new_context(**options)

    def __getattr__(self, name):
        return getattr(self._browser, name)


class HeldAnswers:
    """The server's answers to `page`'s requests for `url` (a Playwright glob; only `method`
    when given), held on their way to the page: each request reaches the server at once, and
    its answer waits until `release()`. A race (the page's state changing before an answer
    lands) then happens in the same order on any machine."""

    def __init__(self, page, url: str, method: str | None = None):
        self.page, self.url, self.method = page, url, method
        self.held: list = []  # (route, the server's answer)
        page.route(url, self._hold)

    def _hold(self, route) -> None:
        if self.method is None or route.request.method == self.method:
            self.held.append((route, route.fetch()))
        else:
            route.continue_()

    def first(self, deadline_s: float = 30):
        """The first held answer, once the page has asked (Playwright dispatches the route's
        handler while the page is being waited on)."""
        deadline = time.monotonic() + deadline_s
        while not self.held:
            assert time.monotonic() < deadline, f"the page never asked for {self.url}"
            self.page.wait_for_timeout(50)
        return self.held[0][1]

    def release(self) -> None:
        """Every held answer on to the page; later requests go through (unrouted after: an
        unroute first would hand the held routes on)."""
        for route, answer in self.held:
            route.fulfill(response=answer)
        self.page.unroute(self.url, self._hold)
