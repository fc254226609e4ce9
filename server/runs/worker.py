"""The worker process: trains many runs, time-sliced round-robin, and streams what it measures.

A worker is forked from a forkserver that has imported the engine and loaded the compiled
kernel once (zygote.py: the workers share those pages), never from the server itself (a Ray
actor runs the same loop on a thread: backends/ray_actor.py). It reads commands from one pipe
and writes messages to another, in order, so the server sees each run's records, snapshots
and status changes exactly as they happened. Each run gets `train_steps(time_slice_s)` in
turn, so every started run keeps progressing however many share the worker.

The commands and messages, and their wire tuples, are in runs/protocol.py: the worker decodes
each command to its type (a garbled one is logged and ignored) and writes its messages as the
bare tuples. Here: the loop, its commands' dispatch, the training turns (one run's, or a stack
of runs' as one computation: stacking.py) and the frames; a run's controls and end are in
job.py, the answers to questions in answers.py.
"""

from __future__ import annotations

import sys
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

from ..config import Settings
from .answers import Answers
from .asks import AskQueue, Question
from .beat import HEARTBEAT_S, Beat
from .checkpoints import Checkpointer
from .frames import MOVING_RESOLUTION, FrameBudget, Load, ProbeCredit, StackTurns
from .job import Job, Jobs
from .messages import dumps, json_safe, snapshot_message
from .pace import MIN_SLICE_S, schedule, slice_for
from .protocol import Ask, CancelAsk, Control, ProtocolError, Query, Shutdown, Start, decode_command
from .stacked_frames import NO_FRAME, Frame, stacked_frames
from .stacking import STACK_MIN, align, plan, stackable

DEFAULT_TRAINER = "server.engine.trainer:Trainer"


class Worker(Jobs, Answers):
    """The main loop of one worker process; its runs' controls and ends are `job.Jobs`', its
    answers to questions `answers.Answers`'."""

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
        self.load = Load()  # its busy share of wall time: paced frames coarser when saturated
        # all its runs' probes: a share of wall time, smaller while saturated
        self.probe_credit = ProbeCredit(load=self.load)
        self._send_lock = threading.Lock()  # one message at a time on the pipe, from any thread
        # A folder the server cannot see (a Ray actor's): the checkpoints and exports it
        # writes go to the server as "file" messages too (files.py).
        self.own_folder = False
        self.checkpoints = Checkpointer(settings, self.checkpoint_changed)
        self.asks = AskQueue()  # questions waiting their run's turn (asks.py)
        self.stacked_epochs = 0  # epochs trained in stacked calls (stacking.py), on the beat
        self.stacked_snapshots = 0  # snapshots computed in stacked passes (stacked_frames.py)
        self.stack_turns = StackTurns()  # what a stack's turns and frames cost (frames.py)
        self.frame_clock = 0.0  # seconds spent on frames (probe, encode, send), and how many
        self.frame_count = 0

    # -- messages -------------------------------------------------------------------------
    def send(self, *msg: Any) -> None:
        """A message to the server, as its bare wire tuple (runs/protocol.py decodes it): no
        dataclass on this side, which sends thousands a second."""
        with self._send_lock:  # one at a time on the pipe, from any thread
            self.out.send(msg)

    def refuse_garbled(self, wire: object, why: str) -> None:
        """Answer a garbled control, ask or query whose seq and run id can be read: its caller
        is told at once, instead of waiting out its timeout and taking silence for consent."""
        if not (isinstance(wire, tuple) and len(wire) >= 3 and isinstance(wire[1], int)):
            return
        kind, seq, run_id = wire[0], wire[1], wire[2]
        if not isinstance(run_id, str):
            return
        refusal = f"the worker could not read this command ({why})"
        if kind == "control":
            self.send("ack", seq, run_id, refusal)
        elif kind in ("ask", "query"):
            self.send("reply", seq, run_id, ("refused", refusal), None)

    def heartbeat(self) -> None:
        """Thread body: stamp the beat every HEARTBEAT_S. Torch releases the GIL inside its
        kernels, so a long step does not silence it; a stopped (SIGSTOP) or wedged process
        does. Nothing goes through the pipe, so a server that reads late cannot block it."""
        while self.running and self.beat is not None:
            self.beat.alive()
            time.sleep(HEARTBEAT_S)

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

    def handle(self, wire: tuple) -> None:
        """One command (runs/protocol.py); a garbled one is logged and ignored, and refused
        where it carries a sequence number its caller waits on."""
        try:
            command = decode_command(wire)
        except ProtocolError as err:
            print(
                f"layerlab worker: ignored a garbled command ({err}): {wire!r:.300}",
                file=sys.stderr,
                flush=True,
            )
            self.refuse_garbled(wire, str(err))
            return
        match command:
            case Start(run_id, experiment, paused, resume):
                frames = FrameBudget(self.settings.snapshot_rate, self.probe_credit)
                self.jobs[run_id] = job = Job(run_id, experiment, frames)
                job.paused, job.resume = bool(paused), resume
                self.send("accepted", run_id)
            case Control():
                self.control_command(command)
            case Ask(seq, run_id, raw, explain, target):  # answered in the run's turn
                self.queue(Question(seq, run_id, raw, explain, target))
            case Query(seq, run_id, kind, params):  # like an ask: a projection, recommendations
                self.queue(Question(seq, run_id, params, False, None, kind))
            case CancelAsk(seq):  # its caller gave up: never answered
                self.asks.cancel(seq)
            case Shutdown():
                for job in self.jobs.values():  # the server stops: its runs can be resumed later
                    self.checkpoints.save(job.run_id, job.trainer)
                self.running = False

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
        # per resolution and probe key), and only there.
        frames = stacked_frames(self, [jobs[i] for i in order], [results[i] for i in order])
        for i in order:  # a run not given a frame there waits for its next stacked epoch:
            # decided again at its turn, it was probed alone, at 2-4x a stacked probe's CPU
            # (15% of a worker's time, with 100 runs stacked at 20 epochs a second)
            self._turn(jobs[i], results[i], frames.get(jobs[i].run_id, NO_FRAME))
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
        (`frame`: decided already, after a stacked epoch; NO_FRAME: none is due)."""
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
        elif frame is NO_FRAME:
            pass
        elif frame is not None:
            self.probe(job, frame.resolution, frame.snapshot, frame.cost)
        else:
            self.maybe_probe(job, epoch_ended=True)

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
