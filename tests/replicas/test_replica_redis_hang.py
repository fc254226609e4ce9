"""A Redis that hangs (SIGSTOP: it accepts connections and never answers) does not stall a
replica: while a burst of run creates and class pages wait for it, `GET /api/health` (which
reads no Redis: memory and the database writer's state) answers within a second each time.

The calls that reach Redis for a limit each wait at most half a second for it (a new run's
slots: server/cluster/admission.py; class sockets and throttles: shared_limits.py). On the
event loop, the burst here held it for 0.5 s per request, ten seconds in all; off it, the
requests wait side by side and the replica counts on its own meanwhile. Once Redis answers
again the creates have all been answered (201, or a refusal: never a 500) and the replica
works as before."""

from __future__ import annotations

import contextlib
import copy
import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from websockets.sync.client import connect

from server.api.models import SPIRAL_EXAMPLE

pytest_plugins = ["replica_fixtures"]  # its fixtures (see there why not a conftest.py)

pytestmark = pytest.mark.slow

CREATES = 10  # runs created at once while Redis hangs
PAGES = 10  # class pages opened at once meanwhile
HEALTH_S = 1.0  # the longest a health check may take (the old stall: 0.5 s x 20 requests)
WATCH_S = 3.0  # health is watched at least this long, and until every request is answered
WAIT_S = 60.0


@pytest.fixture(scope="module")
def lone(make_replicas):
    """One replica (on its own Redis database) with room for the whole burst."""
    return make_replicas(
        1,
        "hang",
        redis_db=7,
        max_runs=4 * CREATES,
        max_runs_per_client=4 * CREATES,
        max_class_sockets_per_member=4 * PAGES,
        max_class_sockets_per_client=4 * PAGES,
        class_max_sockets=4 * PAGES,
    )


def spiral() -> dict:
    doc = copy.deepcopy(SPIRAL_EXAMPLE)
    doc["dataset"]["samples"] = 100
    doc["training"].update(epochs=None, batch_size=50, pace=5)
    return doc


def create(server) -> httpx.Response:
    """POST /api/runs (paused: the burst should not load the machine) on a client of its own."""
    with httpx.Client(base_url=server.base, timeout=WAIT_S, trust_env=False) as http:
        return http.post("/api/runs", params={"paused": "true"}, json=spiral())


def open_page(server, code: str, teacher: str, held: contextlib.ExitStack) -> str:
    """A teacher's class page, kept open in `held`: the first message's type."""
    url = f"{server.ws_base}/ws/classes/{code}?teacher={teacher}"
    ws = held.enter_context(connect(url, proxy=None, open_timeout=WAIT_S, max_size=None))
    return ws.recv(timeout=WAIT_S)


def test_a_hung_redis_does_not_stall_the_replica(lone, redis_server):
    (server,) = lone.servers
    opened = server.http.post("/api/classes", json={"name": "Hang 101"})
    assert opened.status_code == 201, opened.text
    code, teacher = opened.json()["code"], opened.json()["teacher_token"]
    runs: list[dict] = []
    held = contextlib.ExitStack()
    held_lock = threading.Lock()

    def page() -> str:
        with held_lock:
            stack = held.enter_context(contextlib.ExitStack())
        return open_page(server, code, teacher, stack)

    slowest = 0.0
    checks = 0
    try:
        with ThreadPoolExecutor(CREATES + PAGES) as pool:
            os.kill(redis_server.process.pid, signal.SIGSTOP)
            try:
                begun = time.monotonic()
                creates = [pool.submit(create, server) for _ in range(CREATES)]
                pages = [pool.submit(page) for _ in range(PAGES)]
                while time.monotonic() - begun < WATCH_S or not all(
                    f.done() for f in creates + pages
                ):
                    asked = time.monotonic()
                    health = server.http.get("/api/health")
                    took = time.monotonic() - asked
                    assert health.status_code == 200, health.text
                    slowest, checks = max(slowest, took), checks + 1
                    assert took < HEALTH_S, (
                        f"GET /api/health took {took:.2f} s: the replica stalled"
                    )
                    assert time.monotonic() - begun < WAIT_S, "the burst was never answered"
                    time.sleep(0.05)
            finally:
                os.kill(redis_server.process.pid, signal.SIGCONT)
            answers = [f.result() for f in creates]
            hellos = [f.result() for f in pages]
        assert checks >= WATCH_S / (HEALTH_S + 0.05), checks
        statuses = sorted(r.status_code for r in answers)
        assert set(statuses) <= {201, 429, 503}, [r.text for r in answers]
        runs += [r.json() for r in answers if r.status_code == 201]
        assert runs, statuses  # Redis away, the replica's own counts admit them
        assert all('"hello"' in hello for hello in hellos), hellos

        # Redis answers again: the replica works as before.
        after = create(server)
        assert after.status_code == 201, after.text
        runs.append(after.json())
        assert '"hello"' in page()
        health = server.http.get("/api/health").json()
        assert health["status"] == "ok", health
        assert health["active_runs"] == len(runs), health
    finally:
        held.close()
        for run in runs:
            stopped = server.http.post(
                f"/api/runs/{run['id']}/control",
                json={"action": "stop"},
                headers={"X-Run-Token": run["token"]},
            )
            assert stopped.status_code == 200, stopped.text
