"""What a run leaves behind: its stream (the hub) and its rows (the store's writer).

Every change of a run goes to both at once, from the event loop, without waiting: the hub
fans it out to viewers, the store queues it (its writer thread commits about every
`flush_interval_s`). Per-layer summaries are stored at most once a second per run (and the
last one always). Memory keeps the active runs and up to `cache_runs` ended ones; an ended run
leaves memory only once the writer has committed everything queued before its end, so a read
never finds it in neither place.

The store's news comes from its writer thread (`on_failure`, `on_recovery`) and is handed to
the event loop: each affected active run's message says its records wait for the database,
or how many were dropped (`LAYERLAB_STORE_MAX_PENDING`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

from ..store.store import Store
from .bus import RunBus
from .hub import Hub
from .messages import dumps
from .model import Run
from .resume import ResumePoint

LAYERS_EVERY_S = 1.0  # per-layer summaries stored per run at most this often (the last always)
NOT_SAVED = "not being saved: "  # prefix of a run's message while the database fails


class Records:
    """The hub and the store, written together for each run."""

    def __init__(
        self,
        store: Store,
        hub: Hub,
        runs: dict[str, Run],
        cache_runs: int,
        bus: RunBus | None = None,
    ):
        self.store = store
        self.hub = hub
        self.bus = bus if bus is not None else RunBus()  # other replicas' viewers (bus.py)
        self.runs = runs  # the manager's own dict
        self.cache_runs = cache_runs
        self._loop: asyncio.AbstractEventLoop | None = None
        store.watch(self._store_failed, self._store_recovered)

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def created(self, run: Run) -> None:
        self.store.add_run(
            run.id,
            status=run.status,
            client=run.client,
            experiment=run.experiment,
            check=run.check,
            created=run.created,
            owner=run.owner,
            token=run.token,
            design_id=run.design_id,
        )
        info = {**run.channel.info, "status": run.channel.status, "created": run.created}
        self.bus.owned(run.id, info)
        self.evict()

    def resumed(self, run: Run, point: ResumePoint) -> None:
        """A run back from its checkpoint: its history as the point has it, then queued."""
        self.bus.owned(run.id, {**run.channel.info, "created": run.created})
        for record in point.records:
            self.hub.publish_epoch(run.id, record)
            self.bus.epoch(run.id, dumps(record))
        self.store.truncate(run.id, point.kept)
        for record in point.extra:
            self.store.add_epoch(run.id, record["epoch"], dumps(record))
        last = dumps(point.records[-1]) if point.records else None
        self.store.update_run(
            run.id, status="queued", message=None, ended=None, epoch=point.epoch, last_json=last
        )

    def epoch(self, run: Run, record: dict) -> None:
        text = dumps(record)  # once: for the viewers here, the database and Redis
        self.hub.publish_epoch(run.id, record, text)
        self.store.add_epoch(run.id, run.channel.epoch, text)
        self.bus.epoch(run.id, text)

    def snapshot(self, run_id: str, epoch: int, text: str, layers: str | None) -> None:
        self.hub.publish_snapshot(run_id, epoch, text, layers)
        self.bus.snapshot(run_id, text)
        run = self.runs.get(run_id)
        if run is None or not run.active or layers is None:
            return
        now = time.monotonic()
        if now - run.saved_layers_at >= LAYERS_EVERY_S:
            run.saved_layers_at, run.pending_layers = now, None
            self.store.add_layers(run.id, epoch, layers)
        else:
            run.pending_layers = (epoch, layers)

    def status(self, run: Run, status: str, message: str | None, epoch: int | None = None) -> None:
        self.hub.publish_status(run.id, status, message, epoch)
        self.store.update_run(run.id, status=status, message=message)
        self.bus.status(run.id, status, message, run.channel.epoch)

    def ended(self, run: Run, status: str, message: str | None, epoch: int | None) -> None:
        """The run's last status, its last summary, its export, then memory's turn to go."""
        self.hub.publish_status(run.id, status, message, epoch)
        self.bus.status(run.id, status, message, run.channel.epoch)
        self.bus.released(run.id)
        run.ended = time.time()
        if run.pending_layers is not None:
            self.store.add_layers(run.id, *run.pending_layers)
            run.pending_layers = None
        self.store.update_run(
            run.id, status=status, message=message, epoch=run.channel.epoch, ended=run.ended
        )
        if status in ("finished", "stopped"):
            self.store.take_export(run.id)
        run.committed_after = self.store.writer.queued
        self.runs[run.id] = self.runs.pop(run.id)  # the newest ended run goes last
        self.evict()

    def evict(self) -> None:
        """Forget the oldest ended runs beyond `cache_runs` once the database has all of
        their records (they are read from it from then on)."""
        ended = [r for r in self.runs.values() if not r.active]
        done = self.store.writer.done
        for run in ended[: max(0, len(ended) - self.cache_runs)]:
            if run.committed_after > done:
                break
            del self.runs[run.id]
            self.hub.remove(run.id)

    # -- the store's news (from its writer thread) ----------------------------------------
    def _store_failed(self, reason: str, run_ids: set[str]) -> None:
        self._call_soon(self._mark_unsaved, reason, run_ids)

    def _store_recovered(self, run_ids: set[str]) -> None:
        self._call_soon(self._mark_unsaved, None, run_ids)

    def _call_soon(self, fn: Callable, *args: Any) -> None:
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has closed: nobody to tell
                self._loop.call_soon_threadsafe(fn, *args)

    def _mark_unsaved(self, reason: str | None, run_ids: set[str]) -> None:
        """Say in each affected active run's message that its records wait for the database
        (reason None: they have been saved, the message goes, or says what was dropped)."""
        for run_id in run_ids:
            run = self.runs.get(run_id)
            if run is None or not run.active:
                continue
            c = run.channel
            lost = self.store.writer.take_dropped(run_id) if reason is None else 0
            if reason is not None:
                text = f"{NOT_SAVED}{reason}; records are kept and saved when it can be written"
            elif lost:
                text = (
                    f"{lost} of its records were not saved: the database could not be written "
                    "while more waited than LAYERLAB_STORE_MAX_PENDING allows"
                )
            elif c.message and c.message.startswith(NOT_SAVED):
                text = None
            else:
                continue
            self.hub.publish_status(run_id, c.status, text, None)
