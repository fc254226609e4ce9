"""A viewer whose records wait gets fewer snapshots, and the full rate again once they do not."""

import asyncio
import json
import time

from server.config import Settings
from server.runs import viewer as viewer_module
from server.runs.hub import Hub
from server.runs.viewer import LAG_S, SLOWEST_SNAPSHOT_S


class Collector:
    def __init__(self):
        self.messages: list[dict] = []
        self.got = asyncio.Event()

    async def send(self, text: str) -> None:
        self.messages.append(json.loads(text))
        self.got.set()

    def of_type(self, kind: str) -> list[dict]:
        return [m for m in self.messages if m["type"] == kind]


async def watched():
    """A hub at 20 snapshots a second, one run, and one viewer that has had its hello."""
    hub = Hub(Settings(snapshot_rate=20.0, persist_runs=False))
    hub.open("r", {"id": "r", "experiment": {}, "check": {}})
    sock = Collector()
    viewer = hub.join("r", sock.send)
    task = asyncio.create_task(viewer.run())
    await until(sock, lambda: sock.of_type("hello"))
    return hub, sock, viewer, task


async def until(sock: Collector, check) -> None:
    while not check():
        sock.got.clear()
        await asyncio.wait_for(sock.got.wait(), 10)


def test_snapshots_thin_while_records_wait_and_recover(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(viewer_module, "clock", lambda: now[0])

    async def main():
        hub, sock, viewer, task = await watched()
        fastest = viewer.snapshot_interval
        assert fastest == 1 / 20
        intervals = []
        for epoch in range(1, 7):  # each record waits 4 x LAG_S in the queue (by the clock)
            hub.publish_epoch("r", {"epoch": epoch})
            now[0] += 4 * LAG_S
            await until(
                sock,
                lambda e=epoch: (
                    sock.of_type("epoch")[-1:] != []
                    and sock.of_type("epoch")[-1]["records"][-1]["epoch"] == e
                ),
            )
            intervals.append(viewer.snapshot_interval)
        assert intervals == [min(SLOWEST_SNAPSHOT_S, fastest * 2**k) for k in range(1, 7)]
        assert intervals[-1] == SLOWEST_SNAPSHOT_S

        # Thinned: the first snapshot goes at once, the next waits its second (latest wins).
        hub.publish_snapshot("r", 6, json.dumps({"type": "snapshot", "i": 1}))
        await until(sock, lambda: sock.of_type("snapshot"))
        hub.publish_snapshot("r", 6, json.dumps({"type": "snapshot", "i": 2}))
        hub.publish_snapshot("r", 6, json.dumps({"type": "snapshot", "i": 3}))
        await asyncio.sleep(0.3)  # a slower machine only makes its being held back likelier
        assert [m["i"] for m in sock.of_type("snapshot")] == [1]

        for epoch in range(7, 12):  # records that go out at once: the full rate comes back
            hub.publish_epoch("r", {"epoch": epoch})
            await until(
                sock, lambda e=epoch: sock.of_type("epoch")[-1]["records"][-1]["epoch"] == e
            )
        assert viewer.snapshot_interval == fastest

        hub.publish_status("r", "stopped")  # a pending snapshot still goes, before the status
        await asyncio.wait_for(task, 10)
        return sock

    sock = asyncio.run(main())
    assert [m["i"] for m in sock.of_type("snapshot")] == [1, 3]  # the newest, in the end
    assert sock.messages[-1]["type"] == "status"
    epochs = [r["epoch"] for m in sock.of_type("epoch") for r in m["records"]]
    assert epochs == list(range(1, 12))


def test_records_that_reach_the_hub_late_thin_the_snapshots(monkeypatch):
    monkeypatch.setattr(viewer_module, "clock", lambda: 100.0)  # no wait in the queue

    async def main():
        hub, sock, viewer, task = await watched()
        fastest = viewer.snapshot_interval
        made = time.time()
        # The first record sets the run's promptest delay; one made 3 x LAG_S earlier than
        # its turn reached the hub late (the worker's clock may be set apart: only the
        # difference counts).
        hub.publish_epoch("r", {"epoch": 1, "time": made - 100})
        hub.publish_epoch("r", {"epoch": 2, "time": made - 100 - 3 * LAG_S})
        assert viewer.snapshot_interval == 2 * fastest
        await until(sock, lambda: sum(len(m["records"]) for m in sock.of_type("epoch")) == 2)
        assert viewer.snapshot_interval == 2 * fastest  # taken at once, yet it came late
        hub.publish_epoch("r", {"epoch": 3, "time": time.time() - 100})  # prompt again
        await until(sock, lambda: sum(len(m["records"]) for m in sock.of_type("epoch")) == 3)
        assert viewer.snapshot_interval == fastest
        hub.publish_status("r", "stopped")
        await asyncio.wait_for(task, 10)

    asyncio.run(main())
