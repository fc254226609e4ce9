"""One run inside a worker (`Job`), and what the worker does to its runs besides training them
(`Jobs`, a base of `runs/worker.Worker`): build a run's trainer, apply the controls the server
sends (pause, step, step_batch, set_weight...), and end a run (finished, stopped, diverged,
failed), its export written first.

A control's refusal (a step_batch of a running run, a weight out of range) is returned to its
caller and never fails the run; an exception while applying one ends that run, never the worker.
"""

from __future__ import annotations

import gc
import sys
import time
import traceback
from typing import TYPE_CHECKING, Any

from ..config import Settings
from .checkpoints import Checkpointer
from .failures import explain_failure
from .files import ship
from .frames import FrameBudget
from .messages import dumps, json_safe
from .pace import Pace
from .protocol import Control


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


class Jobs:
    """A worker's runs: built, controlled, ended. A base of `Worker`, whose `send` (a message
    to the server) and `probe` (a run's snapshot, to its watchers) it calls."""

    settings: Settings
    factory: Any  # (experiment, settings) -> a trainer
    jobs: dict[str, Job]
    checkpoints: Checkpointer
    own_folder: bool  # the server cannot read this worker's folder: files go as messages

    if TYPE_CHECKING:  # Worker's, which this base calls

        def send(self, *msg: Any) -> None: ...
        def probe(self, job: Job, resolution: int | None = None) -> None: ...

    def status(self, job: Job, status: str, message: str | None = None) -> None:
        self.send("status", job.run_id, status, message, job.epoch)

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

    # -- controls -------------------------------------------------------------------------
    def control_command(self, command: Control) -> None:
        """Apply a control, and acknowledge it (unless its `seq` is None) with its refusal,
        or the failure that ended the run."""
        try:
            error = self.control(command.run_id, command.action, command.value)
        except Exception as err:  # noqa: BLE001 - e.g. a probe that fails: that run ends
            job = self.jobs.get(command.run_id)
            error = explain_failure(err, job.epoch if job else 0, self.settings.worker_memory_mb)
            if job is not None:
                self.fail(job, err)
        if command.seq is not None:
            self.send("ack", command.seq, command.run_id, error)

    def control(self, run_id: str, action: str, value: Any) -> str | None:
        """Apply one control action (runs/protocol.py lists them): None, or its refusal."""
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

    # -- the end of a run -----------------------------------------------------------------
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

    def checkpoint_changed(self, run_id: str, path: Any) -> None:
        """A checkpoint was written (`path`) or forgotten (None): send it when the server
        cannot read this worker's folder (the Checkpointer's callback)."""
        if not self.own_folder:
            return
        try:
            files = None if path is None else {path.name: path.read_bytes()}
        except OSError:
            return
        ship(self.send, run_id, "checkpoint", files)
