"""kill -9 of the replica that owns a run: another replica takes it over from its last
checkpoint (in the database: the replicas share no folder) within 10 s, its viewers reconnect
to any replica and see one continuous history, and at most one second of records is lost.
SIGTERM of the owner hands its runs over: taken over at once (long before their leases would
lapse), from a checkpoint saved as they left, so nothing is trained twice."""

from __future__ import annotations

import copy
import json
import threading
import time

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from server.api.models import SPIRAL_EXAMPLE

pytest_plugins = ["replica_fixtures"]  # its fixtures (see there why not a conftest.py)

pytestmark = pytest.mark.slow

PACE = 20.0  # epochs per second: one second of records is PACE records
TAKEOVER_S = 10.0
WAIT_S = 60.0


def adam_spiral() -> dict:
    doc = copy.deepcopy(SPIRAL_EXAMPLE)
    doc["dataset"]["samples"] = 100
    doc["training"].update(epochs=None, batch_size=50, optimizer="adam", pace=PACE)
    return doc


class Follower(threading.Thread):
    """Follows a run across reconnects (to the replicas given, in turn): every record with
    the time it arrived, per connection."""

    def __init__(self, servers, run_id: str):
        super().__init__(daemon=True)
        self.urls = [f"{s.ws_base}/ws/runs/{run_id}" for s in servers]
        self.connections: list[list[tuple[float, dict]]] = []
        self.closes: list[int | None] = []
        self.changed = threading.Condition()
        self.stop = threading.Event()
        self.start()

    def run(self) -> None:
        turn = 0
        while not self.stop.is_set():
            got: list[tuple[float, dict]] = []
            with self.changed:
                self.connections.append(got)
            try:
                with connect(self.urls[turn % len(self.urls)], proxy=None, max_size=None) as ws:
                    for text in ws:
                        message = json.loads(text)
                        with self.changed:
                            for r in message.get("history", []) + message.get("records", []):
                                got.append((time.monotonic(), r))
                            self.changed.notify_all()
                        if self.stop.is_set():
                            return
                self.closes.append(1000)
            except (ConnectionClosed, OSError) as err:
                self.closes.append(getattr(getattr(err, "rcvd", None), "code", None))
                time.sleep(0.2)  # a replica just died: the next one, a moment later
            turn += 1

    def wait_for(self, predicate, timeout: float = WAIT_S) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: predicate(self.connections), timeout)


def test_kill_9_of_the_owner_the_run_goes_on_elsewhere_from_its_checkpoint(replicas):
    a, b, c = replicas.servers[:3]
    created = a.http.post("/api/runs", json=adam_spiral())
    assert created.status_code == 201, created.text
    run = created.json()
    follower = Follower([b, c], run["id"])
    try:
        # Two seconds of training seen on b (several checkpoints copied to the database).
        assert follower.wait_for(lambda cs: len(cs[-1]) >= 2 * PACE), "no records on b"
        with follower.changed:
            before = {r["epoch"]: r for conn in follower.connections for _, r in conn}
        last_before = max(before)
        killed = time.monotonic()
        a.kill()

        # The run goes on elsewhere: a new connection's history passes what was seen.
        def resumed(cs) -> bool:
            return len(cs) > 1 and any(r["epoch"] > last_before for _, r in cs[-1])

        assert follower.wait_for(resumed, TAKEOVER_S + WAIT_S), follower.closes
        with follower.changed:
            after = list(follower.connections[-1])
        went_on = min(t for t, r in after if r["epoch"] > last_before)
        assert went_on - killed <= TAKEOVER_S, f"taken over after {went_on - killed:.1f} s"
        epochs = [r["epoch"] for _, r in after]
        assert epochs == list(range(1, len(epochs) + 1)), "one continuous history, once each"

        # What was lost: the epochs trained again after the checkpoint (their records differ
        # from those seen before the kill); at most one second of them.
        redone = [e for _, r in after if (e := r["epoch"]) in before and before[e] != r]
        assert len(redone) <= PACE, f"{len(redone)} records lost (more than one second's)"

        detail = b.http.get(f"/api/runs/{run['id']}").json()
        assert detail["status"] in ("running", "queued"), detail["status"]
        # The owner token still controls it, through any replica.
        stop = c.http.post(
            f"/api/runs/{run['id']}/control",
            json={"action": "stop"},
            headers={"X-Run-Token": run["token"]},
        )
        assert stop.status_code == 200, stop.text
    finally:
        follower.stop.set()


LONG_LEASE_S = 60.0  # replica_fixtures.long_leases: a run taken over sooner was handed over


def test_sigterm_hands_the_owners_runs_over_at_once_with_nothing_lost(long_leases):
    a, b = long_leases.servers[:2]
    created = a.http.post("/api/runs", json=adam_spiral())
    assert created.status_code == 201, created.text
    run = created.json()
    follower = Follower([b], run["id"])
    try:
        assert follower.wait_for(lambda cs: len(cs[-1]) >= 2 * PACE), "no records on b"
        a.stop()  # SIGTERM, as a service manager stops it; returns once it has exited

        def resumed(cs) -> bool:
            seen = [r["epoch"] for conn in cs[:-1] for _, r in conn]
            return len(cs) > 1 and any(r["epoch"] > max(seen, default=0) for _, r in cs[-1])

        # Taken over long before its lease would lapse: handed over, not abandoned.
        assert follower.wait_for(resumed, LONG_LEASE_S / 2), follower.closes
        with follower.changed:
            before = {r["epoch"]: r for conn in follower.connections[:-1] for _, r in conn}
            after = [r for _, r in follower.connections[-1]]
        epochs = [r["epoch"] for r in after]
        assert epochs == list(range(1, len(epochs) + 1)), "one continuous history, once each"
        # The checkpoint was saved as the run left a: nothing trained twice, nothing lost.
        assert all(before[e] == r for r in after if (e := r["epoch"]) in before)
        assert max(before) < max(epochs)

        detail = b.http.get(f"/api/runs/{run['id']}").json()
        assert detail["status"] in ("running", "queued"), detail["status"]
        stop = b.http.post(
            f"/api/runs/{run['id']}/control",
            json={"action": "stop"},
            headers={"X-Run-Token": run["token"]},
        )
        assert stop.status_code == 200, stop.text
    finally:
        follower.stop.set()


def test_a_paused_run_handed_over_stays_paused_and_goes_on_where_it_was(long_leases):
    b = long_leases.servers[1]
    (c,) = long_leases.start(1)  # the replica that will take it
    created = b.http.post("/api/runs", json=adam_spiral())
    assert created.status_code == 201, created.text
    run = created.json()
    follower = Follower([c], run["id"])
    try:
        assert follower.wait_for(lambda cs: len(cs[-1]) >= PACE), "no records on c"
        control = {"headers": {"X-Run-Token": run["token"]}}
        paused = c.http.post(f"/api/runs/{run['id']}/control", json={"action": "pause"}, **control)
        assert paused.status_code == 200 and paused.json()["status"] == "paused", paused.text
        b.stop()  # SIGTERM

        deadline = time.monotonic() + LONG_LEASE_S / 2  # handed over, not lapsed
        while c.http.get("/api/health").json()["active_runs"] != 1:
            assert time.monotonic() < deadline, "not taken over by c"
            time.sleep(0.05)
        detail = c.http.get(f"/api/runs/{run['id']}").json()
        assert detail["status"] == "paused", detail["status"]
        resumed = c.http.post(
            f"/api/runs/{run['id']}/control", json={"action": "resume"}, **control
        )
        assert resumed.status_code == 200, resumed.text

        def went_on(cs) -> bool:
            return any(r["epoch"] > detail["epoch"] for _, r in cs[-1])

        assert follower.wait_for(went_on), follower.closes
        with follower.changed:
            epochs = [r["epoch"] for _, r in follower.connections[-1]]
        assert epochs == list(range(1, len(epochs) + 1)), "one continuous history, once each"
        stop = c.http.post(f"/api/runs/{run['id']}/control", json={"action": "stop"}, **control)
        assert stop.status_code == 200, stop.text
    finally:
        follower.stop.set()
