"""What runs inside one Ray actor: the worker loop of `runs/worker.py`, with queues for pipes.

The actor is threaded (`max_concurrency`): its worker loop runs in a thread of its own, while
Ray's threads serve three small methods: `command(seq, cmd)` puts a command in the inbox,
`poll(timeout)` hands back the messages written since the last poll (a long poll: it waits up
to `timeout` for the first one) with the heartbeat's state, `where()` says where it lives.

A threaded actor may run two calls out of their submission order, so commands carry the
sequence number the server gave them and the inbox releases them strictly in that order. The
server keeps one poll in flight per actor, so messages leave in the order the loop wrote them.
Nothing here imports Ray at module level: the actor class is wrapped by `ray.py`.

An actor shares no folder with its server (they may be on different machines): it writes in
a temporary folder of its own on its node (`state_dir` there), sends the checkpoints and export
files it writes back as "file" messages on the same channel as the rest, and gets the files a
start reads (a resume's checkpoint, an uploaded dataset) with the command (runs/files.py).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable

from ...config import Settings
from ..files import place
from ..worker import DEFAULT_TRAINER, Worker
from ..worker_process import load_factory, warm_factory

POLL_BATCH = 2000  # messages per poll reply at most (a reply stays a few MB even with snapshots)
POLL_LINGER_S = 0.02  # after a run's streamed message, a poll waits this long for more
# A run's stream, batched by the linger: the epochs after its first, frames, traces, files. Any
# other message is awaited by someone (a status, an ack, an answer, a run's first epoch since
# its last status) and ends the linger: with every message lingering, a run's first epoch
# waited out the 20 ms that its "accepted" had started, or a whole next linger when it came
# just after one (from the actor's sending it to the server's receiving it: median 10.6 ms, up
# to 129, against 2.1 after, at load average 12-22; bench/ray_backend.py's docstring).
STREAM = frozenset({"epoch", "snapshot", "trace", "file"})
# The compiled kernel is loaded before the actor says "ready", as the local pool's forkserver
# does before forking (zygote.py): loaded lazily, its import held the GIL beside the first runs
# (bench/ray_backend.py at load average ~13: POST -> first epoch 423 ms against the local
# pool's 231, up to 1.5 s, and the first round of 8 runs 25 s against 12-15 s for the next).
# Bounded: a cold compile on a busy machine may take half a minute; past this, runs start on
# the NumPy path and the kernel takes over when it is ready, as before.
KERNEL_WAIT_S = 60.0
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


class Inbox:
    """Commands numbered 1, 2, 3... by the server, released in that order (a Connection's
    `poll`/`recv`, as `Worker.drain` reads them)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._early: dict[int, tuple] = {}  # arrived before an earlier number
        self._ready: deque[tuple] = deque()
        self._next = 1

    def put(self, seq: int, command: tuple) -> None:
        with self._cond:
            if seq < self._next:
                return  # a duplicate: already released
            self._early[seq] = command
            while self._next in self._early:
                self._ready.append(self._early.pop(self._next))
                self._next += 1
            self._cond.notify_all()

    def poll(self, timeout: float | None = 0.0) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: bool(self._ready), timeout)

    def recv(self) -> tuple:
        with self._cond:
            self._cond.wait_for(lambda: bool(self._ready))
            return self._ready.popleft()

    def close(self) -> None:
        pass


class Outbox:
    """The worker's messages, in order, until the server polls them (a Connection's `send`)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._items: deque[tuple] = deque()
        self._awaited = False  # a message someone waits on is queued: a lingering poll ends
        self._streaming: set[str] = set()  # runs whose first epoch since a status was sent
        self._limit = POLL_BATCH  # the waiting poll's batch
        self.closed = False

    def send(self, message: tuple) -> None:
        with self._cond:
            self._items.append(message)
            awaited = self._awaits(message)
            self._awaited = self._awaited or awaited
            # Wakes a waiting poll only when it would return: the first message, one awaited,
            # a full batch (each wake takes the GIL from the training thread).
            if awaited or len(self._items) in (1, self._limit):
                self._cond.notify_all()

    def _awaits(self, message: tuple) -> bool:
        """Whether someone waits on this message (it ends a poll's linger): anything but a
        run's stream, and a run's first epoch since its last status (a new run's, a resumed
        one's: its viewer waits for it)."""
        kind = message[0]
        if kind == "status":
            self._streaming.discard(message[1])
        elif kind == "epoch":
            if message[1] in self._streaming:
                return False
            self._streaming.add(message[1])
            return True
        return kind not in STREAM

    def take(self, timeout: float, limit: int = POLL_BATCH, linger: float = 0.0) -> list[tuple]:
        """Up to `limit` messages: waits up to `timeout` for the first, then, while they are
        a run's stream, up to `linger` for more (fewer, larger replies: each poll costs a Ray
        call on both sides); a message someone waits on ends the linger."""
        with self._cond:
            self._limit = limit
            if self._cond.wait_for(lambda: bool(self._items) or self.closed, timeout) and linger:
                self._cond.wait_for(
                    lambda: self._awaited or len(self._items) >= limit or self.closed, linger
                )
            count = min(limit, len(self._items))
            taken = [self._items.popleft() for _ in range(count)]
            self._awaited = self._awaited and bool(self._items)
            return taken

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()


class ThreadBeat:
    """`beat.Beat`'s worker side, kept in the actor's memory: the poll reports it."""

    def __init__(self) -> None:
        self._stamp = time.monotonic()
        self._since = 0.0
        self._run: str | None = None
        self._stacked = 0  # epochs trained in stacked calls (runs/stacking.py)

    def alive(self) -> None:
        self._stamp = time.monotonic()

    def busy(self, run_id: str) -> None:
        self._since = 0.0
        self._run = run_id
        self._since = time.monotonic()

    def idle(self) -> None:
        self._since = 0.0

    def stacked(self, epochs: int) -> None:
        self._stacked = epochs

    def report(self) -> dict:
        """Seconds since the last stamp, and the run the loop is in for how long (as of now:
        the server adds the time since it received this)."""
        now, since, run = time.monotonic(), self._since, self._run
        return {
            "stamp_age": now - self._stamp,
            "busy_run": run if since else None,
            "busy_s": now - since if since else 0.0,
            "stacked": self._stacked,
        }


class PollWatch:
    """Ends the actor's process once its server has stopped polling it for `limit_s`.

    A server killed with -9 leaves its actors to Ray, which keeps them (and their memory and
    reserved CPUs) as long as the cluster lives: the local processes' parent-watch
    (core/orphans.py) has no parent to watch here, as an actor is Ray's child, not the
    server's. The server polls every actor about every `POLL_S`; the clock starts at the
    first poll (a warming actor is not polled yet)."""

    def __init__(self, limit_s: float, on_orphan: Callable[[], None] | None = None):
        self.limit_s = limit_s
        self.on_orphan = on_orphan or _exit
        self.last: float | None = None
        self.thread = threading.Thread(target=self._watch, name="layerlab-poll-watch", daemon=True)
        self.thread.start()

    def seen(self) -> None:
        self.last = time.monotonic()

    def _watch(self) -> None:
        step = min(1.0, self.limit_s / 4)
        while True:
            time.sleep(step)
            if self.last is not None and time.monotonic() - self.last > self.limit_s:
                self.on_orphan()
                return


def _exit() -> None:
    print("layerlab: no poll from the server: it is gone; this actor exits", flush=True)
    os._exit(1)


class WorkerActor:
    """One worker as a Ray actor: `Worker.loop()` in a thread, fed through queues."""

    def __init__(self, settings_doc: dict, factory: str = DEFAULT_TRAINER):
        # A folder of its own on this node, never the server's (removed when the loop ends).
        self.folder = tempfile.mkdtemp(prefix="layerlab-actor-")
        self.settings = Settings(**{**settings_doc, "state_dir": self.folder})
        self.watch = PollWatch(self.settings.ray_orphan_s)
        self.inbox, self.outbox, self.beat = Inbox(), Outbox(), ThreadBeat()
        self.done = threading.Event()
        self.thread = threading.Thread(
            target=self._main, args=(factory,), name="layerlab-worker", daemon=True
        )
        self.thread.start()

    def _main(self, factory: str) -> None:
        """Set torch up for one thread, load the compiled kernel (KERNEL_WAIT_S), warm the
        engine, say "ready", then loop (worker_main's steps; no address-space limit here: Ray's own mappings would trip it, so the server
        watches the resident size instead)."""
        try:
            import torch

            torch.set_num_threads(1)
            if self.settings.fast_path and self.settings.fast_path_compiled:
                from ...engine.fastpath import compiler

                compiler.warm()
                compiler.wait(KERNEL_WAIT_S)
            trainer_factory = load_factory(factory)
            warm_factory(trainer_factory, self.settings)
            worker = Worker(self.settings, self.inbox, self.outbox, trainer_factory, self.beat)
            worker.own_folder = True
            worker.send("ready", os.getpid())
            threading.Thread(
                target=worker.heartbeat, name="layerlab-heartbeat", daemon=True
            ).start()
            try:
                worker.loop()
            finally:
                worker.running = False
        except Exception:  # noqa: BLE001 - the server sees `done` and replaces this actor
            traceback.print_exc()
        finally:
            self.outbox.close()
            shutil.rmtree(self.folder, ignore_errors=True)  # what the server needs was sent
            self.done.set()

    # -- called by the server (Ray threads) ----------------------------------------------
    def where(self) -> dict:
        """The node, address and ids of this actor (for GET /api/workers)."""
        import ray

        context = ray.get_runtime_context()
        return {
            "node_id": context.get_node_id(),
            "node": ray.util.get_node_ip_address(),
            "actor_id": context.get_actor_id(),
            "pid": os.getpid(),
            "state_dir": self.folder,
        }

    def command(self, seq: int, command: tuple, files: dict[str, bytes] | None = None) -> None:
        """Command number `seq`; `files` (relative to the state folder) are written in this
        actor's folder first (a resume's checkpoint, an uploaded dataset)."""
        if files or command[0] == "start":
            command = place(self.settings.state_dir, command, files)
        self.inbox.put(seq, command)

    def poll(self, timeout: float) -> tuple[list[tuple], dict]:
        """The messages written since the last poll (waiting up to `timeout` for one), and
        the heartbeat, resident memory and whether the loop has ended."""
        self.watch.seen()
        messages = self.outbox.take(timeout, linger=POLL_LINGER_S)
        return messages, {**self.beat.report(), "rss": _rss_bytes(), "done": self.done.is_set()}

    def join(self, timeout: float) -> bool:
        """Wait for the loop to end (after a shutdown command); whether it has."""
        return self.done.wait(timeout)


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * PAGE_SIZE
    except (OSError, ValueError, IndexError):
        return 0


__all__ = ["Inbox", "Outbox", "PollWatch", "ThreadBeat", "WorkerActor"]
