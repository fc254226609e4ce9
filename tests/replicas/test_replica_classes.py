"""A class across three real replicas (real Redis, real PostgreSQL): the teacher's page on one,
two students on the other two. The dashboard sees both students' runs training, a spotlight
reaches the other replicas' pages and can be watched there, a pushed design and a lock reach
both students, a raised hand and an answer reach the teacher, and stop-all stops the runs that
the other replicas own. Run budgets (per address, per student) count every replica's runs."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from test_replicas import HELLO_TIMEOUT_S, Viewer, control, spiral
from websockets.sync.client import connect

from server.config import Settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "browser"))  # the page helpers
from browser_helpers import experiment_hash, wait_status  # noqa: E402
from class_pages import SIZES, own_browser  # noqa: E402
from servers import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

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


def join_page(student, code: str, name: str, units: int) -> str:
    """A student joins on their page and trains their own design; the run's id."""
    student.page.goto(f"{student.base}/#class={code}")
    student.page.wait_for_selector("body[data-ready='true']", timeout=20_000)
    student.page.fill("#class-name", name)
    student.page.click("#class-join")
    student.page.wait_for_function(
        "(n) => document.getElementById('class-who')?.textContent.includes(n)", arg=name
    )
    doc = spiral(None, pace=20)
    doc["model"]["layers"][0]["units"] = units
    student.page.evaluate("(h) => { window.location.hash = h; }", experiment_hash(doc))
    student.page.wait_for_function(
        "(u) => window.layerlab.experiment.model.layers[0].units === u", arg=units
    )
    student.page.click("#train")
    wait_status(student.page, "running")
    return student.page.evaluate("window.layerlab.session.runId")


@pytest.mark.browser
def test_the_class_pages_in_chromium_across_replicas(replicas):
    """The teacher's /teach on a, Ada's page on b, Bo's on c, each in its own browser."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    a, b, c = replicas.servers[:3]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            with (
                own_browser(browser, a.base, 1440, 900) as teacher,
                own_browser(browser, b.base) as ada,
                own_browser(browser, c.base) as bo,
            ):
                teacher.page.on("dialog", lambda dialog: dialog.accept())
                teacher.page.goto(f"{a.base}/teach")
                teacher.page.fill("#class-title", "Across replicas")
                teacher.page.click("#open-class")
                code = teacher.page.text_content("#join-code")
                assert code and len(code) == 7
                join_page(ada, code, "Ada", 6)
                run_b = join_page(bo, code, "Bo", 5)

                # The dashboard on a: both students' runs (owned by b and c), live.
                teacher.page.wait_for_function(
                    """() => {
                        const rows = [...document.querySelectorAll('#dashboard-rows tr')];
                        return rows.length === 2 && rows.every((r) =>
                            r.dataset.status === 'running' &&
                            Number(r.querySelector('td.num').textContent) > 0 &&
                            r.querySelector('.val-loss').textContent !== '–');
                    }""",
                    timeout=60_000,
                )
                for name, (w, h) in SIZES.items():
                    teacher.page.set_viewport_size({"width": w, "height": h})
                    teacher.screenshot(f"replicas-teacher-{name}")
                teacher.page.set_viewport_size({"width": 1440, "height": 900})

                # The spotlight on Bo's run (owned by c): Ada's page on b follows it live.
                teacher.page.click(f"#dashboard-rows tr[data-run='{run_b}'] .spotlight-button")
                ada.page.wait_for_function(
                    "(id) => window.layerlab.watching === id", arg=run_b, timeout=20_000
                )
                start = ada.page.evaluate("window.layerlab.session.epoch")
                ada.page.wait_for_function(
                    "(e) => window.layerlab.session.epoch > e", arg=start, timeout=30_000
                )
                ada.screenshot("replicas-student-spotlight")
                teacher.page.click("#end-spotlight")
                ada.page.wait_for_function("() => window.layerlab.watching === null")

                # Stop all, from a: the runs on b and c stop, and the dashboard says so.
                teacher.page.click("#stop-all")
                teacher.page.wait_for_function(
                    """() => [...document.querySelectorAll('#dashboard-rows tr')]
                        .every((r) => r.dataset.status === 'stopped')""",
                    timeout=30_000,
                )
        finally:
            browser.close()
