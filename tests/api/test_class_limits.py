"""Classes cannot be a way around the per-address limits (issue 20, "Takeovers and leaks").

Each test reproduces what one address could do before (hold every run slot of the server
through one class, open classes, join students and open class sockets without end) against
the live server, from loopback addresses of its own, and checks the refusal names its limit.
Runs start paused (`?paused=true`): they hold their slot without training, whatever the speed.
"""

from __future__ import annotations

import time

import pytest
from class_clients import StreamFrom, http_from, refused_status
from live_server import Live, spiral
from websockets.exceptions import InvalidStatus

SCHOOL, OUTSIDER, OTHER_SCHOOL = "127.0.0.2", "127.0.0.3", "127.0.0.4"


def open_class(http, name: str = "9B", **body) -> dict:
    response = http.post("/api/classes", json={"name": name, **body})
    assert response.status_code == 201, response.text
    return response.json()


def join(http, code: str, name: str) -> str:
    response = http.post(f"/api/classes/{code}/join", json={"name": name})
    assert response.status_code == 201, response.text
    return response.json()["student_token"]


def start_paused(http, token: str | None = None):
    headers = {"X-Student-Token": token} if token else {}
    return http.post("/api/runs?paused=true", json=spiral(epochs=None), headers=headers)


def refused(response, status: int, setting: str) -> None:
    assert response.status_code == status, response.text
    assert setting in response.json()["detail"], response.text
    if status == 429:
        assert int(response.headers["retry-after"]) >= 1


def stop_class(http, opened: dict) -> None:
    stopped = http.post(
        f"/api/classes/{opened['code']}/close", headers={"X-Teacher-Token": opened["teacher_token"]}
    )
    assert stopped.status_code == 200


def test_one_address_cannot_take_the_server_through_classes(live: Live, limits):
    live.wait_idle()
    limits(
        max_runs=20,
        max_runs_per_client=4,
        max_runs_per_student=2,
        max_runs_per_class=20,
        max_class_runs_per_client=12,
        class_runs_reserved=4,
    )
    with (
        http_from(live, SCHOOL) as school,
        http_from(live, OUTSIDER) as outsider,
        http_from(live, OTHER_SCHOOL) as other,
    ):
        # The teacher's budget is set within the server's.
        too_big = school.post("/api/classes", json={"name": "x", "max_runs": 21})
        assert too_big.status_code == 422
        assert too_big.json()["detail"][0]["loc"] == ["body", "max_runs"]
        assert "LAYERLAB_MAX_RUNS_PER_CLASS" in too_big.json()["detail"][0]["msg"]
        small = open_class(school, "small", max_runs=3)
        assert small["max_runs"] == 3
        pupils = [join(school, small["code"], f"P{i}") for i in range(2)]
        assert [start_paused(school, t).status_code for t in pupils + pupils[:1]] == [201] * 3
        refused(start_paused(school, pupils[1]), 429, "budget")
        stop_class(school, small)

        # Before: one address, one class, 32 students, every slot of the server. Now the
        # classes that address opened hold at most LAYERLAB_MAX_CLASS_RUNS_PER_CLIENT.
        first, second = open_class(school, "9B"), open_class(school, "9C")
        students = [join(school, first["code"], f"S{i}") for i in range(8)]
        late = [join(school, second["code"], f"T{i}") for i in range(2)]
        created = [start_paused(school, t) for t in students for _ in range(2)]
        assert [r.status_code for r in created[:12]] == [201] * 12, created[12].text
        refused(created[12], 429, "LAYERLAB_MAX_CLASS_RUNS_PER_CLIENT")
        refused(start_paused(school, late[0]), 429, "LAYERLAB_MAX_CLASS_RUNS_PER_CLIENT")

        # Everyone else still starts runs.
        mine = start_paused(outsider)
        assert mine.status_code == 201, mine.text
        assert live.control(mine.json(), "stop").status_code == 200

        # All classes together leave LAYERLAB_CLASS_RUNS_RESERVED slots of LAYERLAB_MAX_RUNS.
        theirs = open_class(other, "7A")
        pupils = [join(other, theirs["code"], f"R{i}") for i in range(4)]
        extra = [start_paused(other, t) for t in pupils for _ in range(2)]
        assert [r.status_code for r in extra[:4]] == [201] * 4  # 12 + 4 = 20 - 4 reserved
        refused(extra[4], 429, "LAYERLAB_CLASS_RUNS_RESERVED")
        reserved = [start_paused(outsider) for _ in range(4)]
        assert [r.status_code for r in reserved] == [201] * 4, reserved[-1].text
        full = start_paused(outsider)
        assert full.status_code == 429 and "LAYERLAB_MAX_RUNS" in full.json()["detail"]
        for run in reserved:
            assert live.control(run.json(), "stop").status_code == 200

        # Closing a class frees its runs for the address's other classes.
        stop_class(school, first)  # its runs are stopped before the answer
        assert start_paused(school, late[0]).status_code == 201
        for opened in (second, theirs):
            stop_class(school if opened is second else other, opened)
    live.wait_idle()


def test_a_class_of_sixty_behind_one_address_works(live: Live, limits):
    live.wait_idle()
    limits(max_runs=64, max_runs_per_client=8)  # the defaults, whatever the session set
    with http_from(live, "127.0.0.5") as school:
        opened = open_class(school, "Year 10")
        tokens = [join(school, opened["code"], f"Student {i:02d}") for i in range(60)]
        created = [start_paused(school, t) for t in tokens]
        assert [r.status_code for r in created] == [201] * 60, [r.text for r in created[-3:]]
        stop_class(school, opened)
    live.wait_idle()


def test_classes_students_and_joins_per_address_are_bounded(live: Live, limits):
    limits(max_classes_per_client=2, class_max_students=3, class_joins_per_minute=5)
    with http_from(live, "127.0.0.6") as school, http_from(live, "127.0.0.7") as home:
        first, second = open_class(school, "A"), open_class(school, "B")
        refused(school.post("/api/classes", json={"name": "C"}), 429, "CLASSES_PER_CLIENT")
        stop_class(school, second)  # a closed class no longer counts
        third = open_class(school, "C")
        assert open_class(home, "elsewhere")["code"]

        for name in ("a", "b", "c"):
            join(school, first["code"], name)
        refused(
            school.post(f"/api/classes/{first['code']}/join", json={"name": "d"}),
            409,
            "LAYERLAB_CLASS_MAX_STUDENTS",
        )
        join(school, third["code"], "e")
        join(school, third["code"], "f")  # five joins this minute: the address's limit
        refused(
            school.post(f"/api/classes/{third['code']}/join", json={"name": "g"}),
            429,
            "LAYERLAB_CLASS_JOINS_PER_MINUTE",
        )
        assert join(home, third["code"], "g"), "another address joins"
        for opened in (first, third):
            stop_class(school, opened)


def test_class_sockets_are_bounded_per_address_and_per_token(live: Live, limits):
    limits(max_class_sockets_per_client=5, max_class_sockets_per_member=2)
    address, elsewhere = "127.0.0.8", "127.0.0.9"
    with http_from(live, address) as school:
        opened = open_class(school, "sockets")
        code = opened["code"]
        tokens = [join(school, code, f"S{i}") for i in range(4)]
    url = f"{live.ws_base}/ws/classes/{code}"

    def page(token: str, source: str = address) -> StreamFrom:
        stream = StreamFrom(url, source, headers={"X-Student-Token": token})
        assert stream.read()["type"] == "hello"
        return stream

    pages = [page(tokens[0]), page(tokens[0])]
    try:
        status, body = refused_status(url, address, headers={"X-Student-Token": tokens[0]})
        assert status == 429 and "LAYERLAB_MAX_CLASS_SOCKETS_PER_MEMBER" in body
        pages += [page(tokens[1]), page(tokens[1]), page(tokens[2])]
        status, body = refused_status(url, address, headers={"X-Student-Token": tokens[3]})
        assert status == 429 and "LAYERLAB_MAX_CLASS_SOCKETS_PER_CLIENT" in body
        outside = page(tokens[3], elsewhere)  # another address: its own count
        outside.close()
        pages.pop().close()
        pages.append(reopened(lambda: page(tokens[3])))  # a closed page frees its place
    finally:
        for stream in pages:
            stream.close()


def reopened(open_page, timeout: float = 30.0) -> StreamFrom:
    """The page, once the server has counted the one just closed (it hears of it shortly)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return open_page()
        except InvalidStatus as err:
            assert err.response.status_code == 429 and time.monotonic() < deadline
            time.sleep(0.05)


@pytest.mark.parametrize("role", ["teacher", "student"])
def test_a_class_socket_takes_its_token_as_a_subprotocol(live: Live, role: str):
    with http_from(live, "127.0.0.10") as http:
        opened = open_class(http, "subprotocols")
        token = opened["teacher_token"] if role == "teacher" else join(http, opened["code"], "Ada")
    stream = StreamFrom(
        f"{live.ws_base}/ws/classes/{opened['code']}",
        "127.0.0.10",
        subprotocols=["layerlab", f"layerlab-{role}.{token}"],
    )
    try:
        assert stream.conn.subprotocol == "layerlab"
        hello = stream.read()
        assert hello["type"] == "hello" and hello["role"] == role
    finally:
        stream.close()


def test_class_codes_cannot_be_told_from_guesses(live: Live, limits):
    """Before: an unknown code answered 404 and an existing one 403, 159 guesses a second."""
    limits(class_misses_per_minute=6)
    guesser, teacher_address = "127.0.0.11", "127.0.0.12"
    with http_from(live, teacher_address) as http:
        opened = open_class(http, "guessed")
    code, unknown = opened["code"], "QQQ-QQQ"
    with http_from(live, guesser) as http:
        known = http.get(f"/api/classes/{code}")
        missing = http.get(f"/api/classes/{unknown}")
        assert known.status_code == missing.status_code == 403
        assert known.json()["detail"].replace(code, "C") == missing.json()["detail"].replace(
            unknown, "C"
        )
        assert (
            http.get(f"/api/classes/{code}/me").json()
            == http.get(f"/api/classes/{unknown}/me").json()
        )
        sockets = [
            refused_status(f"{live.ws_base}/ws/classes/{c}", guesser) for c in (code, unknown)
        ]
        assert sockets[0] == sockets[1] and sockets[0][0] == 403
        # Six guesses spent: every lookup now waits, an existing code's join included, so a
        # guess that hits answers like one that misses.
        for path in (f"/api/classes/{code}", f"/api/classes/{unknown}/me"):
            refused(http.get(path), 429, "LAYERLAB_CLASS_MISSES_PER_MINUTE")
        refused(
            http.post(f"/api/classes/{code}/join", json={"name": "lucky"}),
            429,
            "LAYERLAB_CLASS_MISSES_PER_MINUTE",
        )
        status, body = refused_status(f"{live.ws_base}/ws/classes/{code}", guesser)
        assert status == 429 and "LAYERLAB_CLASS_MISSES_PER_MINUTE" in body
        # The teacher behind the same address keeps working: a real token learns nothing.
        mine = http.get(
            f"/api/classes/{code}", headers={"X-Teacher-Token": opened["teacher_token"]}
        )
        assert mine.status_code == 200
    with http_from(live, teacher_address) as http:
        assert join(http, code, "Ada"), "other addresses still join"
        stop_class(http, opened)
