"""The worker process: trains many runs, time-sliced round-robin, and streams what it measures.

A worker is forked from a forkserver that has imported the engine and loaded the compiled
kernel once (zygote.py: the workers share those pages), never from the server itself. It reads commands from one pipe and writes
messages to another, in order, so the server sees each run's records, snapshots and status
changes exactly as they happened. Each run gets `train_steps(time_slice_s)` in turn, so every
started run keeps progressing however many share the worker.

Commands (server -> worker):
  ("start", run_id, experiment_doc, paused[, resume])  resume: {"path", "history"} (checkpoints.py)
  ("control", seq, run_id, action, value)  action: pause|resume|step|stop|set_lr|watch
                                           step_batch (value: a training sample or None)
                                           pace (value: epochs/s or None: full speed; pace.py)
                                           set_weight (value: {"layer", "to", "from"?,
                                             "weight"? | "bias"?}; a paused run only)
  ("ask", seq, run_id, raw_input, explain, target)   predict one input (engine/predict.py)
  ("query", seq, run_id, kind, params)  project a layer, recommend (engine/queries.py);
                                        answered like an ask, with a "reply"
  ("shutdown",)
Messages (worker -> server):
  ("ready", pid)
  ("accepted", run_id)                  a start command was taken: the run is this worker's
  ("status", run_id, status, message, epoch)
  ("epoch", run_id, record)
  ("snapshot", run_id, epoch, json_text, layers_json)  layers_json: {"epoch", "layers"} or None
  ("trace", run_id, json_text)          the trace of one step_batch (engine/trace.py)
  ("early_stopped", run_id, best_epoch)  before its finished status: the weights kept
  ("file", run_id, kind, files)         a worker with a folder of its own (a Ray actor):
                                        a checkpoint or export it wrote (files.py)
  ("ack", seq, run_id, error)           error: None or why the command was refused
  ("reply", seq, run_id, error, json_text)   the answer to an "ask"; error: None or
                                              ("input"|"refused", why), json_text then None
"""

from __future__ import annotations

import gc
import sys
import threading
import time
import traceback
from multiprocessing.connection import Connection
from typing import Any

from ..config import Settings
from .asks import AskQueue, Question
from .beat import HEARTBEAT_S, Beat
from .checkpoints import Checkpointer
from .failures import explain_failure
from .files import ship
from .frames import MOVING_RESOLUTION, FrameBudget, Load, ProbeCredit, StackTurns
from .messages import dumps, json_safe, snapshot_message
from .pace import MIN_SLICE_S, Pace, schedule, slice_for
from .stacked_frames import Frame, stacked_frames
from .stacking import STACK_MIN, align, plan, stackable

DEFAULT_TRAINER = "server.engine.trainer:Trainer"


class Job:
    """One run inside the worker: its trainer (built on its first turn) and its controls."""

    def __init__(self, run_id: str, doc: dict, frames: FrameBudget):
        self.run_id = run_id
        self.doc = doc
        self.pace = Pace((doc.get("training") or {}).get("pace"))  # epochs/s, None: full speed
        self.frames = frames  # when it is probed while watched (frames.py)
        self.trainer: Any = None
        self.paused = False
        self.step_pending = False
        self.watched = False
        self.lr: float | None = None  # set before the trainer exists
        self.resume: dict | None = None  # a checkpoint to start from (checkpoints.py)

    @property
    def active(self) -> bool:
        return not self.paused or self.step_pending

    @property
    def epoch(self) -> int:
        return int(getattr(self.trainer, "epoch", 0) or 0)


class Worker:
    """The main loop of one worker process."""

    def __init__(
        self,
        settings: Settings,
        commands: Connection,
        out: Connection,
        factory: Any,
        beat: Beat | None = None,
    ):
        self.settings = settings
        self.beat = beat  # shared with the pool's watchdog: alive when, busy with which run
        self.commands = commands
        self.out = out
        self.factory = factory
        self.jobs: dict[str, Job] = {}
        self.running = True
        self.slice_s = settings.time_slice_s  # this turn's slice (shorter near a paced epoch)
        self.probe_credit = ProbeCredit()  # all its runs' probes: a share of wall time
        self.load = Load()  # its busy share of wall time: paced frames coarser when saturated
        self._send_lock = threading.Lock()  # one message at a time on the pipe, from any thread
        # A folder the server cannot see (a Ray actor's): the checkpoints and exports it
        # writes go to the server as "file" messages too (files.py).
        self.own_folder = False
        self.checkpoints = Checkpointer(settings, self._checkpoint_changed)
        self.asks = AskQueue()  # questions waiting their run's turn (asks.py)
        self.stacked_epochs = 0  # epochs trained in stacked calls (stacking.py), on the beat
        self.stacked_snapshots = 0  # snapshots computed in stacked passes (stacked_frames.py)
        self.stack_turns = StackTurns()  # what a stack's turns and frames cost (frames.py)
        self.frame_clock = 0.0  # seconds spent on frames (probe, encode, send), and how many
        self.frame_count = 0

    # -- messages -------------------------------------------------------------------------
    def send(self, *msg: Any) -> None:
        with self._send_lock:  # runs/protocol.py reads it as its named message
            self.out.send(msg)

    def heartbeat(self) -> None:
        """Thread body: stamp the beat every HEARTBEAT_S. Torch releases the GIL inside its
        kernels, so a long step does not silence it; a stopped (SIGSTOP) or wedged process
        does. Nothing goes through the pipe, so a server that reads late cannot block it."""
        while self.running and self.beat is not None:
            self.beat.alive()
            time.sleep(HEARTBEAT_S)

    def status(self, job: Job, status: str, message: str | None = None) -> None:
        self.send("status", job.run_id, status, message, job.epoch)

    def end(self, job: Job, status: str, message: str | None = None) -> None:
        if status in ("finished", "stopped") and job.trainer is not None:
            self.export(job)  # before the final status: an ended run's export is on disk
        self.status(job, status, message)
        self.checkpoints.forget(job.run_id)  # it ended on its own terms: nothing to resume
        self.jobs.pop(job.run_id, None)
        job.trainer = None

    def export(self, job: Job) -> None:
        """Write the run's export files (standalone script, weights...) to the store's spool
        (`<state_dir>/exports/<id>/<name>`), from where the server moves them into the
        database. A failure is logged and costs only the export: never the run or worker."""
        if not self.settings.persist_runs:
            return
        try:
            from server.engine.export import export_trainer
            from server.store.spool import ExportSpool

            files = export_trainer(job.trainer, run_id=job.run_id)
            if self.own_folder:  # before the final status, on the same channel
                ship(self.send, job.run_id, "export", files)
            else:
                ExportSpool(self.settings.state_dir / "exports").write(job.run_id, files)
        except Exception:  # noqa: BLE001 - the export is optional; the run has ended well
            print(f"layerlab worker: could not export run {job.run_id}:", file=sys.stderr)
            traceback.print_exc(file=sys.stderr)

    def _checkpoint_changed(self, run_id: str, path: Any) -> None:
        """A checkpoint was written (`path`) or forgotten (None): send it when the server
        cannot read this worker's folder."""
        if not self.own_folder:
            return
        try:
            files = None if path is None else {path.name: path.read_bytes()}
        except OSError:
            return
        ship(self.send, run_id, "checkpoint", files)

    # -- commands -------------------------------------------------------------------------
    def drain(self, block: bool, timeout: float | None = None) -> None:
        """Handle every waiting command; with `block`, wait for at least one (at most
        `timeout` seconds: a paced run's next epoch is due then)."""
        timeout = timeout if block else 0
        while self.running:
            start = time.perf_counter()
            ready = self.commands.poll(timeout)
            if timeout is None or timeout > 0:  # a wait, not a peek: the worker was idle
                self.load.idle(start, time.perf_counter())
            if not ready:
                break
            self.handle(self.commands.recv())
            timeout = 0

    def handle(self, cmd: tuple) -> None:
        kind = cmd[0]
        if kind == "start":
            run_id, doc, paused = cmd[1:4]
            frames = FrameBudget(self.settings.snapshot_rate, self.probe_credit)
            self.jobs[run_id] = job = Job(run_id, doc, frames)
            job.paused = bool(paused)
            self.send("accepted", run_id)
            job.resume = cmd[4] if len(cmd) > 4 else None
        elif kind == "control":
            _, seq, run_id, action, value = cmd
            try:
                error = self.control(run_id, action, value)
            except Exception as err:  # noqa: BLE001 - e.g. a probe that fails: that run ends
                job = self.jobs.get(run_id)
                error = explain_failure(
                    err, job.epoch if job else 0, self.settings.worker_memory_mb
                )
                if job is not None:
                    self.fail(job, err)
            if seq is not None:
                self.send("ack", seq, run_id, error)
        elif kind == "ask":  # answered in the run's turn (answer_asks), not here
            dropped = self.asks.put(Question(*cmd[1:]))
            if dropped is not None:
                self.send("reply", dropped.seq, dropped.run_id, ("refused", "too many asks"), None)
        elif kind == "query":  # like an ask: a projection or recommendations (queries.py)
            _, seq, run_id, what, params = cmd
            dropped = self.asks.put(Question(seq, run_id, params, False, None, what))
            if dropped is not None:
                self.send("reply", dropped.seq, dropped.run_id, ("refused", "too many asks"), None)
        elif kind == "cancel_ask":  # its caller gave up: never answered
            self.asks.cancel(cmd[1])
        elif kind == "shutdown":
            for job in self.jobs.values():  # the server stops: its runs can be resumed later
                self.checkpoints.save(job.run_id, job.trainer)
            self.running = False

    def control(self, run_id: str, action: str, value: Any) -> str | None:
        job = self.jobs.get(run_id)
        if job is None:
            return "the run is no longer active"
        if action == "pause":
            if not job.paused:
                job.paused, job.step_pending = True, False
                if job.watched:
                    self.probe(job)
                self.status(job, "paused")
        elif action == "resume":
            if job.paused:
                job.paused, job.step_pending = False, False
                self.status(job, "running" if job.trainer is not None else "queued")
        elif action == "step":
            job.step_pending = True
        elif action == "stop":
            self.end(job, "stopped")
        elif action == "set_lr":
            job.lr = float(value)
            if job.trainer is not None:
                job.trainer.set_learning_rate(job.lr)
        elif action == "step_batch":
            return self.step_batch(job, value)
        elif action == "pace":
            job.pace.set(None if value is None else float(value), time.monotonic())
        elif action == "set_weight":
            return self.set_weight(job, value)
        elif action == "hand_over":  # replicas: another replica trains it on from here
            if job.trainer is None:
                return "the run has not begun training: there is nothing to hand over"
            job.paused, job.step_pending = True, False  # silently: it goes on elsewhere
            self.checkpoints.save(job.run_id, job.trainer)
        elif action == "watch":
            was, job.watched = job.watched, bool(value)
            if job.watched and not was and job.trainer is not None:
                self.probe(job)
        else:
            return f"unknown action {action!r}"
        return None

    def step_batch(self, job: Job, sample: int | None) -> str | None:
        """One traced optimiser step of a paused run (engine/trace.py); the run stays paused.
        A refusal (not paused, a bad sample) is returned to the caller, never fails the run."""
        from server.engine.errors import ExperimentError
        from server.engine.trace import traced_step

        if not job.paused or job.step_pending:
            return "step_batch needs a paused run: pause it first"
        if job.trainer is None:
            self.build(job)
        try:
            trace, record = traced_step(job.trainer, sample)
        except ExperimentError as err:
            return str(err)
        self.send("trace", job.run_id, dumps(json_safe(trace)))
        if record is not None:
            # Stamped on the trainer's own record, so a checkpoint's history equals the stream's.
            record.setdefault("time", round(time.time(), 3))
            record = json_safe(record)
            self.send("epoch", job.run_id, record)
        if job.watched or job.trainer.finished:
            self.probe(job)  # the views redraw with the updated weights
        if job.trainer.finished:
            self.finish(job)
        return None

    def set_weight(self, job: Job, edit: dict) -> str | None:
        """Edit one weight or bias of a paused run (engine Network.set_weight); watchers get
        a fresh snapshot. A refusal is returned to the caller, never fails the run."""
        if not job.paused or job.step_pending:
            return "set_weight needs a paused run: pause it first"
        if job.trainer is None:
            self.build(job)
        try:
            job.trainer.model.set_weight(
                edit["layer"], edit["to"], edit.get("from"), edit.get("weight"), edit.get("bias")
            )
        except ValueError as err:  # the engine's ExperimentError: an index out of range
            return str(err)
        if job.watched:
            self.probe(job)
        return None

    def ask(self, run_id: str, raw: Any, explain: bool, target: int | None):
        """Predict (and explain) one raw input with a run's current weights."""
        from server.engine.predict import predict

        return self._answer(run_id, lambda trainer: predict(trainer, raw, explain, target))

    def query(self, run_id: str, kind: str, params: dict):
        """Answer a query (a projection, recommendations: engine/queries.py) with a run's
        current weights; a t-SNE is left to the server (its activations travel instead)."""
        from server.engine.queries import answer_query

        return self._answer(run_id, lambda trainer: answer_query(trainer, kind, params))

    def _answer(self, run_id: str, compute: Any):
        """(None, JSON text) or (("input" | "refused", why), None): never raises."""
        from server.engine.predict import InputError

        job = self.jobs.get(run_id)
        if job is None:
            return ("refused", "the run is no longer active"), None
        try:
            if job.trainer is None:
                self.build(job)
            return None, dumps(json_safe(compute(job.trainer)))
        except InputError as err:
            return ("input", str(err)), None
        except Exception as err:  # noqa: BLE001 - a question must never end the run
            traceback.print_exc(file=sys.stderr)
            return ("refused", f"could not predict: {type(err).__name__}"), None

    def answer_asks(self) -> None:
        """One waiting question per run, each under its run's busy mark: the watchdog sees
        (and ends) an answer that holds the worker like a training step that does."""
        for question in self.asks.take():
            if self.beat is not None:
                self.beat.busy(question.run_id)
            try:
                if question.kind == "predict":
                    error, answer = self.ask(
                        question.run_id, question.raw, question.explain, question.target
                    )
                else:
                    error, answer = self.query(question.run_id, question.kind, question.raw)
            finally:
                if self.beat is not None:
                    self.beat.idle()
            self.send("reply", question.seq, question.run_id, error, answer)

    # -- training -------------------------------------------------------------------------
    def loop(self) -> None:
        while self.running:
            self.answer_asks()  # a run's questions take their turn beside its training
            # Runs with work now; else sleep on the pipe until a paced run is due (pace.py).
            active, sleep, self.slice_s = schedule(
                self.jobs.values(), time.monotonic(), self.settings.time_slice_s
            )
            if not active:
                self.drain(block=not self.asks, timeout=sleep)
                continue
            # Due runs of one shape train their epochs as one computation (stacking.py).
            stacks, active = plan(
                active, self.jobs.values(), time.monotonic(), self.settings.stack_max
            )
            for stack in stacks:
                self.drain(block=False)
                if not self.running:
                    return
                self.advance_stacked(stack)
            for job in active:
                self.drain(block=False)
                if not self.running:
                    return
                if self.jobs.get(job.run_id) is job and job.active:
                    self._turn(job)

    def advance(self, job: Job) -> None:
        """One turn of one run: build its trainer, or train for one time slice."""
        try:
            if job.trainer is None:
                self.build(job)
                return
            budget = slice_for(job.pace, self.slice_s, self.settings.time_slice_s)
            if job.watched:  # a frame falls due mid-slice: end the slice then
                budget = min(budget, max(MIN_SLICE_S, job.frames.next_in(time.perf_counter())))
            job.pace.begin(time.monotonic())
            record = job.trainer.train_steps(budget)
            if record is None:
                self.maybe_probe(job)
                return
            job.pace.epoch_done()
            self.epoch_ended(job, record)
        except Exception as err:  # noqa: BLE001 - a run's failure must not end the worker
            self.fail(job, err)

    def advance_stacked(self, jobs: list[Job]) -> None:
        """One epoch of each of `jobs` (paced, running, one stack key: stacking.py) as one
        stacked computation, then for each what `advance` does after an epoch."""
        from server.engine.fastpath.stacked import train_epochs

        # Commands drained since the plan may have paused, stopped or stepped some.
        jobs = [j for j in jobs if self.jobs.get(j.run_id) is j and stackable(j)]
        if len(jobs) < STACK_MIN:
            for job in jobs:
                self._turn(job)
            return
        align(jobs)  # from now on they fall due together: one stack per interval
        now = time.monotonic()
        for job in jobs:
            job.pace.begin(now)
        if self.beat is not None:  # the watchdog blames the stack's first run for a hang
            self.beat.busy(jobs[0].run_id)
        try:
            results = train_epochs([job.trainer for job in jobs])
        except Exception as err:  # noqa: BLE001 - never the worker: the stack's runs end
            results = [err] * len(jobs)
        finally:
            if self.beat is not None:
                self.beat.idle()
        self.stacked_epochs += len(jobs)
        if self.beat is not None:
            self.beat.stacked(self.stacked_epochs)
        # The run whose last frame is oldest goes first: after a long stack the tail's runs
        # are late, and their frames come only from the probe share (frames.py), so a fixed
        # order would leave the same runs without frames every interval.
        order = sorted(range(len(jobs)), key=lambda i: jobs[i].frames.last)
        start, clock, count = time.perf_counter(), self.frame_clock, self.frame_count
        # The frames the stack's runs are due after this epoch, computed together (one pass
        # per resolution and probe key); the others are decided at their turn as before.
        frames = stacked_frames(self, [jobs[i] for i in order], [results[i] for i in order])
        for i in order:
            self._turn(jobs[i], results[i], frames.get(jobs[i].run_id))
        frame_time = self.frame_clock - clock
        turn_time = time.perf_counter() - start - frame_time
        self.stack_turns.measured(len(order), turn_time, self.frame_count - count, frame_time)

    def _turn(self, job: Job, result: Any = None, frame: Frame | None = None) -> None:
        """A run's turn: `advance` it (None), or end its stacked epoch (a record or the error
        that ended it; `frame`: the frame it is due after it, decided with its stack's).
        Under its busy mark: the pool ends a turn that holds the worker hostage (building,
        training, probing), and blames this run."""
        if self.beat is not None:
            self.beat.busy(job.run_id)
        try:
            if result is None:
                self.advance(job)
            elif isinstance(result, BaseException):
                self.fail(job, result)
            else:
                job.pace.epoch_done()
                self.epoch_ended(job, result, frame)
        except Exception as err:  # noqa: BLE001 - a run's failure must not end the worker
            self.fail(job, err)
        finally:
            if self.beat is not None:
                self.beat.idle()

    def epoch_ended(self, job: Job, record: dict, frame: Frame | None = None) -> None:
        """Stream an ended epoch's record, checkpoint, then finish, pause or probe the run
        (`frame`: decided already, after a stacked epoch)."""
        # When the epoch ended (Unix s), on the trainer's own record: a checkpoint's history
        # (what a takeover resumes with past the database's rows) equals the stream's.
        record.setdefault("time", round(time.time(), 3))
        record = json_safe(record)
        self.send("epoch", job.run_id, record)
        self.checkpoints.maybe_save(job.run_id, job.trainer)
        if job.trainer.finished:
            self.probe(job)
            self.finish(job)
        elif job.step_pending:
            job.step_pending = False
            if job.watched:
                self.probe(job)
            self.status(job, "paused")
        elif frame is not None:
            self.probe(job, frame.resolution, frame.snapshot, frame.cost)
        else:
            self.maybe_probe(job, epoch_ended=True)

    def build(self, job: Job) -> None:
        from server.engine.model import parse_experiment

        experiment = parse_experiment(job.doc, self.settings)
        job.trainer = self.factory(experiment, self.settings)
        if job.resume is not None:
            self.checkpoints.restore(job.trainer, job.resume)
        if job.lr is not None:
            job.trainer.set_learning_rate(job.lr)
        if not job.paused:
            self.status(job, "running")

    def finish(self, job: Job) -> None:
        """A run that trained its epochs, or stopped early (saying which epoch it kept)."""
        early = getattr(job.trainer, "early_stopping", None)
        if early is not None and early.stopped:
            self.send("early_stopped", job.run_id, early.best_epoch)
            self.end(job, "finished", early.message())
        else:
            self.end(job, "finished")

    def fail(self, job: Job, err: BaseException) -> None:
        from server.engine.errors import Diverged, ExperimentError

        if isinstance(err, Diverged):
            self.end(job, "diverged", str(err) or "the loss is no longer a finite number")
            return
        if isinstance(err, ExperimentError):
            message = str(err)
        else:
            if not isinstance(err, MemoryError):
                traceback.print_exc(file=sys.stderr)
            message = explain_failure(err, job.epoch, self.settings.worker_memory_mb)
        self.end(job, "failed", message)
        gc.collect()

    # -- snapshots ------------------------------------------------------------------------
    def maybe_probe(self, job: Job, epoch_ended: bool = False) -> None:
        """Probe when someone watches, at most `snapshot_rate` per second within a share of
        wall time (frames.py); after every epoch of a run paced at or below that rate that
        ended on time (its pace comes first), on the full grid unless the worker is
        saturated (frames.Load)."""
        allowed, resolution = self.frame_due(job, epoch_ended)
        if allowed:
            self.probe(job, resolution)

    def frame_due(
        self, job: Job, epoch_ended: bool = False, ahead: float = 0.0, pending: float = 0.0
    ) -> tuple[bool, int | None]:
        """Whether `job` is due a frame now, and its boundary side (None: the full grid).
        `ahead`: its turn is expected that many seconds from now; `pending`: seconds of
        frames decided before it, not yet run (a stack's: stacked_frames.py)."""
        if not job.watched:
            return False, None
        rate = job.pace.rate
        slow = rate is not None and rate <= self.settings.snapshot_rate
        slack = job.pace.wait(time.monotonic() + ahead) if epoch_ended and slow else None
        now = time.perf_counter()
        if not job.frames.allows(now, slack, pending):
            return False, None
        full = slow and not self.load.saturated(now)
        return True, None if full else MOVING_RESOLUTION

    def probe(
        self,
        job: Job,
        resolution: int | None = None,
        snapshot: dict | None = None,
        cost: float = 0.0,
    ) -> None:
        """Send the run's snapshot (`snapshot`: computed already, in `cost` seconds of a
        stacked pass, else its trainer's probe now), charged to its frame budget."""
        if job.trainer is None:
            return
        start = time.perf_counter() - cost
        if snapshot is None:
            snapshot = job.trainer.probe(resolution=resolution)
        text = snapshot_message(snapshot)
        # The per-layer part (a few hundred bytes) is kept by the hub for viewers who join
        # later: the norms and histograms over time need every snapshot's, not only the last.
        layers = snapshot.get("layers")
        layers_text = dumps({"epoch": job.epoch, "layers": layers}) if layers else None
        job.frames.spent(start, time.perf_counter(), surface="boundary" in snapshot)
        self.send("snapshot", job.run_id, job.epoch, text, layers_text)
        self.frame_clock += time.perf_counter() - start
        self.frame_count += 1
