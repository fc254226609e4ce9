"""Calls the replica tests make of a replica (a plain module: replica_fixtures is a pytest
plugin, which a test module may not import)."""

from __future__ import annotations

import time
from collections.abc import Callable


def stop_run(server, run: dict) -> None:
    """Stop `run` (as its owner) through `server`, which answers 200."""
    stopped = server.http.post(
        f"/api/runs/{run['id']}/control",
        json={"action": "stop"},
        headers={"X-Run-Token": run["token"]},
    )
    assert stopped.status_code == 200, stopped.text


def until(check: Callable[[], object], what: str, timeout: float = 60.0) -> object:
    """Poll `check` until it gives something true, and return that (AssertionError naming
    `what` after `timeout` s: a failure only; every wait is on an event)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
