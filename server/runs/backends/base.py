"""Where workers live: one lifecycle for every backend, the transport the only difference.

`WorkerSet` keeps `settings.workers` workers alive and drives them the same way whether they
are spawned processes (`local.py`) or Ray actors (`ray.py`):
- per worker, a reader thread receives its messages (the transport's `_receive`) and hands
  them to the event loop in the order the worker sent them, decoded (`runs/protocol.py`);
  "ready" is handled here and reported as `on_ready(worker)`, the rest as
  `on_message(worker, message)`;
- per worker, a sender thread writes its commands (`_write`), taken from a bounded queue in
  order. The event loop only puts a command in that queue (`send`, never blocks): a pipe write
  blocks once its 64 KiB buffer is full, so a large command to a stopped or busy worker,
  written from the loop, froze the whole server, watchdog included (measured before this
  change: `/api/health` unanswered for 61 s beside a SIGSTOPped worker; after it, the slowest
  answer during that test was 0.03 to 0.13 s on a loaded 2-core machine). A full queue
  (`COMMAND_QUEUE` commands the worker has not taken) refuses the command: `send` says False;
- a watchdog kills a worker silent for `heartbeat_timeout_s` ("hung"), one whose single step
  has run past `max_step_s` (naming the run to blame in `worker.culprit`), one resident over
  `worker_memory_mb`; and tells `on_ready` when a worker is heard from again after a silence
  (the runs queued meanwhile go there);
- `on_exit(worker, reason)` is called once per worker that dies or is killed, then it is
  replaced (with a backoff while new workers die before they are ready).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ...config import Settings
from .. import files
from ..protocol import Command, File, Message, Ready, Shutdown
from ..worker import DEFAULT_TRAINER

log = logging.getLogger("layerlab.workers")

WATCH_S = 0.25  # how often the watchdog looks at heartbeats, steps and memory
MEMORY_CHECK_S = 1.0
# Commands a worker may owe before more are refused. A run's start, its controls and asks:
# a class of 60 placing its runs at once puts ~30 starts on each of two workers, which a live
# worker takes in milliseconds. Each holds at most one request body (LAYERLAB_MAX_MESSAGE_BYTES).
COMMAND_QUEUE = 128
_CLOSE = object()  # ends a sender thread


@dataclass(eq=False)
class WorkerBase:
    """The server's view of one worker; the transport adds how to reach it."""

    id: int
    started: float = field(default_factory=time.monotonic)
    ready: bool = False
    alive: bool = True
    runs: set[str] = field(default_factory=set)  # the runs the manager placed there
    kill_reason: str | None = None
    culprit: str | None = None  # the run whose overlong step got the worker killed
    was_usable: bool = False  # as of the watchdog's last look
    commands: queue.Queue = field(default_factory=lambda: queue.Queue(COMMAND_QUEUE))

    FRESH_S: ClassVar[float] = 1.5  # silent longer than this: no new runs go there

    @property
    def silent_s(self) -> float:
        """Since the worker last proved alive."""
        raise NotImplementedError

    def current(self) -> tuple[str | None, float]:
        """The run its main loop is in, and for how long."""
        raise NotImplementedError

    def rss(self) -> int:
        """Its resident memory in bytes (0 when unknown)."""
        raise NotImplementedError

    @property
    def pid(self) -> int | None:
        raise NotImplementedError

    @property
    def load(self) -> int:
        return len(self.runs)

    @property
    def owed(self) -> int:
        """Commands queued for it and not yet written."""
        return self.commands.qsize()

    @property
    def responsive(self) -> bool:
        return self.alive and self.silent_s < self.FRESH_S

    @property
    def usable(self) -> bool:
        """Ready, alive, heard from recently, and not being killed: new runs may go here."""
        return self.ready and self.kill_reason is None and self.responsive

    def describe(self) -> dict:
        """One `GET /api/workers` entry (`server/api/models.py: WorkerInfo`)."""
        busy = self.current()
        rss = self.rss()
        return {
            "id": self.id,
            "pid": self.pid,
            "ready": self.ready,
            "alive": self.alive,
            "runs": sorted(self.runs),
            "rss_mb": round(rss / 2**20, 1) if rss else None,
            "responsive": self.responsive,
            "silent_s": round(self.silent_s, 2),
            "busy_run": busy[0],
            "busy_s": round(busy[1], 2),
        }


MessageHandler = Callable[[Any, Message], None]
ExitHandler = Callable[[Any, str], None]
ReadyHandler = Callable[[Any], None]


class WorkerSet(ABC):
    """Keeps `settings.workers` workers alive, watches them and routes their messages."""

    name: ClassVar[str]
    noun: ClassVar[str] = "worker process"  # how messages name one worker

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
        self.factory = factory
        self.replaced = 0  # workers that died or were killed and replaced since start
        self.last_exit: str | None = None  # why the last one went
        self.workers: dict[int, Any] = {}
        self._next_id = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing = False
        self._watchdog: asyncio.Task | None = None
        self._threads: list[threading.Thread] = []
        self._failures = 0  # workers in a row that died before they were ready
        self._starting: set[asyncio.Task] = set()  # workers being started (`_add`)

    # -- the transport -----------------------------------------------------------------
    async def _open(self) -> None:  # noqa: B027 - optional: join a cluster, say
        """Prepare the transport before the first worker (runs on the event loop)."""

    @abstractmethod
    def _spawn(self, wid: int) -> WorkerBase:
        """Start one worker (it warms up, then says "ready")."""

    @abstractmethod
    def _receive(self, worker: Any) -> None:
        """Reader thread: `self._deliver(worker, messages)` until the worker is gone; return
        then (set `worker.kill_reason` for a garbled worker)."""

    @abstractmethod
    def _write(self, worker: Any, seq: int, message: tuple) -> None:
        """Sender thread: deliver command number `seq` (1, 2, 3...); may block; raises when
        the worker is gone."""

    @abstractmethod
    def _terminate(self, worker: Any) -> None:
        """Kill the worker now (also a stopped one); its reader then reports the exit."""

    @abstractmethod
    def _exit_words(self, worker: Any) -> str:
        """How a worker that was not killed by the watchdog ended, in words."""

    @abstractmethod
    def _finish(self, workers: list[Any], timeout: float) -> None:
        """At stop (blocking, in a thread): wait for the workers to end, kill the rest."""

    def _closed(self, worker: Any) -> None:  # noqa: B027 - optional: release pipes
        """A worker's exit was handled: release what the transport held for it."""

    def _release(self, worker: Any) -> None:
        """At stop, once every thread has ended: release the rest."""
        self._closed(worker)

    # -- the manager's side --------------------------------------------------------------
    async def start(self) -> None:
        """Start the workers; they warm up (import torch and the engine) before a run."""
        self._loop = asyncio.get_running_loop()
        await self._open()
        await asyncio.gather(*(self._add() for _ in range(self.settings.workers)))
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

    def least_loaded(self) -> Any:
        """The usable worker (ready, alive, heard from) with the fewest runs; None when there
        is none right now (the caller queues the run until `on_ready`)."""
        usable = [w for w in self.workers.values() if w.usable]
        if not usable:
            return None
        return min(usable, key=lambda w: (w.load, w.id))

    def send(self, worker: Any, command: Command) -> bool:
        """Queue one command for the worker (never blocks). False when the worker is gone
        (its exit is reported apart) or owes `COMMAND_QUEUE` commands already."""
        if not worker.alive:
            return False
        try:
            worker.commands.put_nowait(command)
        except queue.Full:
            return False
        return True

    def kill(self, worker: Any, reason: str, culprit: str | None = None) -> None:
        """Kill a worker now; its exit is reported with `reason`, and it is replaced."""
        if worker.kill_reason is None:
            worker.kill_reason, worker.culprit = reason, culprit
        self._terminate(worker)

    def describe(self) -> list[dict]:
        return [{**w.describe(), "backend": self.name} for w in self.workers.values()]

    async def stop(self, timeout: float = 5.0) -> None:
        """Ask every worker to finish (its active runs checkpoint), then make sure they are
        gone."""
        self._closing = True
        # A worker still starting is ended as soon as its start returns (`_add`).
        await asyncio.gather(*list(self._starting), return_exceptions=True)
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
        workers = list(self.workers.values())
        for worker in workers:
            self.send(worker, Shutdown())
        await asyncio.to_thread(self._stop_all, workers, timeout)
        self.workers.clear()

    # -- threads ---------------------------------------------------------------------------
    def _add(self) -> asyncio.Task:
        """Start one worker, in a thread: a process start waits on the forkserver, whose first
        start imports torch and warms the engine (9.5 s measured on a loaded machine, with
        every request and socket of the server waiting on the loop meanwhile)."""
        wid = self._next_id
        self._next_id += 1
        task = asyncio.ensure_future(self._start_worker(wid))
        self._starting.add(task)  # counted from now: a second `_replace` does not start two
        task.add_done_callback(self._starting.discard)
        return task

    async def _start_worker(self, wid: int) -> None:
        worker = await asyncio.to_thread(self._spawn, wid)
        if self._closing:  # stopped meanwhile: this one never joins
            self._terminate(worker)
            self._release(worker)
            return
        self.workers[wid] = worker
        threads = [
            threading.Thread(target=self._reader, args=(worker,), name=f"layerlab-read-{wid}"),
            threading.Thread(target=self._sender, args=(worker,), name=f"layerlab-send-{wid}"),
        ]
        for thread in threads:
            thread.daemon = True
            thread.start()
        self._threads = [t for t in self._threads if t.is_alive()] + threads

    def _reader(self, worker: Any) -> None:
        try:
            self._receive(worker)
        except Exception:  # noqa: BLE001 - the transport failed: this worker is lost
            log.exception("reading from worker %s failed", worker.id)
            worker.kill_reason = worker.kill_reason or f"{self.noun} could not be read"
            with contextlib.suppress(Exception):
                self._terminate(worker)
        worker.alive = False
        _close_queue(worker)
        self._call(self._exited, worker)

    def _sender(self, worker: Any) -> None:
        seq = 0
        while True:
            command = worker.commands.get()
            if command is _CLOSE:
                return
            seq += 1
            try:
                self._write(worker, seq, command.wire())
            except Exception as err:  # noqa: BLE001 - gone; its reader reports the exit
                gone = not worker.alive or isinstance(err, OSError | EOFError)
                worker.alive = False
                if not gone:  # not a closed pipe: make sure the worker goes with its runs
                    log.error("a command to worker %s failed: %r", worker.id, err)
                    self.kill(worker, f"a command could not be sent to the {self.noun}")
                return

    def _deliver(self, worker: Any, messages: list[Message]) -> None:
        """From the reader thread: hand a batch of messages to the loop, in order. The files
        a worker with its own folder sent (a Ray actor: runs/files.py) are written here
        first, so they are on disk before any later message of theirs is handled (an export
        before its run's final status) and without blocking the loop."""
        if any(isinstance(m, File) for m in messages):
            for message in messages:
                if isinstance(message, File):
                    files.receive(self.settings, message)
            messages = [m for m in messages if not isinstance(m, File)]
        if messages:
            self._call(self._dispatch, worker, messages)

    def _call(self, fn: Callable, *args: object) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(fn, *args)

    # -- on the event loop ---------------------------------------------------------------
    def _dispatch(self, worker: Any, messages: list[Message]) -> None:
        for message in messages:
            if isinstance(message, Ready):
                worker.ready = True
                self._heard(worker)
                self._failures = 0
                if self.on_ready is not None:
                    self.on_ready(worker)
            else:
                self.on_message(worker, message)

    def _heard(self, worker: Any) -> None:  # noqa: B027 - the transport may note the time
        """A worker said "ready"."""

    def _exited(self, worker: Any) -> None:
        worker.alive = False
        self._closed(worker)
        if self.workers.get(worker.id) is worker:
            del self.workers[worker.id]
        if self._closing:
            return
        reason = worker.kill_reason or self._exit_words(worker)
        self.replaced += 1
        self.last_exit = reason
        self.on_exit(worker, reason)
        if not worker.ready:  # died while starting: back off instead of spinning
            self._failures += 1
            delay = min(30.0, 0.5 * 2 ** min(self._failures, 6))
            assert self._loop is not None
            self._loop.call_later(delay, self._replace)
        else:
            self._replace()

    def _replace(self) -> None:
        if not self._closing and len(self.workers) + len(self._starting) < self.settings.workers:
            self._add().add_done_callback(self._replaced)

    def _replaced(self, task: asyncio.Task) -> None:
        error = None if task.cancelled() else task.exception()
        if error is not None:  # the transport refused: try again, backing off
            log.error("could not start a %s: %r", self.noun, error)
            self._failures += 1
            assert self._loop is not None
            self._loop.call_later(min(30.0, 0.5 * 2 ** min(self._failures, 6)), self._replace)

    async def _watch(self) -> None:
        """Kill a worker that is hung (no heartbeat for `heartbeat_timeout_s`), one whose
        single step has run past `max_step_s`, and one whose resident memory passes
        `worker_memory_mb` (e.g. on CUDA, where the address-space limit does not apply)."""
        last_memory_check = 0.0
        while True:
            await asyncio.sleep(WATCH_S)
            check_memory = time.monotonic() - last_memory_check >= MEMORY_CHECK_S
            if check_memory:
                last_memory_check = time.monotonic()
            for worker in list(self.workers.values()):
                if worker.alive and worker.kill_reason is None:
                    self._look_at(worker, check_memory)

    def _look_at(self, worker: Any, check_memory: bool) -> None:
        s = self.settings
        # Heard from again after a silence (a loaded machine): the runs queued while no
        # worker was usable go there now, not only when a new worker starts.
        usable = worker.usable
        if usable and not worker.was_usable and self.on_ready is not None:
            self.on_ready(worker)
        worker.was_usable = usable
        if worker.ready and worker.silent_s > s.heartbeat_timeout_s:
            self.kill(
                worker,
                f"{self.noun} stopped responding (no heartbeat for {worker.silent_s:.0f} s, "
                "LAYERLAB_HEARTBEAT_TIMEOUT_S); it was replaced: start the run again",
            )
        elif (busy := worker.current())[0] is not None and busy[1] > s.max_step_s:
            self.kill(
                worker,
                f"a run on this worker held it for over {s.max_step_s:g} s in one training "
                "step (LAYERLAB_MAX_STEP_S); the worker was replaced: start this run again",
                culprit=busy[0],
            )
        elif check_memory and (rss := worker.rss()) > s.worker_memory_mb * 2**20:
            self.kill(
                worker,
                f"{self.noun} used {rss / 2**20:.0f} MB, over the limit of "
                f"{s.worker_memory_mb} MB (LAYERLAB_WORKER_MEMORY_MB)",
            )

    def _stop_all(self, workers: list[Any], timeout: float) -> None:
        self._finish(workers, timeout)
        for worker in workers:
            worker.alive = False
            _close_queue(worker)
        for thread in self._threads:
            thread.join(2)
        for worker in workers:
            self._release(worker)


def _close_queue(worker: Any) -> None:
    """End the worker's sender thread: drop what it still owes (nobody will take it), so the
    thread's next command is the end (`worker.alive` is False already: nothing new comes)."""
    while True:
        with contextlib.suppress(queue.Empty):
            while True:
                worker.commands.get_nowait()
        with contextlib.suppress(queue.Full):
            worker.commands.put_nowait(_CLOSE)
            return
