"""Runs whose replica died: taken over here from their last checkpoint.

Every third of `LAYERLAB_LEASE_S` this replica claims the active runs whose lease lapsed
(server/store/leases.py: one claimant each), writes each one's checkpoint from the database
into its own checkpoints folder, and resumes it under the same id (RunManager.resume: the
history up to the checkpoint, then training on with its weights and optimiser state). Its
owner token still works: the run keeps the stored hash. A lapsed run without a checkpoint
ends `interrupted`, with a message that says why. A replica that stops gracefully hands its
runs over (Cluster.hand_over): their leases lapse at once and it wakes the others (`wake`),
so they are taken over within moments, from a checkpoint saved as they left.

A class run stays its class's: the database's row does not say whose it is, so `class_of`
(installed by server/classes at its start; this package does not import it) names a run's
class, student and quotas, and the run is resumed as that student's run, counted per student
and in its class's budgets (in this replica's census and in Redis), not per address.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time

from ..config import Settings
from ..runs import checkpoints
from ..runs.admission import ClassOf, class_identity
from ..runs.manager import RunManager
from ..runs.model import ControlRefused, LimitReached
from ..store import leases
from ..store.store import Store
from .bus import RedisBus
from .mirror import Mirrors

log = logging.getLogger("layerlab.cluster")

NO_CHECKPOINT = (
    "its replica stopped before the run's first checkpoint, so no other replica could take it "
    "over; its history is kept"
)


class Takeover:
    def __init__(self, settings: Settings, store: Store, bus: RedisBus, mirrors: Mirrors):
        self.settings = settings
        self.store = store
        self.bus = bus
        self.mirrors = mirrors
        self.wake = asyncio.Event()  # a replica handed its runs over: look now
        self.class_of: ClassOf | None = None  # set by server/classes at its start

    async def watch(self, manager: RunManager) -> None:
        every = self.settings.lease_s / 3
        while True:
            with contextlib.suppress(asyncio.TimeoutError, TimeoutError):
                await asyncio.wait_for(self.wake.wait(), every)
            self.wake.clear()
            try:
                now = time.time()
                claimed = await asyncio.to_thread(
                    self.store.write,
                    leases.claim_lapsed,
                    self.bus.replica,
                    now,
                    now + self.settings.lease_s,
                )
                for run_id in claimed:
                    await self._take(manager, run_id)
            except Exception:  # the database is down, or one run failed: the next round
                log.exception("taking runs over failed")

    async def _take(self, manager: RunManager, run_id: str) -> None:
        data = await asyncio.to_thread(self.store.read, leases.get_checkpoint, run_id)
        stored = await asyncio.to_thread(self.store.get_run, run_id)
        if stored is None:
            return
        if data is None:
            await asyncio.to_thread(
                self.store.write, _interrupt, run_id, self.bus.replica, NO_CHECKPOINT
            )
            return
        path = checkpoints.path_for(self.settings, run_id)
        await asyncio.to_thread(_write_file, path, data)
        self.mirrors.adopt(run_id)  # viewers here reconnect to the run's new history
        self.bus.leased.add(run_id)  # renewed from now on (resume takes it again, too)
        lapsed = stored.model_copy(update={"status": "interrupted"})
        identity = class_identity(self.class_of, run_id)
        try:
            paused = stored.status == "paused"  # paused by its owner or teacher: it stays so
            run = await manager.resume(
                lapsed,
                secrets.token_urlsafe(24),
                paused=paused,
                class_code=identity.class_code,
                student=identity.student,
                quotas=identity.quotas,
            )
        except (ControlRefused, LimitReached) as err:  # its lease lapses again for another
            self.bus.leased.discard(run_id)
            log.warning("run %s could not be taken over: %s", run_id, err)
            return
        run.token_hash = stored.token_hash
        log.info("took run %s over from its checkpoint at epoch %d", run_id, run.epoch)


def _write_file(path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def _interrupt(engine, run_id: str, replica: str, message: str) -> None:
    from sqlalchemy import update

    from ..store import tables

    with engine.begin() as conn:
        conn.execute(
            update(tables.runs)
            .where(tables.runs.c.id == run_id)
            .values(status="interrupted", message=message, ended=time.time())
        )
    leases.release(engine, run_id, replica)
