"""The Redis bus: the runs this replica owns, copied to Redis for every other replica.

Each record, status and snapshot is queued from the event loop (never waited on) and one
writer task sends the queue in order, pipelined: records and statuses are XADDed to the run's
stream, so a reader on any replica sees them in the order they happened; a snapshot replaces
the run's one-entry snapshot stream (latest wins, and only the newest queued one is sent).
The queue is bounded by `LAYERLAB_REDIS_STREAM_MAX` entries: past it (Redis unreachable for
long) the oldest are dropped and logged; the database still has every record.

Each time a replica takes a run (created, resumed, taken over) its stream starts a new
generation (milliseconds since the epoch), announced on the run's resets stream, so followers
of an older one start over from the new history instead of seeing epochs twice.

Leases (server/store/leases.py): taken when a run is owned, renewed every third of
`LAYERLAB_LEASE_S` while it lives here, released when it ends. The worker's checkpoint file
of each run held here is copied into the database whenever it changes, so another replica
can take the run over from it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

from ..config import Settings
from ..core.statuses import TERMINAL
from ..runs import checkpoints
from ..runs.bus import RunBus
from ..runs.model import Quota
from ..store import leases
from ..store.store import Store
from . import keys
from .census import Census

log = logging.getLogger("layerlab.cluster")

ENDED_TTL_S = 3600  # an ended run's stream stays this long for late viewers; then the database
RETRY_S = 0.5


class RedisBus(RunBus):
    """Owner side: what this replica's runs say, into Redis, in order."""

    def __init__(self, settings: Settings, store: Store, redis: Any, replica: str):
        self.settings = settings
        self.store = store
        self.redis = redis
        self.replica = replica
        self.leased: set[str] = set()
        self.generations: dict[str, int] = {}  # run id -> its stream's generation here
        self._copied: dict[str, float] = {}  # run id -> mtime of the checkpoint copied
        self._queue: deque[tuple[str, str, dict]] = deque()  # (op, run id, fields)
        self._snapshots: dict[str, str] = {}  # run id -> the newest snapshot not yet sent
        self._wake = asyncio.Event()
        self._lease_jobs: deque[tuple[str, str]] = deque()  # ("take" | "release", run id)
        self._round = asyncio.Lock()  # one lease round at a time, or a handover (hand_over)
        self._taking: dict[str, asyncio.Event] = {}  # run id -> set once its lease is written
        self._tasks: list[asyncio.Task] = []
        self.dropped = 0
        self.changed = asyncio.Event()  # a run taken, changed or ended here: the census writes
        self.census: Census | None = None  # the other replicas' active runs (set by Cluster)

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(self._write()), asyncio.create_task(self._leases())]

    async def stop(self) -> None:
        await self._flush_once()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -- from the manager (event loop, never blocks; `admit` is awaited) ---------------------
    def owned(self, run_id: str, info: dict) -> None:
        generation = max(int(time.time() * 1000), self.generations.get(run_id, 0) + 1)
        self.generations[run_id] = generation
        self.leased.add(run_id)
        self._lease_jobs.append(("take", run_id))
        self._taking.setdefault(run_id, asyncio.Event())
        meta = {**info, "generation": generation, "replica": self.replica}
        self._put("meta", run_id, {"info": json.dumps(meta)})
        self.changed.set()

    def epoch(self, run_id: str, text: str) -> None:
        self._put("xadd", run_id, {"k": "e", "t": text})

    def status(self, run_id: str, status: str, message: str | None, epoch: int) -> None:
        fields = {"k": "s", "s": status, "m": message or "", "n": str(epoch)}
        self._put("xadd", run_id, fields)
        self.changed.set()
        if status in TERMINAL:
            self._put("expire", run_id, {})

    def snapshot(self, run_id: str, text: str) -> None:
        self._snapshots[run_id] = text
        self._wake.set()

    def text(self, run_id: str, text: str) -> None:
        self._put("xadd", run_id, {"k": "t", "t": text})

    def released(self, run_id: str) -> None:
        self.leased.discard(run_id)
        self._copied.pop(run_id, None)
        self.changed.set()
        self._lease_jobs.append(("release", run_id))

    def active_elsewhere(self, client: str | None = None) -> int:
        return self.census.active(client) if self.census is not None else 0

    async def admit(self, run_id: str, quotas: Sequence[Quota]) -> Quota | None:
        """The run's slots in Redis (admission.py): two replicas never both take the last."""
        if self.census is None or self.census.admission is None:
            return None
        return await self.census.admission.admit(run_id, quotas)

    async def claimed(self, run_id: str) -> None:
        """Until `run_id`'s lease is written (another replica relays its controls here only
        then; before, it found no owner and answered 503), or `LAYERLAB_LEASE_S` passes with
        the database down (then the relay's 503 says to try again)."""
        taking = self._taking.get(run_id)
        if taking is not None:
            with contextlib.suppress(TimeoutError, asyncio.TimeoutError):
                await asyncio.wait_for(taking.wait(), self.settings.lease_s)

    def _put(self, op: str, run_id: str, fields: dict) -> None:
        if len(self._queue) >= self.settings.redis_stream_max:
            self._queue.popleft()
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.warning("Redis is behind: %d stream entries dropped", self.dropped)
        self._queue.append((op, run_id, fields))
        self._wake.set()

    # -- the writer ----------------------------------------------------------------------
    async def _write(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self._flush_once()
            except Exception as err:  # Redis down: keep the queue, try again
                log.warning("Redis write failed (%s); retrying", err)
                await asyncio.sleep(RETRY_S)
                self._wake.set()

    async def _flush_once(self) -> None:
        if not self._queue and not self._snapshots:
            return
        batch = list(self._queue)
        snaps = dict(self._snapshots)
        pipe = self.redis.pipeline(transaction=False)
        cap = self.settings.redis_stream_max
        for op, run_id, fields in batch:
            gen = self.generations.get(run_id, 0)
            if op == "xadd":
                pipe.xadd(keys.records(run_id, gen), fields, maxlen=cap, approximate=True)
            elif op == "meta":
                pipe.set(keys.meta(run_id), fields["info"])
                pipe.xadd(keys.resets(run_id), {"generation": str(gen)}, maxlen=16)
            else:  # expire: the run ended
                for key in (
                    keys.records(run_id, gen),
                    keys.snapshots(run_id, gen),
                    keys.meta(run_id),
                    keys.resets(run_id),
                ):
                    pipe.expire(key, ENDED_TTL_S)
        for run_id, text in snaps.items():
            key = keys.snapshots(run_id, self.generations.get(run_id, 0))
            pipe.xadd(key, {"t": text}, maxlen=1, approximate=False)
        await pipe.execute()
        for _ in batch:  # sent: only now off the queue (a failure keeps them, in order)
            self._queue.popleft()
        for run_id, text in snaps.items():
            if self._snapshots.get(run_id) is text:
                del self._snapshots[run_id]

    # -- leases --------------------------------------------------------------------------
    async def _leases(self) -> None:
        every = self.settings.lease_s / 3
        next_renewal = 0.0
        while True:
            try:
                async with self._round:
                    next_renewal = await self._lease_round(next_renewal, every)
            except Exception as err:  # the database is down: the next round tries again
                log.warning("run leases could not be written: %s", err)
            await asyncio.sleep(min(every, 0.1))

    async def _lease_round(self, next_renewal: float, every: float) -> float:
        while self._lease_jobs:
            job, run_id = self._lease_jobs[0]
            if job == "take":
                # Its row before its lease, and so before the 201 (`claimed`): another replica
                # finds a run by its row, and a GET through it right after the 201 answered 404
                # while the row still waited in this replica's writer.
                await asyncio.to_thread(self.store.flush)
                until = time.time() + self.settings.lease_s
                await asyncio.to_thread(self.store.write, leases.take, run_id, self.replica, until)
                if (taking := self._taking.pop(run_id, None)) is not None:
                    taking.set()
            else:
                await asyncio.to_thread(self._release, run_id)
            self._lease_jobs.popleft()
        await asyncio.to_thread(self._copy_checkpoints, sorted(self.leased))
        if time.monotonic() >= next_renewal:
            next_renewal = time.monotonic() + every
            until = time.time() + self.settings.lease_s
            held = sorted(self.leased)
            await asyncio.to_thread(self.store.write, leases.renew, self.replica, held, until)
        return next_renewal

    async def hand_over(self, run_ids: list[str]) -> None:
        """These runs leave this replica alive (a graceful stop): what is queued goes to Redis,
        their fresh checkpoints to the database, and their leases lapse now."""
        for run_id in run_ids:
            self.leased.discard(run_id)
            self._copied.pop(run_id, None)  # copied again, however recent the last copy
        await self._flush_once()
        # Their last statuses and records committed before another replica reads them: a run
        # paused just before the stop was taken over as running (the pause still queued).
        await asyncio.to_thread(self.store.flush)
        # After the lease round in flight: it may be copying an older checkpoint of these runs
        # or renewing their leases, which would land after ours.
        async with self._round:
            await asyncio.to_thread(self._copy_checkpoints, run_ids)
            await asyncio.to_thread(self.store.write, leases.lapse, self.replica, run_ids)

    def _release(self, run_id: str) -> None:
        self.store.write(leases.release, run_id, self.replica)
        self.store.write(leases.drop_checkpoint, run_id)

    def _copy_checkpoints(self, run_ids: list[str]) -> None:
        """Each held run's checkpoint file into the database when it changed (blocking)."""
        for run_id in run_ids:
            path = checkpoints.path_for(self.settings, run_id)
            try:
                mtime = path.stat().st_mtime
                if self._copied.get(run_id) == mtime:
                    continue
                data = path.read_bytes()
            except OSError:  # none yet, or replaced while read: the next round
                continue
            self.store.write(leases.put_checkpoint, run_id, data, time.time())
            self._copied[run_id] = mtime
