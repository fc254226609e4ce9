"""A real server for the API tests: uvicorn in a thread, two spawned workers, the real engine.

One server serves the whole session (workers take seconds to import torch); tests that need
other limits patch the live settings object for their duration.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import servers
from live_server import Live

from server.config import Settings


@pytest.fixture(scope="session")
def live(tmp_path_factory) -> Iterator[Live]:
    settings = Settings(
        workers=2,
        max_runs=48,
        max_runs_per_client=40,
        viewer_timeout_s=2.0,
        persist_runs=True,  # in a fresh directory: ended runs and their exports go there
        state_dir=tmp_path_factory.mktemp("state"),
        data_dir=tmp_path_factory.mktemp("data"),
        cache_dir=tmp_path_factory.mktemp("cache"),
    )
    with (
        servers.in_thread(settings) as (server, base),
        httpx.Client(base_url=base, timeout=30, trust_env=False) as http,
    ):
        live = Live(settings, base, http, server)
        live.wait_workers_ready()
        yield live


@pytest.fixture
def limits(live: Live, monkeypatch):
    """Set limits on the live server for one test."""

    def apply(**values):
        for name, value in values.items():
            monkeypatch.setattr(live.settings, name, value)

    return apply
