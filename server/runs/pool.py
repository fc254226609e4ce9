"""Worker processes: spawned (never forked), watched, and replaced when they die.

Each worker has two one-way pipes: commands in, messages out. A reader thread per worker
receives its messages and hands them to the event loop with `call_soon_threadsafe`; when the
pipe reaches end-of-file the worker is gone, and the pool reports why and spawns another.
Pipes are per worker, so a worker killed in the middle of a write cannot wedge the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from ..config import Settings
from .worker import DEFAULT_TRAINER, worker_main

MEMORY_CHECK_S = 1.0
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


@dataclass(eq=False)
class WorkerHandle:
    """The server's view of one worker process."""

    id: int
    process: BaseProcess
    commands: Connection
    messages: Connection
    started: float = field(default_factory=time.monotonic)
    ready: bool = False
    alive: bool = True
    runs: set[str] = field(default_factory=set)
    kill_reason: str | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid

    @property
    def load(self) -> int:
        return len(self.runs)

    def describe(self) -> dict:
        return {
            "id": self.id,
            "pid": self.pid,
            "ready": self.ready,
            "alive": self.alive,
            "runs": sorted(self.runs),
            "rss_mb": round(_rss_bytes(self.pid) / 2**20, 1) if self.pid else None,
        }


MessageHandler = Callable[[WorkerHandle, tuple], None]
ExitHandler = Callable[[WorkerHandle, str], None]


class WorkerPool:
    """Keeps `settings.workers` worker processes alive and routes their messages."""

    def __init__(
        self,
        settings: Settings,
        on_message: MessageHandler,
        on_exit: ExitHandler,
        factory: str = DEFAULT_TRAINER,
    ):
        self.settings = settings
        self.on_message = on_message
        self.on_exit = on_exit
        self.factory = factory
        self.workers: dict[int, WorkerHandle] = {}
        self._ctx = multiprocessing.get_context("spawn")
        self._next_id = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing = False
        self._watchdog: asyncio.Task | None = None
        self._threads: list[threading.Thread] = []
        self._failures = 0

    async def start(self) -> None:
        """Spawn the workers; they import torch and the engine before the first run arrives."""
        self._loop = asyncio.get_running_loop()
        for _ in range(self.settings.workers):
            self._spawn()
        self._watchdog = asyncio.create_task(self._watch_memory())

    async def wait_ready(self, timeout: float = 60.0) -> bool:
        """Wait until every worker has warmed up (for tests and benchmarks)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            workers = list(self.workers.values())
            if len(workers) >= self.settings.workers and all(w.ready for w in workers):
                return True
            await asyncio.sleep(0.02)
        return False

    def least_loaded(self) -> WorkerHandle:
        """The live worker with the fewest active runs (ready ones first)."""
        live = [w for w in self.workers.values() if w.alive]
        if not live:  # every worker just died: start one at once
            live = [self._spawn()]
        return min(live, key=lambda w: (w.load, not w.ready, w.id))

    def send(self, worker: WorkerHandle, command: tuple) -> bool:
        """Send one command; False when the worker is gone (its exit is reported separately)."""
        if not worker.alive:
            return False
        try:
            worker.commands.send(command)
        except (BrokenPipeError, ConnectionError, OSError):
            return False
        return True

    def describe(self) -> list[dict]:
        return [w.describe() for w in self.workers.values()]

    async def stop(self, timeout: float = 5.0) -> None:
        """Ask every worker to finish, then make sure they are gone."""
        self._closing = True
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
        workers = list(self.workers.values())
        for worker in workers:
            self.send(worker, ("shutdown",))
        await asyncio.to_thread(self._join_all, workers, timeout)
        self.workers.clear()

    # -- internals ----------------------------------------------------------------------
    def _spawn(self) -> WorkerHandle:
        wid = self._next_id
        self._next_id += 1
        cmd_read, cmd_write = self._ctx.Pipe(duplex=False)
        msg_read, msg_write = self._ctx.Pipe(duplex=False)
        process = self._ctx.Process(
            target=worker_main,
            args=(self.settings.model_dump(mode="json"), cmd_read, msg_write, self.factory),
            name=f"layerlab-worker-{wid}",
            daemon=True,
        )
        process.start()
        cmd_read.close()  # the child holds its own copies: end-of-file now means it is gone
        msg_write.close()
        worker = WorkerHandle(wid, process, cmd_write, msg_read)
        self.workers[wid] = worker
        thread = threading.Thread(
            target=self._read, args=(worker,), name=f"layerlab-reader-{wid}", daemon=True
        )
        thread.start()
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        return worker

    def _read(self, worker: WorkerHandle) -> None:
        """Reader thread: forward messages to the loop until the pipe ends."""
        try:
            while True:
                message = worker.messages.recv()
                self._call(self._dispatch, worker, message)
        except (EOFError, OSError):
            pass
        except Exception:  # noqa: BLE001 - a garbled message is a dead worker
            worker.kill_reason = worker.kill_reason or "worker process sent a garbled message"
            if worker.pid:
                with contextlib.suppress(OSError):
                    os.kill(worker.pid, signal.SIGKILL)
        worker.process.join(10)
        self._call(self._exited, worker)

    def _call(self, fn: Callable, *args: object) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(fn, *args)

    def _dispatch(self, worker: WorkerHandle, message: tuple) -> None:
        if message[0] == "ready":
            worker.ready = True
            self._failures = 0
            return
        self.on_message(worker, message)

    def _exited(self, worker: WorkerHandle) -> None:
        worker.alive = False
        with contextlib.suppress(OSError):
            worker.commands.close()
            worker.messages.close()
        if self.workers.get(worker.id) is worker:
            del self.workers[worker.id]
        if self._closing:
            return
        reason = worker.kill_reason or exit_reason(worker.process.exitcode)
        self.on_exit(worker, reason)
        if not worker.ready:  # crashed while starting: back off instead of spinning
            self._failures += 1
            delay = min(30.0, 0.5 * 2 ** min(self._failures, 6))
            assert self._loop is not None
            self._loop.call_later(delay, self._replace)
        else:
            self._replace()

    def _replace(self) -> None:
        if not self._closing and len(self.workers) < self.settings.workers:
            self._spawn()

    async def _watch_memory(self) -> None:
        """Kill a worker whose resident memory passes `worker_memory_mb` (e.g. on CUDA)."""
        limit = self.settings.worker_memory_mb * 2**20
        while True:
            await asyncio.sleep(MEMORY_CHECK_S)
            for worker in list(self.workers.values()):
                rss = _rss_bytes(worker.pid) if worker.alive and worker.pid else 0
                if rss > limit and worker.kill_reason is None:
                    worker.kill_reason = (
                        f"worker process used {rss / 2**20:.0f} MB, over the limit of "
                        f"{self.settings.worker_memory_mb} MB (LAYERLAB_WORKER_MEMORY_MB)"
                    )
                    with contextlib.suppress(OSError):
                        os.kill(worker.pid, signal.SIGKILL)

    def _join_all(self, workers: list[WorkerHandle], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for worker in workers:
            worker.process.join(max(0.0, deadline - time.monotonic()))
        for worker in workers:
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(2)
        for thread in self._threads:
            thread.join(2)
        for worker in workers:
            with contextlib.suppress(OSError):
                worker.commands.close()
                worker.messages.close()
            with contextlib.suppress(ValueError):
                worker.process.close()


def exit_reason(exitcode: int | None) -> str:
    """Words for how a worker process ended."""
    if exitcode is None:
        return "worker process stopped responding"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = "unknown"
        return f"worker process died (signal {-exitcode}, {name})"
    if exitcode == 0:
        return "worker process exited"
    return f"worker process exited with code {exitcode}"


def _rss_bytes(pid: int | None) -> int:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * PAGE_SIZE
    except (OSError, ValueError, IndexError):
        return 0
