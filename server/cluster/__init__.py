"""Replicas: several `layerlab serve` processes sharing PostgreSQL and Redis as one LayerLab.

Built by `create_app` only when `LAYERLAB_REDIS_URL` is set; without it nothing here runs and
one process behaves as before. One module per job: `bus.py` (the runs owned here, into Redis
streams, and their leases), `mirror.py` (runs owned elsewhere, out of Redis into this hub),
`relay.py` (controls to the owning replica), `takeover.py` (the runs of a replica that died),
`class_events.py` (classes' changes between replicas), `census.py` (every replica's active
runs, for the run limits), `shared_limits.py` (class throttles and socket counts in Redis),
`admission.py` (a new run's slot in the run limits, atomically), `watch.py` (viewers
elsewhere make the owner's worker draw), `keys.py` (the key names).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import socket

from ..config import Settings
from ..core.statuses import TERMINAL
from ..runs.manager import RunManager
from ..store.store import Store, StoreUnavailable
from . import keys
from .admission import Admission
from .bus import RedisBus
from .census import Census
from .class_events import ClassEvents
from .mirror import Mirrors
from .relay import Relay, RelayRefused
from .shared_limits import SharedLimits
from .takeover import Takeover
from .watch import RemoteWatch

__all__ = ["Cluster", "RelayRefused"]

log = logging.getLogger("layerlab.cluster")
REDIS_WAIT_S = 5.0  # a request waits this long for a free Redis connection

WATCH_WAIT_S = 2.0  # a viewer of a run not (yet) in Redis waits this long for it
WATCH_POLL_S = 0.05
FOLLOW_AGAIN_S = 5.0  # a run that could not be followed is looked for again after this


class Cluster:
    """This replica's part in the set: its bus, its mirrors and its control relay."""

    def __init__(self, settings: Settings, store: Store):
        import redis.asyncio as aioredis  # only replicas need the client

        self.settings = settings
        self.store = store
        self.replica = settings.replica_id or (
            f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        )
        # A bounded pool that waits for a free connection (a lecture hall arriving at once);
        # each followed run and each relayed control in flight holds one while it blocks.
        pool = aioredis.BlockingConnectionPool.from_url(
            settings.redis_url,
            max_connections=settings.redis_max_connections,
            timeout=REDIS_WAIT_S,
            # redis-py 8 reads with a 5 s timeout by default, blocking commands included: a
            # relayed ask's BLPOP waits up to LAYERLAB_RELAY_TIMEOUT_S, so reads wait past it.
            socket_timeout=settings.relay_timeout_s + REDIS_WAIT_S,
            decode_responses=True,
            protocol=2,
        )
        self.redis = aioredis.Redis(connection_pool=pool)
        self.bus = RedisBus(settings, store, self.redis, self.replica)
        self.relay = Relay(settings, store, self.redis, self.replica)
        self.census = Census(self.redis, self.replica, settings.lease_s, self.bus.changed)
        self.bus.census = self.census
        self.watch = RemoteWatch(self.redis, self.replica, settings.lease_s)
        self.relay.on_notice = self._notice
        self.mirrors: Mirrors | None = None
        self._waiting: dict[str, asyncio.Future] = {}  # run id -> the wait for it in Redis
        self._takeover: asyncio.Task | None = None
        self.takeover: Takeover | None = None
        self._manager: RunManager | None = None
        self.class_events = ClassEvents(self.redis, self.replica, settings.redis_stream_max)
        self._looked: dict[str, float] = {}  # run id -> when `follow` last looked for it
        self._follows: set[asyncio.Task] = set()
        self.limits = SharedLimits(settings.redis_url, self.replica, settings.lease_s)
        self.census.admission = Admission(self.redis, settings.lease_s, self.limits.errors)

    async def start(self, manager: RunManager) -> None:
        """Begin once the manager (handed `self.bus`) exists: mirrors feed its hub."""
        await self.redis.ping()
        self.mirrors = Mirrors(self.redis, manager.hub)
        await self.bus.start()
        await self.relay.start(manager)
        await self.census.start(manager)
        await self.limits.start()
        self.watch.start(manager.hub, self.mirrors, lambda run_id: run_id in manager.runs)
        self.takeover = Takeover(self.settings, manager.store, self.bus, self.mirrors)
        self._manager = manager

    def watch_lapsed(self) -> None:
        """Begin taking over the runs of replicas that died. Called once the classes have
        loaded and installed `takeover.class_of`: a class run taken over before then would
        come back as nobody's (counted per address, off its class's dashboard counts)."""
        assert self.takeover is not None and self._manager is not None, "start() first"
        self._takeover = asyncio.create_task(self.takeover.watch(self._manager))

    async def stop(self) -> None:
        if self._takeover is not None:
            self._takeover.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._takeover
        for task in list(self._follows):
            task.cancel()
        await self.class_events.stop()
        await self.census.stop()
        await self.limits.stop()
        await self.watch.stop()
        if self.mirrors is not None:
            await self.mirrors.stop()
        await self.relay.stop()
        await self.bus.stop()
        await self.redis.aclose()

    async def watchable(self, run_id: str) -> bool:
        """Whether a viewer here can follow `run_id` live (owned here or streamed by another).
        A run created a moment ago on another replica may not be in Redis yet: unless the
        database says it has ended, wait for it up to WATCH_WAIT_S."""
        if self.mirrors is None:
            return False
        if run_id in self.mirrors.hub.channels:
            return True
        # One look (and wait) per run, however many viewers arrive at once (a lecture hall at the start).
        waiting = self._waiting.get(run_id)
        if waiting is None:
            waiting = self._waiting[run_id] = asyncio.ensure_future(self._wait_for(run_id))
            waiting.add_done_callback(lambda _: self._waiting.pop(run_id, None))
        try:
            return await asyncio.shield(waiting)
        except Exception as err:  # Redis unreachable or busy (redis-py's errors): the database's
            # view only (the redis package is imported lazily: one process needs none)
            log.warning("Redis could not be read for run %s: %s", run_id, err)
            return False

    async def _wait_for(self, run_id: str) -> bool:
        assert self.mirrors is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WATCH_WAIT_S
        while not await self.mirrors.ensure(run_id):
            try:
                stored = await asyncio.to_thread(self.store.get_run, run_id)
            except StoreUnavailable:
                stored = None
            if (stored is not None and stored.status in TERMINAL) or loop.time() > deadline:
                return False
            await asyncio.sleep(WATCH_POLL_S)
        return True

    def follow(self, run_id: str) -> None:
        """Start following another replica's run into this hub if it can be (a class's
        dashboard shows it); returns at once, and looks again at most every FOLLOW_AGAIN_S."""
        loop = asyncio.get_running_loop()
        if self.mirrors is None or run_id in self.mirrors.hub.channels:
            return
        if loop.time() - self._looked.get(run_id, float("-inf")) < FOLLOW_AGAIN_S:
            return
        self._looked[run_id] = loop.time()
        if len(self._looked) > self.settings.redis_stream_max:  # bounded: the oldest go
            for old in list(self._looked)[: len(self._looked) // 2]:
                del self._looked[old]
        task = loop.create_task(self.watchable(run_id))
        self._follows.add(task)
        task.add_done_callback(self._follows.discard)

    async def control_elsewhere(self, run_id: str, action: str) -> bool:
        """A control for another replica's run (pause-all, stop-all): whether it applied."""
        try:
            await self.relay.control(run_id, action, None)
        except RelayRefused:
            return False
        return True

    def _notice(self, message: dict) -> None:
        """A notice from another replica on this replica's channel (relay.py)."""
        if "watch" in message:
            self.watch.heard(message)
        elif "handover" in message and self.takeover is not None:
            self.takeover.wake.set()

    async def hand_over(self, manager: RunManager) -> list[str]:
        """A graceful stop (SIGTERM): this replica's active runs go on elsewhere at once, each
        from a checkpoint saved now (not after their leases lapse), and the other replicas
        are told to look. Call it before `manager.stop()`. The ids handed over."""
        if self._takeover is not None:  # taking runs over while leaving would hold them here
            self._takeover.cancel()
        try:
            run_ids = await manager.hand_over()
        except Exception:  # never in the way of the stop: its runs end `interrupted` then
            log.exception("runs could not be handed over")
            return []
        if not run_ids:
            return []
        try:
            await self.bus.hand_over(run_ids)
            await self.census.write_now()  # no longer counted here
            body = json.dumps({"handover": run_ids, "from": self.replica})
            for replica in list(self.census.others):
                await self.redis.publish(keys.controls(replica), body)
        except Exception as err:  # their leases lapse anyway: taken over a lease later
            log.warning("runs could not be handed over at once: %s", err)
        log.info("handed %d runs over to the other replicas", len(run_ids))
        return run_ids
