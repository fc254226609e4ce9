"""Run budgets across replicas: each replica's active runs, known to every other replica.

The limits on active runs (LAYERLAB_MAX_RUNS for the whole LayerLab, LAYERLAB_MAX_RUNS_PER_CLIENT
per address, and the class budgets: per class, per student, per teacher's address, and the
classes' share) count the runs of every replica. Each replica writes the census of its own
active runs, `[[run id, client, class code, student id], ...]` (`null` outside a class), to
its Redis key whenever that set changes (the bus wakes it) and again every third of
`LAYERLAB_LEASE_S` (the key lapses a lease after, so a dead replica's runs stop counting as
their leases lapse), and announces it on one pub/sub channel; every replica keeps the other
replicas' censuses in memory, so a limit is checked with no I/O and no await, as in one
process. A run held here is never counted again from another replica's census (a run taken or
handed over may be in both for a moment). Two requests on two replicas in the same few
milliseconds can both pass this count: the run's slot is then taken in Redis in one atomic step
(admission.py), whose slots each census write renews (and frees, for the runs that ended).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Iterator
from typing import Any

from ..runs.manager import RunManager
from . import keys
from .admission import Admission, Slot

log = logging.getLogger("layerlab.cluster")

RETRY_S = 0.5

Entry = tuple[str, str | None, str | None]  # (client, class code, student id) of one run
Row = tuple[str, str, str | None, str | None]  # ... with its run id first


class Census:
    """This replica's active runs, out to Redis; the other replicas', in from it."""

    def __init__(self, redis: Any, replica: str, lease_s: float, changed: asyncio.Event):
        self.redis = redis
        self.replica = replica
        self.lease_s = lease_s
        self.changed = changed  # set by the bus whenever a run is taken, changes or ends here
        self.others: dict[str, list[Row]] = {}  # replica -> its active runs
        self._here: dict = {}  # the manager's runs (run id -> Run): those are counted there
        self._manager: RunManager | None = None
        self._written: list | None = None
        self._tasks: list[asyncio.Task] = []
        self._pubsub: Any = None
        self.admission: Admission | None = None  # the atomic run slots (set by Cluster)

    async def start(self, manager: RunManager) -> None:
        self._manager, self._here = manager, manager.runs
        self._pubsub = self.redis.pubsub()
        await self._pubsub.subscribe(keys.census_channel())
        await self._read_all()
        self.changed.set()  # written at once: the others know this replica from its start
        self._tasks = [
            asyncio.create_task(self._write()),
            asyncio.create_task(self._listen()),
            asyncio.create_task(self._refresh()),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()
        with contextlib.suppress(Exception):  # this replica's runs stop counting at once
            await self.redis.delete(keys.census(self.replica))
            if self.admission is not None:  # and their slots go (those handed over went)
                await self.admission.renew([], [_slot(run) for run in self._written or []])

    # -- counting (event loop, no I/O) ---------------------------------------------------
    def entries(self) -> Iterator[Entry]:
        """Every active run the other replicas hold."""
        seen: set[str] = set()
        for rows in self.others.values():
            for run_id, client, code, student in rows:
                if run_id not in self._here and run_id not in seen:
                    seen.add(run_id)
                    yield client, code, student

    def active(self, client: str | None = None) -> int:
        """Other replicas' active runs: all, or one address's runs outside classes."""
        return sum(
            1 for c, code, _ in self.entries() if client is None or (c == client and code is None)
        )

    # -- this replica's census -------------------------------------------------------------
    async def _write(self) -> None:
        every = self.lease_s / 3
        while True:
            with contextlib.suppress(asyncio.TimeoutError, TimeoutError):
                await asyncio.wait_for(self.changed.wait(), every)
            self.changed.clear()
            try:
                await self.write_now()
            except Exception as err:  # Redis down: the next round writes it again
                log.warning("the run census could not be written (%s)", err)
                await asyncio.sleep(RETRY_S)
                self.changed.set()

    async def write_now(self) -> None:
        """Write this replica's census (and announce it if it changed)."""
        assert self._manager is not None
        runs = sorted(
            [r.id, r.client, r.class_code, r.student]
            for r in self._manager.runs.values()
            if r.active
        )
        pipe = self.redis.pipeline(transaction=False)
        pipe.set(keys.census(self.replica), json.dumps(runs), ex=max(1, round(self.lease_s)))
        if runs != self._written:
            pipe.publish(keys.census_channel(), self.replica)
        await pipe.execute()
        if self.admission is not None:  # the slots: those held renewed, those ended freed
            now = {run[0] for run in runs}
            await self.admission.renew(
                [_slot(run) for run in runs],
                [_slot(run) for run in self._written or [] if run[0] not in now],
            )
        self._written = runs

    # -- the others' ------------------------------------------------------------------------
    async def _listen(self) -> None:
        while True:
            try:
                async for message in self._pubsub.listen():
                    if message.get("type") != "message" or message["data"] == self.replica:
                        continue
                    text = await self.redis.get(keys.census(message["data"]))
                    self._take(message["data"], text)
            except asyncio.CancelledError:
                raise
            except Exception as err:
                log.warning("run censuses could not be read (%s); retrying", err)
                await asyncio.sleep(RETRY_S)

    async def _refresh(self) -> None:
        """Every third of a lease: every census again (a dead replica's lapses)."""
        while True:
            await asyncio.sleep(self.lease_s / 3)
            try:
                await self._read_all()
            except Exception as err:
                log.warning("run censuses could not be read (%s)", err)

    async def _read_all(self) -> None:
        names = [k async for k in self.redis.scan_iter(match=keys.census("*"), count=100)]
        texts = await self.redis.mget(names) if names else []
        found: dict[str, list[Row]] = {}
        for name, text in zip(names, texts, strict=True):
            replica = keys.census_replica(name)
            if replica != self.replica and text is not None:
                found[replica] = _entries(text)
        self.others = found

    def _take(self, replica: str, text: str | None) -> None:
        if text is None:
            self.others.pop(replica, None)
        else:
            self.others[replica] = _entries(text)


def _slot(run: list) -> Slot:
    """A census row's run slot: its id, and its address unless it is a student's run."""
    run_id, client, _, student = run
    return run_id, client if student is None else None


def _entries(text: str) -> list[Row]:
    return [(run_id, c, code, student) for run_id, c, code, student in json.loads(text)]
