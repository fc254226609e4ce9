"""Calls the replica tests make of a replica (a plain module: replica_fixtures is a pytest
plugin, which a test module may not import)."""

from __future__ import annotations


def stop_run(server, run: dict) -> None:
    """Stop `run` (as its owner) through `server`, which answers 200."""
    stopped = server.http.post(
        f"/api/runs/{run['id']}/control",
        json={"action": "stop"},
        headers={"X-Run-Token": run["token"]},
    )
    assert stopped.status_code == 200, stopped.text
