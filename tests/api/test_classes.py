"""A class through the API and its WebSockets: 30 students behind one address each start a run,
the teacher's dashboard reports them all with their metrics, a spotlight reaches every
student's page and stream, a design push, the lock, the limits, and who may see what."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from live_server import Live, Stream, spiral
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from server.classes.codes import ALPHABET, is_code, new_code, normalize

STUDENTS = 30


def open_class(live: Live, name: str = "9B") -> dict:
    response = live.http.post("/api/classes", json={"name": name})
    assert response.status_code == 201, response.text
    return response.json()


def join(live: Live, code: str, name: str) -> str:
    response = live.http.post(f"/api/classes/{code}/join", json={"name": name})
    assert response.status_code == 201, response.text
    return response.json()["student_token"]


def as_student(token: str) -> dict:
    return {"X-Student-Token": token}


def as_teacher(token: str) -> dict:
    return {"X-Teacher-Token": token}


def start(live: Live, token: str, doc: dict | None = None):
    return live.http.post("/api/runs", json=doc or spiral(epochs=None), headers=as_student(token))


def class_socket(live: Live, code: str, **token: str) -> Stream:
    ((role, value),) = token.items()
    return Stream(f"{live.ws_base}/ws/classes/{code}?{role}={value}")


def test_codes_are_readable_aloud():
    codes = {new_code() for _ in range(200)}
    assert len(codes) > 190
    for code in codes:
        assert is_code(code) and len(code) == 7 and code[3] == "-"
        assert not set(code.replace("-", "")) & set("0O1IL2Z5S8B")
    assert normalize(" k7q4mx ") == "K7Q-4MX"
    assert set(ALPHABET).isdisjoint("0O1IL")


def test_a_class_of_thirty(live: Live, limits):
    live.wait_idle()
    # A school's NAT: the whole class comes from one address, whose own limit is 3.
    limits(max_runs_per_client=3, max_runs=48, max_runs_per_class=40, max_runs_per_student=2)
    opened = open_class(live)
    code, teacher = opened["code"], opened["teacher_token"]
    assert is_code(code) and opened["join"] == f"/#class={code}"

    # Only the teacher reads the class.
    assert live.http.get(f"/api/classes/{code}").status_code == 403
    other = open_class(live, "another class")
    wrong = live.http.get(f"/api/classes/{code}", headers=as_teacher(other["teacher_token"]))
    assert wrong.status_code == 403
    # An unknown code answers as an existing one does (codes cannot be enumerated).
    unknown = live.http.get("/api/classes/QQQ-QQQ", headers=as_teacher(teacher))
    assert unknown.status_code == 403

    # Bad names are refused, naming the field; a name is one per class.
    empty = live.http.post(f"/api/classes/{code}/join", json={"name": "  "})
    assert empty.status_code == 422 and empty.json()["detail"][0]["loc"] == ["body", "name"]
    names = [f"Student {i:02d}" for i in range(STUDENTS)]
    with ThreadPoolExecutor(8) as pool:
        tokens = list(pool.map(lambda n: join(live, code.lower().replace("-", ""), n), names))
    taken = live.http.post(f"/api/classes/{code}/join", json={"name": "student 00"})
    assert taken.status_code == 409 and "already called" in taken.json()["detail"]

    # Every student starts a run: none is capped by the address's limit of 3.
    with ThreadPoolExecutor(8) as pool:
        created = list(pool.map(lambda t: start(live, t), tokens))
    assert [r.status_code for r in created] == [201] * STUDENTS, [r.text for r in created]
    runs = [r.json() for r in created]
    ids = [r["id"] for r in runs]
    a, b = ids[0], ids[1]
    token_a, token_b = tokens[0], tokens[1]
    # ... while an outsider on the same address still is.
    outsiders = [live.http.post("/api/runs", json=spiral(epochs=None)) for _ in range(4)]
    assert [r.status_code for r in outsiders] == [201, 201, 201, 429]
    for r in outsiders[:3]:
        assert live.control(r.json(), "stop").status_code == 200

    teacher_ws = class_socket(live, code, teacher=teacher)
    try:
        hello = teacher_ws.read()
        assert hello["type"] == "hello" and hello["role"] == "teacher"
        # The dashboard reports all 30 with their metrics, on the one socket, ~once a second.
        board = teacher_ws.read_until(
            lambda m: (
                m["type"] == "dashboard"
                and len(m["students"]) == STUDENTS
                and all(
                    s["epoch"] >= 2 and s["val_loss"] is not None and s["metric"] is not None
                    for s in m["students"]
                )
            ),
            timeout=180,
        )
        rows = board["students"]
        assert {s["name"] for s in rows} == set(names)
        assert {s["run_id"] for s in rows} == set(ids)
        assert all(s["metric_name"] == "val_accuracy" and len(s["spark"]) >= 2 for s in rows)
        assert all(s["design"].startswith("spiral · dense 8 tanh") for s in rows)
        metrics = [s["metric"] for s in rows]
        assert metrics == sorted(metrics, reverse=True)  # a leaderboard
        assert [s["rank"] for s in rows] == list(range(1, STUDENTS + 1))
        assert board["active"] == STUDENTS
        assert "workers" not in board  # no worker pids: meaningless to a teacher
        assert len({s["alias"] for s in rows}) == STUDENTS  # each its own projector alias
        stamps = [teacher_ws.read_until(lambda m: m["type"] == "dashboard")["time"]]
        stamps.append(teacher_ws.read_until(lambda m: m["type"] == "dashboard")["time"])
        assert 0.5 < stamps[1] - stamps[0] < 3.0
    finally:
        teacher_ws.close()

    detail = live.http.get(f"/api/classes/{code}", headers=as_teacher(teacher)).json()
    assert len(detail["students_list"]) == STUDENTS
    assert all(len(s["runs"]) == 1 for s in detail["students_list"])

    # Who sees what: nobody else lists the class's runs; a student lists their own.
    def listed(headers: dict | None = None) -> set[str]:
        return {r["id"] for r in live.http.get("/api/runs?limit=500", headers=headers).json()}

    assert not listed() & set(ids)
    assert listed(as_student(token_a)) & set(ids) == {a}
    assert listed(as_teacher(teacher)) >= set(ids)
    assert live.http.get(f"/api/runs/{b}").status_code == 403
    assert live.http.get(f"/api/runs/{b}", headers=as_student(token_a)).status_code == 403
    assert live.http.get(f"/api/runs/{b}/history", headers=as_student(token_a)).status_code == 403
    assert live.http.get(f"/api/runs/{b}", headers=as_student(token_b)).status_code == 200
    assert live.http.get(f"/api/runs/{b}", headers=as_teacher(teacher)).status_code == 200
    refused = live.http.post(
        f"/api/runs/{b}/control", json={"action": "pause"}, headers=as_student(token_a)
    )
    assert refused.status_code == 403
    for url in (f"{live.ws_base}/ws/runs/{b}", f"{live.ws_base}/ws/runs/{b}?student={token_a}"):
        with pytest.raises(InvalidStatus) as denied:
            connect(url, proxy=None, open_timeout=10)
        assert denied.value.response.status_code == 403
    # The same header controls one's own run.
    own = live.http.post(
        f"/api/runs/{a}/control", json={"action": "pause"}, headers=as_student(token_a)
    )
    assert own.status_code == 200 and own.json()["status"] == "paused"
    again = live.http.post(
        f"/api/runs/{a}/control", json={"action": "resume"}, headers=as_student(token_a)
    )
    assert again.status_code == 200

    # The spotlight reaches every student's page, and each can then watch that run.
    pages = [class_socket(live, code, student=t) for t in tokens]
    try:
        for page in pages:
            assert page.read()["role"] == "student"
        spot = live.http.post(
            f"/api/classes/{code}/spotlight", json={"run_id": b}, headers=as_teacher(teacher)
        )
        assert spot.status_code == 200 and spot.json()["spotlight"] == b
        for page in pages:
            change = page.read_until(lambda m: m["type"] == "state")
            assert change["change"] == "spotlight" and change["class"]["spotlight"] == b
        streams = [Stream(f"{live.ws_base}/ws/runs/{b}?student={t}") for t in tokens]
        try:
            for stream in streams:
                assert stream.read()["type"] == "hello"
                stream.read_until(lambda m: m["type"] == "epoch")
        finally:
            for stream in streams:
                stream.close()
        # Spotlighted: readable and listed by the class, still not controllable.
        assert live.http.get(f"/api/runs/{b}", headers=as_student(token_a)).status_code == 200
        assert b in listed(as_student(token_a))
        refused = live.http.post(
            f"/api/runs/{b}/control", json={"action": "stop"}, headers=as_student(token_a)
        )
        assert refused.status_code == 403
        assert live.http.get(f"/api/runs/{b}").status_code == 403  # outsiders: still not
        ended = live.http.post(
            f"/api/classes/{code}/spotlight", json={"run_id": None}, headers=as_teacher(teacher)
        )
        assert ended.json()["spotlight"] is None
        assert live.http.get(f"/api/runs/{b}", headers=as_student(token_a)).status_code == 403
        bad = live.http.post(
            f"/api/classes/{code}/spotlight", json={"run_id": "nope"}, headers=as_teacher(teacher)
        )
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "run_id"]

        # A design push: every page gets it; a bad one is refused at its field.
        pushed = spiral(epochs=None)
        pushed["model"]["layers"] = [{"type": "dense", "units": 4, "activation": "relu"}]
        broken = {**pushed, "model": {"layers": [{"type": "dense", "units": 0}]}}
        no = live.http.post(
            f"/api/classes/{code}/push", json={"experiment": broken}, headers=as_teacher(teacher)
        )
        assert no.status_code == 422
        assert no.json()["detail"][0]["loc"][:5] == ["body", "experiment", "model", "layers", 0]
        yes = live.http.post(
            f"/api/classes/{code}/push", json={"experiment": pushed}, headers=as_teacher(teacher)
        )
        assert yes.status_code == 200, yes.text
        for page in pages:
            change = page.read_until(lambda m: m["type"] == "state" and m["change"] == "push")
            assert change["class"]["push"]["experiment"]["model"]["layers"][0]["units"] == 4

        # Locked: only the pushed design may be trained.
        locked = live.http.post(
            f"/api/classes/{code}/lock", json={"locked": True}, headers=as_teacher(teacher)
        )
        assert locked.json()["locked"] is True
        for page in pages:
            assert page.read_until(lambda m: m["type"] == "state")["class"]["locked"] is True
    finally:
        for page in pages:
            page.close()
    mine = start(live, token_a)
    assert mine.status_code == 423 and "locked" in mine.json()["detail"]
    second = start(live, token_a, yes.json()["push"]["experiment"])
    assert second.status_code == 201, second.text
    # Two active runs: the student's limit.
    third = start(live, token_a, yes.json()["push"]["experiment"])
    assert third.status_code == 429 and "LAYERLAB_MAX_RUNS_PER_STUDENT" in third.json()["detail"]
    live.http.post(f"/api/classes/{code}/lock", json={"locked": False}, headers=as_teacher(teacher))
    limits(max_runs_per_class=STUDENTS + 1)
    over = start(live, token_b)
    assert over.status_code == 429 and "LAYERLAB_MAX_RUNS_PER_CLASS" in over.json()["detail"]

    # Shared by its owner: anyone with the link may watch it; off other lists still.
    assert (
        live.http.post(
            f"/api/classes/{code}/runs/{b}/share",
            json={"shared": True},
            headers=as_student(token_a),
        ).status_code
        == 403
    )
    shared = live.http.post(
        f"/api/classes/{code}/runs/{b}/share", json={"shared": True}, headers=as_student(token_b)
    )
    assert shared.status_code == 200
    assert live.http.get(f"/api/runs/{b}").status_code == 200
    assert b not in listed()

    # Pause every run, then stop them all.
    paused = live.http.post(f"/api/classes/{code}/pause-all", headers=as_teacher(teacher))
    assert paused.status_code == 200 and paused.json()["runs"] == STUDENTS + 1
    deadline = time.monotonic() + 30
    while True:
        detail = live.http.get(f"/api/classes/{code}", headers=as_teacher(teacher)).json()
        statuses = {r["status"] for s in detail["students_list"] for r in s["runs"]}
        if statuses == {"paused"}:
            break
        assert time.monotonic() < deadline, statuses
        time.sleep(0.1)
    # Exports: the owner or the teacher (a stopped run has them); not another student.
    stopped = live.http.post(
        f"/api/classes/{code}/pause-all", json={"action": "stop"}, headers=as_teacher(teacher)
    )
    assert stopped.json()["runs"] == STUDENTS + 1
    live.wait_idle()
    export = f"/api/runs/{a}/export/model.py"
    deadline = time.monotonic() + 30
    while live.http.get(export, headers=as_student(token_a)).status_code != 200:
        assert time.monotonic() < deadline, "the export never came"
        time.sleep(0.2)
    assert live.http.get(export, headers=as_teacher(teacher)).status_code == 200
    assert live.http.get(export, headers=as_student(token_b)).status_code == 403
    assert live.http.get(export).status_code == 403
    assert live.http.get(f"/api/runs/{a}/history.csv").status_code == 403

    # Closed: nobody joins, nobody starts; the teacher still reads it.
    closed = live.http.post(f"/api/classes/{code}/close", headers=as_teacher(teacher))
    assert closed.json()["closed"] is True
    assert live.http.post(f"/api/classes/{code}/join", json={"name": "late"}).status_code == 410
    assert start(live, token_a).status_code == 409


def test_class_socket_needs_a_token_of_that_class(live: Live):
    first, second = open_class(live, "one"), open_class(live, "two")
    student = join(live, second["code"], "Ada")
    for query in ("", f"?student={student}", f"?teacher={second['teacher_token']}"):
        with pytest.raises(InvalidStatus) as denied:
            connect(f"{live.ws_base}/ws/classes/{first['code']}{query}", proxy=None)
        assert denied.value.response.status_code == 403
    mine = live.http.get(f"/api/classes/{second['code']}/me", headers=as_student(student))
    assert mine.json()["student"]["name"] == "Ada"
    assert (
        live.http.get(f"/api/classes/{first['code']}/me", headers=as_student(student)).status_code
        == 403
    )
    bogus = live.http.post("/api/runs", json=spiral(epochs=3), headers=as_student("x" * 30))
    assert bogus.status_code == 403
