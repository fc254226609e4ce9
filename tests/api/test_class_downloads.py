"""A student downloads their own class run's exports and history with their class token in a
header (issue 20: the page's links carried no token, so a student's own download got 403).
What the page sends: `X-Student-Token` on a fetch of each download path."""

from __future__ import annotations

import time

from class_clients import http_from
from live_server import Live, spiral

DOWNLOADS = ("export/model.py", "export/weights.safetensors", "history.csv", "history")


def test_a_student_downloads_their_own_run_with_their_token(live: Live):
    with http_from(live, "127.0.0.20") as http:
        opened = http.post("/api/classes", json={"name": "downloads"}).json()
        code, teacher = opened["code"], opened["teacher_token"]
        ada, bob = (
            http.post(f"/api/classes/{code}/join", json={"name": n}).json()["student_token"]
            for n in ("Ada", "Bob")
        )
        created = http.post("/api/runs", json=spiral(epochs=3), headers={"X-Student-Token": ada})
        assert created.status_code == 201, created.text
        run_id = created.json()["id"]
        mine = {"X-Student-Token": ada}
        deadline = time.monotonic() + 120
        while True:  # the export is written once the run has finished
            detail = http.get(f"/api/runs/{run_id}", headers=mine).json()
            if detail["export"] and "weights.safetensors" in detail["export"]:
                break
            assert time.monotonic() < deadline, detail["status"]
            time.sleep(0.1)
        assert set(detail["export"]) >= {"model.py", "weights.safetensors", "model.onnx"}
        for path in DOWNLOADS:
            url = f"/api/runs/{run_id}/{path}"
            got = http.get(url, headers=mine)
            assert got.status_code == 200, (path, got.text)
            assert got.content, path
            assert http.head(url, headers=mine).status_code in (200, 405), path
            # Nobody else: no token, another student's; the teacher may.
            assert http.get(url).status_code == 403, path
            assert http.get(url, headers={"X-Student-Token": bob}).status_code == 403, path
            assert http.get(url, headers={"X-Teacher-Token": teacher}).status_code == 200, path
        # The query form still works for a link (the access log masks it).
        linked = http.get(f"/api/runs/{run_id}/export/model.py?student={ada}")
        assert linked.status_code == 200
        http.post(f"/api/classes/{code}/close", headers={"X-Teacher-Token": teacher})
