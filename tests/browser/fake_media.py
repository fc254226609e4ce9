"""Chromium with its fake camera and microphone (a moving test pattern, a periodic beep),
accepted without a prompt: the browser fixture of the capture and Try it tests. A module
imports `browser` from here, which overrides conftest's for that module only."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_helpers import CspBypassingBrowser
from servers import CHROMIUM, CHROMIUM_ARGS

FAKE_MEDIA = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


@pytest.fixture(scope="module")
def browser():
    """Chromium with fake media devices, for the importing module only."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + FAKE_MEDIA)
        try:
            yield CspBypassingBrowser(b)
        finally:
            b.close()
