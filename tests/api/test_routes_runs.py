"""Runs over REST: create, list, read, and the owner's controls."""

from __future__ import annotations

import time

import pytest
from live_server import Live, spiral


def _first_epoch(message: dict) -> bool:
    return message["type"] == "epoch" or (message["type"] == "hello" and message["history"])


def _status(name: str):
    return lambda m: m["type"] == "status" and m["status"] == name


def test_create_list_and_get(live: Live):
    run = live.start(spiral(epochs=5))
    assert set(run) == {"id", "token", "status", "stream"}
    assert run["stream"] == f"/ws/runs/{run['id']}"
    live.stream(run["id"]).read_to_end()
    listed = {r["id"]: r for r in live.http.get("/api/runs").json()}
    assert listed[run["id"]]["status"] == "finished"
    assert listed[run["id"]]["epoch"] == 5 and listed[run["id"]]["last"]["epoch"] == 5
    assert "token" not in listed[run["id"]]
    detail = live.http.get(f"/api/runs/{run['id']}").json()
    assert detail["experiment"]["dataset"]["name"] == "spiral"
    assert detail["check"]["layers"][0]["output_shape"] == [8]
    assert "token" not in detail
    assert live.http.get("/api/runs/nosuchrun").status_code == 404


def test_controls_need_the_owner_token_and_work(live: Live):
    run = live.start(spiral(epochs=None, samples=200, pace=100))
    viewer = live.stream(run["id"])
    viewer.read_until(_first_epoch)

    for token in (None, "not-the-token"):
        refused = live.control(run, "pause", token=token)
        assert refused.status_code == 403 and "token" in refused.json()["detail"]

    # The learning rate changes while it runs, and the records show it.
    assert live.control(run, "set_lr", learning_rate=0.125).status_code == 200
    viewer.read_until(lambda m: m["type"] == "epoch" and m["records"][-1]["lr"] == 0.125)

    paused = live.control(run, "pause")
    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    viewer.read_until(_status("paused"))
    before = viewer.epochs()[-1]

    # Step: exactly one more epoch, then paused again; nothing after it.
    assert live.control(run, "step").json()["status"] == "paused"
    viewer.read_until(_status("paused"))
    assert viewer.epochs()[-1] == before + 1
    with pytest.raises(TimeoutError):
        viewer.read_until(lambda m: m["type"] == "epoch", timeout=0.6)
    assert viewer.epochs() == list(range(1, before + 2))

    assert live.control(run, "resume").json()["status"] == "running"
    viewer.read_until(_status("running"))
    viewer.read_until(lambda m: m["type"] == "epoch")
    stopped = live.control(run, "stop")
    assert stopped.json()["status"] == "stopped"
    viewer.read_to_end()
    assert viewer.messages[-1]["status"] == "stopped"
    epochs = viewer.epochs()
    assert epochs == list(range(1, len(epochs) + 1))

    late = live.control(run, "resume")
    assert late.status_code == 409 and "stopped" in late.json()["detail"]
    assert live.http.get(f"/api/runs/{run['id']}").json()["status"] == "stopped"


def test_a_run_created_paused_waits_for_step_or_resume(live: Live):
    response = live.http.post("/api/runs", params={"paused": "true"}, json=spiral(epochs=4))
    run = response.json()
    assert response.status_code == 201 and run["status"] == "paused"
    viewer = live.stream(run["id"])
    assert viewer.read()["run"]["status"] == "paused"
    with pytest.raises(TimeoutError):
        viewer.read_until(lambda m: m["type"] == "epoch", timeout=0.5)
    assert live.control(run, "step").json()["status"] == "paused"
    viewer.read_until(_status("paused"))
    assert viewer.epochs() == [1]
    live.control(run, "resume")
    viewer.read_to_end()
    assert viewer.epochs() == [1, 2, 3, 4] and viewer.messages[-1]["status"] == "finished"


def test_statuses_are_announced_on_the_stream(live: Live):
    # Created paused, so the viewer is there before it trains, however fast the machine: a
    # 200-epoch spiral can finish within a WebSocket handshake.
    response = live.http.post("/api/runs", params={"paused": "true"}, json=spiral(epochs=200))
    run = response.json()
    viewer = live.stream(run["id"])
    hello = viewer.read()
    assert live.control(run, "resume").status_code == 200
    viewer.read_to_end()
    seen = [hello["run"]["status"]] + [m["status"] for m in viewer.of_type("status")]
    assert seen[0] == "paused"
    assert seen[-1] == "finished" and "running" in seen


def test_a_diverging_run_ends_diverged_with_a_message(live: Live):
    doc = {
        "dataset": {"name": "plane", "samples": 200},
        "model": {"layers": [{"type": "dense", "units": 8, "activation": "relu"}]},
        "training": {"learning_rate": 10, "epochs": 50},
    }
    run = live.start(doc)
    viewer = live.stream(run["id"])  # the reader refuses NaN and Infinity
    final = viewer.read_to_end()[-1]
    assert final["status"] == "diverged" and "learning rate" in final["message"]
    detail = live.http.get(f"/api/runs/{run['id']}").json()
    assert detail["status"] == "diverged" and detail["message"] == final["message"]


def test_queued_runs_take_controls_too(live: Live):
    run = live.start(spiral(epochs=None, pace=100))
    assert live.control(run, "stop").json()["status"] == "stopped"
    deadline = time.monotonic() + 5
    while live.http.get("/api/health").json()["active_runs"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
