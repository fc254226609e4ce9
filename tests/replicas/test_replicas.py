"""Three real replicas on loopback sharing a real Redis and a real PostgreSQL: a run started
on one streams every epoch exactly once, in order, to viewers on the other two; its controls
work through any replica and the answer says what happened; a replica that starts leaves the
live runs of the others alone."""

from __future__ import annotations

import copy
import json
import threading
import time

import httpx
import pytest
from websockets.sync.client import connect

from server.api.models import SPIRAL_EXAMPLE

pytest_plugins = ["replica_fixtures"]  # its fixtures (see there why not a conftest.py)

pytestmark = pytest.mark.slow

HELLO_TIMEOUT_S = 60.0
READY_TIMEOUT_S = 60.0


def spiral(epochs: int | None, pace: float | None = None) -> dict:
    """A small spiral run; `pace` (epochs per second) keeps a run going however fast the
    machine is."""
    doc = copy.deepcopy(SPIRAL_EXAMPLE)
    doc["dataset"]["samples"] = 100
    doc["training"].update(epochs=epochs, batch_size=50)
    if pace is not None:
        doc["training"]["pace"] = pace
    return doc


class Viewer(threading.Thread):
    """A WebSocket viewer that reads one run's stream to its end in a thread."""

    def __init__(self, server, run_id: str):
        super().__init__(daemon=True)
        self.url = f"{server.ws_base}/ws/runs/{run_id}"
        self.messages: list[dict] = []
        self.hello = threading.Event()
        self.error: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            with connect(self.url, proxy=None, max_size=None) as ws:
                for text in ws:
                    self.messages.append(json.loads(text))
                    self.hello.set()
        except BaseException as err:  # reported by the test
            self.error = err
            self.hello.set()

    def epochs(self) -> list[int]:
        return [
            r["epoch"] for m in self.messages for r in m.get("history", []) + m.get("records", [])
        ]

    def statuses(self) -> list[str]:
        return [m["status"] for m in self.messages if m["type"] == "status"]


def control(server, run: dict, action: str, **extra) -> httpx.Response:
    """A control through `server`, once the run's row is there (the owner's writer commits
    it within its flush interval)."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        response = server.http.post(
            f"/api/runs/{run['id']}/control",
            json={"action": action, **extra},
            headers={"X-Run-Token": run["token"]},
        )
        if response.status_code != 404 or time.monotonic() > deadline:
            return response
        time.sleep(0.05)


def test_a_run_on_one_replica_streams_every_epoch_once_to_viewers_on_the_others(replicas):
    a, b, c = replicas.servers[:3]
    created = a.http.post("/api/runs", params={"paused": "true"}, json=spiral(120))
    assert created.status_code == 201, created.text
    run = created.json()

    viewers = [Viewer(b, run["id"]), Viewer(c, run["id"]), Viewer(c, run["id"])]
    for viewer in viewers:
        assert viewer.hello.wait(HELLO_TIMEOUT_S), "no hello from another replica"
        assert viewer.error is None, viewer.error
        hello = viewer.messages[0]
        assert hello["type"] == "hello" and hello["run"]["status"] == "paused", hello
        assert hello["history"] == []

    # One epoch through b, then the rest through c: both replicas relay to a, the owner.
    stepped = control(b, run, "step")
    assert stepped.status_code == 200, stepped.text
    resumed = control(c, run, "resume")
    assert resumed.status_code == 200, resumed.text
    assert resumed.json()["id"] == run["id"]

    for viewer in viewers:
        viewer.join(HELLO_TIMEOUT_S)
        assert not viewer.is_alive(), "the stream did not end"
        assert viewer.error is None, viewer.error
        assert viewer.epochs() == list(range(1, 121))  # every epoch, once, in order
        assert viewer.statuses()[-1] == "finished", viewer.statuses()

    # A late viewer on a third replica gets the whole history, once, then the end.
    late = Viewer(b, run["id"])
    late.join(HELLO_TIMEOUT_S)
    assert late.epochs() == list(range(1, 121)) and late.statuses()[-1] == "finished"

    # An ended run takes no controls, through any replica; the answer says why.
    refused = control(c, run, "pause")
    assert refused.status_code == 409 and "ended" in refused.json()["detail"], refused.text
    # Without its owner token, no replica relays anything.
    forged = c.http.post(f"/api/runs/{run['id']}/control", json={"action": "stop"})
    assert forged.status_code == 403


def test_controls_through_another_replica_say_what_happened(replicas):
    a, b, c = replicas.servers[:3]
    created = b.http.post("/api/runs", json=spiral(None, pace=20))  # until stopped
    assert created.status_code == 201, created.text
    run = created.json()
    # Found through any replica as soon as the 201 came (its row was still in b's writer:
    # a 404 from the others, once in a fresh clone's run).
    for other in (a, c):
        found = other.http.get(f"/api/runs/{run['id']}")
        assert found.status_code == 200, found.text
    viewer = Viewer(a, run["id"])
    assert viewer.hello.wait(HELLO_TIMEOUT_S) and viewer.error is None

    paused = control(c, run, "pause")
    assert paused.status_code == 200, paused.text
    assert paused.json()["status"] == "paused"
    lr = control(a, run, "set_lr", learning_rate=0.01)
    assert lr.status_code == 200, lr.text
    assert b.http.get(f"/api/runs/{run['id']}").json()["status"] == "paused"
    # A bad value is refused by the replica asked, naming the field.
    bad = control(a, run, "set_lr", learning_rate=-1)
    assert bad.status_code == 422 and "learning_rate" in bad.text, bad.text

    stopped = control(a, run, "stop")
    assert stopped.status_code == 200, stopped.text
    viewer.join(HELLO_TIMEOUT_S)
    assert viewer.statuses()[-1] == "stopped", viewer.statuses()
    epochs = viewer.epochs()
    assert epochs == list(range(1, len(epochs) + 1))


def test_a_replica_that_starts_leaves_the_live_runs_of_the_others_alone(replicas):
    a = replicas.servers[0]
    created = a.http.post("/api/runs", json=spiral(None, pace=20))
    assert created.status_code == 201, created.text
    run = created.json()
    viewer = Viewer(a, run["id"])
    assert viewer.hello.wait(HELLO_TIMEOUT_S) and viewer.error is None

    (d,) = replicas.start(1)  # starts on the same database while the run is live on a
    detail = d.http.get(f"/api/runs/{run['id']}").json()
    assert detail["status"] == "running", detail
    assert a.http.get(f"/api/runs/{run['id']}").json()["status"] == "running"

    stopped = control(d, run, "stop")  # and the new replica relays to the owner too
    assert stopped.status_code == 200, stopped.text
    viewer.join(HELLO_TIMEOUT_S)
    assert viewer.statuses()[-1] == "stopped"


def until(test, what: str, timeout: float = READY_TIMEOUT_S) -> None:
    """Wait (polling) until `test()` holds."""
    deadline = time.monotonic() + timeout
    while not test():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def snapshot_epochs(viewer: Viewer) -> list[int]:
    return [m["snapshot"]["epoch"] for m in viewer.messages if m["type"] == "snapshot"]


def test_viewers_elsewhere_get_snapshots_traces_and_predictions(replicas):
    a, b, c = replicas.servers[:3]
    created = a.http.post("/api/runs", json=spiral(None, pace=20))  # until stopped
    assert created.status_code == 201, created.text
    run = created.json()

    # Its only viewer is on b: a's worker draws for it, and the snapshots reach b, live.
    first = Viewer(b, run["id"])
    assert first.hello.wait(HELLO_TIMEOUT_S) and first.error is None, first.error
    until(lambda: len(set(snapshot_epochs(first))) >= 2, "live snapshots on b")
    # A viewer that connects on c gets the current snapshot at once, then live ones.
    late = Viewer(c, run["id"])
    until(lambda: len(set(snapshot_epochs(late))) >= 2, "the current snapshot, then more, on c")
    assert snapshot_epochs(late)[0] >= snapshot_epochs(first)[0]

    # One optimiser step asked through b: its trace reaches the viewers on b and c.
    assert control(c, run, "pause").status_code == 200
    stepped = control(b, run, "step_batch", sample=3)
    assert stepped.status_code == 200, stepped.text
    for viewer in (first, late):
        until(
            lambda v=viewer: any(
                m["type"] == "trace" and m["trace"]["samples"] == [3] for m in v.messages
            ),
            "the trace on another replica",
        )

    # A prediction asked on c is answered by a's worker, as a answers it itself.
    question = {"input": [0.25, -0.5]}
    there = c.http.post(f"/api/runs/{run['id']}/predict", json=question)
    here = a.http.post(f"/api/runs/{run['id']}/predict", json=question)
    assert there.status_code == 200 and here.status_code == 200, (there.text, here.text)
    assert there.json() == here.json()
    bad = c.http.post(f"/api/runs/{run['id']}/predict", json={"input": [1, 2, 3]})
    assert bad.status_code == 422 and "shape" in bad.text, bad.text

    assert control(b, run, "stop").status_code == 200
    for viewer in (first, late):
        viewer.join(HELLO_TIMEOUT_S)
        assert viewer.statuses()[-1] == "stopped", viewer.statuses()
