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
