"""A class across three real replicas (real Redis, real PostgreSQL): the teacher's page on one,
two students on the other two. The dashboard sees both students' runs training, a spotlight
reaches the other replicas' pages and can be watched there, a pushed design and a lock reach
both students, a raised hand and an answer reach the teacher, and stop-all stops the runs that
the other replicas own. Run budgets (per address, per student) count every replica's runs."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable

import pytest
from test_replicas import HELLO_TIMEOUT_S, Viewer, control, spiral
from websockets.sync.client import connect

from server.config import Settings

pytest_plugins = ["replica_fixtures"]  # its fixtures (see there why not a conftest.py)

pytestmark = pytest.mark.slow

WAIT_S = 60.0


class ClassPage(threading.Thread):
    """A class socket (`WS /ws/classes/{code}`) read in a thread; `wait_for` a message."""

    def __init__(self, server, code: str, **token: str):
        super().__init__(daemon=True)
        ((role, value),) = token.items()
        self.url = f"{server.ws_base}/ws/classes/{code}?{role}={value}"
        self.messages: list[dict] = []
        self.error: BaseException | None = None
        self.changed = threading.Condition()
        self.start()

    def run(self) -> None:
        try:
            with connect(self.url, proxy=None, max_size=None) as ws:
                for text in ws:
                    with self.changed:
                        self.messages.append(json.loads(text))
                        self.changed.notify_all()
        except BaseException as err:  # reported by wait_for
            with self.changed:
                self.error = err
                self.changed.notify_all()

    def wait_for(self, what: str, test: Callable[[dict], bool]) -> dict:
        """The first message (so far or to come) that passes `test`."""
        deadline = time.monotonic() + WAIT_S
        seen = 0
        with self.changed:
            while True:
                for message in self.messages[seen:]:
                    if test(message):
                        return message
                seen = len(self.messages)
                assert self.error is None, f"{what}: the page's socket ended: {self.error}"
                left = deadline - time.monotonic()
                assert left > 0, f"{what}: not seen in {WAIT_S:g} s; last: {self.messages[-3:]}"
                self.changed.wait(left)


def join(server, code: str, name: str) -> str:
    """A student token from `server`, once the class opened on another replica is known there
    (its event comes through Redis a moment after the teacher's request returned)."""
    deadline = time.monotonic() + 10
    while True:
        joined = server.http.post(f"/api/classes/{code}/join", json={"name": name})
        if joined.status_code != 404 or time.monotonic() > deadline:
            assert joined.status_code == 201, joined.text
            return joined.json()["student_token"]
        time.sleep(0.5)  # a few tries only: each miss spends one of the address's guesses


def state_change(change: str, test: Callable[[dict], bool] = lambda room: True):
    return lambda m: m["type"] == "state" and m["change"] == change and test(m["class"])


def test_a_class_works_whichever_replica_each_page_reaches(replicas):
    a, b, c = replicas.servers[:3]
    opened = a.http.post("/api/classes", json={"name": "Replicas 101"})
    assert opened.status_code == 201, opened.text
    code, teacher = opened.json()["code"], opened.json()["teacher_token"]
    as_teacher = {"X-Teacher-Token": teacher}
    dashboard = ClassPage(a, code, teacher=teacher)

    ada, bob = join(b, code, "Ada"), join(c, code, "Bob")
    ada_page, bob_page = ClassPage(b, code, student=ada), ClassPage(c, code, student=bob)
    runs = {}
    for name, server, token in (("Ada", b, ada), ("Bob", c, bob)):
        created = server.http.post(
            "/api/runs", json=spiral(None, pace=20), headers={"X-Student-Token": token}
        )
        assert created.status_code == 201, created.text
        runs[name] = created.json()["id"]

    # The teacher's dashboard on a sees both students' runs (owned by b and c) training.
    def both_training(message: dict) -> bool:
        if message["type"] != "dashboard":
            return False
        rows = {row["name"]: row for row in message["students"]}
        return all(
            name in rows
            and rows[name]["run_id"] == run_id
            and rows[name]["status"] == "running"
            and rows[name]["epoch"] >= 3
            and rows[name]["val_loss"] is not None
            for name, run_id in runs.items()
        )

    dashboard.wait_for("both students' runs training on the dashboard", both_training)

    # Spotlight Ada's run (owned by b): Bob's page on c hears it and Bob can watch it there.
    lit = a.http.post(
        f"/api/classes/{code}/spotlight", json={"run_id": runs["Ada"]}, headers=as_teacher
    )
    assert lit.status_code == 200, lit.text
    bob_page.wait_for(
        "the spotlight on c", state_change("spotlight", lambda r: r["spotlight"] == runs["Ada"])
    )
    watcher = Viewer(c, f"{runs['Ada']}?student={bob}")
    assert watcher.hello.wait(HELLO_TIMEOUT_S) and watcher.error is None, watcher.error
    assert watcher.messages[0]["type"] == "hello", watcher.messages[0]

    # Push a design: both students, on b and c, receive it; lock: b refuses another design.
    design = spiral(40)
    pushed = a.http.post(
        f"/api/classes/{code}/push", json={"experiment": design}, headers=as_teacher
    )
    assert pushed.status_code == 200, pushed.text
    for page in (ada_page, bob_page):
        got = page.wait_for("the pushed design", state_change("push", lambda r: r["push"]))
        assert got["class"]["push"]["experiment"]["training"]["epochs"] == 40
    locked = a.http.post(f"/api/classes/{code}/lock", json={"locked": True}, headers=as_teacher)
    assert locked.status_code == 200, locked.text
    for page in (ada_page, bob_page):
        page.wait_for("the lock", state_change("lock", lambda r: r["locked"]))
    other = spiral(None, pace=20)
    refused = b.http.post("/api/runs", json=other, headers={"X-Student-Token": ada})
    assert refused.status_code == 423 and "locked" in refused.json()["detail"], refused.text

    # A hand raised on c and an answer given on b reach the teacher's page on a.
    asked = a.http.post(
        f"/api/classes/{code}/question",
        json={"kind": "choice", "prompt": "Which wins?", "choices": ["tanh", "relu"]},
        headers=as_teacher,
    )
    assert asked.status_code in (200, 201), asked.text
    ada_page.wait_for("the question on b", lambda m: m["type"] == "question")
    answered = b.http.post(
        f"/api/classes/{code}/answer", json={"answer": 1}, headers={"X-Student-Token": ada}
    )
    assert answered.status_code == 200, answered.text
    dashboard.wait_for(
        "the answer count on a",
        lambda m: m["type"] == "question" and m["question"]["answered"] == 1,
    )
    hand = c.http.post(
        f"/api/classes/{code}/hand", json={"raised": True}, headers={"X-Student-Token": bob}
    )
    assert hand.status_code == 200, hand.text
    dashboard.wait_for(
        "Bob's hand on the dashboard",
        lambda m: (
            m["type"] == "dashboard"
            and any(r["name"] == "Bob" and r.get("hand") for r in m["students"])
        ),
    )

    # Stop all, from a: the runs that b and c own stop.
    followers = [Viewer(a, f"{run_id}?teacher={teacher}") for run_id in runs.values()]
    for follower in followers:
        assert follower.hello.wait(HELLO_TIMEOUT_S) and follower.error is None
    stopped = a.http.post(
        f"/api/classes/{code}/pause-all", json={"action": "stop"}, headers=as_teacher
    )
    assert stopped.status_code == 200, stopped.text
    assert stopped.json()["runs"] == 2, stopped.json()
    for follower in [*followers, watcher]:
        follower.join(HELLO_TIMEOUT_S)
        assert not follower.is_alive(), "the stream did not end"
        assert follower.statuses()[-1] == "stopped", follower.statuses()
    for name, server in (("Ada", b), ("Bob", c)):
        detail = server.http.get(f"/api/runs/{runs[name]}", headers=as_teacher)
        assert detail.json()["status"] == "stopped", detail.text


def wait_health(server, what: str, test: Callable[[dict], bool]) -> None:
    """Until `server`'s /health passes `test` (a census from another replica has come)."""
    deadline = time.monotonic() + WAIT_S
    while True:
        health = server.http.get("/api/health").json()
        if test(health):
            return
        assert time.monotonic() < deadline, f"{what}: {health}"
        time.sleep(0.05)


def test_run_budgets_hold_across_replicas(replicas):
    a, b, c = replicas.servers[:3]
    per_client = Settings.model_fields["max_runs_per_client"].default
    per_student = Settings.model_fields["max_runs_per_student"].default

    # One address fills its budget through a; b refuses it the next run, naming the limit.
    runs = []
    for _ in range(per_client):
        created = a.http.post("/api/runs", params={"paused": "true"}, json=spiral(50))
        assert created.status_code == 201, created.text
        runs.append(created.json())
    wait_health(b, "a's runs counted on b", lambda h: h["active_elsewhere"] == per_client)
    refused = b.http.post("/api/runs", params={"paused": "true"}, json=spiral(50))
    assert refused.status_code == 429, refused.text
    assert "LAYERLAB_MAX_RUNS_PER_CLIENT" in refused.json()["detail"], refused.text
    assert int(refused.headers["Retry-After"]) > 0
    # One run ends on a: b takes one again.
    stopped = control(a, runs[0], "stop")
    assert stopped.status_code == 200, stopped.text
    wait_health(b, "a's stop counted on b", lambda h: h["active_elsewhere"] == per_client - 1)
    taken = b.http.post("/api/runs", params={"paused": "true"}, json=spiral(50))
    assert taken.status_code == 201, taken.text
    for run, server in [*((r, a) for r in runs[1:]), (taken.json(), b)]:
        assert control(server, run, "stop").status_code == 200

    # A student's budget: runs started through b count on c.
    opened = a.http.post("/api/classes", json={"name": "Budgets"})
    assert opened.status_code == 201, opened.text
    student = {"X-Student-Token": join(b, opened.json()["code"], "Cy")}
    wait_health(c, "the stops counted on c", lambda h: h["active_elsewhere"] == 0)
    for _ in range(per_student):
        created = b.http.post(
            "/api/runs", params={"paused": "true"}, json=spiral(50), headers=student
        )
        assert created.status_code == 201, created.text
    wait_health(c, "b's class runs counted on c", lambda h: h["active_elsewhere"] == per_student)
    refused = c.http.post("/api/runs", params={"paused": "true"}, json=spiral(50), headers=student)
    assert refused.status_code == 429, refused.text
    assert "LAYERLAB_MAX_RUNS_PER_STUDENT" in refused.json()["detail"], refused.text
    assert int(refused.headers["Retry-After"]) > 0
