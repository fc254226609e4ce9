"""A real server on SQLite and on PostgreSQL: killed with -9, stopped and started again, fed
corrupt rows, and left unable to write its database."""

from __future__ import annotations

import copy
import itertools
import json
import time

import pytest
from store_server import ServerProcess
from store_sql import sql, write_lock
from websockets.sync.client import connect

from server.api.models import SPIRAL_EXAMPLE
from server.config import Settings

pytest_plugins = ["store_fixtures"]  # its fixtures (see there why not a conftest.py)

pytestmark = pytest.mark.slow


def spiral(epochs: int | None) -> dict:
    """A small spiral; `epochs=None` trains until stopped, paced at 20 epochs a second: an
    open-ended run still ends at LAYERLAB_MAX_EPOCHS (10,000), which an unpaced one reached
    within one test here on a quiet machine; paced, it takes 500 s, longer than any test."""
    doc = copy.deepcopy(SPIRAL_EXAMPLE)
    doc["dataset"]["samples"] = 100
    doc["training"].update(epochs=epochs, batch_size=50)
    if epochs is None:
        doc["training"]["pace"] = 20
    return doc


def start(server: ServerProcess, epochs: int | None) -> dict:
    response = server.http.post("/api/runs", json=spiral(epochs))
    assert response.status_code == 201, response.text
    return response.json()


def watch(server: ServerProcess, run_id: str, seconds: float) -> list[tuple[float, dict]]:
    """Follow a run's stream for a while: each record with the time it arrived."""
    got: list[tuple[float, dict]] = []
    url = server.base.replace("http", "ws") + f"/ws/runs/{run_id}"
    deadline = time.monotonic() + seconds
    with connect(url, proxy=None, max_size=None) as ws:
        while time.monotonic() < deadline:
            try:
                message = json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
            except TimeoutError:
                break
            for record in message.get("history", []) + message.get("records", []):
                got.append((time.time(), record))
    return got


def read_to_end(server: ServerProcess, run_id: str) -> list[dict]:
    url = server.base.replace("http", "ws") + f"/ws/runs/{run_id}"
    messages = []
    with connect(url, proxy=None, max_size=None) as ws:
        for text in ws:
            messages.append(json.loads(text))
    return messages


def records_until(server: ServerProcess, run_id: str, count: int) -> list[dict]:
    """Follow a run's stream until `count` records have arrived (the deadline only turns a
    run that never gets there into a failure)."""
    got: list[dict] = []
    url = server.base.replace("http", "ws") + f"/ws/runs/{run_id}"
    deadline = time.monotonic() + 120
    with connect(url, proxy=None, max_size=None) as ws:
        while len(got) < count:
            assert time.monotonic() < deadline, f"{len(got)} records: {server.output()}"
            message = json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
            got += message.get("history", []) + message.get("records", [])
    return got


def stored_epochs(settings, run_id: str) -> int:
    """The last epoch of `run_id` committed to the database, read from outside LayerLab."""
    rows = sql(settings, "SELECT MAX(epoch) FROM epochs WHERE run_id = ?", (run_id,))
    return rows[0][0] or 0


def test_kill_9_loses_nothing_committed_and_active_runs_come_back_interrupted(settings):
    """A kill -9 mid-run: every record the writer had committed comes back, in order, and the
    run is `interrupted`. (It waited on the clock before: "everything seen 1.5 s before the
    kill is stored" failed on a loaded machine, where the flush came later; now the test waits
    for a commit it can see in the database, then kills.)"""
    server = ServerProcess(settings)
    try:
        done = start(server, 3)
        read_to_end(server, done["id"])
        run = start(server, None)  # until stopped (paced): active whatever the speed
        seen = records_until(server, run["id"], 21)
        assert [r["epoch"] for r in seen] == list(range(1, len(seen) + 1))
        deadline = time.monotonic() + 120
        while (committed := stored_epochs(settings, run["id"])) < 20:
            assert time.monotonic() < deadline, f"epoch {committed} stored: {server.output()}"
            time.sleep(0.05)
        server.kill()
    finally:
        server.stop()

    server = ServerProcess(settings)
    try:
        detail = server.http.get(f"/api/runs/{run['id']}").json()
        assert detail["status"] == "interrupted", detail["status"]
        assert "history up to epoch" in detail["message"]
        epochs = [r["epoch"] for r in detail["history"]]
        assert epochs == list(range(1, len(epochs) + 1))  # in order, no gap
        assert epochs[-1] >= committed  # nothing the database had taken is lost
        assert detail["epoch"] == epochs[-1]

        finished = server.http.get(f"/api/runs/{done['id']}").json()
        assert finished["status"] == "finished" and len(finished["history"]) == 3
        # model.onnx is offered beside the weights: it is made from them on its first download.
        assert set(finished["export"]) == {"model.py", "weights.safetensors", "model.onnx"}
        script = server.http.get(finished["export"]["model.py"])
        assert script.status_code == 200 and "def build_model()" in script.text

        # A late viewer of the interrupted run reads its history from the database.
        messages = read_to_end(server, run["id"])
        assert messages[0]["type"] == "hello" and messages[-1]["status"] == "interrupted"
        streamed = [
            r["epoch"] for m in messages for r in m.get("history", []) + m.get("records", [])
        ]
        assert streamed == epochs

        listed = server.http.get("/api/runs", params={"status": "interrupted"}).json()
        assert [r["id"] for r in listed] == [run["id"]]
    finally:
        server.stop()


def test_a_graceful_restart_keeps_history_and_corrupt_rows_cost_only_themselves(settings):
    server = ServerProcess(settings)
    try:
        run = start(server, None)  # until stopped (paced): active whatever the speed
        # Epochs 3-5 are paged below: wait for them, not for 2 s (fewer on a loaded machine).
        records_until(server, run["id"], 6)
    finally:
        server.stop()  # SIGTERM with a run active

    columns = "id, status, client, experiment_json, check_json, epoch, created"
    for row in (
        ("bogus", "bogus", "c", "{}", "{}", 0, 1e10),
        ("notjson", "finished", "c", "{oops", "{}", 0, 1e10),
        ("nullcheck", "finished", "c", "{}", "null", 0, 1e10),
    ):
        sql(settings, f"INSERT INTO runs ({columns}) VALUES (?, ?, ?, ?, ?, ?, ?)", row)
    sql(
        settings,
        "INSERT INTO epochs (run_id, epoch, record_json) VALUES (?, 0, '[1, 2]')",
        (run["id"],),
    )

    server = ServerProcess(settings)
    try:
        listed = server.http.get("/api/runs")
        assert listed.status_code == 200
        assert [r["id"] for r in listed.json()] == [run["id"]]
        assert listed.headers["X-Total-Count"] == "1"
        for bad in ("bogus", "notjson", "nullcheck"):
            assert server.http.get(f"/api/runs/{bad}").status_code == 404
        detail = server.http.get(f"/api/runs/{run['id']}").json()
        assert detail["status"] == "interrupted"
        assert detail["message"] == "the server shut down while this run was active"
        epochs = [r["epoch"] for r in detail["history"]]  # the corrupt record is skipped
        assert epochs and epochs == list(range(1, len(epochs) + 1))
        page = server.http.get(f"/api/runs/{run['id']}/history", params={"after": 2, "limit": 3})
        assert [r["epoch"] for r in page.json()["records"]] == [3, 4, 5]
        assert page.json()["next"] == 5
        csv = server.http.get(f"/api/runs/{run['id']}/history.csv")
        lines = csv.text.strip().splitlines()
        assert lines[0].startswith("epoch,loss,val_loss,accuracy,val_accuracy")
        assert len(lines) == len(epochs) + 1
        assert server.http.get("/api/health").json()["status"] == "ok"
    finally:
        server.stop()


def test_a_database_that_cannot_be_written_degrades_health_and_loses_nothing(settings):
    server = ServerProcess(settings)
    try:
        run = start(server, None)  # until stopped (paced): still running whatever the speed
        watch(server, run["id"], 1.0)
        with write_lock(settings):
            deadline = time.monotonic() + 30
            while (health := server.http.get("/api/health").json())["status"] == "ok":
                assert time.monotonic() < deadline, "the failure did not show"
                time.sleep(0.1)
            assert "the database cannot be written" in health["reasons"][0]
            assert health["database"]["error"] and not health["database"]["ok"]
            # Still serving; the run's message follows the writer's news (a hop to the loop).
            deadline = time.monotonic() + 10
            while True:
                detail = server.http.get(f"/api/runs/{run['id']}").json()
                assert detail["status"] == "running", "the run should outlast the lock"
                if (detail["message"] or "").startswith("not being saved: "):
                    break
                assert time.monotonic() < deadline, detail["message"]
                time.sleep(0.1)
            assert server.http.get("/api/runs").status_code == 200
        stop = server.http.post(
            f"/api/runs/{run['id']}/control",
            json={"action": "stop"},
            headers={"X-Run-Token": run["token"]},
        )
        assert stop.status_code == 200, stop.text
        messages = read_to_end(server, run["id"])
        assert messages[-1]["status"] == "stopped"
        settle(server)  # every write queued before the run ended has been committed
        final = server.http.get(f"/api/runs/{run['id']}").json()["epoch"]
        count = sql(settings, "SELECT count(*) FROM epochs WHERE run_id = ?", (run["id"],))
        assert final > 0 and count == [(final,)]
    finally:
        server.stop()


def settle(server: ServerProcess, timeout: float = 30.0) -> None:
    """Wait until the database can be written and nothing queued is left uncommitted."""
    deadline = time.monotonic() + timeout
    while (health := server.http.get("/api/health").json())["status"] != "ok" or health["database"][
        "pending"
    ]:
        assert time.monotonic() < deadline, f"the database did not settle: {health}"
        time.sleep(0.1)


EXPORTS = ("model.py", "weights.safetensors", "model.onnx")


def test_exports_are_added_to_never_replaced_in_any_order_across_a_restart(settings):
    """Issue 20: downloading model.onnx (made on its first request, then stored) replaced
    the run's stored export whole, deleting model.py and weights.safetensors."""
    server = ServerProcess(settings)
    try:
        run = start(server, 3)
        assert read_to_end(server, run["id"])[-1]["status"] == "finished"
        settle(server)
        first: dict[str, bytes] = {}
        for _ in range(2):
            for order in itertools.permutations(EXPORTS):
                for name in order:
                    got = server.http.get(f"/api/runs/{run['id']}/export/{name}", timeout=120)
                    assert got.status_code == 200, (order, name, got.text)
                    assert got.content == first.setdefault(name, got.content), (order, name)
                    settle(server)  # the ONNX file is committed before the next download
    finally:
        server.stop()
    server = ServerProcess(settings)
    try:
        for _ in range(2):
            for order in itertools.permutations(EXPORTS):
                for name in order:
                    got = server.http.get(f"/api/runs/{run['id']}/export/{name}", timeout=120)
                    assert got.status_code == 200, (order, name, got.text)
                    assert got.content == first[name], (order, name)
        links = server.http.get(f"/api/runs/{run['id']}").json()["export"]
        assert sorted(links) == sorted(EXPORTS)
    finally:
        server.stop()


def test_an_interrupted_run_resumes_from_its_checkpoint_for_its_owner_only(settings):
    server = ServerProcess(settings, checkpoint_interval_s=0.5)
    try:
        run = start(server, None)  # until stopped (paced): active whatever the speed
        done = start(server, 2)
        watch(server, run["id"], 3.0)
        read_to_end(server, done["id"])
        server.kill()
    finally:
        server.stop()

    server = ServerProcess(settings, checkpoint_interval_s=0.5)
    try:
        before = server.http.get(f"/api/runs/{run['id']}").json()
        assert before["status"] == "interrupted"
        url = f"/api/runs/{run['id']}/control"
        resume = {"action": "resume"}
        assert server.http.post(url, json=resume).status_code == 403
        assert (
            server.http.post(url, json=resume, headers={"X-Run-Token": "nope"}).status_code == 403
        )
        finished = server.http.post(
            f"/api/runs/{done['id']}/control", json=resume, headers={"X-Run-Token": done["token"]}
        )
        assert finished.status_code == 409 and "has ended (finished)" in finished.text

        resumed = server.http.post(url, json=resume, headers={"X-Run-Token": run["token"]})
        assert resumed.status_code == 200, resumed.text
        assert resumed.json()["status"] in ("queued", "running")
        seen = watch(server, run["id"], 2.0)
        epochs = [r["epoch"] for _, r in seen]
        assert epochs == list(range(1, len(epochs) + 1))  # the kept history, then onwards
        assert epochs[-1] > 5
        # Its weights came back: the loss carries on from where it was, not from scratch.
        restart_at = max(e for e in epochs if e <= before["epoch"])
        first_new = {r["epoch"]: r for _, r in seen}[restart_at + 1]
        assert first_new["loss"] < before["history"][0]["loss"]
        stop = server.http.post(url, json={"action": "stop"}, headers={"X-Run-Token": run["token"]})
        assert stop.status_code == 200
        read_to_end(server, run["id"])
        after = server.http.get(f"/api/runs/{run['id']}").json()
        assert after["status"] == "stopped"
        history = [r["epoch"] for r in after["history"]]
        deadline = time.monotonic() + 10
        while history != list(range(1, after["epoch"] + 1)) and time.monotonic() < deadline:
            time.sleep(0.5)  # until its last records are committed
            after = server.http.get(f"/api/runs/{run['id']}").json()
            history = [r["epoch"] for r in after["history"]]
        assert history == list(range(1, after["epoch"] + 1))
    finally:
        server.stop()


def test_presence_and_controls_on_runs_out_of_memory_are_answers_not_500s(settings):
    """Issue 20: presence on a run that was evicted or came from before a restart raised
    AttributeError (a 500 for any token); a non-ASCII token made compare_digest raise."""
    strange = {"X-Run-Token": "t\u00e9".encode("latin-1")}  # a header may carry any byte
    server = ServerProcess(settings)
    try:
        run = start(server, 2)
        assert read_to_end(server, run["id"])[-1]["status"] == "finished"
        control = f"/api/runs/{run['id']}/control"
        assert (
            server.http.post(control, json={"action": "pause"}, headers=strange).status_code == 403
        )
        settle(server)
    finally:
        server.stop()
    server = ServerProcess(settings)
    try:
        presence = f"/api/runs/{run['id']}/presence"
        mine = server.http.post(presence, headers={"X-Run-Token": run["token"]})
        assert mine.status_code == 200, mine.text
        assert mine.json()["status"] == "finished" and mine.json()["epoch"] == 2
        for headers in ({}, {"X-Run-Token": "nope"}, strange):
            assert server.http.post(presence, headers=headers).status_code == 403
        control = f"/api/runs/{run['id']}/control"
        refused = server.http.post(control, json={"action": "pause"}, headers=strange)
        assert refused.status_code == 403
    finally:
        server.stop()


def test_a_control_on_a_run_still_waiting_for_its_worker_is_queued_not_refused(settings):
    """Issue 20: a run created paused right after the server started (its worker still
    importing torch) answered step_batch with 409 "no live worker"; the step now waits with
    the run and is applied on its worker."""
    server = ServerProcess(settings, wait_for_workers=False)
    try:
        response = server.http.post("/api/runs", json=spiral(5), params={"paused": "true"})
        assert response.status_code == 201, response.text
        run = response.json()
        before = server.http.get("/api/health").json()["workers_ready"]
        control = server.http.post(
            f"/api/runs/{run['id']}/control",
            json={"action": "step_batch", "sample": 0},
            headers={"X-Run-Token": run["token"]},
        )
        assert control.status_code == 200, control.text
        deadline = time.monotonic() + 60
        while (trace := server.http.get(f"/api/runs/{run['id']}/trace")).status_code == 404:
            assert time.monotonic() < deadline, "the queued step was never applied"
            time.sleep(0.1)
        assert trace.status_code == 200 and trace.json()
        print(f"\n[queued control] workers ready when it was sent: {before}")
    finally:
        server.stop()


@pytest.fixture
def pg_settings(tmp_path, postgres) -> Settings:
    """PostgreSQL only: the failures below are PostgreSQL's own."""
    return Settings(
        state_dir=tmp_path / "state",
        database_url=postgres.new_database(),
        flush_interval_s=0.2,
        persist_runs=True,
    )


def test_a_postgresql_schema_error_is_kept_and_retried_not_dropped_as_refused(pg_settings):
    """Issue 20: the writer counted `ProgrammingError` as "refused" and dropped those writes, so
    a PostgreSQL permission or schema error (a table renamed by a migration gone wrong, a role
    without INSERT) silently lost data. Here the epochs table goes away under a running run:
    health degrades naming the error, nothing is dropped, and once the table is back every
    epoch arrives exactly once."""
    settings = pg_settings
    server = ServerProcess(settings)
    try:
        run = start(server, None)  # until stopped (paced): running whatever the speed
        records_until(server, run["id"], 5)
        sql(settings, "ALTER TABLE epochs RENAME TO epochs_away")
        try:
            deadline = time.monotonic() + 60
            while (health := server.http.get("/api/health").json())["status"] == "ok":
                assert time.monotonic() < deadline, "the failure did not show"
                time.sleep(0.1)
            assert "the database cannot be written" in health["reasons"][0], health
            assert "epochs" in health["database"]["error"], health["database"]
            # The run trains on while its epochs wait (in memory, then the journal).
            records_until(server, run["id"], 40)
        finally:
            sql(settings, "ALTER TABLE epochs_away RENAME TO epochs")
        stop = server.http.post(
            f"/api/runs/{run['id']}/control",
            json={"action": "stop"},
            headers={"X-Run-Token": run["token"]},
        )
        assert stop.status_code == 200, stop.text
        assert read_to_end(server, run["id"])[-1]["status"] == "stopped"
        settle(server, timeout=120)
        health = server.http.get("/api/health").json()
        assert health["database"]["dropped"] == 0, health
        final = server.http.get(f"/api/runs/{run['id']}").json()["epoch"]
        stored = sql(
            settings, "SELECT epoch FROM epochs WHERE run_id = ? ORDER BY epoch", (run["id"],)
        )
        assert final >= 40 and [e for (e,) in stored] == list(range(1, final + 1))
    finally:
        server.stop()
