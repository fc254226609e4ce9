"""The server's event-loop watchdog (server/api/loop_watch.py) on a real loop, and in /api/health."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

from live_server import Live

from server.api.loop_watch import LoopWatch

NOTICE_WAIT_S = 30.0  # generous: the loop stays blocked until the watch notices, however slow


def hold_the_loop_until_noticed(watch: LoopWatch) -> None:
    """Block the event loop (a sync call on it, as a bug would) until the watch has counted a
    stall: the test waits on the watch, not on a length of time."""
    deadline = time.monotonic() + NOTICE_WAIT_S
    lock = threading.Lock()
    lock.acquire()
    while watch.stalls == 0 and time.monotonic() < deadline:
        lock.acquire(timeout=0.01)  # a blocking call, as a stuck lock or socket would be


async def _watched_stall(caplog) -> LoopWatch:
    watch = LoopWatch(stall_s=0.2, probe_s=0.02)
    watch.start()
    try:
        while watch.lag_s == 0.0:  # answered at least once
            await asyncio.sleep(0.01)
        assert watch.stalls == 0
        hold_the_loop_until_noticed(watch)
        deadline = time.monotonic() + NOTICE_WAIT_S
        while "turned again" not in caplog.text and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
    finally:
        watch.stop()
    return watch


def test_a_blocked_loop_is_logged_with_where_it_was_and_counted_once(caplog):
    caplog.set_level(logging.WARNING, logger="layerlab.loop")
    watch = asyncio.run(_watched_stall(caplog))
    assert watch.stalls == 1
    described = watch.describe()
    assert described["stalls"] == 1
    stall = described["last_stall"]
    assert stall is not None and stall["seconds"] >= 0.2
    assert "hold_the_loop_until_noticed" in stall["where"]  # ours, not threading.py's
    assert "test_loop_watch.py" in stall["where"]
    warnings = [r.getMessage() for r in caplog.records]
    assert any("has not turned" in m and "hold_the_loop_until_noticed" in m for m in warnings), (
        warnings
    )
    assert any("turned again after a stall" in m for m in warnings), warnings


def test_a_quiet_loop_has_no_stall():
    async def main() -> LoopWatch:
        watch = LoopWatch(stall_s=5.0, probe_s=0.01)
        watch.start()
        while watch.lag_s == 0.0:
            await asyncio.sleep(0.01)
        watch.stop()
        return watch

    watch = asyncio.run(main())
    assert watch.stalls == 0 and watch.describe()["last_stall"] is None


def test_health_shows_the_loop(live: Live):
    """The health's `loop` as the watch describes it. The server is the session's shared one
    (in this test process), so whether it ever stalled depends on the machine and on the tests
    before: a loaded fresh-clone run once saw one stall there. The fields must agree."""
    loop = live.http.get("/api/health").json()["loop"]
    assert loop["stall_s"] > 0 and loop["lag_ms"] >= 0
    assert loop["stalls"] >= 0
    if loop["stalls"] == 0:
        assert loop["last_stall"] is None
    else:
        stall = loop["last_stall"]
        assert stall["seconds"] > 0 and stall["where"] and stall["began"], stall
