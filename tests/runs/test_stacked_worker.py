"""Stacked turns in the worker (runs/stacking.py): due paced runs of one shape train their
epochs as one computation, and each streams its records as if it had trained alone.

On a worker thread (test_worker's Harness: every message read) and in a real worker process
(the pool: its beat counts the stacked epochs). Nothing here is timed: the tests wait on
records, and the runs are paced (they must be to stack) and train until paused or stopped.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest
import torch
from test_worker import Harness

from server.config import Settings
from server.engine.fastpath.stacked import train_epochs
from server.engine.model import parse_experiment
from server.engine.trainer import Trainer
from server.runs.backends.local import WorkerPool
from server.runs.frames import FrameBudget, StackTurns
from server.runs.job import Job as WorkerJob
from server.runs.pace import Pace
from server.runs.protocol import Epoch, Start
from server.runs.stacked_frames import NO_FRAME, stacked_frames
from server.runs.stacking import EARLY, STACK_MIN, plan
from server.runs.worker import Worker


def spiral(seed: int, lr: float = 0.03, pace: float | None = 100.0, **training) -> dict:
    return {
        "dataset": {"name": "spiral", "samples": 300, "seed": 2},
        "model": {
            "layers": [
                {"type": "dense", "units": 16, "activation": "tanh"},
                {"type": "dense", "units": 16, "activation": "tanh"},
            ]
        },
        "training": {
            "optimizer": "adam",
            "learning_rate": lr,
            "batch_size": 10,
            "epochs": None,
            "seed": seed,
            "pace": pace,
            **training,
        },
    }


@pytest.fixture
def harness():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as in a worker process (the default spins on a loaded machine)
    h = Harness(fast_path_compiled=False)
    yield h
    h.close()
    torch.set_num_threads(threads)


def records(h: Harness, run_id: str) -> list[dict]:
    return [m[2] for m in h.messages if m[0] == "epoch" and m[1] == run_id]


def until_epoch(h: Harness, run_id: str, epoch: int, timeout: float = 120.0) -> None:
    h.read_until(lambda m: m[0] == "epoch" and m[1] == run_id and m[2]["epoch"] >= epoch, timeout)


def test_paced_runs_of_one_shape_train_stacked_and_stream_their_own_ordered_epochs(harness):
    ids = ["a", "b", "c", "d"]  # a stack needs three (stacking.STACK_MIN): one can pause
    for i, run_id in enumerate(ids):
        harness.send("start", run_id, spiral(seed=i, lr=0.01 * (i + 2)), False)
    for run_id in ids:  # each with a viewer: every stacked run gets its frames
        harness.send("control", None, run_id, "watch", True)
    # A run of another shape beside them trains alone, as before; so does one of this shape
    # at another pace (a stack keeps one schedule).
    harness.send("start", "other", spiral(seed=9, batch_size=25), False)
    harness.send("start", "slower", spiral(seed=8, pace=20.0), False)
    for run_id in [*ids, "other"]:
        until_epoch(harness, run_id, 30)
    # Paced at a fifth of the others: never pulled along to their rate. The schedule keeps its
    # phase (pace.py), so an epoch that starts late (by up to an interval) is followed by
    # shorter gaps: a window's mean gap may be under 1/pace (47.8 ms against 50 once, over 5
    # gaps, on a quiet machine). Its span is at least its gaps less two intervals (the first
    # record's lateness and its own training); pulled along to 100/s, 9 gaps would take 90 ms.
    until_epoch(harness, "slower", 11)
    times = [r["time"] for r in records(harness, "slower")][1:11]
    assert times[-1] - times[0] >= (len(times) - 3) / 20.0, times
    worker = harness.worker
    assert worker.stacked_epochs >= 40  # most of the four runs' epochs were stacked
    for run_id in [*ids, "other"]:
        got = records(harness, run_id)
        assert [r["epoch"] for r in got] == list(range(1, len(got) + 1))
        assert all(isinstance(r["time"], float) for r in got)
        times = [r["time"] for r in got]
        assert times == sorted(times)
    for run_id in ids:
        shots = [m for m in harness.messages if m[0] == "snapshot" and m[1] == run_id]
        assert len(shots) >= 3, run_id
        # Each frame shows the epoch of the run's last record before it (computed after the
        # stacked epoch, sent at the run's turn after its record; epoch 0 when it began
        # being watched before its first).
        for shot in shots:
            at = harness.messages.index(shot)
            before = [m[2]["epoch"] for m in harness.messages[:at] if m[:2] == ("epoch", run_id)]
            shown = json.loads(shot[3])["snapshot"]["epoch"]
            assert shot[2] == shown == (before[-1] if before else 0), run_id
    # Their frames were computed together, one pass a stack (engine/fastpath/stacked_probes.py).
    assert worker.stacked_snapshots >= 20
    # Their own learning rates and weights: four different runs, not one copied.
    assert {records(harness, r)[0]["lr"] for r in ids} == {0.02, 0.03, 0.04, 0.05}
    assert len({records(harness, r)[9]["loss"] for r in ids}) == 4

    # Pausing one leaves the others going (and stacked); a new lr applies from the next epoch.
    harness.send("control", 1, "a", "pause", None)
    harness.read_until(lambda m: m[0] == "ack" and m[1] == 1)
    paused_at = len(records(harness, "a"))
    harness.send("control", 2, "b", "set_lr", 0.005)
    harness.read_until(lambda m: m[0] == "ack" and m[1] == 2)
    stacked_before = worker.stacked_epochs
    until_epoch(harness, "b", len(records(harness, "b")) + 15)
    until_epoch(harness, "c", len(records(harness, "c")) + 15)
    assert len(records(harness, "a")) == paused_at
    assert records(harness, "b")[-1]["lr"] == 0.005 and records(harness, "c")[-1]["lr"] == 0.04
    assert worker.stacked_epochs >= stacked_before + 30

    # Step one epoch of the paused run: it trains alone, then pauses again.
    harness.send("control", 3, "a", "step", None)
    harness.read_until(harness.status("a", "paused"))
    assert [r["epoch"] for r in records(harness, "a")] == list(range(1, paused_at + 2))

    # The stacked runs learn: the spiral's loss falls below a threshold.
    def learned(m) -> bool:
        return m[0] == "epoch" and m[1] == "c" and m[2]["loss"] < 0.25

    harness.read_until(learned, timeout=300)
    first = records(harness, "c")[0]["loss"]
    assert first > 0.5
    for run_id in ("b", "c", "d", "other", "slower"):
        harness.send("control", None, run_id, "stop", None)
        harness.read_until(harness.status(run_id, "stopped"))


class Job:
    def __init__(self, rate, key=("k",), due=0.0):
        self.pace = Pace(rate)
        self.pace.due = due
        self.paused = self.step_pending = False
        self.trainer = object()
        self.key = key

    @property
    def active(self) -> bool:
        return not self.paused


def test_the_plan_stacks_one_key_with_runs_due_early_and_leaves_the_rest(monkeypatch):
    monkeypatch.setattr("server.runs.stacking.stack_key", lambda job: job.key)
    due = [Job(20.0), Job(20.0), Job(20.0, key=("other",)), Job(None, key=None)]
    soon = Job(20.0, due=EARLY / 20.0 / 2)  # due within a quarter interval: joins early
    later = Job(20.0, due=0.04)  # 40 ms away: waits for its own turn
    stacks, alone = plan(due, [*due, soon, later], 0.0, limit=8)
    assert stacks == [[due[0], due[1], soon]]
    assert alone == [due[2], due[3]]
    stacks, alone = plan(due, due, 0.0, limit=1)  # the setting at 1: nothing stacks
    assert stacks == [] and alone == due
    many = [Job(20.0) for _ in range(7)]
    stacks, alone = plan(many, many, 0.0, limit=STACK_MIN)
    assert [len(s) for s in stacks] == [STACK_MIN, STACK_MIN] and alone == [many[6]]
    stacks, alone = plan(many[:2], many[:2], 0.0, limit=8)  # too few to be worth a stack
    assert stacks == [] and alone == many[:2]
    # Three runs a third of an interval apart: each turn sees two (too few), aligns them ...
    thirds = [Job(10.0, due=0.0), Job(10.0, due=0.033), Job(10.0, due=0.066)]
    stacks, alone = plan(thirds[:1], thirds, 0.0, limit=8)
    assert stacks == [] and alone == thirds[:1] and thirds[1].pace.due == 0.0
    assert plan(thirds[1:2], thirds, 0.001, limit=8)[1] == [thirds[1]]  # due now: its turn
    for job in thirds[:2]:  # both trained this interval
        job.pace.begin(0.001)
        job.pace.epoch_done()
    # ... so the next turn, the third finds both within its window: one stack of three.
    stacks, alone = plan(thirds[2:], thirds, 0.066, limit=8)
    assert stacks == [[thirds[2], thirds[0], thirds[1]]] and alone == []


def test_a_real_worker_process_trains_compatible_paced_runs_stacked(tmp_path):
    settings = Settings(workers=1, persist_runs=False, state_dir=tmp_path)
    epochs: dict[str, list[int]] = {"x": [], "y": [], "z": []}

    async def main():
        done = asyncio.Event()

        def on_message(worker, message):
            if isinstance(message, Epoch) and message.run_id in epochs:
                epochs[message.run_id].append(message.record["epoch"])
                if min(len(e) for e in epochs.values()) >= 40:
                    done.set()

        pool = WorkerPool(settings, on_message, lambda worker, reason: None)
        await pool.start()
        try:
            assert await pool.wait_ready(120)
            worker = pool.least_loaded()
            for i, run_id in enumerate(epochs):
                assert pool.send(worker, Start(run_id, spiral(seed=i, pace=50.0), False))
            await asyncio.wait_for(done.wait(), 240)
            return worker.beat.stacked_epochs
        finally:
            await pool.stop()

    stacked = asyncio.run(main())
    assert stacked >= 60  # of the 120+ epochs, most trained three at a time
    for got in epochs.values():
        assert got[:40] == list(range(1, 41))


def test_a_stacks_frames_are_decided_with_the_time_the_turns_ahead_of_each_take():
    """After a stacked epoch the frames are decided at once (their snapshots computed as one
    pass), each run's slack counted from its expected turn: runs whose turn would come after
    their next epoch is due get no frame (here no budget either), as one by one."""
    settings = Settings(persist_runs=False, fast_path_compiled=False)
    worker = Worker(settings, None, None, Trainer)  # never looping: no pipes needed
    jobs = []
    for i in range(4):
        doc = spiral(seed=i, pace=20.0)  # at or below the snapshot rate: a frame per epoch
        job = WorkerJob(str(i), doc, FrameBudget(settings.snapshot_rate, worker.probe_credit))
        job.trainer, job.watched = Trainer(parse_experiment(doc, settings), settings), True
        jobs.append(job)
    results = train_epochs([job.trainer for job in jobs])
    worker.stack_turns = StackTurns(turn_s=0.0, frame_s=0.1)  # each frame: 100 ms
    worker.probe_credit.credit = -1.0  # no budget: frames only within the slack
    now = time.monotonic()
    for job in jobs:  # the epoch began now, on time: the next is due in 250 ms
        job.pace.started, job.pace.due = now, now + 0.2
    frames = stacked_frames(worker, jobs, results)
    # Slack at each one's expected turn: 250, 150, 50 ms, then -50 ms: three frames.
    assert sorted(frames) == ["0", "1", "2"]
    for run_id in frames:
        frame = frames[run_id]
        assert frame.resolution is None and frame.cost > 0  # the full grid, a share of a pass
        assert frame.snapshot["epoch"] == 1 and "boundary" in frame.snapshot
    assert worker.stacked_snapshots == 3
    assert all(job.pace.started is None for job in jobs)  # their epochs ended on their pace


class Outbox:
    """A worker's pipe end that keeps what is sent (a worker here never loops)."""

    def __init__(self) -> None:
        self.sent: list[tuple] = []

    def send(self, msg: tuple) -> None:
        self.sent.append(msg)


def test_a_stacked_run_given_no_frame_with_its_stack_is_not_probed_alone_at_its_turn():
    """Decided again at its turn, such a run was probed alone (2-4x a stacked probe's CPU):
    with 100 runs stacked at 20 epochs a second, 15% of a worker's time."""
    settings = Settings(persist_runs=False, fast_path_compiled=False)
    worker = Worker(settings, None, Outbox(), Trainer)
    jobs = []
    for i in range(3):
        doc = spiral(seed=i, pace=20.0)
        job = WorkerJob(str(i), doc, FrameBudget(settings.snapshot_rate, worker.probe_credit))
        job.trainer, job.watched = Trainer(parse_experiment(doc, settings), settings), True
        jobs.append(job)
    results = train_epochs([job.trainer for job in jobs])
    worker.probe_credit.credit = -1.0  # no budget, and every run late: no frame is due
    for job in jobs:
        job.pace.started, job.pace.due = time.monotonic() - 1.0, time.monotonic() - 0.5
    assert stacked_frames(worker, jobs, results) == {}
    worker.probe_credit.credit = 1.0  # at its turn a frame would be allowed again
    worker._turn(jobs[0], results[0], NO_FRAME)
    sent = [m[0] for m in worker.out.sent if m[1] == "0"]
    assert "epoch" in sent and "snapshot" not in sent
    # Without the stack's decision (None: decide now), the same turn probes: the test can fail.
    worker._turn(jobs[1], results[1], None)
    assert "snapshot" in [m[0] for m in worker.out.sent if m[1] == "1"]
