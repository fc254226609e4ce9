"""Run lifecycle with a stand-in pool (no processes): limits, placement, outcomes, storage."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest

from server.config import Settings
from server.runs import manager as manager_module
from server.runs.bus import RunBus
from server.runs.manager import ControlRefused, LimitReached, Quota, RunManager
from server.runs.protocol import decode

CHECK = {"input_shape": [2], "layers": [], "head": {"output_shape": [2]}, "total_params": 6}
EXPERIMENT = {"dataset": {"name": "spiral"}, "training": {"epochs": 3, "batch_size": 10}}


@dataclass(eq=False)
class FakeWorker:
    id: int
    runs: set = field(default_factory=set)
    alive: bool = True
    ready: bool = True
    pid: int = 0
    responsive: bool = True
    silent_s: float = 0.0
    busy: tuple = (None, 0.0)  # the run its loop is in, and for how long

    @property
    def load(self) -> int:
        return len(self.runs)

    def current(self) -> tuple:
        return self.busy


class FakePool:
    """Records commands (as their wire tuples); acknowledges controls as a worker would. Its
    `on_message` takes wire tuples too (decoded as a backend does)."""

    def __init__(self, settings, on_message, on_exit):
        self.on_message = lambda worker, message: on_message(worker, decode(message))
        self.on_exit = on_exit
        self.ack = True
        self.workers = {i: FakeWorker(i) for i in range(2)}
        self.sent: list[tuple] = []
        self.killed: list[tuple] = []

    async def start(self):
        pass

    async def stop(self):
        pass

    def least_loaded(self):
        usable = [w for w in self.workers.values() if w.alive and w.ready]
        return min(usable, key=lambda w: (w.load, w.id)) if usable else None

    def kill(self, worker, reason, culprit=None):
        self.killed.append((worker.id, reason))

    def send(self, worker, command):
        command = command.wire()
        self.sent.append((worker.id, command))
        if self.ack and command[0] == "control" and command[1] is not None:
            loop = asyncio.get_running_loop()
            loop.call_soon(self.on_message, worker, ("ack", command[1], command[2], None))
        return True

    def describe(self):
        return []


def make(tmp_path, **kw) -> RunManager:
    settings = Settings(**{"state_dir": tmp_path, "persist_runs": False, **kw})
    return RunManager(settings, pool_factory=FakePool)


def test_limits_per_client_and_in_all(tmp_path):
    async def main():
        manager = make(tmp_path, max_runs=3, max_runs_per_client=2)
        await manager.create(EXPERIMENT, CHECK, "alice")
        await manager.create(EXPERIMENT, CHECK, "alice")
        with pytest.raises(LimitReached, match="LAYERLAB_MAX_RUNS_PER_CLIENT"):
            await manager.create(EXPERIMENT, CHECK, "alice")
        await manager.create(EXPERIMENT, CHECK, "bob")
        with pytest.raises(LimitReached, match="LAYERLAB_MAX_RUNS"):
            await manager.create(EXPERIMENT, CHECK, "carol")

    asyncio.run(main())


def test_runs_go_to_the_least_loaded_worker_and_die_only_with_theirs(tmp_path):
    async def main():
        manager = make(tmp_path)
        runs = [await manager.create(EXPERIMENT, CHECK, "c") for _ in range(4)]
        assert [r.worker.id for r in runs] == [0, 1, 0, 1]
        for run in runs:
            manager.pool.on_message(run.worker, ("accepted", run.id))
        assert manager.owns(runs[0], runs[0].token) and not manager.owns(runs[0], "nope")
        assert not manager.owns(runs[0], None)
        manager.pool.on_exit(manager.pool.workers[0], "worker process died (signal 9, SIGKILL)")
        assert [r.status for r in runs] == ["failed", "queued", "failed", "queued"]
        assert runs[0].channel.message == "worker process died (signal 9, SIGKILL)"

    asyncio.run(main())


def test_controls_on_live_and_ended_runs(tmp_path):
    async def main():
        manager = make(tmp_path)
        run = await manager.create(EXPERIMENT, CHECK, "c")
        await manager.control(run, "pause")
        sent = manager.pool.sent[-1][1]
        assert sent[0] == "control" and sent[2:] == (run.id, "pause", None)
        manager.pool.on_message(run.worker, ("status", run.id, "finished", None, 3))
        with pytest.raises(ControlRefused, match="finished"):
            await manager.control(run, "resume")

    asyncio.run(main())


def test_ended_runs_are_stored_and_read_back_after_a_restart(tmp_path):
    async def main():
        manager = make(tmp_path, persist_runs=True)
        await manager.start()
        run = await manager.create(EXPERIMENT, CHECK, "c")
        worker = run.worker
        for epoch in (1, 2, 3):
            manager.pool.on_message(worker, ("epoch", run.id, {"epoch": epoch, "loss": 0.5}))
        manager.pool.on_message(worker, ("status", run.id, "finished", None, 3))
        await manager.stop()
        again = make(tmp_path, persist_runs=True)
        await again.start()
        assert again.get(run.id) is None  # not in memory: read from the database
        restored = await asyncio.to_thread(again.find, run.id)
        assert restored is not None and restored.status == "finished"
        detail = await asyncio.to_thread(again.detail, restored, 100)
        assert [r["epoch"] for r in detail["history"]] == [1, 2, 3]
        assert restored.token_hash not in (None, run.token)  # only a hash is written down
        assert again.owns_stored(restored, run.token) and not again.owns_stored(restored, "x")
        await again.stop()

    asyncio.run(main())


def test_runs_active_at_a_crash_come_back_interrupted(tmp_path):
    async def main():
        manager = make(tmp_path, persist_runs=True)
        await manager.start()
        run = await manager.create(EXPERIMENT, CHECK, "c")
        for epoch in (1, 2):
            manager.pool.on_message(run.worker, ("epoch", run.id, {"epoch": epoch}))
        assert await asyncio.to_thread(manager.store.writer.flush)
        manager.store.writer.close()  # the process dies: nothing more is written
        again = make(tmp_path, persist_runs=True)
        await again.start()
        restored = await asyncio.to_thread(again.find, run.id)
        assert restored.status == "interrupted" and "up to epoch 2" in restored.message
        assert restored.epoch == 2 and restored.last == {"epoch": 2}
        await again.stop()

    asyncio.run(main())


def test_only_a_few_ended_runs_stay_in_memory(tmp_path):
    async def main():
        manager = make(tmp_path, cache_runs=2)
        await manager.start()
        runs = [await manager.create(EXPERIMENT, CHECK, "c") for _ in range(4)]
        for run in runs:
            manager.pool.on_message(run.worker, ("status", run.id, "finished", None, 3))
        assert await asyncio.to_thread(manager.store.writer.flush)
        await manager.create(EXPERIMENT, CHECK, "c")
        assert [r.id for r in runs if manager.get(r.id)] == [r.id for r in runs[2:]]
        for run in runs[:2]:  # forgotten by memory, not by the database
            assert (await asyncio.to_thread(manager.find, run.id)).status == "finished"
        await manager.stop()

    asyncio.run(main())


def test_runs_a_dead_worker_never_took_go_to_a_live_one(tmp_path):
    """Issue 7.3: a run created just after a worker died was failed with "worker process died"."""

    async def main():
        manager = make(tmp_path)
        taken = await manager.create(EXPERIMENT, CHECK, "c")
        manager.pool.on_message(taken.worker, ("accepted", taken.id))
        dead = taken.worker
        late = await manager.create(EXPERIMENT, CHECK, "c")  # goes to worker 1 (least loaded)
        also_late = await manager.create(EXPERIMENT, CHECK, "c")  # worker 0, which is dying
        assert also_late.worker is dead
        dead.alive = False
        manager.pool.on_exit(dead, "worker process died (signal 9, SIGKILL)")
        assert taken.status == "failed"
        assert also_late.status == "queued" and also_late.worker.id == 1
        assert late.status == "queued"
        assert manager.pool.sent[-1] == (1, ("start", also_late.id, EXPERIMENT, False))

    asyncio.run(main())


def test_runs_wait_for_a_usable_worker_instead_of_a_dead_one(tmp_path):
    async def main():
        manager = make(tmp_path)
        for worker in manager.pool.workers.values():
            worker.ready = False  # both starting (or replaced and warming up)
        run = await manager.create(EXPERIMENT, CHECK, "c", paused=True)
        assert run.worker is None and list(manager.pending) == [run]
        assert not manager.pool.sent
        fresh = manager.pool.workers[1]
        fresh.ready = True
        manager.pool.on_ready(fresh)
        assert run.worker is fresh and not manager.pending
        assert manager.pool.sent == [(1, ("start", run.id, EXPERIMENT, True))]

    asyncio.run(main())


def test_a_run_stopped_while_it_waits_for_a_worker_ends_at_once(tmp_path):
    async def main():
        manager = make(tmp_path)
        for worker in manager.pool.workers.values():
            worker.alive = False
        run = await manager.create(EXPERIMENT, CHECK, "c")
        await manager.control(run, "stop")
        assert run.status == "stopped" and not manager.pending

    asyncio.run(main())


def test_a_queued_paused_run_takes_resume_and_starts_running(tmp_path):
    """Thirty runs created paused on a loaded machine can all be queued (no worker heard from
    within 1.5 s): resume must not be refused, and the run starts unpaused once placed."""

    async def main():
        manager = make(tmp_path)
        for worker in manager.pool.workers.values():
            worker.ready = False
        run = await manager.create(EXPERIMENT, CHECK, "c", paused=True)
        assert run.status == "paused" and list(manager.pending) == [run]
        await manager.control(run, "resume")
        assert run.status == "queued"
        await manager.control(run, "pause")
        assert run.status == "paused"
        await manager.control(run, "resume")
        fresh = manager.pool.workers[0]
        fresh.ready = True
        manager.pool.on_ready(fresh)
        assert manager.pool.sent == [(0, ("start", run.id, EXPERIMENT, False))]

    asyncio.run(main())


def test_the_run_a_worker_was_killed_for_says_what_to_change(tmp_path):
    async def main():
        manager = make(tmp_path, max_step_s=3)
        heavy, light = [await manager.create(EXPERIMENT, CHECK, "c") for _ in range(2)]
        light.worker = heavy.worker
        heavy.worker.runs.add(light.id)
        for run in (heavy, light):
            manager.pool.on_message(run.worker, ("accepted", run.id))
        worker = heavy.worker
        worker.culprit = heavy.id
        worker.alive = False
        manager.pool.on_exit(worker, "a run on this worker held it ... (LAYERLAB_MAX_STEP_S)")
        assert heavy.status == "failed"
        assert "one training step of this design took over 3 s" in heavy.channel.message
        assert "smaller batch size" in heavy.channel.message
        assert light.status == "failed" and "LAYERLAB_MAX_STEP_S" in light.channel.message

    asyncio.run(main())


def test_a_dead_worker_answers_only_its_own_pending_calls(tmp_path):
    """Issue 20: a worker's exit resolved every pending ack and ask with None, those of healthy
    workers too (their controls said done, their asks failed)."""

    async def main():
        manager = make(tmp_path)
        manager.pool.ack = False  # workers busy: nothing is acknowledged yet
        dying, healthy = [await manager.create(EXPERIMENT, CHECK, "c") for _ in range(2)]
        assert dying.worker is not healthy.worker
        control = asyncio.create_task(manager.control(healthy, "set_lr", learning_rate=0.1))
        ask = asyncio.create_task(manager.ask(healthy, [0.1, 0.2], False, None))
        lost = asyncio.create_task(manager.ask(dying, [0.1, 0.2], False, None))
        await asyncio.sleep(0.05)
        dying.worker.alive = False
        manager.pool.on_exit(dying.worker, "worker process died (signal 9, SIGKILL)")
        with pytest.raises(ControlRefused, match="ended before it could answer"):
            await lost
        await asyncio.sleep(0.05)
        assert not control.done() and not ask.done()  # still waiting for their own worker
        seqs = [c[1] for _, c in manager.pool.sent if c[0] in ("control", "ask")]
        manager.pool.on_message(healthy.worker, ("ack", seqs[0], healthy.id, "refused"))
        manager.pool.on_message(healthy.worker, ("reply", seqs[1], healthy.id, None, '{"a":1}'))
        with pytest.raises(ControlRefused, match="refused"):
            await control
        assert await ask == {"a": 1}

    asyncio.run(main())


def test_a_control_on_a_run_waiting_for_a_worker_follows_its_start(tmp_path):
    """Issue 20: step_batch on a run created paused before any worker was ready answered 409
    "no live worker"; it waits with the run and reaches the worker right after its start."""

    async def main():
        manager = make(tmp_path)
        for worker in manager.pool.workers.values():
            worker.ready = False
        run = await manager.create(EXPERIMENT, CHECK, "c", paused=True)
        asked = asyncio.create_task(manager.control(run, "step_batch", sample=3))
        await asyncio.sleep(0.05)
        assert not asked.done() and not manager.pool.sent
        fresh = manager.pool.workers[1]
        fresh.ready = True
        manager.pool.on_ready(fresh)
        await asked  # acknowledged by the worker it was placed on
        start, control = (c for _, c in manager.pool.sent)
        assert start == ("start", run.id, EXPERIMENT, True)
        assert control[0] == "control" and control[2:] == (run.id, "step_batch", 3)

    asyncio.run(main())


def test_run_ids_are_long_and_random(tmp_path):
    """Issue 20: 32-bit ids checked only against memory collided with stored runs."""

    async def main():
        manager = make(tmp_path)
        ids = {(await manager.create(EXPERIMENT, CHECK, f"c{i}")).id for i in range(3)}
        assert len(ids) == 3 and all(len(i) == 24 and int(i, 16) >= 0 for i in ids)

    asyncio.run(main())


def test_a_run_stopped_while_its_queued_control_waits_answers_it_at_once(tmp_path):
    async def main():
        manager = make(tmp_path)
        for worker in manager.pool.workers.values():
            worker.ready = False
        run = await manager.create(EXPERIMENT, CHECK, "c", paused=True)
        step = asyncio.create_task(manager.control(run, "step"))
        await asyncio.sleep(0.05)
        await manager.control(run, "stop")
        await asyncio.wait_for(step, 1.0)  # not the 5 s acknowledgement timeout
        assert run.status == "stopped" and not run.deferred and not len(manager.calls)

    asyncio.run(main())


def test_a_worker_that_takes_no_commands_gets_a_clear_refusal_and_a_stop_still_stops(tmp_path):
    async def main():
        manager = make(tmp_path)
        run = await manager.create(EXPERIMENT, CHECK, "c")
        manager.pool.send = lambda worker, command: False  # its queue is full
        with pytest.raises(ControlRefused, match="commands waiting"):
            await manager.control(run, "pause")
        run.worker.responsive, run.worker.silent_s = False, 7.0
        with pytest.raises(ControlRefused, match="not been heard from"):
            await manager.ask(run, [0.1, 0.2], False, None)
        await manager.control(run, "stop")
        assert run.status == "stopped"
        assert (
            manager.pool.killed and "stopped while its worker was busy" in manager.pool.killed[0][1]
        )

    asyncio.run(main())


def test_a_stop_waits_for_a_slow_worker_that_is_taking_it_and_kills_only_a_stuck_one(tmp_path):
    """The flake of tests/browser/test_watchable_stage.py ("no export links after Stop" under
    load): a worker writes the stopped run's export before it acknowledges the stop; on a
    loaded machine that took over STOP_WAIT_S, the server killed the worker as hung, and the
    run ended with no export. A worker heard from and in no turn is waited for; one stuck in a
    turn (a long step) or silent still has the run stopped at once and is replaced."""

    async def main():
        manager = make(tmp_path)
        manager.pool.ack = False
        slow = await manager.create(EXPERIMENT, CHECK, "c")
        loop = asyncio.get_running_loop()
        answered = asyncio.Event()

        def ack_late() -> None:  # the export written, then the worker's answer and status
            seq = next(c for _, c in reversed(manager.pool.sent) if c[0] == "control")[1]
            manager.pool.on_message(slow.worker, ("status", slow.id, "stopped", None, 0))
            manager.pool.on_message(slow.worker, ("ack", seq, slow.id, None))
            answered.set()

        loop.call_later(manager_module.STOP_WAIT_S + 0.5, ack_late)
        await manager.control(slow, "stop")
        assert answered.is_set() and slow.status == "stopped"
        assert manager.pool.killed == []  # taking its time is not hanging

        stuck = await manager.create(EXPERIMENT, CHECK, "c")
        stuck.worker.busy = (stuck.id, 30.0)  # one step for 30 s, heartbeat still fresh
        await manager.control(stuck, "stop")
        assert stuck.status == "stopped"
        assert [why for _, why in manager.pool.killed] == [
            f"run {stuck.id} was stopped while its worker was busy"
        ]

        silent = await manager.create(EXPERIMENT, CHECK, "c")
        silent.worker.busy, silent.worker.responsive = (None, 0.0), False  # SIGSTOP
        await manager.control(silent, "stop")
        assert silent.status == "stopped" and len(manager.pool.killed) == 2

    asyncio.run(main())


def test_one_process_creates_a_run_without_suspending(tmp_path):
    """Without replicas nothing in `create` waits: driven by hand, its coroutine finishes at
    its first step, so checks made just before it (the classes') hold for it."""
    manager = make(tmp_path, max_runs=1)
    step = manager.create(EXPERIMENT, CHECK, "c")
    with pytest.raises(StopIteration) as done:
        step.send(None)
    assert manager.get(done.value.value.id) is done.value.value
    refused = manager.create(EXPERIMENT, CHECK, "c")
    with pytest.raises(LimitReached, match="LAYERLAB_MAX_RUNS"):
        refused.send(None)


class SlowBus(RunBus):
    """A replica's bus whose Redis answers only when told to (`answer`)."""

    def __init__(self):
        self.asked: list[tuple[str, list[Quota]]] = []
        self.answers: asyncio.Queue = asyncio.Queue()

    async def admit(self, run_id, quotas):
        self.asked.append((run_id, list(quotas)))
        return await self.answers.get()


def test_a_run_waiting_for_its_slots_in_redis_holds_its_seat(tmp_path):
    """While a replica awaits Redis for one run, the others see it: counted in all, for its
    address, and (a class run) for its class and student, through `seats`; refused in Redis,
    its seat goes and nothing is registered."""

    async def main():
        settings = Settings(state_dir=tmp_path, persist_runs=False, max_runs=3)
        bus = SlowBus()
        manager = RunManager(settings, pool_factory=FakePool, bus=bus)
        first = asyncio.create_task(manager.create(EXPERIMENT, CHECK, "alice"))
        student = asyncio.create_task(
            manager.create(EXPERIMENT, CHECK, "alice", class_code="K", student="s1")
        )
        await asyncio.sleep(0)
        assert len(bus.asked) == 2 and not manager.runs  # both waiting for Redis
        assert manager.active_count() == 2 and manager.active_count("alice") == 1
        seats = {(s.client, s.class_code, s.student) for s in manager.seats()}
        assert seats == {("alice", None, None), ("alice", "K", "s1")}
        third = asyncio.create_task(manager.create(EXPERIMENT, CHECK, "bob"))
        await asyncio.sleep(0)
        with pytest.raises(LimitReached, match="LAYERLAB_MAX_RUNS"):  # the seats count
            await manager.create(EXPERIMENT, CHECK, "carol")
        full = Quota("student:K:s1", 1, "the student is full")
        for answer in (None, full, None):
            bus.answers.put_nowait(answer)
        run = await first
        with pytest.raises(LimitReached, match="the student is full"):
            await student
        await third
        assert set(manager.runs) == {run.id, third.result().id}
        assert len(manager.admission.reserved) == 0 and manager.active_count() == 2
        assert bus.asked[0][1][1].count == "client:alice"  # a run outside classes: per address
        assert [q.count for q in bus.asked[1][1]] == ["all"]  # a class run: per student

    asyncio.run(main())
