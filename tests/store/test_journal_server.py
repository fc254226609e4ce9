"""The writer's journal against a real server: while its database cannot be written, writes
beyond `LAYERLAB_STORE_MAX_PENDING` wait in a file in the state folder and are replayed, in
order and exactly once, when it can be written again, or by the next server."""

from __future__ import annotations

import copy
import time
from pathlib import Path

import pytest
from store_server import ServerProcess
from store_sql import sql, write_lock
from websockets.sync.client import connect

from server.api.models import SPIRAL_EXAMPLE

pytest_plugins = ["store_fixtures"]

pytestmark = pytest.mark.slow

SMALL = 100  # the smallest memory bound there is: the journal takes over within a second


def start(server: ServerProcess) -> dict:
    doc = copy.deepcopy(SPIRAL_EXAMPLE)
    doc["dataset"]["samples"] = 100
    doc["training"].update(epochs=None, batch_size=50)  # until stopped, whatever the speed
    response = server.http.post("/api/runs", json=doc)
    assert response.status_code == 201, response.text
    return response.json()


def database(server: ServerProcess) -> dict:
    return server.http.get("/api/health").json()["database"]


def wait_for(server: ServerProcess, test, what: str, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while not test(db := database(server)):
        assert time.monotonic() < deadline, f"{what}: {db}"
        time.sleep(0.1)
    return db


def stop_and_end(server: ServerProcess, run: dict) -> None:
    stop = server.http.post(
        f"/api/runs/{run['id']}/control",
        json={"action": "stop"},
        headers={"X-Run-Token": run["token"]},
    )
    assert stop.status_code == 200, stop.text
    url = server.base.replace("http", "ws") + f"/ws/runs/{run['id']}"
    with connect(url, proxy=None, max_size=None) as ws:
        for _ in ws:
            pass  # to the end of the stream: the run has ended


def exactly_once(settings, run_id: str, final: int) -> None:
    rows = sql(settings, "SELECT epoch FROM epochs WHERE run_id = ? ORDER BY id", (run_id,))
    assert [e for (e,) in rows] == list(range(1, final + 1))  # each once, in order


def test_writes_beyond_memory_wait_in_the_journal_and_arrive_exactly_once(settings):
    server = ServerProcess(settings, store_max_pending=SMALL)
    journal = Path(settings.state_dir) / "store-journal.bin"
    try:
        run = start(server)
        with write_lock(settings):
            db = wait_for(
                server, lambda d: not d["ok"] and d["journaled"] > 5 * SMALL, "not journaled"
            )
            assert db["dropped"] == 0 and db["pending"] >= db["journaled"]
            assert journal.stat().st_size > 0
        db = wait_for(server, lambda d: d["ok"] and d["journaled"] == 0, "not replayed")
        stop_and_end(server, run)
        db = wait_for(server, lambda d: d["ok"] and d["pending"] == 0, "did not settle")
        assert db["dropped"] == 0 and not journal.exists()
        final = server.http.get(f"/api/runs/{run['id']}").json()["epoch"]
        assert final > 5 * SMALL
        exactly_once(settings, run["id"], final)
    finally:
        server.stop()


def test_a_server_stopped_while_the_database_is_locked_leaves_a_journal_the_next_replays(
    settings,
):
    server = ServerProcess(settings, store_max_pending=SMALL)
    journal = Path(settings.state_dir) / "store-journal.bin"
    try:
        run = start(server)
        with write_lock(settings):
            wait_for(server, lambda d: d["journaled"] > 5 * SMALL, "nothing was journaled")
            stop_and_end(server, run)
            final = server.http.get(f"/api/runs/{run['id']}").json()["epoch"]
            server.stop()  # SIGTERM: what memory still holds goes to the journal too
            assert journal.stat().st_size > 0
    finally:
        server.stop()
    assert sql(settings, "SELECT count(*) FROM epochs WHERE run_id = ?", (run["id"],))[0][0] < final

    server = ServerProcess(settings, store_max_pending=SMALL)
    try:
        detail = server.http.get(f"/api/runs/{run['id']}").json()
        assert detail["status"] == "stopped" and detail["epoch"] == final
        assert database(server)["journaled"] == 0 and not journal.exists()
        exactly_once(settings, run["id"], final)
    finally:
        server.stop()
