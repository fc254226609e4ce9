"""A class, its students and its runs survive a restart of the server (SQLite and PostgreSQL):
the teacher's and students' tokens still work, each student keeps their alias and group, and
the class's runs stay hidden from others."""

from __future__ import annotations

import copy
import time

import pytest
from store_server import ServerProcess

from server.api.models import SPIRAL_EXAMPLE

pytest_plugins = ["store_fixtures"]

pytestmark = pytest.mark.slow


def test_a_class_survives_a_restart(settings):
    doc = copy.deepcopy(SPIRAL_EXAMPLE)
    doc["dataset"]["samples"] = 100
    doc["training"].update(epochs=3, batch_size=50)
    server = ServerProcess(settings)
    try:
        opened = server.http.post("/api/classes", json={"name": "Physics 2"}).json()
        code, teacher = opened["code"], {"X-Teacher-Token": opened["teacher_token"]}
        joined = server.http.post(f"/api/classes/{code}/join", json={"name": "Grace"}).json()
        student = {"X-Student-Token": joined["student_token"]}
        alias = joined["student"]["alias"]
        grace_id = joined["student"]["id"]
        path = f"/api/classes/{code}/students/{grace_id}"
        assert server.http.patch(path, json={"group": "B"}, headers=teacher).status_code == 200
        server.http.post(f"/api/classes/{code}/names", json={"show": True}, headers=teacher)
        run = server.http.post("/api/runs", json=doc, headers=student).json()
        server.http.post(f"/api/classes/{code}/lock", json={"locked": True}, headers=teacher)
        server.http.post(
            f"/api/classes/{code}/spotlight", json={"run_id": run["id"]}, headers=teacher
        )
        deadline = time.monotonic() + 60
        while server.http.get(f"/api/runs/{run['id']}", headers=student).json()["status"] != (
            "finished"
        ):
            assert time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        server.stop()
    server = ServerProcess(settings)
    try:
        again = server.http.get(f"/api/classes/{code}", headers=teacher)
        assert again.status_code == 200, again.text
        body = again.json()
        assert body["name"] == "Physics 2" and body["locked"] is True
        assert body["spotlight"] == run["id"]
        (grace,) = body["students_list"]
        assert grace["name"] == "Grace" and [r["id"] for r in grace["runs"]] == [run["id"]]
        assert grace["runs"][0]["status"] == "finished"
        assert (grace["alias"], grace["group"]) == (alias, "B")  # kept with the student
        assert body["show_names"] is True
        me = server.http.get(f"/api/classes/{code}/me", headers=student)
        assert me.json()["student"]["name"] == "Grace"
        assert server.http.get(f"/api/runs/{run['id']}").status_code == 403
        assert server.http.get(f"/api/runs/{run['id']}", headers=student).status_code == 200
        assert run["id"] not in {r["id"] for r in server.http.get("/api/runs").json()}
    finally:
        server.stop()


def test_a_classs_limits_hold_across_a_restart(settings):
    """The address a class was opened from and its teacher's budget are stored with it: after
    a restart the address still has its class open (LAYERLAB_MAX_CLASSES_PER_CLIENT) and the
    class's second active run is refused by its budget of one, not the server's default. The
    per-minute join window is in memory: it starts afresh (documented in classes/limits.py)."""
    doc = copy.deepcopy(SPIRAL_EXAMPLE)
    doc["dataset"]["samples"] = 100
    doc["training"].update(epochs=None, batch_size=50)  # trains until stopped
    limits = {"max_classes_per_client": 1, "max_runs_per_class": 8, "class_joins_per_minute": 1}
    server = ServerProcess(settings, **limits)
    try:
        opened = server.http.post("/api/classes", json={"name": "Budget", "max_runs": 1})
        assert opened.status_code == 201, opened.text
        code, teacher_token = opened.json()["code"], opened.json()["teacher_token"]
        second = server.http.post("/api/classes", json={"name": "Another"})
        assert second.status_code == 429 and "MAX_CLASSES_PER_CLIENT" in second.text
        joined = server.http.post(f"/api/classes/{code}/join", json={"name": "Ada"})
        assert joined.status_code == 201, joined.text
        student = {"X-Student-Token": joined.json()["student_token"]}
        again = server.http.post(f"/api/classes/{code}/join", json={"name": "Bo"})
        assert again.status_code == 429 and "JOINS_PER_MINUTE" in again.text
    finally:
        server.stop()
    server = ServerProcess(settings, **limits)
    try:
        teacher = {"X-Teacher-Token": teacher_token}
        state = server.http.get(f"/api/classes/{code}", headers=teacher).json()
        assert state["max_runs"] == 1  # the teacher's budget, not LAYERLAB_MAX_RUNS_PER_CLASS
        second = server.http.post("/api/classes", json={"name": "Another"})
        assert second.status_code == 429, second.text
        assert "MAX_CLASSES_PER_CLIENT" in second.text and "retry-after" in second.headers
        first = server.http.post("/api/runs", json=doc, headers=student)
        assert first.status_code == 201, first.text
        refused = server.http.post("/api/runs", json=doc, headers=student)
        assert refused.status_code == 429, refused.text
        assert "budget" in refused.text and "retry-after" in refused.headers
        # The join window was a minute in memory: it starts afresh with the process.
        bo = server.http.post(f"/api/classes/{code}/join", json={"name": "Bo"})
        assert bo.status_code == 201, bo.text
        # Closing the class frees the address for another, as before the restart.
        closed = server.http.post(f"/api/classes/{code}/close", headers=teacher)
        assert closed.status_code == 200, closed.text
        other = server.http.post("/api/classes", json={"name": "Another"})
        assert other.status_code == 201, other.text
    finally:
        server.stop()
