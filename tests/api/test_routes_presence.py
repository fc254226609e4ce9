"""The owner heartbeat over HTTP, with the real server and workers: an abandoned run pauses
then stops, the owner's heartbeats keep it going, and watchers do not."""

from __future__ import annotations

import time

from live_server import Live, spiral


def until_paused() -> dict:
    doc = spiral(samples=200)
    doc["training"]["epochs"] = None
    return doc


def presence(live: Live, run: dict, token: str | None = "owner"):
    headers = {} if token is None else {"X-Run-Token": run["token"] if token == "owner" else token}
    return live.http.post(f"/api/runs/{run['id']}/presence", headers=headers)


def status(live: Live, run: dict) -> dict:
    return live.http.get(f"/api/runs/{run['id']}").json()


def test_presence_needs_the_owner_token(live: Live):
    run = live.start(spiral(epochs=2, samples=100))
    assert presence(live, run, token=None).status_code == 403
    assert presence(live, run, token="wrong").status_code == 403
    assert live.http.post("/api/runs/nope/presence").status_code == 404
    assert presence(live, run).status_code == 200
    live.stream(run["id"]).read_to_end()
    ended = presence(live, run)  # an ended run answers with its status
    assert ended.status_code == 200 and ended.json()["status"] == "finished"


def test_an_abandoned_run_pauses_then_stops_and_watchers_do_not_keep_it(live: Live, limits):
    limits(owner_idle_pause_s=1.0, owner_idle_stop_s=4.0)
    kept, abandoned, scripted = (live.start(until_paused()) for _ in range(3))
    watcher = live.stream(abandoned["id"])  # a class watching: no heartbeats from it
    try:
        for run in (kept, abandoned):
            assert presence(live, run).status_code == 200
        deadline = time.monotonic() + 30
        while status(live, abandoned)["status"] != "paused":
            assert time.monotonic() < deadline, status(live, abandoned)
            assert presence(live, kept).status_code == 200
            time.sleep(0.2)
        paused = status(live, abandoned)
        assert "owner's page has been gone" in paused["message"]
        message = watcher.read_until(lambda m: m["type"] == "status" and m["status"] == "paused")
        assert "owner's page has been gone" in (message["message"] or "")
        while status(live, abandoned)["status"] != "stopped":
            assert time.monotonic() < deadline, status(live, abandoned)
            assert presence(live, kept).status_code == 200
            time.sleep(0.2)
        assert status(live, abandoned)["message"].startswith("Stopped: its owner's page")
        # The owner who kept beating trains on; a script that never beat is never followed.
        assert status(live, kept)["status"] == "running"
        assert status(live, scripted)["status"] == "running"
        assert status(live, kept)["epoch"] > paused["epoch"] or status(live, kept)["epoch"] > 0
    finally:
        watcher.close()
        for run in (kept, abandoned, scripted):
            live.control(run, "stop")
        live.wait_idle()
