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
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from ...config import Settings
from ..beat import HEARTBEAT_S
from ..files import needed
from ..protocol import decode
from .base import WorkerBase, WorkerSet
from .ray_actor import WorkerActor

with warnings.catch_warnings():  # Ray's own imports may warn (deprecations of its deps)
    warnings.simplefilter("ignore")
    import ray
    from ray.exceptions import GetTimeoutError, RayActorError, RayError

POLL_S = 0.25  # an idle actor answers its poll this often: the server's heartbeat
GET_TIMEOUT_S = 1.0  # the reader looks up from a poll this often (to notice closing)
READ_LAST_S = 2.0  # at stop, an ended actor's last messages are read within this
ACTOR_CONCURRENCY = 4  # the loop's thread aside: poll, command, where, join at once
# Ray starts its worker processes at nice 15 (so they yield to its own daemons). A LayerLab
# actor trains a person's run while they watch: it runs at the local pool's priority, 0. At
# nice 15 beside two busy normal processes each actor got ~5% of a core, and two of them had
# not warmed up after 240 s (tests/api/test_ray_backend.py beside two `while 1: pass`).
ACTOR_ENV = {"RAY_worker_niceness": "0"}


@dataclass(eq=False, kw_only=True)
class ActorHandle(WorkerBase):
    """The server's view of one worker actor."""

    actor: Any  # ray.actor.ActorHandle
    name: str  # the actor's name in Ray (`ray.get_actor(name)`, e.g. to kill it by hand)
    exit_reason: str | None = None  # Ray's words for how it went
    heard: float = field(default_factory=time.monotonic)  # the last poll reply came then
    state: dict = field(default_factory=dict)  # that reply's heartbeat, memory, done
    where: dict = field(default_factory=dict)  # node_id, node (address), actor_id, pid

    # No reply this long: no new runs go there meanwhile. Looser than the local pool's 1.5 s
    # (a stamp in shared memory): a reply crosses Ray's RPC and the server's GIL, and on a
    # loaded 2-core machine it was seen 3 s late while ten requests were being checked at once
    # (below the 5 s default of LAYERLAB_HEARTBEAT_TIMEOUT_S).
    FRESH_S: ClassVar[float] = 4.0

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

    def rss(self) -> int:
        return int(self.state.get("rss") or 0)

    @property
    def pid(self) -> int | None:
        return self.where.get("pid")

    def describe(self) -> dict:
        return {
            **super().describe(),
            "node": self.where.get("node"),
            "node_id": self.where.get("node_id"),
            "actor_id": self.where.get("actor_id"),
            "actor_name": self.name,
        }


class RayBackend(WorkerSet):
    """Keeps `settings.workers` worker actors alive on a Ray cluster."""

    name = "ray"
    noun = "Ray worker actor"

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._owns_ray = False  # started Ray itself: shuts it down at stop
        self._remote: Any = None
        self._options: dict = {}
        self._prefix = f"layerlab-{secrets.token_hex(3)}"  # two servers may share a cluster

    async def _open(self) -> None:
        """Join (or start) Ray; the actors warm up before the first run."""
        self._owns_ray = await asyncio.to_thread(connect, self.settings)
        gpus = await asyncio.to_thread(gpu_share, self.settings)
        self._remote = ray.remote(WorkerActor)
        self._options = {
            "num_cpus": self.settings.ray_num_cpus,
            "num_gpus": gpus,
            "max_concurrency": ACTOR_CONCURRENCY,
            "max_restarts": 0,  # a dead actor's runs are lost anyway: the backend replaces it
            "scheduling_strategy": "SPREAD",  # across the cluster's nodes
            "runtime_env": {"env_vars": ACTOR_ENV},
        }

    def _spawn(self, wid: int) -> ActorHandle:
        name = f"{self._prefix}-worker-{wid}"
        actor = self._remote.options(**self._options, name=name).remote(
            actor_settings(self.settings), self.factory
        )
        return ActorHandle(wid, actor=actor, name=name)

    def _write(self, worker: ActorHandle, seq: int, message: tuple) -> None:
        # The actor cannot read this server's folder: a start's files go with it.
        message, files = needed(self.settings, message)
        try:
            worker.actor.command.remote(seq, message, files or None)
        except RayError as err:
            raise OSError(f"Ray: {type(err).__name__}") from None  # gone: its reader says so

    def _terminate(self, worker: ActorHandle) -> None:
        with contextlib.suppress(RayError, ValueError):
            ray.kill(worker.actor, no_restart=True)

    def _heard(self, worker: ActorHandle) -> None:
        worker.heard = time.monotonic()

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

    def _receive(self, worker: ActorHandle) -> None:
        """One poll in flight; its messages go to the loop in order; each reply doubles as a
        heartbeat (the actor's heartbeat thread, its busy run, its resident memory)."""
        try:
            worker.where = self._get(worker, worker.actor.where.remote())
            worker.heard = time.monotonic()
            while True:
                messages, state = self._get(worker, worker.actor.poll.remote(POLL_S))
                worker.heard, worker.state = time.monotonic(), state
                self._deliver(worker, [decode(m) for m in messages])
                if state.get("done") and not messages:
                    worker.exit_reason = worker.exit_reason or "its worker loop ended"
                    break
        except RayActorError as err:
            worker.exit_reason = actor_died_reason(err)
        except (RayError, GetTimeoutError) as err:
            worker.exit_reason = f"Ray error: {type(err).__name__}"
        worker.alive = False
        if not self._closing:
            self._terminate(worker)  # the loop ended: the process goes too

    def _exit_words(self, worker: ActorHandle) -> str:
        where = worker.where.get("node")
        return (
            f"Ray worker actor {(worker.where.get('actor_id') or '?')[:8]}"
            f"{f' on node {where}' if where else ''} died ({worker.exit_reason}); "
            "it was replaced: start the run again"
        )

    def _finish(self, workers: list[ActorHandle], timeout: float) -> None:
        joins = [w.actor.join.remote(timeout) for w in workers if w.alive]
        with contextlib.suppress(RayError, GetTimeoutError):
            ray.wait(joins, num_returns=len(joins), timeout=timeout + 1)
        # An ended loop's last messages (the checkpoints of its runs, written at shutdown)
        # are read by its reader before the actor goes: they live only in its memory.
        deadline = time.monotonic() + min(timeout, READ_LAST_S)
        while any(w.alive for w in workers) and time.monotonic() < deadline:
            time.sleep(0.02)
        for worker in workers:
            worker.alive = False
            self._terminate(worker)

    def _stop_all(self, workers: list[ActorHandle], timeout: float) -> None:
        super()._stop_all(workers, timeout)
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
    working directory is Ray's, not the server's). The actor's `state_dir` is its own
    (ray_actor.py): no folder is shared; `data_dir` and `cache_dir` (datasets put there by
    hand, downloads) are read on the actor's node if present there."""
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
