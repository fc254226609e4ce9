"""Run lifecycle: ids and owner tokens, limits, worker assignment, controls, and outcomes.

The manager turns worker messages into hub publications and into store writes (queued: the
store's writer thread commits them about every second). A run is `queued` when created,
`running` once its worker has built its trainer, `paused` on request, and ends `finished`,
`stopped`, `failed` (with a reason, e.g. its worker died), `diverged`, or `interrupted` (the
server stopped while it was active).

Memory holds the active runs and a few ended ones (`cache_runs`, until their last records are
committed); every other run is read from the database (`find`, `list_page`, `history`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..config import Settings
from ..store import queries
from ..store.rows import StoredRun
from ..store.store import Store, token_hash
from . import checkpoints
from .backends import Backend, WorkerHandle, make_backend
from .hub import Hub, RunChannel
from .messages import ACTIVE, TERMINAL, dumps
from .presence import OwnerPresence
from .stage import STAGE_ACTIONS, control_argument, edit_refused, keep_pace

ACTIONS = ("pause", "resume", "step", "stop", "set_lr", "step_batch", *STAGE_ACTIONS)
ACK_TIMEOUT_S = 5.0
STOP_WAIT_S = 1.0  # a stop the worker has not acknowledged by then takes effect here
LAYERS_EVERY_S = 1.0  # per-layer summaries stored per run at most this often (the last always)
EVICT_EVERY_S = 1.0
NOT_SAVED = "not being saved: "  # prefix of a run's message while the database fails
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
    accepted: bool = False  # its worker took the start command (else it may be placed again)
    paused_start: bool = False
    resume_from: dict | None = None  # the checkpoint it resumes from, sent with its start
    owner: str | None = None  # sha256 of the X-Owner-Token it was started with
    design_id: str | None = None
    saved_layers_at: float = 0.0
    pending_layers: tuple[int, str] | None = None  # the newest summary not stored yet
    committed_after: int = 0  # the store has everything once this many ops are written
    class_code: str | None = None  # the class it belongs to (server/classes), if any
    student: str | None = None  # ... and the student who started it

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
            "design": self.design_id,
        }

    def detail(self, limit: int | None = None) -> dict:
        return {
            **self.summary(),
            "experiment": self.experiment,
            "check": self.check,
            "history": self.channel.history[:limit],
        }


class RunManager:
    """Creates runs, assigns them to the least-loaded worker, and follows them to the end."""

    def __init__(
        self,
        settings: Settings,
        pool_factory: Callable[..., Backend] = make_backend,
    ):
        self.settings = settings
        self.hub = Hub(settings, on_watch=self._watch)
        # The workers' backend (LAYERLAB_BACKEND: local processes or Ray actors, one interface).
        self.pool = pool_factory(settings, self._on_message, self._on_exit)
        self.pool.on_ready = self._on_ready
        self.store = Store(settings, self._store_failed, self._store_recovered)
        self.runs: dict[str, Run] = {}  # active runs, then the ended ones still cached
        self.pending: deque[Run] = deque()  # created while no worker was usable: placed later
        self._acks: dict[int, asyncio.Future] = {}
        self._seq = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._evictor: asyncio.Task | None = None
        # Owner heartbeats: a run whose owner's page is gone pauses, later stops (presence.py).
        self.presence = OwnerPresence(settings)
        self._presence_task: asyncio.Task | None = None

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        await asyncio.to_thread(self.store.open)
        await self.hub.start()
        self._evictor = asyncio.create_task(self._evict_periodically())
        self._presence_task = asyncio.create_task(self.presence.watch(self._status_of, self._idle))
        await self.pool.start()

    async def stop(self) -> None:
        for run in list(self.runs.values()):
            if run.active:
                self._end(run, "interrupted", "the server shut down while this run was active")
        if self._evictor is not None:
            self._evictor.cancel()
        if self._presence_task is not None:
            self._presence_task.cancel()
        await self.hub.stop()
        await self.pool.stop()
        await asyncio.to_thread(self.store.close)

    # -- queries -------------------------------------------------------------------------
    def get(self, run_id: str) -> Run | None:
        """A run held in memory (every active run, and recently ended ones)."""
        return self.runs.get(run_id)

    def list(self) -> list[Run]:
        return list(self.runs.values())

    def active_count(self, client: str | None = None) -> int:
        """Active runs in all, or of one address (a class's runs are counted per student)."""
        return sum(
            1
            for r in self.runs.values()
            if r.active and (client is None or (r.client == client and r.student is None))
        )

    # Blocking reads below (the database): call them from a thread, never the event loop.
    def find(self, run_id: str) -> Run | StoredRun | None:
        """A run from memory or, once it has left memory, from the database."""
        return self.runs.get(run_id) or self.store.get_run(run_id)

    def list_page(
        self, where: queries.RunFilter, limit: int, offset: int = 0
    ) -> tuple[list[dict], int]:
        """One page of run summaries, newest first, and how many match: the database's rows,
        with live figures for runs in memory, and runs too new to be committed yet."""
        stored, total = self.store.read(queries.list_runs, where, limit, offset)
        live = {r.id: r for r in list(self.runs.values())}
        out = [live.get(r.id, r).summary() for r in stored]
        if offset == 0:
            fresh = [r for r in live.values() if _matches(r, where)]
            missing = {r.id for r in fresh} - self.store.read(
                queries.stored_ids, [r.id for r in fresh]
            )
            extra = [r.summary() for r in fresh if r.id in missing]
            total += len(extra)
            out = sorted(out + extra, key=lambda d: d["created"], reverse=True)[:limit]
        return out, total

    def history(self, run: Run | StoredRun, after: int, limit: int) -> list[str]:
        """A run's epoch records (JSON text) after epoch `after`, at most `limit`."""
        if isinstance(run, Run):
            texts = run.channel.history_json
            records = run.channel.history
            return [t for t, r in zip(texts, records, strict=False) if r.get("epoch", 0) > after][
                :limit
            ]
        return self.store.read(queries.history, run.id, after, limit)

    def detail(self, run: Run | StoredRun, limit: int) -> dict:
        if isinstance(run, Run):
            return run.detail(limit)
        records = [json.loads(t) for t in self.history(run, 0, limit)]
        return {
            **run.summary(),
            "experiment": run.experiment,
            "check": run.check,
            "history": records,
        }

    def owns_stored(self, run: StoredRun, token: str | None) -> bool:
        return (
            token is not None
            and run.token_hash is not None
            and secrets.compare_digest(run.token_hash, token_hash(token))
        )

    # -- lifecycle -----------------------------------------------------------------------
    def create(
        self,
        experiment: dict,
        check: dict,
        client: str,
        paused: bool = False,
        owner: str | None = None,
        design_id: str | None = None,
        class_code: str | None = None,
        student: str | None = None,
    ) -> Run:
        """Register a checked experiment and send it to a worker (raises LimitReached).

        A run created `paused` waits for `step` or `resume` before its first epoch. `owner`
        is the hash of the creator's owner token; `design_id` the saved design it came from.
        A class run (`class_code`, `student`) is not counted against its address: a class
        shares one behind a school's NAT, and server/classes limits it per student instead."""
        self._check_limits(client, per_client=student is None)
        run_id = self._new_id()
        info = {"id": run_id, "experiment": experiment, "check": check}
        channel = self.hub.open(run_id, info)
        if paused:
            channel.status = "paused"
        run = Run(run_id, secrets.token_urlsafe(24), client, experiment, check, channel)
        run.owner, run.design_id = owner, design_id
        run.class_code, run.student = class_code, student
        run.paused_start = paused
        self.runs[run_id] = run
        self.store.add_run(
            run_id,
            status=channel.status,
            client=client,
            experiment=experiment,
            check=check,
            created=run.created,
            owner=owner,
            token=run.token,
            design_id=design_id,
        )
        self._evict()
        self._place(run)
        return run

    def _check_limits(self, client: str, per_client: bool = True) -> None:
        s = self.settings
        if self.active_count() >= s.max_runs:
            raise LimitReached(
                f"the server already has {s.max_runs} active runs, its limit "
                "(LAYERLAB_MAX_RUNS); wait for one to finish or stop one"
            )
        if per_client and self.active_count(client) >= s.max_runs_per_client:
            raise LimitReached(
                f"you already have {s.max_runs_per_client} active runs, the limit per client "
                "(LAYERLAB_MAX_RUNS_PER_CLIENT); stop one first"
            )

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
            command = ("start", run.id, run.experiment, paused)
            if run.resume_from is not None:
                command += (run.resume_from,)
            if self.pool.send(worker, command):
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

    async def resume(self, stored: StoredRun, token: str) -> Run:
        """Bring an interrupted run back from its last checkpoint (its owner's token proven
        by the caller): the history up to the checkpoint is kept, later records are dropped,
        and it trains on in a worker, under the same id and token."""
        if stored.status != "interrupted":
            raise ControlRefused(
                f"run {stored.id} has ended ({stored.status}); only an interrupted run resumes"
            )
        if stored.id in self.runs:
            raise ControlRefused(f"run {stored.id} is being resumed already")
        found = await asyncio.to_thread(checkpoints.read_checkpoint, self.settings, stored.id)
        if found is None:
            raise ControlRefused(f"run {stored.id} has no checkpoint to resume from")
        epoch, saved = found
        self._check_limits(stored.client)
        texts = await asyncio.to_thread(self.store.read, queries.history, stored.id, 0, epoch)
        # The database's records (they carry the time), then the checkpoint's own beyond them
        # (a kill -9 can leave the database a flush behind the checkpoint).
        kept = 0
        for text in texts:
            if json.loads(text)["epoch"] != kept + 1:
                break
            kept += 1
        records = [json.loads(t) for t in texts[:kept]] + saved[kept:]
        if stored.id in self.runs:  # resumed by another request while we read
            raise ControlRefused(f"run {stored.id} is being resumed already")
        info = {"id": stored.id, "experiment": stored.experiment, "check": stored.check}
        channel = self.hub.open(stored.id, info)
        for record in records:
            self.hub.publish_epoch(stored.id, record)
        run = Run(
            stored.id,
            token,
            stored.client,
            stored.experiment,
            stored.check,
            channel,
            created=stored.created,
            owner=stored.owner,
            design_id=stored.design_id,
        )
        self.runs[run.id] = run
        self.store.writer.put(("truncate", run.id, kept))
        for record in saved[kept:]:
            self.store.add_epoch(run.id, record["epoch"], dumps(record))
        self.store.update_run(
            run.id,
            status="queued",
            message=None,
            ended=None,
            epoch=epoch,
            last_json=dumps(records[-1]) if records else None,
        )
        run.resume_from = {
            "path": str(checkpoints.path_for(self.settings, run.id)),
            "history": records,
        }
        self._place(run)
        return run

    def owns(self, run: Run, token: str | None) -> bool:
        return token is not None and secrets.compare_digest(run.token, token)

    async def control(
        self,
        run: Run,
        action: str,
        learning_rate: float | None = None,
        sample: int | None = None,
        value: Any = None,
    ) -> None:
        """Apply a control and wait for its worker to acknowledge it (`value`: the action's
        argument, checked by the caller; server/runs/stage.py for pace and set_weight)."""
        if action not in ACTIONS:
            raise ControlRefused(f"unknown action {action!r}; use one of {', '.join(ACTIONS)}")
        if not run.active:
            raise ControlRefused(f"run {run.id} has ended ({run.status}); it takes no controls")
        value = control_argument(action, learning_rate, sample, value)
        if action == "set_lr" and value is None:
            raise ControlRefused("set_lr needs a learning_rate")
        if action == "set_weight" and (why := edit_refused(run)):
            raise ControlRefused(why)
        worker = run.worker
        if worker is None and action == "pace":  # queued: its start command carries the pace
            keep_pace(run, value, self.hub, self.store)
            return
        if worker is None and action == "stop":  # queued, waiting for a worker
            self._end(run, "stopped", None)
            return
        if worker is None and action in ("pause", "resume"):  # queued: it will start so
            run.paused_start = action == "pause"
            status = "paused" if run.paused_start else "queued"
            self.hub.publish_status(run.id, status)
            self.store.update_run(run.id, status=status, message=None)
            return
        seq = next(self._seq)
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._acks[seq] = future
        try:
            if worker is None or not self.pool.send(
                worker, ("control", seq, run.id, action, value)
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
        if action == "pace" and not error:
            keep_pace(run, value, self.hub, self.store)

    def _stop_now(self, run: Run, worker: WorkerHandle) -> None:
        """A stop its worker has not taken within STOP_WAIT_S (a long step, a hung process):
        the run ends here; a worker with no other active run is killed and replaced, since
        whatever holds it is this run's."""
        others = [r for r in worker.runs if r != run.id and (o := self.runs.get(r)) and o.active]
        self._end(run, "stopped", None)
        if not others:
            self.pool.kill(worker, f"run {run.id} was stopped while its worker was busy")

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
            run_id, record = message[1], message[2]
            run = self.runs.get(run_id)
            if run is not None and run.active:
                self.hub.publish_epoch(run_id, record)
                self.store.add_epoch(run_id, run.channel.epoch, dumps(record))
        elif kind == "snapshot":
            self.hub.publish_snapshot(*message[1:])
            run, layers = self.runs.get(message[1]), message[4] if len(message) > 4 else None
            if run is not None and run.active and layers is not None:
                self._save_layers(run, message[2], layers)
        elif kind == "status":
            _, run_id, status, text, epoch = message
            run = self.runs.get(run_id)
            if run is not None:
                text = text or self.presence.reason(run_id, status)
                if status in TERMINAL:
                    self._end(run, status, text, epoch)
                elif run.active:
                    self.hub.publish_status(run_id, status, text, epoch)
                    self.store.update_run(run_id, status=status, message=text)
        elif kind == "accepted":
            run = self.runs.get(message[1])
            if run is not None and run.worker is worker:
                run.accepted = True
        elif kind == "trace":
            self.hub.publish_trace(message[1], message[2])
        elif kind == "early_stopped":  # stage_messages.EarlyStopped: finished follows
            channel = self.hub.channels.get(message.run_id)
            if channel is not None:
                channel.best_epoch = message.best_epoch
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

    # -- the store's news (from its writer thread) ----------------------------------------
    def _store_failed(self, reason: str, run_ids: set[str]) -> None:
        self._call_soon(self._mark_unsaved, reason, run_ids)

    def _store_recovered(self, run_ids: set[str]) -> None:
        self._call_soon(self._mark_unsaved, None, run_ids)

    def _call_soon(self, fn: Callable, *args: Any) -> None:
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has closed: nobody to tell
                self._loop.call_soon_threadsafe(fn, *args)

    def _mark_unsaved(self, reason: str | None, run_ids: set[str]) -> None:
        """Say in each affected active run's message that its records wait for the database
        (reason None: they have been saved, the message goes)."""
        for run_id in run_ids:
            run = self.runs.get(run_id)
            if run is None or not run.active:
                continue
            c = run.channel
            if reason is not None:
                text = f"{NOT_SAVED}{reason}; records are kept and saved when it can be written"
            elif c.message and c.message.startswith(NOT_SAVED):
                text = None
            else:
                continue
            self.hub.publish_status(run_id, c.status, text, None)

    # -- internals -----------------------------------------------------------------------
    def _end(self, run: Run, status: str, message: str | None, epoch: int | None = None) -> None:
        if not run.active:
            return
        self.hub.publish_status(run.id, status, message, epoch)
        run.ended = time.time()
        if run in self.pending:
            self.pending.remove(run)
        self.presence.forget(run.id)
        if run.worker is not None:
            run.worker.runs.discard(run.id)
        if run.pending_layers is not None:
            self.store.add_layers(run.id, *run.pending_layers)
            run.pending_layers = None
        self.store.update_run(
            run.id, status=status, message=message, epoch=run.channel.epoch, ended=run.ended
        )
        if status in ("finished", "stopped"):
            self.store.take_export(run.id)
        run.committed_after = self.store.writer.queued
        self.runs[run.id] = self.runs.pop(run.id)  # the newest ended run goes last
        self._evict()

    def _save_layers(self, run: Run, epoch: int, layers: str) -> None:
        now = time.monotonic()
        if now - run.saved_layers_at >= LAYERS_EVERY_S:
            run.saved_layers_at, run.pending_layers = now, None
            self.store.add_layers(run.id, epoch, layers)
        else:
            run.pending_layers = (epoch, layers)

    def _evict(self) -> None:
        """Forget the oldest ended runs beyond `cache_runs` once the database has all of
        their records (they are read from it from then on)."""
        ended = [r for r in self.runs.values() if not r.active]
        done = self.store.writer.done
        for run in ended[: max(0, len(ended) - self.settings.cache_runs)]:
            if run.committed_after > done:
                break
            del self.runs[run.id]
            self.hub.remove(run.id)

    async def _evict_periodically(self) -> None:
        while True:
            await asyncio.sleep(EVICT_EVERY_S)
            self._evict()

    def _new_id(self) -> str:
        while True:
            run_id = secrets.token_hex(4)
            if run_id not in self.runs:
                return run_id


def _matches(run: Run, where: queries.RunFilter) -> bool:
    """Whether a run in memory passes a listing's filter (as the database would judge it)."""
    if where.keep is not None and not where.keep(run.id):
        return False
    if where.owner is not None and run.owner != where.owner:
        return False
    if where.status is not None and run.status != where.status:
        return False
    if where.dataset is not None and run.experiment.get("dataset", {}).get("name") != where.dataset:
        return False
    if where.design is not None and run.design_id != where.design:
        return False
    if where.text:
        needle = where.text.lower()
        hay = (run.id, str(run.channel.message or ""), json.dumps(run.experiment))
        if not any(needle in h.lower() for h in hay):
            return False
    return True
