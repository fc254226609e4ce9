"""A worker that dies takes only its own runs down; it is replaced and new runs work."""

from __future__ import annotations

import os
import signal
import time

from live_server import Live, spiral


def _worker_of(live: Live, run_id: str) -> dict:
    for worker in live.http.get("/api/workers").json():
        if run_id in worker["runs"]:
            return worker
    raise AssertionError(f"no worker holds {run_id}")


def test_kill_9_fails_that_run_with_a_reason_and_the_server_carries_on(live: Live):
    live.wait_idle()
    victim = live.start(spiral(epochs=None, samples=200, pace=100))
    survivor = live.start(spiral(epochs=40, samples=200))
    doomed = _worker_of(live, victim["id"])
    assert _worker_of(live, survivor["id"])["pid"] != doomed["pid"]  # least-loaded placement

    viewer = live.stream(victim["id"])
    viewer.read_until(lambda m: m["type"] == "epoch")
    killed_at = time.monotonic()
    os.kill(doomed["pid"], signal.SIGKILL)
    final = viewer.read_to_end(timeout=10)[-1]
    assert time.monotonic() - killed_at < 5
    assert final["status"] == "failed"
    assert "worker process died" in final["message"] and "signal 9" in final["message"]
    epochs = viewer.epochs()
    assert epochs == list(range(1, len(epochs) + 1))

    other = live.stream(survivor["id"])
    assert other.read_to_end()[-1]["status"] == "finished"

    live.wait_workers_ready()
    pids = {w["pid"] for w in live.http.get("/api/workers").json()}
    assert doomed["pid"] not in pids and len(pids) == live.settings.workers
    after = live.start(spiral(epochs=5))
    viewer = live.stream(after["id"])
    assert viewer.read_to_end()[-1]["status"] == "finished"
    assert viewer.epochs() == [1, 2, 3, 4, 5]
