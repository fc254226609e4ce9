"""Issue 20, with real processes: a worker's exit resolved every pending ack and ask with None,
those of healthy workers too (an ask waiting on a healthy worker failed with "ended before it
could answer" when another worker died). tests/runs/test_manager.py shows it with a stand-in
pool; here worker B is stopped (SIGSTOP) with an ask waiting on it, worker A is killed
(kill -9), and once B goes on the ask gets B's real answer."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time

import httpx
from fault_server import Server

LIGHT = {
    "dataset": {"name": "spiral", "samples": 200},
    "model": {"layers": [{"type": "dense", "units": 8, "activation": "tanh"}]},
    "training": {"epochs": None, "batch_size": 10},  # trains until stopped
}


def _waiting_on(server: Server, pid: int) -> int:
    return next(w["calls_waiting"] for w in server.workers() if w["pid"] == pid)


def _predict(server: Server, run: dict, answers: list) -> None:
    url = f"/api/runs/{run['id']}/predict"
    answers.append(server.http.post(url, json={"input": [0.3, -0.2]}, timeout=60))


def _ask_while_stopped(server: Server, run: dict, pid: int) -> tuple[threading.Thread, list]:
    """SIGSTOP the worker and ask its run to predict; returns once the ask waits on it. (An
    ask that reaches a worker already silent for 1.5 s is refused at once: then retry.)"""
    for _ in range(5):
        answers: list[httpx.Response] = []
        os.kill(pid, signal.SIGSTOP)
        asking = threading.Thread(target=_predict, args=(server, run, answers))
        asking.start()
        while not answers and _waiting_on(server, pid) == 0:
            time.sleep(0.02)
        if not answers:
            return asking, answers
        assert "not been heard from" in answers[0].text, answers[0].text
        os.kill(pid, signal.SIGCONT)
        server.wait_ready()
    raise AssertionError("the ask never reached the stopped worker")


def test_a_dead_worker_fails_only_its_own_pending_asks(tmp_path):
    env = {
        "LAYERLAB_DEVICE": "cpu",
        "LAYERLAB_STATE_DIR": str(tmp_path / "state"),
        "LAYERLAB_PERSIST_RUNS": "false",
        # B stays stopped while A dies: it must not be declared hung meanwhile.
        "LAYERLAB_HEARTBEAT_TIMEOUT_S": "60",
    }
    server = Server(env=env, workers=2, log=tmp_path / "server.log")
    try:
        server.wait_ready()
        made = [server.http.post("/api/runs", json=LIGHT) for _ in range(2)]
        assert all(r.status_code == 201 for r in made), [r.text for r in made]
        victim, survivor = (r.json() for r in made)
        server.wait_epoch(victim["id"], 2)
        server.wait_epoch(survivor["id"], 2)
        a, b = server.worker_of(victim["id"]), server.worker_of(survivor["id"])
        assert a["pid"] != b["pid"]
        asking, answers = _ask_while_stopped(server, survivor, b["pid"])
        try:
            os.kill(a["pid"], signal.SIGKILL)
            failed = server.wait_status(victim["id"], {"failed"}, timeout=30)
            assert "signal 9" in failed["message"]
            assert _waiting_on(server, b["pid"]) == 1  # still waiting for its own worker
        finally:
            with contextlib.suppress(OSError):
                os.kill(b["pid"], signal.SIGCONT)
        asking.join(60)
        assert not asking.is_alive()
        assert answers[0].status_code == 200, answers[0].text
        assert answers[0].json()["task"] == "classification"
        assert len(answers[0].json()["output"]) == 2  # the spiral's two classes, from B itself
        assert server.run(survivor["id"])["status"] == "running"
        assert _waiting_on(server, b["pid"]) == 0
        server.http.post(
            f"/api/runs/{survivor['id']}/control",
            json={"action": "stop"},
            headers={"X-Run-Token": survivor["token"]},
        )
    finally:
        server.stop()
