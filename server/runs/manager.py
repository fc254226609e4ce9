"""Run lifecycle: ids and owner tokens, admission, placement, controls, and outcomes.

A run is `queued` when created, `running` once its worker has built its trainer, `paused` on
request, and ends `finished`, `stopped`, `failed` (with a reason, e.g. its worker died),
`diverged`, or `interrupted` (the server stopped while it was active).

The manager keeps the lifecycle only and hands the rest to one module each: `model.py` (the
run), `admission.py` (the data and run limits a run must pass before it is registered),
`placement.py` (which worker), `calls.py` (acks and replies), `questions.py` (predictions and
other questions to a run's network), `records.py` (the hub and the store, written together),
`reads.py` (memory, then the database), `resume.py` (from a checkpoint), `failures.py` (a
failed run's words), `backends/` (where workers live), `protocol.py` (what they say). It is
given the store that `create_app` built (and builds its own only when given none: tests and
scripts).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Sequence
from typing import Any

from ..config import Settings
from ..store import queries
from ..store.rows import StoredRun
from ..store.store import Store
from .admission import Admission, DatasetGuard
from .ask_gate import AskGate
from .backends import Backend, make_backend
from .bus import RunBus
from .calls import Calls, unreachable
from .failures import overrun_message
from .hub import Hub
from .messages import TERMINAL
from .model import BadInput, ControlRefused, LimitReached, Quota, Run, RunView
from .placement import Placement
from .presence import OwnerPresence
from .protocol import (
    Accepted,
    Ack,
    Control,
    EarlyStopped,
    Epoch,
    Message,
    Reply,
    Snapshot,
    Status,
    Trace,
)
from .questions import Questions
from .reads import RunReads
from .records import Records
from .resume import check_resumable, resume_point
from .seats import Seat
from .stage import STAGE_ACTIONS, control_argument, edit_refused, keep_pace

__all__ = [
    "BadInput",
    "ControlRefused",
    "LimitReached",
    "Quota",
    "Run",
    "RunManager",
    "RunView",
    "Seat",
]

ACTIONS = ("pause", "resume", "step", "stop", "set_lr", "step_batch", *STAGE_ACTIONS)
ACK_TIMEOUT_S = 5.0
STOP_WAIT_S = 1.0  # a stop a silent or stuck worker has not acknowledged by then: ended here
STOP_POLL_S = 0.1  # how often a waiting stop looks at its worker's heartbeat and busy mark
EVICT_EVERY_S = 1.0
DEFERRED_MAX = 16  # controls a run waiting for a worker may hold
ID_BYTES = 12  # run ids: 96 random bits, 24 hex digits (unique in the database, not only here)


class RunManager:
    """Creates runs, places them on workers, and follows them to the end."""

    def __init__(
        self,
        settings: Settings,
        store: Store | None = None,
        pool_factory: Callable[..., Backend] = make_backend,
        bus: RunBus | None = None,
    ):
        """`store`: the one `create_app` built and opened; without one (tests, scripts) the
        manager builds its own and opens and closes it with itself. `bus`: where the runs'
        streams go besides this process (server/cluster's Redis bus for replicas)."""
        self.settings = settings
        self._owns_store = store is None
        self.store = store if store is not None else Store(settings)
        self.hub = Hub(settings, on_watch=self._watch)
        # The workers' backend (LAYERLAB_BACKEND: local processes or Ray actors, one interface).
        self.pool = pool_factory(settings, self._on_message, self._on_exit)
        self.runs: dict[str, Run] = {}  # active runs, then the ended ones still cached
        self.calls = Calls()
        self.asks = AskGate(settings)  # predictions in flight, per run and per client
        self.questions = Questions(self.pool, self.calls, self.asks)  # predictions, projections
        self.placement = Placement(self.pool, self.calls)
        self.pool.on_ready = self.placement.on_ready
        self.reads = RunReads(self.store, self.runs)
        self.bus = bus if bus is not None else RunBus()
        self.admission = Admission(settings, self.runs, self.bus)  # limits, data (admission.py)
        self.records = Records(self.store, self.hub, self.runs, settings.cache_runs, self.bus)
        self._evictor: asyncio.Task | None = None
        # Owner heartbeats: a run whose owner's page is gone pauses, later stops (presence.py).
        self.presence = OwnerPresence(settings)
        self._presence_task: asyncio.Task | None = None

    @property
    def dataset_guard(self) -> DatasetGuard | None:
        """Whether an owner may train on the data experiments name (set by create_app)."""
        return self.admission.dataset_guard

    @dataset_guard.setter
    def dataset_guard(self, guard: DatasetGuard | None) -> None:
        self.admission.dataset_guard = guard

    @property
    def pending(self) -> Any:
        """The runs waiting for a usable worker, oldest first."""
        return self.placement.pending

    async def start(self) -> None:
        self.records.start(asyncio.get_running_loop())
        if self._owns_store:
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
        if self._owns_store:
            await asyncio.to_thread(self.store.close)

    async def hand_over(self) -> list[str]:
        """Replicas, at a graceful stop, before `stop`: each active run on a worker saves a
        checkpoint now and stops training, then leaves this process without ending (no
        status, no release: the caller lets its lease lapse), so another replica resumes it
        at once. The ids handed over; a run whose worker refused ends as `stop` ends it."""
        runs = [r for r in self.runs.values() if r.active and r.worker is not None]
        results = await asyncio.gather(*(self._hand_over(run) for run in runs))
        handed = []
        for run, done in zip(runs, results, strict=True):
            if done and run.active:
                self.placement.forget(run)
                self.presence.forget(run.id)
                del self.runs[run.id]
                handed.append(run.id)
        return handed

    async def _hand_over(self, run: Run) -> bool:
        worker = run.worker
        with self.calls.open(worker) as (seq, future):
            if not self.pool.send(worker, Control(seq, run.id, "hand_over", None)):
                return False
            try:
                error = await asyncio.wait_for(future, ACK_TIMEOUT_S)
            except (TimeoutError, asyncio.TimeoutError):
                return False
        return error is None

    # -- queries (memory) ----------------------------------------------------------------
    def get(self, run_id: str) -> Run | None:
        """A run held in memory (every active run, and recently ended ones)."""
        return self.runs.get(run_id)

    def list(self) -> list[Run]:
        return list(self.runs.values())

    def seats(self) -> list[Seat]:
        """Every run this process counts against the run limits: its active runs and those
        being admitted now (seats.py). The classes count their runs here, reservations
        included, so two requests cannot both take a class's last slot either."""
        return self.admission.seats()

    def active_count(self, client: str | None = None) -> int:
        """Active runs in all, or of one address (a class's runs are counted per student),
        the runs being admitted now included."""
        return self.admission.active_count(client)

    # Blocking reads (the database): call them from a thread, never the event loop.
    def find(self, run_id: str) -> Run | StoredRun | None:
        """A run from memory or, once it has left memory, from the database."""
        return self.reads.find(run_id)

    def list_page(
        self, where: queries.RunFilter, limit: int, offset: int = 0
    ) -> tuple[list[dict], int]:
        return self.reads.list_page(where, limit, offset)

    def history(self, run: RunView, after: int, limit: int) -> list[str]:
        return self.reads.history(run, after, limit)

    def detail(self, run: RunView, limit: int) -> dict:
        return self.reads.detail(run, limit)

    def owns(self, run: RunView, token: str | None) -> bool:
        """Whether `token` is the run's owner token (in memory or stored; never raises)."""
        return run.owns(token)

    owns_stored = owns

    def check_datasets(self, experiments: list[dict], owner: str | None) -> None:
        """Raise (the guard's NotOwner: 403) unless `owner` (a hash) may train on the data of
        every experiment; reads the database, so called off the event loop, before `create`."""
        self.admission.check_datasets(experiments, owner)

    # -- lifecycle -----------------------------------------------------------------------
    async def create(
        self,
        experiment: dict,
        check: dict,
        client: str,
        paused: bool = False,
        owner: str | None = None,
        design_id: str | None = None,
        class_code: str | None = None,
        student: str | None = None,
        quotas: Sequence[Quota] = (),
    ) -> Run:
        """Register a checked experiment and send it to a worker (raises LimitReached).

        A run created `paused` waits for `step` or `resume` before its first epoch. `owner`
        is the hash of the creator's owner token; `design_id` the saved design it came from.
        A class run (`class_code`, `student`) is not counted against its address: a class
        shares one behind a school's NAT, and server/classes limits it per student instead,
        with `quotas` (its counts, which replicas take in Redis with the server's).

        One process: it never suspends (nothing is awaited that waits), so a caller's own
        checks just before it (server/classes' `admit`) hold for it. Replicas: it awaits the
        run's slots in Redis, its seat reserved meanwhile (`seats`)."""
        run_id = self._new_id()
        await self.admission.admit(Seat(run_id, client, class_code, student), quotas)
        info = {"id": run_id, "experiment": experiment, "check": check}
        channel = self.hub.open(run_id, info)
        if paused:
            channel.status = "paused"
        run = Run(run_id, secrets.token_urlsafe(24), client, experiment, check, channel)
        run.owner, run.design_id = owner, design_id
        run.class_code, run.student = class_code, student
        run.paused_start = paused
        self.runs[run_id] = run
        self.records.created(run)
        self.placement.place(run)
        return run

    async def resume(
        self,
        stored: StoredRun,
        token: str,
        paused: bool = False,
        class_code: str | None = None,
        student: str | None = None,
        quotas: Sequence[Quota] = (),
    ) -> Run:
        """Bring an interrupted run back from its last checkpoint (its owner's token proven
        by the caller): the history up to the checkpoint is kept, later records are dropped,
        and it trains on in a worker, under the same id and token (`paused`: it waits for a
        resume or a step). A class run comes back as one (`class_code`, `student`, `quotas`
        as `create` takes them: the database's row does not know its class)."""
        check_resumable(stored, self.admission.held(stored.id))
        point = await asyncio.to_thread(resume_point, self.settings, self.store, stored.id)
        # Resumed by another request meanwhile? Checked with no await before its seat is
        # held: a second resume of the run now finds the seat (`Admission.held`) and is refused.
        check_resumable(stored, self.admission.held(stored.id))
        await self.admission.admit(Seat(stored.id, stored.client, class_code, student), quotas)
        info = {"id": stored.id, "experiment": stored.experiment, "check": stored.check}
        channel = self.hub.open(stored.id, info)
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
        run.class_code, run.student = class_code, student
        self.runs[run.id] = run
        self.records.resumed(run, point)
        if paused:  # replicas: a paused run taken over stays paused (server/cluster/takeover.py)
            run.paused_start = True
            self.records.status(run, "paused", None)
        run.resume_from = point.start_info()
        self.placement.place(run)
        return run

    async def control(
        self,
        run: Run,
        action: str,
        learning_rate: float | None = None,
        sample: int | None = None,
        value: Any = None,
    ) -> None:
        """Apply a control and wait for its worker to acknowledge it. A run still waiting for
        a worker takes it too: stop ends it here, pause and resume set how it will start, the
        others follow its start to its worker. (`value`: the action's
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
            self.records.status(run, "paused" if run.paused_start else "queued", None)
            return
        with self.calls.open(worker) as (seq, future):
            command = Control(seq, run.id, action, value)
            if worker is None:
                if len(run.deferred) >= DEFERRED_MAX:
                    raise ControlRefused(
                        f"run {run.id} is waiting for a worker with {DEFERRED_MAX} controls "
                        "queued already; try again once it runs"
                    )
                run.deferred.append(command)
            elif not self.pool.send(worker, command):
                if action == "stop" and worker.alive:  # its queue is full: it takes nothing
                    self._stop_now(run, worker)
                    return
                raise ControlRefused(unreachable(run.id, worker))
            if action == "stop":
                error = await self._await_stop(run, future)
            else:
                try:
                    error = await asyncio.wait_for(future, ACK_TIMEOUT_S)
                except (TimeoutError, asyncio.TimeoutError):
                    error = None  # the worker is busy; the command stays queued, in order
        if error and run.active:
            raise ControlRefused(error)
        if action == "pace" and not error:
            keep_pace(run, value, self.hub, self.store)

    async def _await_stop(self, run: Run, future: asyncio.Future) -> str | None:
        """A stop's acknowledgement (the worker's error, or None). A worker that is taking it
        (heard from, not stuck in one turn: it writes the run's export before it answers, a
        second or more on a loaded machine) is waited for up to ACK_TIMEOUT_S, then the stop
        stays queued and applies in order; one that is silent (stopped, hung) or stuck in a
        turn past STOP_WAIT_S (a long step) has the run stopped here at once. Killing a worker
        that was only slow lost the export the stopped run was owed."""
        loop = asyncio.get_running_loop()
        asked = loop.time()
        while True:
            try:
                return await asyncio.wait_for(asyncio.shield(future), STOP_POLL_S)
            except (TimeoutError, asyncio.TimeoutError):
                pass
            worker, waited = run.worker, loop.time() - asked
            if worker is None or not run.active:
                return None
            busy_run, busy_s = worker.current()
            stuck = busy_run is not None and busy_s >= STOP_WAIT_S
            if waited >= STOP_WAIT_S and (stuck or not worker.responsive):
                self._stop_now(run, worker)
                return None
            if waited >= ACK_TIMEOUT_S:
                return None

    def _stop_now(self, run: Run, worker: Any) -> None:
        """A stop its worker has not taken within STOP_WAIT_S (a long step, a hung process):
        the run ends here; a worker with no other active run is killed and replaced, since
        whatever holds it is this run's."""
        others = [r for r in worker.runs if r != run.id and (o := self.runs.get(r)) and o.active]
        self._end(run, "stopped", None)
        if not others:
            self.pool.kill(worker, f"run {run.id} was stopped while its worker was busy")

    def heartbeat(self, run: RunView) -> None:
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

    async def ask(
        self, run: Run, raw: Any, explain: bool, target: int | None, client: str = ""
    ) -> dict:
        """The run's prediction for one raw input, from its worker (questions.py)."""
        return await self.questions.ask(run, raw, explain, target, client)

    async def query(self, run: Run, kind: str, params: dict, client: str = "") -> dict:
        """Another question to the run's network, bounded like a prediction (questions.py)."""
        return await self.questions.query(run, kind, params, client)

    def trace(self, run: RunView) -> str | None:
        """The latest step_batch trace of a run (JSON text), or None before any."""
        channel = self.hub.channels.get(run.id)
        return channel.trace if channel is not None else None

    # -- worker events -------------------------------------------------------------------
    def _on_message(self, worker: Any, message: Message) -> None:
        run = self.runs.get(message.run_id)
        match message:
            case Epoch(_, record):
                if run is not None and run.active:
                    self.records.epoch(run, record)
            case Snapshot(run_id, epoch, text, layers):
                self.records.snapshot(run_id, epoch, text, layers)
            case Status(run_id, status, text, epoch):
                if run is not None:
                    text = text or self.presence.reason(run_id, status)
                    if status in TERMINAL:
                        self._end(run, status, text, epoch)
                    elif run.active:
                        self.records.status(run, status, text, epoch)
            case Accepted():
                if run is not None and run.worker is worker:
                    run.accepted = True
            case Trace(run_id, text):
                self.hub.publish_trace(run_id, text)
                self.bus.text(run_id, '{"type":"trace","trace":' + text + "}")
            case EarlyStopped(run_id, best_epoch):  # its finished status follows
                channel = self.hub.channels.get(run_id)
                if channel is not None:
                    channel.best_epoch = best_epoch
            case Ack(seq, _, error):
                self.calls.answer(seq, error)
            case Reply(seq):
                self.calls.answer(seq, message)

    def _on_exit(self, worker: Any, reason: str) -> None:
        """Fail the runs a dead worker had taken (the one it was killed for, in its own
        words); place again those it never took, which lost nothing. Only the calls that
        worker owed end unanswered."""
        culprit = getattr(worker, "culprit", None)
        for run_id in list(worker.runs):
            run = self.runs.get(run_id)
            if run is None or not run.active:
                continue
            worker.runs.discard(run_id)
            if run_id == culprit:
                self._end(run, "failed", overrun_message(self.settings.max_step_s))
            elif run.accepted:
                self._end(run, "failed", reason)
            else:
                self.placement.place(run)
        self.calls.lost(worker)

    def _watch(self, run_id: str, watched: bool) -> None:
        run = self.runs.get(run_id)
        if run is not None and run.active and run.worker is not None:
            self.pool.send(run.worker, Control(None, run_id, "watch", watched))

    # -- internals -----------------------------------------------------------------------
    def _end(self, run: Run, status: str, message: str | None, epoch: int | None = None) -> None:
        if not run.active:
            return
        self.placement.forget(run)
        self.presence.forget(run.id)
        for command in run.deferred:  # it never reached a worker: nobody will acknowledge
            self.calls.answer(command.seq, None)
        run.deferred.clear()
        self.records.ended(run, status, message, epoch)

    async def _evict_periodically(self) -> None:
        while True:
            await asyncio.sleep(EVICT_EVERY_S)
            self.records.evict()

    def _new_id(self) -> str:
        """96 random bits: unique in the database too (before, 32 bits were checked against
        memory only, and a collision with a stored run merged the new run into the old row)."""
        while True:
            run_id = secrets.token_hex(ID_BYTES)
            if not self.admission.held(run_id):
                return run_id
