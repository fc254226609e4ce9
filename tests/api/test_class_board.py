"""The class board through HTTP and WebSockets: each student's projector alias (unique, kept,
never a real name on anything projected unless the teacher shows names), the race board of
live runs with thumbnails, groups, rename and remove, rejoining with the stored token, the
results as CSV, and a dashboard without worker pids."""

from __future__ import annotations

import csv
import io

from class_clients import http_from
from live_server import Live, Stream, spiral

from server.classes.aliases import new_alias

ADDRESS = "127.0.18.1"  # this file's own address: its classes count against nobody else's
NAMES = ["Ada Lovelace", "Bo Zhang", "Cy Okafor"]


def teacher_of(http, name: str = "Board") -> tuple[str, dict]:
    response = http.post("/api/classes", json={"name": name})
    assert response.status_code == 201, response.text
    body = response.json()
    return body["code"], {"X-Teacher-Token": body["teacher_token"]}


def joined(http, code: str, name: str) -> dict:
    response = http.post(f"/api/classes/{code}/join", json={"name": name})
    assert response.status_code == 201, response.text
    return response.json()


def race_socket(live: Live, code: str, teacher: dict) -> Stream:
    token = teacher["X-Teacher-Token"]
    return Stream(f"{live.ws_base}/ws/classes/{code}?teacher={token}&view=race")


def test_aliases_are_unique_friendly_and_never_a_real_name():
    taken: list[str] = []
    for _ in range(300):
        alias = new_alias(taken)
        assert alias.casefold() not in {t.casefold() for t in taken}
        taken.append(alias)
    assert all(len(a.split()) == 2 for a in taken)  # "Brave Otter", 300 in 1,440 pairs
    assert new_alias([]) != ""


def test_the_projector_shows_aliases_and_the_teacher_real_names(live: Live):
    with http_from(live, ADDRESS) as http:
        code, teacher = teacher_of(http)
        students = [joined(http, code, name) for name in NAMES]
        aliases = [s["student"]["alias"] for s in students]
        assert len(set(aliases)) == 3 and not set(aliases) & set(NAMES)
        tokens = [s["student_token"] for s in students]
        runs = [
            http.post("/api/runs", json=spiral(epochs=None), headers={"X-Student-Token": t})
            for t in tokens
        ]
        assert [r.status_code for r in runs] == [201] * 3, [r.text for r in runs]

        # Rejoining from the same browser: the stored token is the same student, same alias.
        me = http.get(f"/api/classes/{code}/me", headers={"X-Student-Token": tokens[0]})
        assert me.json()["student"] == students[0]["student"]

        board = race_socket(live, code, teacher)
        try:
            hello = board.read()
            assert hello["role"] == "race"
            race = board.read_until(
                lambda m: (
                    m["type"] == "race"
                    and all(e["thumb"] is not None and e["epoch"] >= 1 for e in m["entries"])
                ),
                timeout=120,
            )
            assert {e["name"] for e in race["entries"]} == set(aliases)
            thumb = race["entries"][0]["thumb"]
            assert thumb["kind"] == "surface" and thumb["grid"]["shape"] == [20, 20]
            assert all(len(e["spark"]) >= 1 for e in race["entries"])
            # Nothing a projector receives carries a real name: not the race board, not the
            # class state, not the HTTP twin of the board.
            for message in board.messages:
                for name in NAMES:
                    assert name not in str(message), message
            twin = http.get(f"/api/classes/{code}/race", headers=teacher)
            assert twin.status_code == 200
            assert not any(name in twin.text for name in NAMES)
            assert http.get(f"/api/classes/{code}/race").status_code == 403  # teacher only

            # The teacher chooses to show names: the next board carries them.
            shown = http.post(f"/api/classes/{code}/names", json={"show": True}, headers=teacher)
            assert shown.status_code == 200 and shown.json()["show_names"] is True
            named = board.read_until(
                lambda m: m["type"] == "race" and m["class"]["show_names"], timeout=30
            )
            assert {e["name"] for e in named["entries"]} == set(NAMES)
        finally:
            board.close()

        # The teacher's own dashboard: real names, with aliases beside them; no worker pids.
        dash = Stream(f"{live.ws_base}/ws/classes/{code}?teacher={teacher['X-Teacher-Token']}")
        try:
            message = dash.read_until(lambda m: m["type"] == "dashboard", timeout=30)
            assert {r["name"] for r in message["students"]} == set(NAMES)
            assert {r["alias"] for r in message["students"]} == set(aliases)
            assert "workers" not in message
            assert all("worker" not in r for r in message["students"])
        finally:
            dash.close()
        stop = {"action": "stop"}
        stopped = http.post(f"/api/classes/{code}/pause-all", json=stop, headers=teacher)
        assert stopped.status_code == 200


def test_groups_rename_remove_and_the_results_csv(live: Live):
    with http_from(live, ADDRESS) as http:
        code, teacher = teacher_of(http, "Roster")
        ada, bo = joined(http, code, "Ada"), joined(http, code, "Bo")
        ada_id, bo_id = ada["student"]["id"], bo["student"]["id"]
        path = f"/api/classes/{code}/students"

        # Groups and renames; bad input names its field; a student of no class is a 404.
        grouped = http.patch(f"{path}/{ada_id}", json={"group": "A"}, headers=teacher)
        assert grouped.status_code == 200 and grouped.json()["group"] == "A"
        renamed = http.patch(f"{path}/{bo_id}", json={"name": "Bob"}, headers=teacher)
        assert renamed.json()["name"] == "Bob" and renamed.json()["alias"] == bo["student"]["alias"]
        clash = http.patch(f"{path}/{bo_id}", json={"name": "ada"}, headers=teacher)
        assert clash.status_code == 409 and "name" in clash.json()["detail"]
        empty = http.patch(f"{path}/{bo_id}", json={"name": "  "}, headers=teacher)
        assert empty.status_code == 422 and empty.json()["detail"][0]["loc"] == ["body", "name"]
        assert http.patch(f"{path}/nobody", json={"group": "B"}, headers=teacher).status_code == 404
        assert http.patch(f"{path}/{bo_id}", json={"group": "B"}).status_code == 403
        detail = http.get(f"/api/classes/{code}", headers=teacher).json()
        groups = {s["name"]: s["group"] for s in detail["students_list"]}
        assert groups == {"Ada": "A", "Bob": None}

        # Results: Ada trains a short run to its end, then the CSV has its final metrics.
        ada_token = {"X-Student-Token": ada["student_token"]}
        run = http.post("/api/runs", json=spiral(epochs=5), headers=ada_token)
        assert run.status_code == 201, run.text
        run_id, token = run.json()["id"], ada["student_token"]
        stream = Stream(f"{live.ws_base}/ws/runs/{run_id}?student={token}")
        try:
            stream.read_to_end(timeout=120)
        finally:
            stream.close()
        exported = http.get(f"/api/classes/{code}/results.csv", headers=teacher)
        assert exported.status_code == 200 and exported.headers["content-type"].startswith(
            "text/csv"
        )
        rows = list(csv.DictReader(io.StringIO(exported.text)))
        assert len(rows) == 1, exported.text
        row = rows[0]
        assert row["student"] == "Ada" and row["group"] == "A" and row["status"] == "finished"
        assert row["epoch"] == "5" and 0.0 <= float(row["val_accuracy"]) <= 1.0
        assert row["design"].startswith("spiral")

        # Bob leaves: his running run stops, his token no longer enters the class.
        bob_token = {"X-Student-Token": bo["student_token"]}
        bob_run = http.post("/api/runs", json=spiral(epochs=None), headers=bob_token)
        assert bob_run.status_code == 201, bob_run.text
        bob_page = Stream(f"{live.ws_base}/ws/classes/{code}?student={bo['student_token']}")
        assert bob_page.read()["type"] == "hello"
        removed = http.delete(f"{path}/{bo_id}", headers=teacher)
        try:  # his page is told, then closed
            assert bob_page.read_until(lambda m: m["type"] == "removed")["class"] == code
        finally:
            bob_page.close()
        assert removed.status_code == 200 and removed.json()["runs_stopped"] == 1
        assert http.get(f"/api/classes/{code}/me", headers=bob_token).status_code == 403
        after = http.get(f"/api/runs/{bob_run.json()['id']}", headers=teacher).json()
        assert after["status"] == "stopped"
        left = http.get(f"/api/classes/{code}", headers=teacher).json()
        assert [s["name"] for s in left["students_list"]] == ["Ada"]
