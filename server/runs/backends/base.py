"""The interface the run manager drives: where workers live, how commands reach them.

Two implementations: `local.py` (spawned worker processes on this machine: the pool) and
`ray.py` (Ray actors anywhere in a cluster). Both run the same worker loop (`runs/worker.py`)
and speak its commands and messages; the manager never knows which one it drives.

A backend keeps `settings.workers` workers alive and:
- calls `on_message(worker, message)` on the event loop for every worker message, in the
  order that worker sent them ("ready" is handled inside and reported as `on_ready(worker)`);
- calls `on_exit(worker, reason)` once per worker that dies or is killed (reason in words;
  `worker.culprit` names the run it was killed for, if any), then replaces it;
- delivers the commands `send(worker, command)` accepted to that worker in order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable


@runtime_checkable
class WorkerHandle(Protocol):
    """The server's view of one worker (a process or an actor)."""

    id: int
    ready: bool
    alive: bool
    runs: set[str]  # the runs the manager placed there (the manager keeps this set)
    culprit: str | None

    @property
    def usable(self) -> bool:
        """Ready, alive, heard from recently, and not being killed: new runs may go here."""
        ...

    def describe(self) -> dict:
        """One `GET /api/workers` entry (`server/api/models.py: WorkerInfo`)."""
        ...


MessageHandler = Callable[[WorkerHandle, tuple], None]
ExitHandler = Callable[[WorkerHandle, str], None]
ReadyHandler = Callable[[WorkerHandle], None]


@runtime_checkable
class Backend(Protocol):
    """Keeps the workers alive and routes their messages (see the module docstring)."""

    name: str  # "local" or "ray": what GET /api/workers and /api/health report
    on_message: MessageHandler
    on_exit: ExitHandler
    on_ready: ReadyHandler | None
    replaced: int  # workers that died or were killed and replaced since start
    last_exit: str | None  # why the last one went

    async def start(self) -> None:
        """Start the workers (they warm up before their first run)."""
        ...

    async def wait_ready(self, timeout: float = 60.0) -> bool:
        """Wait until every worker has warmed up (tests and benchmarks)."""
        ...

    def least_loaded(self) -> WorkerHandle | None:
        """The usable worker with the fewest runs; None when none is usable right now."""
        ...

    def send(self, worker: WorkerHandle, command: tuple) -> bool:
        """Send one command; False when the worker is gone (its exit is reported apart)."""
        ...

    def kill(self, worker: WorkerHandle, reason: str, culprit: str | None = None) -> None:
        """Kill a worker now; its exit is reported with `reason`, and it is replaced."""
        ...

    def describe(self) -> list[dict]:
        """Every worker, as `GET /api/workers` lists them."""
        ...

    async def stop(self, timeout: float = 5.0) -> None:
        """Ask every worker to finish (active runs checkpoint), then make sure they are gone."""
        ...
