"""Run lifecycle: ids and owner tokens, limits, worker assignment, controls, and outcomes.

The manager turns worker messages into hub publications and keeps each run's record. A run is
`queued` when created, `running` once its worker has built its trainer, `paused` on request,
and ends `finished`, `stopped`, `failed` (with a reason, e.g. its worker died) or `diverged`.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..config import Settings
from .hub import Hub, RunChannel
from .messages import ACTIVE, TERMINAL
from .pool import WorkerHandle, WorkerPool
from .store import RunStore

ACTIONS = ("pause", "resume", "step", "stop", "set_lr")
ACK_TIMEOUT_S = 5.0
STOP_WAIT_S = 1.0  # a stop the worker has not acknowledged by then takes effect here


class LimitReached(Exception):
    """Too many runs, in all or for one client (HTTP 429)."""


class ControlRefused(Exception):
    """A control that does not apply to the run's state (HTTP 409)."""


@dataclass(eq=False)
class Run:
    """One run as the server keeps it."""

    id: str
    token: str
    client: str
    experiment: dict
    check: dict
    channel: RunChannel
    created: float = field(default_factory=time.time)
    ended: float | None = None
    worker: WorkerHandle | None = None
    accepted: bool = False  # its worker took the start command (else it may be placed again)
    paused_start: bool = False

    @property
    def status(self) -> str:
        return self.channel.status

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    def summary(self) -> dict:
        training = self.experiment.get("training", {})
        c = self.channel
        return {
            "id": self.id,
            "status": c.status,
            "message": c.message,
            "epoch": c.epoch,
            "epochs": training.get("epochs"),
            "dataset": self.experiment.get("dataset", {}).get("name"),
            "total_params": self.check.get("total_params"),
            "created": self.created,
            "ended": self.ended,
            "last": c.history[-1] if c.history else None,
            "viewers": len(c.viewers),
        }

    def detail(self) -> dict:
        return {
            **self.summary(),
            "experiment": self.experiment,
            "check": self.check,
            "history": self.channel.history,
        }


class RunManager:
    """Creates runs, assigns them to the least-loaded worker, and follows them to the end."""

    def __init__(
        self,
        settings: Settings,
        pool_factory: Callable[..., WorkerPool] = WorkerPool,
    ):
        self.settings = settings
        self.hub = Hub(settings, on_watch=self._watch)
        self.pool = pool_factory(settings, self._on_message, self._on_exit)
        self.pool.on_ready = self._on_ready
        self.store = RunStore(settings.state_dir) if settings.persist_runs else None
        self.runs: dict[str, Run] = {}
        self.pending: deque[Run] = deque()  # created while no worker was usable: placed later
        self._acks: dict[int, asyncio.Future] = {}
        self._seq = itertools.count(1)

    async def start(self) -> None:
        await self.hub.start()
        if self.store is not None:
            for doc in self.store.load(self.settings.max_history_runs):
                self._restore(doc)
        await self.pool.start()

    async def stop(self) -> None:
        for run in list(self.runs.values()):
            if run.active:
                self._end(run, "stopped", "the server shut down")
        await self.hub.stop()
        await self.pool.stop()

    # -- queries -------------------------------------------------------------------------
    def get(self, run_id: str) -> Run | None:
        return self.runs.get(run_id)

    def list(self) -> list[Run]:
        return list(self.runs.values())

    def active_count(self, client: str | None = None) -> int:
        return sum(1 for r in self.runs.values() if r.active and client in (None, r.client))

    # -- lifecycle -----------------------------------------------------------------------
    def create(self, experiment: dict, check: dict, client: str, paused: bool = False) -> Run:
        """Register a checked experiment and send it to a worker (raises LimitReached).

        A run created `paused` waits for `step` or `resume` before its first epoch."""
        s = self.settings
        if self.active_count() >= s.max_runs:
            raise LimitReached(
                f"the server already has {s.max_runs} active runs, its limit "
                "(LAYERLAB_MAX_RUNS); wait for one to finish or stop one"
            )
        if self.active_count(client) >= s.max_runs_per_client:
            raise LimitReached(
                f"you already have {s.max_runs_per_client} active runs, the limit per client "
                "(LAYERLAB_MAX_RUNS_PER_CLIENT); stop one first"
            )
        run_id = self._new_id()
        info = {"id": run_id, "experiment": experiment, "check": check}
        channel = self.hub.open(run_id, info)
        if paused:
            channel.status = "paused"
        run = Run(run_id, secrets.token_urlsafe(24), client, experiment, check, channel)
        run.paused_start = paused
        self.runs[run_id] = run
        self._evict()
        self._place(run)
        return run

    def _place(self, run: Run) -> None:
        """Send a run to the least-loaded usable worker, or keep it queued until one is ready
        (every worker dead, hung or still starting)."""
        while run.active:
            worker = self.pool.least_loaded()
            if worker is None:
                run.worker = None
                if run not in self.pending:
                    self.pending.append(run)
                return
            run.worker, run.accepted = worker, False
            worker.runs.add(run.id)
            paused = run.paused_start or run.status == "paused"
            if self.pool.send(worker, ("start", run.id, run.experiment, paused)):
                if run.channel.viewers:  # placed again, or late: its viewers want snapshots
                    self.pool.send(worker, ("control", None, run.id, "watch", True))
                return
            worker.runs.discard(run.id)  # gone meanwhile: try the next one

    def _on_ready(self, worker: WorkerHandle) -> None:
        """A worker (new or replacing one) is ready: place the runs that were waiting."""
        waiting = list(self.pending)
        self.pending.clear()
        for run in waiting:
            self._place(run)

    def owns(self, run: Run, token: str | None) -> bool:
        return token is not None and secrets.compare_digest(run.token, token)

    async def control(self, run: Run, action: str, learning_rate: float | None = None) -> None:
        """Apply a control and wait for its worker to acknowledge it."""
        if action not in ACTIONS:
            raise ControlRefused(f"unknown action {action!r}; use one of {', '.join(ACTIONS)}")
        if not run.active:
            raise ControlRefused(f"run {run.id} has ended ({run.status}); it takes no controls")
        if action == "set_lr" and learning_rate is None:
            raise ControlRefused("set_lr needs a learning_rate")
        worker = run.worker
        if worker is None and action == "stop":  # queued, waiting for a worker
            self._end(run, "stopped", None)
            return
        seq = next(self._seq)
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._acks[seq] = future
        try:
            if worker is None or not self.pool.send(
                worker, ("control", seq, run.id, action, learning_rate)
            ):
                raise ControlRefused(f"run {run.id} has no live worker")
            wait = STOP_WAIT_S if action == "stop" else ACK_TIMEOUT_S
            error = await asyncio.wait_for(future, wait)
        except (TimeoutError, asyncio.TimeoutError):
            error = None  # the worker is busy; the command stays queued and applies in order
            if action == "stop":
                self._stop_now(run, worker)
        finally:
            self._acks.pop(seq, None)
        if error and run.active:
            raise ControlRefused(error)

    def _stop_now(self, run: Run, worker: WorkerHandle) -> None:
        """A stop its worker has not taken within STOP_WAIT_S (a long step, a hung process):
        the run ends here; a worker with no other active run is killed and replaced, since
        whatever holds it is this run's."""
        others = [r for r in worker.runs if r != run.id and (o := self.runs.get(r)) and o.active]
        self._end(run, "stopped", None)
        if not others:
            self.pool.kill(worker, f"run {run.id} was stopped while its worker was busy")

    # -- worker events -------------------------------------------------------------------
    def _on_message(self, worker: WorkerHandle, message: tuple) -> None:
        kind = message[0]
        if kind == "epoch":
            self.hub.publish_epoch(message[1], message[2])
        elif kind == "snapshot":
            self.hub.publish_snapshot(*message[1:])
        elif kind == "status":
            _, run_id, status, text, epoch = message
            run = self.runs.get(run_id)
            if run is not None:
                if status in TERMINAL:
                    self._end(run, status, text, epoch)
                else:
                    self.hub.publish_status(run_id, status, text, epoch)
        elif kind == "accepted":
            run = self.runs.get(message[1])
            if run is not None and run.worker is worker:
                run.accepted = True
        elif kind == "ack":
            _, seq, _run_id, error = message
            future = self._acks.get(seq)
            if future is not None and not future.done():
                future.set_result(error)

    def _on_exit(self, worker: WorkerHandle, reason: str) -> None:
        """Fail the runs a dead worker had taken (the one it was killed for, in its own
        words); place again those it never took, which lost nothing."""
        culprit = getattr(worker, "culprit", None)
        for run_id in list(worker.runs):
            run = self.runs.get(run_id)
            if run is None or not run.active:
                continue
            worker.runs.discard(run_id)
            if run_id == culprit:
                self._end(run, "failed", self._overrun_message())
            elif run.accepted:
                self._end(run, "failed", reason)
            else:
                self._place(run)
        for future in self._acks.values():
            if not future.done():
                future.set_result(None)

    def _watch(self, run_id: str, watched: bool) -> None:
        run = self.runs.get(run_id)
        if run is not None and run.active and run.worker is not None:
            self.pool.send(run.worker, ("control", None, run_id, "watch", watched))

    def _overrun_message(self) -> str:
        s = self.settings
        return (
            f"one training step of this design took over {s.max_step_s:g} s "
            "(LAYERLAB_MAX_STEP_S), so it was stopped to keep the server free for others: "
            "use a smaller batch size, fewer filters or units, or a smaller input"
        )

    # -- internals -----------------------------------------------------------------------
    def _end(self, run: Run, status: str, message: str | None, epoch: int | None = None) -> None:
        if not run.active:
            return
        self.hub.publish_status(run.id, status, message, epoch)
        run.ended = time.time()
        if run in self.pending:
            self.pending.remove(run)
        if run.worker is not None:
            run.worker.runs.discard(run.id)
        if self.store is not None:
            self.store.save(run.id, self._document(run))

    def _document(self, run: Run) -> dict[str, Any]:
        return {**run.detail(), "client": run.client}

    def _restore(self, doc: dict) -> None:
        run_id = doc["id"]
        info = {"id": run_id, "experiment": doc["experiment"], "check": doc["check"]}
        channel = self.hub.open(run_id, info)
        for record in doc.get("history", []):
            self.hub.publish_epoch(run_id, record)
        channel.status, channel.message = doc["status"], doc.get("message")
        channel.epoch = doc.get("epoch", channel.epoch)
        run = Run(
            run_id,
            secrets.token_urlsafe(
                24
            ),  # owner tokens are not kept: a restored run takes no controls
            doc.get("client", ""),
            doc["experiment"],
            doc["check"],
            channel,
            created=doc.get("created", time.time()),
            ended=doc.get("ended"),
        )
        self.runs[run_id] = run

    def _evict(self) -> None:
        """Forget the oldest ended runs beyond `max_history_runs`, on disk too (a restart loads
        only that many back, so older files would only grow the state folder)."""
        ended = [r for r in self.runs.values() if not r.active]
        for run in ended[: max(0, len(ended) - self.settings.max_history_runs)]:
            del self.runs[run.id]
            self.hub.remove(run.id)
            if self.store is not None:
                self.store.forget(run.id)

    def _new_id(self) -> str:
        while True:
            run_id = secrets.token_hex(4)
            if run_id not in self.runs:
                return run_id
