"""Predictions waiting on active runs are bounded per run and per client (429 naming the
setting, with Retry-After), and one whose caller hangs up stops counting at once (and is
dropped from its worker's queue: tests/runs/test_worker_asks.py). The workers are stopped
(SIGSTOP) so that asks stay in flight for as long as the test needs, whatever the speed."""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from urllib.parse import urlsplit

from live_server import Live, spiral


def _state(live: Live):
    app = live.server.config.loaded_app
    while not hasattr(app, "state"):
        app = app.app
    return app.state


def _paused_run(live: Live) -> dict:
    response = live.http.post("/api/runs", params={"paused": "true"}, json=spiral(epochs=5))
    assert response.status_code == 201, response.text
    return response.json()


def _hanging_ask(live: Live, run_id: str) -> socket.socket:
    """A predict request sent on a raw socket whose answer is not read (yet)."""
    url = urlsplit(live.base)
    body = json.dumps({"input": [0.5, -1.0], "explain": True}).encode()
    sock = socket.create_connection((url.hostname, url.port))
    sock.sendall(
        f"POST /api/runs/{run_id}/predict HTTP/1.1\r\nHost: {url.hostname}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    return sock


def _until(condition, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def test_asks_in_flight_are_bounded_and_a_caller_who_hangs_up_frees_its_place(live: Live, limits):
    limits(max_asks_per_run=2, max_asks_per_client=3, heartbeat_timeout_s=300.0)
    live.wait_idle()
    gate = _state(live).manager.asks
    a, b = _paused_run(live), _paused_run(live)
    pids = {w["pid"] for w in live.http.get("/api/workers").json() if w["runs"]}
    hanging: list[socket.socket] = []
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        hanging += [_hanging_ask(live, a["id"]), _hanging_ask(live, a["id"])]
        _until(lambda: gate.per_run[a["id"]] == 2, "two asks waiting on run a")
        refused = live.http.post(f"/api/runs/{a['id']}/predict", json={"input": [0, 0]})
        assert refused.status_code == 429, refused.text
        assert "LAYERLAB_MAX_ASKS_PER_RUN" in refused.json()["detail"]
        assert int(refused.headers["Retry-After"]) > 0
        hanging.append(_hanging_ask(live, b["id"]))
        _until(lambda: gate.per_client.total() == 3, "three asks waiting from this client")
        refused = live.http.post(f"/api/runs/{b['id']}/predict", json={"input": [0, 0]})
        assert refused.status_code == 429, refused.text
        assert "LAYERLAB_MAX_ASKS_PER_CLIENT" in refused.json()["detail"]
        assert int(refused.headers["Retry-After"]) > 0
        for sock in hanging:  # the callers give up: their places are free again
            sock.close()
        _until(lambda: not gate.per_client and not gate.per_run, "asks freed on hang-up", 10)
    finally:
        for sock in hanging:
            sock.close()
        for pid in pids:
            os.kill(pid, signal.SIGCONT)
    answer = live.http.post(f"/api/runs/{a['id']}/predict", json={"input": [0.5, -1.0]})
    assert answer.status_code == 200, answer.text
    for run in (a, b):
        assert live.control(run, "stop").status_code == 200
    live.wait_idle()
