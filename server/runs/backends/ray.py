"""The Ray backend: workers are Ray actors placed anywhere in a cluster.

Each actor (`ray_actor.WorkerActor`) runs the same worker loop as a local process, so runs
behave the same: time-sliced, every message in order. Per actor the server keeps one reader
thread with one long poll in flight (`poll(POLL_S)`: the messages so far, or none after
POLL_S), so messages arrive in order, in batches, and each reply doubles as a heartbeat
(the actor's own heartbeat thread, its busy run, its resident memory). Commands are numbered
per actor and released in order inside it (a threaded actor may run calls out of order).

When a poll raises `RayActorError` (the actor, its process or its node died, or `ray.kill`)
the worker has exited: its runs fail with Ray's reason in words, and a new actor replaces it.
The watchdog kills (`ray.kill`) an actor silent for `heartbeat_timeout_s`, one whose single
step passes `max_step_s` (blaming that run), and one over `worker_memory_mb` resident.

Ray is optional (`pip install 'layerlab[ray]'`); this module is imported only when
`LAYERLAB_BACKEND=ray`. `LAYERLAB_RAY_ADDRESS`: `auto` or an address joins a cluster; empty
starts a local Ray for this machine (no dashboard), shut down with the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...config import Settings
from ..beat import HEARTBEAT_S
from ..worker import DEFAULT_TRAINER
from .base import ExitHandler, MessageHandler, ReadyHandler
from .ray_actor import WorkerActor

with warnings.catch_warnings():  # Ray's own imports may warn (deprecations of its deps)
    warnings.simplefilter("ignore")
    import ray
    from ray.exceptions import GetTimeoutError, RayActorError, RayError

POLL_S = 0.25  # an idle actor answers its poll this often: the server's heartbeat
GET_TIMEOUT_S = 1.0  # the reader looks up from a poll this often (to notice closing)
WATCH_S = 0.25
# No reply this long: no new runs go there meanwhile. Looser than the local pool's 1.5 s (a
# stamp in shared memory): a reply crosses Ray's RPC and the server's GIL, and on a loaded
# 2-core machine it was seen 3 s late while ten requests were being checked at once.
HEARTBEAT_FRESH_S = 4.0  # (below the 5 s default of LAYERLAB_HEARTBEAT_TIMEOUT_S)
ACTOR_CONCURRENCY = 4  # the loop's thread aside: poll, command, where, join at once


@dataclass(eq=False)
class ActorHandle:
    """The server's view of one worker actor."""

    id: int
    actor: Any  # ray.actor.ActorHandle
    name: str  # the actor's name in Ray (`ray.get_actor(name)`, e.g. to kill it by hand)
    started: float = field(default_factory=time.monotonic)
    ready: bool = False
    alive: bool = True
    runs: set[str] = field(default_factory=set)
    kill_reason: str | None = None
    culprit: str | None = None
    exit_reason: str | None = None  # Ray's words for how it went
    heard: float = field(default_factory=time.monotonic)  # the last poll reply came then
    state: dict = field(default_factory=dict)  # that reply's heartbeat, memory, done
    where: dict = field(default_factory=dict)  # node_id, node (address), actor_id, pid
    seq: int = 0  # the last command's number (the actor releases them in order)

    @property
    def silent_s(self) -> float:
        """Since the actor last answered a poll (a stopped or lost process cannot), or longer
        when its heartbeat thread has fallen silent meanwhile (a wedged interpreter)."""
        stale_beat = float(self.state.get("stamp_age", 0.0)) - HEARTBEAT_S
        return time.monotonic() - self.heard + max(0.0, stale_beat)

    def current(self) -> tuple[str | None, float]:
        run = self.state.get("busy_run")
        if run is None:
            return None, 0.0
        return run, float(self.state.get("busy_s", 0.0)) + time.monotonic() - self.heard

    @property
    def usable(self) -> bool:
        return (
            self.ready
            and self.alive
            and self.kill_reason is None
            and self.silent_s < HEARTBEAT_FRESH_S
        )

    @property
    def pid(self) -> int | None:
        return self.where.get("pid")

    @property
    def load(self) -> int:
        return len(self.runs)

    def describe(self) -> dict:
        busy = self.current()
        rss = self.state.get("rss")
        return {
            "id": self.id,
            "pid": self.pid,
            "ready": self.ready,
            "alive": self.alive,
            "runs": sorted(self.runs),
            "rss_mb": round(rss / 2**20, 1) if rss else None,
            "responsive": self.alive and self.silent_s < HEARTBEAT_FRESH_S,
            "silent_s": round(self.silent_s, 2),
            "busy_run": busy[0],
            "busy_s": round(busy[1], 2),
            "backend": "ray",
            "node": self.where.get("node"),
            "node_id": self.where.get("node_id"),
            "actor_id": self.where.get("actor_id"),
            "actor_name": self.name,
        }


class RayBackend:
    """Keeps `settings.workers` worker actors alive on a Ray cluster and routes messages."""

    name = "ray"

    def __init__(
        self,
        settings: Settings,
        on_message: MessageHandler,
        on_exit: ExitHandler,
        factory: str = DEFAULT_TRAINER,
        on_ready: ReadyHandler | None = None,
    ):
        self.settings = settings
        self.on_message = on_message
        self.on_exit = on_exit
        self.on_ready = on_ready
        self.factory = factory
        self.replaced = 0
        self.last_exit: str | None = None
        self.workers: dict[int, ActorHandle] = {}
        self._next_id = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing = False
        self._owns_ray = False  # started Ray itself: shuts it down at stop
        self._remote: Any = None
        self._options: dict = {}
        self._watchdog: asyncio.Task | None = None
        self._threads: list[threading.Thread] = []
        self._failures = 0
        self._prefix = f"layerlab-{secrets.token_hex(3)}"  # two servers may share a cluster

    async def start(self) -> None:
        """Join (or start) Ray, then create the actors; they warm up before the first run."""
        self._loop = asyncio.get_running_loop()
        self._owns_ray = await asyncio.to_thread(connect, self.settings)
        gpus = await asyncio.to_thread(gpu_share, self.settings)
        self._remote = ray.remote(WorkerActor)
        self._options = {
            "num_cpus": self.settings.ray_num_cpus,
            "num_gpus": gpus,
            "max_concurrency": ACTOR_CONCURRENCY,
            "max_restarts": 0,  # a dead actor's runs are lost anyway: the backend replaces it
            "scheduling_strategy": "SPREAD",  # across the cluster's nodes
        }
        for _ in range(self.settings.workers):
            self._spawn()
        self._watchdog = asyncio.create_task(self._watch())

    async def wait_ready(self, timeout: float = 60.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            workers = list(self.workers.values())
            if len(workers) >= self.settings.workers and all(w.ready for w in workers):
                return True
            await asyncio.sleep(0.05)
        return False

    def least_loaded(self) -> ActorHandle | None:
        usable = [w for w in self.workers.values() if w.usable]
        if not usable:
            return None
        return min(usable, key=lambda w: (w.load, w.id))

    def send(self, worker: ActorHandle, command: tuple) -> bool:  # type: ignore[override]
        if not worker.alive:
            return False
        worker.seq += 1
        try:
            worker.actor.command.remote(worker.seq, command)
        except RayError:
            worker.alive = False  # its reader reports the exit
            return False
        return True

    def kill(self, worker: ActorHandle, reason: str, culprit: str | None = None) -> None:  # type: ignore[override]
        if worker.kill_reason is None:
            worker.kill_reason, worker.culprit = reason, culprit
        with contextlib.suppress(RayError, ValueError):
            ray.kill(worker.actor, no_restart=True)

    def describe(self) -> list[dict]:
        return [w.describe() for w in self.workers.values()]

    async def stop(self, timeout: float = 5.0) -> None:
        """Ask every actor to finish (its active runs checkpoint), then kill what is left."""
        self._closing = True
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
        workers = list(self.workers.values())
        for worker in workers:
            self.send(worker, ("shutdown",))
        await asyncio.to_thread(self._join_all, workers, timeout)
        self.workers.clear()

    # -- internals ----------------------------------------------------------------------
    def _spawn(self) -> ActorHandle:
        wid = self._next_id
        self._next_id += 1
        name = f"{self._prefix}-worker-{wid}"
        actor = self._remote.options(**self._options, name=name).remote(
            actor_settings(self.settings), self.factory
        )
        worker = ActorHandle(wid, actor, name)
        self.workers[wid] = worker
        thread = threading.Thread(
            target=self._read, args=(worker,), name=f"layerlab-ray-reader-{wid}", daemon=True
        )
        thread.start()
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        return worker

    def _get(self, worker: ActorHandle, ref: Any) -> Any:
        """`ray.get`, looking up every GET_TIMEOUT_S to see whether the server is closing
        (raises RayActorError when the actor is gone)."""
        while True:
            try:
                return ray.get(ref, timeout=GET_TIMEOUT_S)
            except GetTimeoutError:
                if self._closing and not worker.alive:
                    raise
                continue

    def _read(self, worker: ActorHandle) -> None:
        """Reader thread: one poll in flight; its messages go to the loop in order."""
        try:
            worker.where = self._get(worker, worker.actor.where.remote())
            worker.heard = time.monotonic()
            while True:
                messages, state = self._get(worker, worker.actor.poll.remote(POLL_S))
                was_stale = worker.ready and worker.silent_s >= HEARTBEAT_FRESH_S
                worker.heard, worker.state = time.monotonic(), state
                if messages:
                    self._call(self._dispatch, worker, messages)
                if was_stale and self.on_ready is not None:
                    self._call(self._fresh_again, worker)  # runs that queued meanwhile
                if state.get("done") and not messages:
                    worker.exit_reason = worker.exit_reason or "its worker loop ended"
                    break
        except RayActorError as err:
            worker.exit_reason = actor_died_reason(err)
        except (RayError, GetTimeoutError) as err:
            worker.exit_reason = f"Ray error: {type(err).__name__}"
        worker.alive = False
        if not self._closing:
            with contextlib.suppress(RayError, ValueError):
                ray.kill(worker.actor, no_restart=True)  # the loop ended: the process goes too
        self._call(self._exited, worker)

    def _call(self, fn: Callable, *args: object) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(fn, *args)

    def _dispatch(self, worker: ActorHandle, messages: list[tuple]) -> None:
        for message in messages:
            if message[0] == "ready":
                worker.ready = True
                worker.heard = time.monotonic()
                self._failures = 0
                if self.on_ready is not None:
                    self.on_ready(worker)
            else:
                self.on_message(worker, message)

    def _fresh_again(self, worker: ActorHandle) -> None:
        if worker.usable and self.on_ready is not None:
            self.on_ready(worker)

    def _exited(self, worker: ActorHandle) -> None:
        worker.alive = False
        if self.workers.get(worker.id) is worker:
            del self.workers[worker.id]
        if self._closing:
            return
        where = worker.where.get("node")
        reason = worker.kill_reason or (
            f"Ray worker actor {(worker.where.get('actor_id') or '?')[:8]}"
            f"{f' on node {where}' if where else ''} died ({worker.exit_reason}); "
            "it was replaced: start the run again"
        )
        self.replaced += 1
        self.last_exit = reason
        self.on_exit(worker, reason)
        if not worker.ready:  # died while starting: back off instead of spinning
            self._failures += 1
            delay = min(30.0, 0.5 * 2 ** min(self._failures, 6))
            assert self._loop is not None
            self._loop.call_later(delay, self._replace)
        else:
            self._replace()

    def _replace(self) -> None:
        if not self._closing and len(self.workers) < self.settings.workers:
            self._spawn()

    async def _watch(self) -> None:
        """The pool's watchdog, on the polls' news: hung, a step over `max_step_s`, memory."""
        s = self.settings
        limit = s.worker_memory_mb * 2**20
        while True:
            await asyncio.sleep(WATCH_S)
            for worker in list(self.workers.values()):
                if not worker.alive or worker.kill_reason is not None or not worker.ready:
                    continue
                if worker.silent_s > s.heartbeat_timeout_s:
                    self.kill(
                        worker,
                        f"Ray worker actor stopped responding (no heartbeat for "
                        f"{worker.silent_s:.0f} s, LAYERLAB_HEARTBEAT_TIMEOUT_S); it was "
                        "replaced: start the run again",
                    )
                elif (busy := worker.current())[0] is not None and busy[1] > s.max_step_s:
                    self.kill(
                        worker,
                        f"a run on this worker held it for over {s.max_step_s:g} s in one "
                        "training step (LAYERLAB_MAX_STEP_S); the worker was replaced: "
                        "start this run again",
                        culprit=busy[0],
                    )
                elif (rss := int(worker.state.get("rss") or 0)) > limit:
                    self.kill(
                        worker,
                        f"Ray worker actor used {rss / 2**20:.0f} MB, over the limit of "
                        f"{s.worker_memory_mb} MB (LAYERLAB_WORKER_MEMORY_MB)",
                    )

    def _join_all(self, workers: list[ActorHandle], timeout: float) -> None:
        joins = [w.actor.join.remote(timeout) for w in workers if w.alive]
        with contextlib.suppress(RayError, GetTimeoutError):
            ray.wait(joins, num_returns=len(joins), timeout=timeout + 1)
        for worker in workers:
            worker.alive = False
            with contextlib.suppress(RayError, ValueError):
                ray.kill(worker.actor, no_restart=True)
        for thread in self._threads:
            thread.join(GET_TIMEOUT_S * 3)
        if self._owns_ray:
            ray.shutdown()


def connect(settings: Settings) -> bool:
    """Join the cluster `ray_address` names, or start a local Ray (no dashboard) when it is
    empty; nothing when this process is connected already. Whether Ray was started here."""
    if ray.is_initialized():
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        if settings.ray_address:
            ray.init(address=settings.ray_address, namespace="layerlab")
        else:
            ray.init(include_dashboard=False, namespace="layerlab")
    return True


def actor_settings(settings: Settings) -> dict:
    """The settings an actor gets: the server's, with its folders made absolute (an actor's
    working directory is Ray's, not the server's; on a cluster they are shared storage)."""
    doc = settings.model_dump(mode="json")
    for name in ("state_dir", "data_dir", "cache_dir"):
        doc[name] = str(Path(doc[name]).expanduser().absolute())
    return doc


def gpu_share(settings: Settings) -> float:
    """The GPU share each actor reserves: `ray_gpu_fraction` when runs train on CUDA
    (`device` cuda, or auto on a cluster that has GPUs), else none."""
    if settings.device == "cpu" or settings.ray_gpu_fraction == 0:
        return 0.0
    if settings.device == "cuda":
        return settings.ray_gpu_fraction
    return settings.ray_gpu_fraction if ray.cluster_resources().get("GPU", 0) > 0 else 0.0


def actor_died_reason(err: RayActorError) -> str:
    """Ray's reason in a few words: "it was killed by `ray.kill`", "its node died"..."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    for line in lines:
        if line.startswith("The actor is dead because"):
            return line.removeprefix("The actor is dead because").strip().rstrip(".")
    return lines[-1].rstrip(".") if lines else type(err).__name__
