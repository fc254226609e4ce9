"""Worker processes: spawned (never forked), watched, and replaced when they die.

Each worker has two one-way pipes: commands in, messages out. A reader thread per worker
receives its messages and hands them to the event loop with `call_soon_threadsafe`; when the
pipe reaches end-of-file the worker is gone, and the pool reports why and spawns another.
Pipes are per worker, so a worker killed in the middle of a write cannot wedge the others.

Each worker stamps a heartbeat in shared memory every half second from a thread of its own, and
says there which run its main loop is busy with and since when (`beat.py`). The watchdog kills a worker that has been silent for
`heartbeat_timeout_s` (stopped, wedged: "hung") and one whose single step (or model build) has
run past `max_step_s` (a design heavier than its check said); the pool names the run to blame,
so the manager can tell that run and the others on the worker what happened.
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
from .beat import Beat
from .worker import DEFAULT_TRAINER, worker_main

MEMORY_CHECK_S = 1.0
WATCH_S = 0.25  # how often the watchdog looks at heartbeats and memory
HEARTBEAT_FRESH_S = 1.5  # three missed heartbeats: no new runs go there meanwhile
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
    culprit: str | None = None  # the run whose overlong step got the worker killed
    was_usable: bool = False  # as of the watchdog's last look: runs queued meanwhile wait
    heartbeat: float = field(default_factory=time.monotonic)  # when it said "ready"
    beat: Beat | None = None  # stamped by the worker in shared memory: alive, busy with what

    @property
    def silent_s(self) -> float:
        """Since the worker last proved alive (its stamp, or its "ready")."""
        stamp = self.beat.stamp if self.beat is not None else 0.0
        return time.monotonic() - max(self.heartbeat, stamp)

    def current(self) -> tuple[str | None, float]:
        """The run its main loop is in, and for how long."""
        return self.beat.current() if self.beat is not None else (None, 0.0)

    @property
    def usable(self) -> bool:
        """Ready, alive, heard from recently, and not being killed: new runs may go here."""
        return (
            self.ready
            and self.alive
            and self.kill_reason is None
            and self.silent_s < HEARTBEAT_FRESH_S
        )

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
            "responsive": self.alive and self.silent_s < HEARTBEAT_FRESH_S,
            "silent_s": round(self.silent_s, 2),
            "busy_run": (busy := self.current())[0],
            "busy_s": round(busy[1], 2),
        }


MessageHandler = Callable[[WorkerHandle, tuple], None]
ExitHandler = Callable[[WorkerHandle, str], None]
ReadyHandler = Callable[[WorkerHandle], None]


class WorkerPool:
    """Keeps `settings.workers` worker processes alive and routes their messages."""

    def __init__(
        self,
        settings: Settings,
        on_message: MessageHandler,
        on_exit: ExitHandler,
        factory: str = DEFAULT_TRAINER,
        on_ready: ReadyHandler | None = None,
    ):
        self.settings = settings
        self.on_message = on_message
        self.on_exit = on_exit
        self.on_ready = on_ready
        self.replaced = 0  # workers that died or were killed and replaced since start
        self.last_exit: str | None = None  # why the last one went
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
        self._watchdog = asyncio.create_task(self._watch())

    async def wait_ready(self, timeout: float = 60.0) -> bool:
        """Wait until every worker has warmed up (for tests and benchmarks)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            workers = list(self.workers.values())
            if len(workers) >= self.settings.workers and all(w.ready for w in workers):
                return True
            await asyncio.sleep(0.02)
        return False

    def least_loaded(self) -> WorkerHandle | None:
        """The usable worker (ready, alive, heard from) with the fewest runs; None when there
        is none right now (the caller queues the run until `on_ready`)."""
        usable = [w for w in self.workers.values() if w.usable]
        if not usable:
            return None
        return min(usable, key=lambda w: (w.load, w.id))

    def kill(self, worker: WorkerHandle, reason: str, culprit: str | None = None) -> None:
        """Kill a worker now (SIGKILL, which also ends a stopped process); its exit is reported
        with `reason` as usual, and it is replaced."""
        if worker.kill_reason is None:
            worker.kill_reason, worker.culprit = reason, culprit
        if worker.pid:
            with contextlib.suppress(OSError):
                os.kill(worker.pid, signal.SIGKILL)

    def send(self, worker: WorkerHandle, command: tuple) -> bool:
        """Send one command; False when the worker is gone (its exit is reported separately)."""
        if not worker.alive:
            return False
        try:
            worker.commands.send(command)
        except (BrokenPipeError, ConnectionError, OSError):
            worker.alive = False  # its reader reports the exit; nothing more goes there
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
        beat = Beat(self._ctx)
        process = self._ctx.Process(
            target=worker_main,
            args=(self.settings.model_dump(mode="json"), cmd_read, msg_write, self.factory, beat),
            name=f"layerlab-worker-{wid}",
            daemon=True,
        )
        process.start()
        cmd_read.close()  # the child holds its own copies: end-of-file now means it is gone
        msg_write.close()
        worker = WorkerHandle(wid, process, cmd_write, msg_read, beat=beat)
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
            worker.alive = False  # at once: nothing is placed here while the process is reaped
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
            worker.heartbeat = time.monotonic()
            self._failures = 0
            if self.on_ready is not None:
                self.on_ready(worker)
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
        self.replaced += 1
        self.last_exit = reason
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

    async def _watch(self) -> None:
        """Kill a worker that is hung (no heartbeat for `heartbeat_timeout_s`), one whose
        single step has run past `max_step_s`, and one whose resident memory passes
        `worker_memory_mb` (e.g. on CUDA, where the address-space limit does not apply)."""
        s = self.settings
        limit = s.worker_memory_mb * 2**20
        last_memory_check = 0.0
        while True:
            await asyncio.sleep(WATCH_S)
            check_memory = time.monotonic() - last_memory_check >= MEMORY_CHECK_S
            if check_memory:
                last_memory_check = time.monotonic()
            for worker in list(self.workers.values()):
                if not worker.alive or worker.kill_reason is not None:
                    continue
                # Heard from again after a silence (a loaded machine): the runs queued while
                # no worker was usable go there now, not only when a new worker starts.
                usable = worker.usable
                if usable and not worker.was_usable and self.on_ready is not None:
                    self.on_ready(worker)
                worker.was_usable = usable
                if worker.ready and worker.silent_s > s.heartbeat_timeout_s:
                    self.kill(
                        worker,
                        f"worker process stopped responding (no heartbeat for "
                        f"{worker.silent_s:.0f} s, LAYERLAB_HEARTBEAT_TIMEOUT_S); it was "
                        "replaced: start the run again",
                    )
                elif (busy := worker.current())[0] is not None and busy[1] > s.max_step_s:
                    self.kill(
                        worker,
                        f"a run on this worker held it for over {s.max_step_s:g} s in one "
                        "training step (LAYERLAB_MAX_STEP_S); the worker was replaced: "
                        "start this run again",
                        culprit=busy[0],
                    )
                elif check_memory:
                    rss = _rss_bytes(worker.pid) if worker.pid else 0
                    if rss > limit:
                        self.kill(
                            worker,
                            f"worker process used {rss / 2**20:.0f} MB, over the limit of "
                            f"{s.worker_memory_mb} MB (LAYERLAB_WORKER_MEMORY_MB)",
                        )

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
