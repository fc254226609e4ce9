"""Owner presence: the idle policy on its own, then with a real RunManager and spawned worker."""

from __future__ import annotations

import asyncio
import time

from server.config import Settings
from server.runs.manager import RunManager
from server.runs.presence import OwnerPresence

UNTIL_PAUSED = {
    "dataset": {"name": "spiral", "samples": 100},
    "model": {"layers": [{"type": "dense", "units": 4, "activation": "tanh"}]},
    # At a pace: still going when its owner leaves, however fast the machine (at full speed a
    # quiet machine trains the server's 10,000 epochs in a few seconds).
    "training": {"epochs": None, "batch_size": 10, "pace": 100},
}
CHECK = {"input_shape": [2], "layers": [], "head": {"output_shape": [2]}, "total_params": 22}


def test_the_policy_pauses_once_then_stops_and_a_heartbeat_resets_it(tmp_path):
    settings = Settings(owner_idle_pause_s=10, owner_idle_stop_s=100, state_dir=tmp_path)
    presence = OwnerPresence(settings)
    status = {"a": "running", "b": "running"}
    presence.beat("a", now=0)
    # "b" never sent a heartbeat: it is not followed (scripts keep control of their runs).
    assert presence.due(status.get, now=9) == []
    [(run_id, action, why)] = presence.due(status.get, now=10)
    assert (run_id, action) == ("a", "pause") and "gone for 10 s" in why
    status["a"] = "paused"
    assert presence.due(status.get, now=50) == []  # paused once, not again
    presence.beat("a", now=60)  # the owner is back
    assert presence.due(status.get, now=65) == []
    [(_, action, why)] = presence.due(status.get, now=160)
    assert action == "stop" and why.startswith("Stopped: its owner's page has been gone")
    assert presence.due(status.get, now=500) == []  # forgotten once stopped
    # An ended run is forgotten too.
    presence.beat("a", now=0)
    status["a"] = "finished"
    assert presence.due(status.get, now=1000) == [] and "a" not in presence.owners


def test_a_stall_of_the_server_itself_is_not_counted_against_an_owner(tmp_path):
    """The loop blocked for 4 pause periods: the heartbeat queued behind it lands after the
    check that wakes late, and the run is not paused for the server's own silence."""
    settings = Settings(owner_idle_pause_s=0.4, owner_idle_stop_s=100, state_dir=tmp_path)
    presence = OwnerPresence(settings)
    applied: list[tuple[str, str]] = []

    async def apply(run_id: str, action: str, why: str) -> None:
        applied.append((run_id, action))

    async def main() -> float:
        presence.beat("a")
        watch = asyncio.create_task(presence.watch(lambda _: "running", apply))
        try:
            await asyncio.sleep(0.05)
            time.sleep(1.6)  # the stall: every timer, the check's included, is now overdue
            await asyncio.sleep(0.01)  # the overdue check runs before this later timer
            assert applied == []
            presence.beat("a")  # the heartbeat that was waiting behind the stall
            gone = time.monotonic()
            while not applied:  # an owner who really left is still paused
                assert time.monotonic() - gone < 10, "never paused"
                await asyncio.sleep(0.02)
            return time.monotonic() - gone
        finally:
            watch.cancel()

    paused_after = asyncio.run(main())
    assert applied == [("a", "pause")] and paused_after >= 0.35


def test_an_abandoned_run_pauses_then_stops_on_a_real_worker(tmp_path):
    settings = Settings(
        workers=1,
        persist_runs=False,
        state_dir=tmp_path,
        # Ten heartbeat intervals before the pause: a stall of the test's own event loop (a
        # loaded machine) must not pass for an owner who left.
        owner_idle_pause_s=1.5,
        owner_idle_stop_s=3.5,
    )
    seen: list[tuple] = []

    async def main():
        manager = RunManager(settings)
        await manager.start()
        try:
            assert await manager.pool.wait_ready(120)
            run = await manager.create(UNTIL_PAUSED, CHECK, "owner")
            manager.heartbeat(run)
            # While the owner's page beats, the run goes on past the pause delay.
            for _ in range(10):
                await asyncio.sleep(0.15)
                manager.heartbeat(run)
            assert run.status == "running", run.status
            gone = time.monotonic()
            while run.status == "running":
                assert time.monotonic() - gone < 10, "the abandoned run never paused"
                await asyncio.sleep(0.05)
            seen.append((run.status, run.channel.message, time.monotonic() - gone))
            epoch = run.channel.epoch
            while run.active:
                assert time.monotonic() - gone < 20, "the abandoned run never stopped"
                await asyncio.sleep(0.05)
            seen.append((run.status, run.channel.message, time.monotonic() - gone))
            assert run.channel.epoch >= epoch
        finally:
            await manager.stop()

    asyncio.run(main())
    (paused, pause_msg, pause_at), (stopped, stop_msg, stop_at) = seen
    assert paused == "paused" and "owner's page has been gone" in pause_msg
    assert 1.4 <= pause_at < 9
    assert stopped == "stopped" and stop_msg.startswith("Stopped: its owner's page")
    assert stop_at >= 3.4
