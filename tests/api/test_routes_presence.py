"""The owner heartbeat over HTTP, with the real server and workers: an abandoned run pauses
then stops, the owner's heartbeats keep it going, and watchers do not."""

from __future__ import annotations

import threading

from live_server import Live, spiral


def until_paused() -> dict:
    doc = spiral(samples=200)
    doc["training"].update(epochs=None, pace=100)  # going on however fast the machine, lightly
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
    """Read from the watcher's stream (every status, in order), not by polling: a loaded
    machine's slow requests could miss the paused window (seen failing before this change)."""
    # Stop well after the pause: a sweep late on a loaded machine must still find the run
    # between the two (a stop at 4 s once came first, the pause never seen).
    # Ten heartbeats per pause period: a slow request on a loaded machine is not a page gone.
    limits(owner_idle_pause_s=2.0, owner_idle_stop_s=10.0)
    kept, abandoned, scripted = (live.start(until_paused()) for _ in range(3))
    watcher = live.stream(abandoned["id"])  # a class watching: no heartbeats from it
    done = threading.Event()
    answers: list[int | str] = []

    def keep_beating() -> None:  # the owner's page that stays open (a failure is kept, not fatal)
        while not done.wait(0.2):
            try:
                answers.append(presence(live, kept).status_code)
            except Exception as error:  # noqa: BLE001 - reported by the assertion below
                answers.append(repr(error))

    beater = threading.Thread(target=keep_beating, daemon=True)
    try:
        for run in (kept, abandoned):
            assert presence(live, run).status_code == 200
        beater.start()
        paused = watcher.read_until(
            lambda m: m["type"] == "status" and m["status"] in ("paused", "stopped"), timeout=30
        )
        assert paused["status"] == "paused", paused
        assert "owner's page has been gone" in (paused["message"] or "")
        stopped = watcher.read_until(
            lambda m: m["type"] == "status" and m["status"] == "stopped", timeout=30
        )
        assert stopped["message"].startswith("Stopped: its owner's page")
        assert status(live, abandoned)["message"].startswith("Stopped: its owner's page")
        # The owner who kept beating trains on; a script that never beat is never followed.
        assert answers and set(answers) == {200}, answers
        assert status(live, kept)["status"] == "running"
        assert status(live, scripted)["status"] == "running"
        assert status(live, kept)["epoch"] > 0
    finally:
        done.set()
        if beater.is_alive():
            beater.join(5)
        watcher.close()
        for run in (kept, abandoned, scripted):
            live.control(run, "stop")
        live.wait_idle()
