"""The local backend: worker processes on this machine, forked from a forkserver that loaded
the engine once (zygote.py), never from the running server (whose threads and sockets a fork
would copy). `layerlab serve` forks that forkserver from the server before it starts a thread
(prefork.py), so that all three share the engine's pages.

Each worker has two one-way pipes, commands in and messages out, so a worker killed in the
middle of a write cannot wedge the others; when its message pipe reaches end-of-file the worker
is gone. It stamps a heartbeat in shared memory every half second from a thread of its own, and
says there which run its main loop is busy with and since when (`runs/beat.py`): the watchdog
(`base.WorkerSet`) reads that stamp, and the process's resident memory from /proc.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import socket
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import ClassVar

from ..beat import Beat
from ..protocol import decode
from ..worker_process import worker_main
from .base import WorkerBase, WorkerSet

NODE = socket.gethostname()
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


@dataclass(eq=False, kw_only=True)
class LocalWorker(WorkerBase):
    """One worker process and its two pipes."""

    process: BaseProcess
    pipe_in: Connection  # commands, written by the sender thread
    pipe_out: Connection  # messages, read by the reader thread
    beat: Beat | None = None  # stamped by the worker in shared memory: alive, busy with what
    heartbeat: float = field(default_factory=time.monotonic)  # when it said "ready"

    FRESH_S: ClassVar[float] = 1.5  # three missed heartbeats

    @property
    def silent_s(self) -> float:
        stamp = self.beat.stamp if self.beat is not None else 0.0
        return time.monotonic() - max(self.heartbeat, stamp)

    def current(self) -> tuple[str | None, float]:
        return self.beat.current() if self.beat is not None else (None, 0.0)

    def rss(self) -> int:
        return _rss_bytes(self.pid) if self.pid else 0

    @property
    def pid(self) -> int | None:
        return self.process.pid


class LocalBackend(WorkerSet):
    """Keeps `settings.workers` worker processes alive on this machine."""

    name = "local"
    noun = "worker process"

    def _spawn(self, wid: int) -> LocalWorker:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["server.runs.zygote"])
        cmd_read, cmd_write = ctx.Pipe(duplex=False)
        msg_read, msg_write = ctx.Pipe(duplex=False)
        beat = Beat(ctx)
        process = ctx.Process(
            target=worker_main,
            args=(
                self.settings.model_dump(mode="json"),
                cmd_read,
                msg_write,
                self.factory,
                beat,
                os.getpid(),  # the worker ends with this server, even a kill -9 of it
            ),
            name=f"layerlab-worker-{wid}",
            daemon=True,
        )
        process.start()
        cmd_read.close()  # the child holds its own copies: end-of-file now means it is gone
        msg_write.close()
        return LocalWorker(wid, process=process, pipe_in=cmd_write, pipe_out=msg_read, beat=beat)

    def _receive(self, worker: LocalWorker) -> None:
        try:
            while True:
                self._deliver(worker, [decode(worker.pipe_out.recv())])
        except (EOFError, OSError):
            worker.alive = False  # at once: nothing is placed here while the process is reaped
        except Exception:  # noqa: BLE001 - a garbled message is a dead worker
            worker.kill_reason = worker.kill_reason or "worker process sent a garbled message"
            self._terminate(worker)
        worker.process.join(10)

    def _write(self, worker: LocalWorker, seq: int, message: tuple) -> None:
        worker.pipe_in.send(message)

    def _terminate(self, worker: LocalWorker) -> None:
        if worker.pid:
            with contextlib.suppress(OSError):
                os.kill(worker.pid, signal.SIGKILL)  # also ends a stopped process

    def _heard(self, worker: LocalWorker) -> None:
        worker.heartbeat = time.monotonic()

    def _exit_words(self, worker: LocalWorker) -> str:
        return exit_reason(worker.process.exitcode)

    def _closed(self, worker: LocalWorker) -> None:
        with contextlib.suppress(OSError):
            worker.pipe_in.close()
            worker.pipe_out.close()

    def describe(self) -> list[dict]:
        return [{**w, "node": NODE} for w in super().describe()]

    def _finish(self, workers: list[LocalWorker], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for worker in workers:
            worker.process.join(max(0.0, deadline - time.monotonic()))
        for worker in workers:
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(2)

    def _release(self, worker: LocalWorker) -> None:
        self._closed(worker)
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


WorkerPool = LocalBackend  # the name tests and benchmarks knew it by
