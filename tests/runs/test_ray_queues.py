"""The Ray actor's plumbing without Ray: numbered commands released in order, and the real
worker loop training through the inbox and outbox the actor gives it instead of pipes."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

from server.config import Settings
from server.engine.trainer import Trainer
from server.runs.backends.ray_actor import Inbox, Outbox, PollWatch, ThreadBeat
from server.runs.worker import Worker

ROOT = Path(__file__).resolve().parents[2]
SPIRAL = {
    "dataset": {"name": "spiral", "samples": 100},
    "model": {"layers": [{"type": "dense", "units": 8, "activation": "tanh"}]},
    "training": {"epochs": 5, "batch_size": 10},
}


def test_inbox_releases_commands_in_the_order_of_their_numbers():
    inbox = Inbox()
    inbox.put(2, ("second",))
    inbox.put(3, ("third",))
    assert not inbox.poll(0)  # 1 has not arrived: nothing may overtake it
    inbox.put(1, ("first",))
    assert inbox.poll(0)
    assert [inbox.recv() for _ in range(3)] == [("first",), ("second",), ("third",)]
    inbox.put(2, ("again",))  # a number already released is a duplicate
    assert not inbox.poll(0.01)


def test_outbox_waits_for_a_message_and_hands_out_batches_in_order():
    outbox = Outbox()
    start = time.monotonic()
    assert outbox.take(0.05) == [] and time.monotonic() - start >= 0.04
    for i in range(5):
        outbox.send(("epoch", i))
    assert outbox.take(1.0, limit=3) == [("epoch", 0), ("epoch", 1), ("epoch", 2)]
    assert outbox.take(1.0) == [("epoch", 3), ("epoch", 4)]


LONG_S = 3600.0  # a linger or poll no test waits out: a take that returns did not wait


def take_in_thread(outbox: Outbox, linger: float) -> tuple[threading.Event, list]:
    """One poll with `linger` in a thread (as the actor's Ray thread takes it): set when it
    returned, with what."""
    returned, taken = threading.Event(), []

    def poll() -> None:
        taken.extend(outbox.take(LONG_S, linger=linger))
        returned.set()

    threading.Thread(target=poll, daemon=True).start()
    return returned, taken


def test_a_runs_first_epoch_ends_a_polls_linger():
    """The linger batches a run's stream; a run's first epoch is awaited by its viewer (POST
    -> first epoch): it ends the linger that an earlier message of the stream started. Before,
    the first epoch waited out the linger (20 ms) that the run's frame had started."""
    outbox = Outbox()
    returned, taken = take_in_thread(outbox, linger=LONG_S)
    outbox.send(("snapshot", "r1", 0, "{}", None))  # a frame: the poll may linger for more
    outbox.send(("epoch", "r1", {"epoch": 1}))
    assert returned.wait(60), "the poll lingered past the run's first epoch"
    assert taken == [("snapshot", "r1", 0, "{}", None), ("epoch", "r1", {"epoch": 1})]


def test_a_status_or_an_answer_ends_a_polls_linger_and_a_runs_later_epochs_do_not():
    outbox = Outbox()
    returned, taken = take_in_thread(outbox, linger=LONG_S)
    outbox.send(("epoch", "r1", {"epoch": 1}))
    assert returned.wait(60) and taken == [("epoch", "r1", {"epoch": 1})]
    returned, taken = take_in_thread(outbox, linger=LONG_S)
    outbox.send(("epoch", "r1", {"epoch": 2}))  # r1 streams: its later epochs batch
    outbox.send(("epoch", "r1", {"epoch": 3}))
    outbox.send(("snapshot", "r1", 3, "{}", None))
    assert not returned.is_set()  # still lingering (an event, not a clock: it never returns)
    outbox.send(("ack", 7, "r1", None))  # someone waits on this one
    assert returned.wait(60)
    assert [m[0] for m in taken] == ["epoch", "epoch", "snapshot", "ack"]
    for awaited in [("status", "r1", "paused", None, 3), ("reply", 8, "r1", None, None, "{}")]:
        returned, taken = take_in_thread(outbox, linger=LONG_S)
        outbox.send(awaited)
        assert returned.wait(60) and taken == [awaited]
    # After a status, the run's next epoch is its first again (a resumed run's viewer).
    returned, taken = take_in_thread(outbox, linger=LONG_S)
    outbox.send(("epoch", "r1", {"epoch": 4}))
    assert returned.wait(60) and taken == [("epoch", "r1", {"epoch": 4})]


def test_the_worker_loop_trains_a_run_through_the_queues(tmp_path):
    settings = Settings(persist_runs=False, state_dir=tmp_path, fast_path_compiled=False)
    inbox, outbox, beat = Inbox(), Outbox(), ThreadBeat()
    worker = Worker(settings, inbox, outbox, Trainer, beat)
    loop = threading.Thread(target=worker.loop, daemon=True)
    loop.start()
    inbox.put(1, ("start", "r1", SPIRAL, False))
    inbox.put(2, ("control", None, "r1", "watch", True))
    messages: list[tuple] = []
    deadline = time.monotonic() + 60
    while not any(m[0] == "status" and m[2] == "finished" for m in messages):
        assert time.monotonic() < deadline, messages[-3:]
        messages += outbox.take(0.5)
    inbox.put(3, ("shutdown",))
    loop.join(10)
    assert not loop.is_alive()
    assert messages[0] == ("accepted", "r1")
    assert [m[2]["epoch"] for m in messages if m[0] == "epoch"] == [1, 2, 3, 4, 5]
    assert any(m[0] == "snapshot" for m in messages)
    assert beat.report()["busy_run"] is None  # between runs once it ended


def test_an_actor_left_unpolled_by_its_server_ends_itself():
    """A server killed with -9 left its Ray actors running (Ray keeps them as long as the
    cluster lives): an actor ends its process once no poll came for `ray_orphan_s`."""
    orphaned = threading.Event()
    watch = PollWatch(0.3, on_orphan=orphaned.set)
    assert not orphaned.wait(1.0)  # never polled yet (warming up): no clock running
    watch.seen()  # the server's first poll, and then none
    assert orphaned.wait(30)


def test_an_actor_polled_by_its_server_lives_on():
    orphaned = threading.Event()
    watch = PollWatch(5.0, on_orphan=orphaned.set)
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        watch.seen()
        time.sleep(0.05)  # polls 100x more often than the limit
    assert not orphaned.is_set()


# In a fresh interpreter: in this one an earlier test may have loaded the kernel already.
ACTOR_READY = """
import sys
from server.config import Settings
from server.engine.fastpath import compiler
from server.runs.backends.ray_actor import WorkerActor

actor = WorkerActor(Settings(persist_runs=False, state_dir=sys.argv[1]).model_dump(mode="json"))
while True:
    messages, state = actor.poll(30.0)
    if any(m[0] == "ready" for m in messages):
        print("kernel at ready:", compiler.status())
        break
    assert not state["done"], "the actor's loop ended before it was ready"
actor.command(1, ("shutdown",))
assert actor.join(30)
"""


def test_an_actor_has_loaded_the_compiled_kernel_when_it_says_ready(tmp_path):
    # As the local pool's forkserver does (zygote.py): a kernel loaded lazily held the GIL
    # beside the actor's first runs (the Ray backend's slow first epochs).
    done = subprocess.run(
        [sys.executable, "-c", ACTOR_READY, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "kernel at ready: ready" in done.stdout, done.stdout + done.stderr[-2000:]
