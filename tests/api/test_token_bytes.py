"""Issue 20: a token holding characters outside ASCII (a header is read as Latin-1) is a wrong
token, answered 403 like any other, never a 500 (`secrets.compare_digest` refuses such `str`)."""

from __future__ import annotations

from live_server import Live, spiral

WEIRD = "tökén-☃".encode()  # sent as UTF-8 bytes; Starlette reads them as Latin-1 text


def test_control_and_presence_with_a_non_ascii_token_are_refused_not_failed(live: Live):
    run = live.start(spiral(epochs=None))
    try:
        control = live.http.post(
            f"/api/runs/{run['id']}/control",
            json={"action": "pause"},
            headers={"X-Run-Token": WEIRD},
        )
        assert control.status_code == 403, control.text
        presence = live.http.post(f"/api/runs/{run['id']}/presence", headers={"X-Run-Token": WEIRD})
        assert presence.status_code == 403, presence.text
    finally:
        assert live.control(run, "stop").status_code == 200
    live.wait_idle()
    # An ended run is read from memory or the database: the same answer.
    ended = live.http.post(
        f"/api/runs/{run['id']}/control", json={"action": "resume"}, headers={"X-Run-Token": WEIRD}
    )
    assert ended.status_code in (403, 409), ended.text


def test_a_class_run_read_with_a_non_ascii_token_is_refused_not_failed(live: Live):
    opened = live.http.post("/api/classes", json={"name": "tokens"}).json()
    joined = live.http.post(f"/api/classes/{opened['code']}/join", json={"name": "ana"})
    student = joined.json()["student_token"]
    started = live.http.post(
        "/api/runs", json=spiral(epochs=None), headers={"X-Student-Token": student}
    )
    assert started.status_code == 201, started.text
    run = started.json()
    try:
        read = live.http.get(f"/api/runs/{run['id']}", headers={"X-Run-Token": WEIRD})
        assert read.status_code == 403, read.text
        own = live.http.get(f"/api/runs/{run['id']}", headers={"X-Run-Token": run["token"]})
        assert own.status_code == 200
    finally:
        live.control(run, "stop")
        live.http.post(
            f"/api/classes/{opened['code']}/close",
            headers={"X-Teacher-Token": opened["teacher_token"]},
        )
    live.wait_idle()
