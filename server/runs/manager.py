"""Run lifecycle: ids and owner tokens, limits, worker assignment, controls, and outcomes.

The manager turns worker messages into hub publications and keeps each run's record. A run is
`queued` when created, `running` once its worker has built its trainer, `paused` on request,
and ends `finished`, `stopped`, `failed` (with a reason, e.g. its worker died) or `diverged`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..config import Settings
from .hub import Hub, RunChannel
from .messages import ACTIVE, TERMINAL
from .pool import WorkerHandle, WorkerPool
from .presence import OwnerPresence
from .store import RunStore

ACTIONS = ("pause", "resume", "step", "stop", "set_lr", "step_batch")
ACK_TIMEOUT_S = 5.0
ASK_TIMEOUT_S = 30.0  # a prediction with attributions: Captum's passes on the worker


class LimitReached(Exception):
    """Too many runs, in all or for one client (HTTP 429)."""


class ControlRefused(Exception):
    """A control that does not apply to the run's state (HTTP 409)."""


class BadInput(Exception):
    """An input to predict that does not fit the run's data (HTTP 422 at body.input)."""


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
        self.store = RunStore(settings.state_dir) if settings.persist_runs else None
        self.runs: dict[str, Run] = {}
        self._acks: dict[int, asyncio.Future] = {}
        self._seq = itertools.count(1)
        # Owner heartbeats: a run whose owner's page is gone pauses, later stops (presence.py).
        self.presence = OwnerPresence(settings)
        self._presence_task: asyncio.Task | None = None

    async def start(self) -> None:
        await self.hub.start()
        self._presence_task = asyncio.create_task(self.presence.watch(self._status_of, self._idle))
        if self.store is not None:
            for doc in self.store.load(self.settings.max_history_runs):
                self._restore(doc)
        await self.pool.start()

    async def stop(self) -> None:
        for run in list(self.runs.values()):
            if run.active:
                self._end(run, "stopped", "the server shut down")
        if self._presence_task is not None:
            self._presence_task.cancel()
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
        self.runs[run_id] = run
        self._evict()
        worker = self.pool.least_loaded()
        run.worker = worker
        worker.runs.add(run_id)
        if not self.pool.send(worker, ("start", run_id, experiment, paused)):
            self._end(run, "failed", "could not reach a worker process; try again")
        return run

    def owns(self, run: Run, token: str | None) -> bool:
        return token is not None and secrets.compare_digest(run.token, token)

    async def control(
        self,
        run: Run,
        action: str,
        learning_rate: float | None = None,
        sample: int | None = None,
    ) -> None:
        """Apply a control and wait for its worker to acknowledge it."""
        if action not in ACTIONS:
            raise ControlRefused(f"unknown action {action!r}; use one of {', '.join(ACTIONS)}")
        if not run.active:
            raise ControlRefused(f"run {run.id} has ended ({run.status}); it takes no controls")
        if action == "set_lr" and learning_rate is None:
            raise ControlRefused("set_lr needs a learning_rate")
        value = sample if action == "step_batch" else learning_rate
        worker = run.worker
        seq = next(self._seq)
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._acks[seq] = future
        try:
            if worker is None or not self.pool.send(
                worker, ("control", seq, run.id, action, value)
            ):
                raise ControlRefused(f"run {run.id} has no live worker")
            error = await asyncio.wait_for(future, ACK_TIMEOUT_S)
        except (TimeoutError, asyncio.TimeoutError):
            error = None  # the worker is busy; the command stays queued and applies in order
        finally:
            self._acks.pop(seq, None)
        if error and run.active:
            raise ControlRefused(error)

    def heartbeat(self, run: Run) -> None:
        """The owner's page is still there (POST /api/runs/{id}/presence)."""
        if run.active:
            self.presence.beat(run.id)

    def _status_of(self, run_id: str) -> str | None:
        run = self.runs.get(run_id)
        return run.status if run is not None else None

    async def _idle(self, run_id: str, action: str, reason: str) -> None:
        run = self.runs.get(run_id)
        if run is not None and run.active:
            await self.control(run, action)

    async def ask(self, run: Run, raw: Any, explain: bool, target: int | None) -> dict:
        """The run's prediction for one raw input, from the worker that holds its weights
        (raises ControlRefused with the reason: an ended run, a bad input...)."""
        if not run.active:
            raise ControlRefused(
                f"run {run.id} has ended ({run.status}): predictions need a running or paused "
                "run; its exported model.py predicts the same"
            )
        seq = next(self._seq)
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._acks[seq] = future
        try:
            if run.worker is None or not self.pool.send(
                run.worker, ("ask", seq, run.id, raw, explain, target)
            ):
                raise ControlRefused(f"run {run.id} has no live worker")
            reply = await asyncio.wait_for(future, ASK_TIMEOUT_S)
        except (TimeoutError, asyncio.TimeoutError):
            raise ControlRefused(
                f"run {run.id}'s worker did not answer within {ASK_TIMEOUT_S:g} s; try again"
            ) from None
        finally:
            self._acks.pop(seq, None)
        if reply is None:
            raise ControlRefused(f"run {run.id} ended before it could answer")
        error, answer = reply
        if error:
            kind, why = error
            raise (BadInput if kind == "input" else ControlRefused)(why)
        return json.loads(answer)

    def trace(self, run: Run) -> str | None:
        """The latest step_batch trace of a run (JSON text), or None before any."""
        channel = self.hub.channels.get(run.id)
        return channel.trace if channel is not None else None

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
                text = text or self.presence.reason(run_id, status)
                if status in TERMINAL:
                    self._end(run, status, text, epoch)
                else:
                    self.hub.publish_status(run_id, status, text, epoch)
        elif kind == "trace":
            self.hub.publish_trace(message[1], message[2])
        elif kind == "ack":
            _, seq, _run_id, error = message
            future = self._acks.get(seq)
            if future is not None and not future.done():
                future.set_result(error)
        elif kind == "reply":
            _, seq, _run_id, error, answer = message
            future = self._acks.get(seq)
            if future is not None and not future.done():
                future.set_result((error, answer))

    def _on_exit(self, worker: WorkerHandle, reason: str) -> None:
        for run_id in list(worker.runs):
            run = self.runs.get(run_id)
            if run is not None and run.active:
                self._end(run, "failed", reason)
        for future in self._acks.values():
            if not future.done():
                future.set_result(None)

    def _watch(self, run_id: str, watched: bool) -> None:
        run = self.runs.get(run_id)
        if run is not None and run.active and run.worker is not None:
            self.pool.send(run.worker, ("control", None, run_id, "watch", watched))

    # -- internals -----------------------------------------------------------------------
    def _end(self, run: Run, status: str, message: str | None, epoch: int | None = None) -> None:
        if not run.active:
            return
        self.hub.publish_status(run.id, status, message, epoch)
        run.ended = time.time()
        self.presence.forget(run.id)
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
