"""The backends' one lifecycle (`backends/base.WorkerSet`) with a stand-in transport: commands
are queued and written off the event loop, in order, and a worker that takes none is refused
more once its queue is full, while the loop stays free."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass

from server.config import Settings
from server.runs.backends.base import COMMAND_QUEUE, WorkerBase, WorkerSet
from server.runs.protocol import Control, decode


@dataclass(eq=False, kw_only=True)
class StandIn(WorkerBase):
    """A worker whose "pipe" blocks while `stopped` is clear (as a SIGSTOPped process's)."""

    taking: threading.Event
    gone: threading.Event
    written: list

    @property
    def silent_s(self) -> float:
        return 0.0

    def current(self) -> tuple[str | None, float]:
        return None, 0.0

    def rss(self) -> int:
        return 0

    @property
    def pid(self) -> int | None:
        return None


class StandInSet(WorkerSet):
    name = "stand-in"

    def _spawn(self, wid: int) -> StandIn:
        taking = threading.Event()
        taking.set()
        return StandIn(wid, taking=taking, gone=threading.Event(), written=[])

    def _receive(self, worker: StandIn) -> None:
        self._deliver(worker, [decode(("ready", None))])
        worker.gone.wait()

    def _write(self, worker: StandIn, seq: int, message: tuple) -> None:
        while not worker.taking.wait(0.05):
            if worker.gone.is_set():
                raise OSError("gone")
        worker.written.append((seq, message))

    def _terminate(self, worker: StandIn) -> None:
        worker.gone.set()

    def _exit_words(self, worker: StandIn) -> str:
        return "it went"

    def _finish(self, workers: list, timeout: float) -> None:
        for worker in workers:
            worker.gone.set()


def test_commands_go_in_order_off_the_loop_and_a_full_queue_is_refused(tmp_path):
    settings = Settings(workers=1, persist_runs=False, state_dir=tmp_path)
    exits: list[str] = []

    async def main():
        ready = asyncio.Event()
        pool = StandInSet(settings, lambda w, m: None, lambda w, r: exits.append(r))
        pool.on_ready = lambda worker: ready.set()
        await pool.start()
        await asyncio.wait_for(ready.wait(), 10)
        worker = pool.least_loaded()
        assert pool.send(worker, Control(None, "r", "watch", True))
        while not worker.written:
            await asyncio.sleep(0.01)
        worker.taking.clear()  # stopped: its pipe takes nothing more
        assert pool.send(worker, Control(-1, "r", "step", None))
        while worker.owed:  # the sender thread holds it, blocked in its write
            await asyncio.sleep(0.01)
        started = time.monotonic()
        sent = [pool.send(worker, Control(i, "r", "step", None)) for i in range(COMMAND_QUEUE + 5)]
        assert time.monotonic() - started < 0.5  # never waited for the worker
        assert sent == [True] * COMMAND_QUEUE + [False] * 5 and worker.owed == COMMAND_QUEUE
        worker.taking.set()
        while len(worker.written) < COMMAND_QUEUE + 2:
            await asyncio.sleep(0.01)
        assert [seq for seq, _ in worker.written] == list(range(1, COMMAND_QUEUE + 3))
        assert [m[1] for _, m in worker.written[1:]] == list(range(-1, COMMAND_QUEUE))
        pool.kill(worker, "killed by the test")
        while not exits:
            await asyncio.sleep(0.01)
        await pool.stop()

    asyncio.run(main())
    assert exits == ["killed by the test"]
