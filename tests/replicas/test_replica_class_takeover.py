"""A class run taken over by another replica stays its student's class run (real Redis, real
PostgreSQL, two real replicas): after kill -9 of the replica that owned it, the replica that
took it over counts it for its student and class, not for its address. Its census says so
(every replica counts it so), a second run of that student is refused with the student's
limit, a run outside classes from the same address still fits the per-address limit, and the
class dashboard there lists it as the student's, running.

Before, the takeover resumed the run from its database row, which names no class: the run
came back as an address's run (refused the address its next run, and counted for no class
or student on the other replicas)."""

from __future__ import annotations

import copy
import json

import pytest
from replica_calls import until
from websockets.sync.client import connect

from server.api.models import SPIRAL_EXAMPLE
from server.cluster import keys

pytest_plugins = ["replica_fixtures"]  # its fixtures (see there why not a conftest.py)

pytestmark = pytest.mark.slow

PACE = 20.0  # epochs per second
TAKEOVER_S = 10.0  # leases of 3 s: taken over within a few seconds of the kill
WAIT_S = 60.0
REDIS_DB = 8


@pytest.fixture(scope="module")
def pair(make_replicas):
    """Two replicas where a student and an address may each have one active run."""
    return make_replicas(
        2, "class-takeover", redis_db=REDIS_DB, max_runs_per_student=1, max_runs_per_client=1
    )


def spiral() -> dict:
    doc = copy.deepcopy(SPIRAL_EXAMPLE)
    doc["dataset"]["samples"] = 100
    doc["training"].update(epochs=None, batch_size=50, pace=PACE)
    return doc


def census_row(redis_url: str, replica: str, run_id: str) -> list | None:
    """The run's row in `replica`'s census in Redis: [id, client, class code, student]."""
    import redis

    url = redis_url.rsplit("/", 1)[0] + f"/{REDIS_DB}"
    with redis.Redis.from_url(url, decode_responses=True) as client:
        text = client.get(keys.census(replica))
    rows = json.loads(text) if text else []
    return next((row for row in rows if row[0] == run_id), None)


def dashboard_row(server, code: str, teacher: str, student_id: str) -> dict:
    """The student's row on the teacher's dashboard, read through `server`."""
    url = f"{server.ws_base}/ws/classes/{code}?teacher={teacher}"
    with connect(url, proxy=None, max_size=None, open_timeout=WAIT_S) as ws:
        while True:
            message = json.loads(ws.recv(timeout=WAIT_S))
            if message["type"] == "dashboard":
                return next(r for r in message["students"] if r["student"] == student_id)


def test_a_class_run_taken_over_is_still_its_students(pair, redis_url):
    a, b = pair.servers[:2]
    opened = a.http.post("/api/classes", json={"name": "Takeover 101"})
    assert opened.status_code == 201, opened.text
    code, teacher = opened.json()["code"], opened.json()["teacher_token"]
    joined = a.http.post(f"/api/classes/{code}/join", json={"name": "Ada"})
    assert joined.status_code == 201, joined.text
    ada, as_ada = (
        joined.json()["student"]["id"],
        {"X-Student-Token": joined.json()["student_token"]},
    )
    until(  # b knows the class and its student (their events come through Redis)
        lambda: b.http.get(f"/api/classes/{code}/me", headers=as_ada).status_code == 200,
        "Ada known on b",
    )

    created = a.http.post("/api/runs", json=spiral(), headers=as_ada)
    assert created.status_code == 201, created.text
    run = created.json()
    assert census_row(redis_url, "class-takeover-0", run["id"])[2:] == [code, ada]
    # Two seconds of training: checkpoints copied to the database for b to take it from.
    until(
        lambda: b.http.get(f"/api/runs/{run['id']}", headers=as_ada).json()["epoch"] >= 2 * PACE,
        "the run training",
    )
    a.kill()

    until(lambda: b.http.get("/api/health").json()["active_runs"] == 1, "taken over", TAKEOVER_S)
    detail = b.http.get(f"/api/runs/{run['id']}", headers=as_ada).json()
    assert detail["status"] in ("queued", "running"), detail["status"]

    # On b it is Ada's class run: in b's census (every replica counts it from there) ...
    row = until(lambda: census_row(redis_url, "class-takeover-1", run["id"]), "b's census")
    assert row[2:] == [code, ada], row
    # ... for Ada: her second run is refused by the student's limit ...
    second = b.http.post("/api/runs", json=spiral(), headers=as_ada)
    assert second.status_code == 429, second.text
    assert "LAYERLAB_MAX_RUNS_PER_STUDENT" in second.text
    # ... and not for the address: a run outside classes from it still fits its limit of 1.
    mine = b.http.post("/api/runs", json=spiral())
    assert mine.status_code == 201, mine.text
    stopped = b.http.post(
        f"/api/runs/{mine.json()['id']}/control",
        json={"action": "stop"},
        headers={"X-Run-Token": mine.json()["token"]},
    )
    assert stopped.status_code == 200, stopped.text
    # The class dashboard on b lists it as Ada's, running.
    dash = dashboard_row(b, code, teacher, ada)
    assert dash["run_id"] == run["id"] and dash["status"] in ("queued", "running"), dash

    stop = b.http.post(
        f"/api/runs/{run['id']}/control",
        json={"action": "stop"},
        headers={"X-Run-Token": run["token"]},
    )
    assert stop.status_code == 200, stop.text
