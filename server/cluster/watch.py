"""Snapshots for viewers on other replicas: their replica tells the owner someone watches.

A worker probes a run for snapshots only while someone watches it (runs/job.py, `watch`):
one process knows from its own hub. With replicas, the viewers of a run may all sit on other
replicas, following it through Redis (mirror.py). So each replica, when a followed run gets
its first viewer or loses its last, sends `{"watch": run id, "from": replica, "on": bool}` on
the owner's control channel (relay.py hears it), and sends it again every third of
`LAYERLAB_LEASE_S` while viewers remain. The owner keeps who watches from where, each until a
lease from the last message (a replica that died stops counting), and tells the run's worker
it is watched while anyone watches it, here or elsewhere. The snapshots themselves travel
latest-wins through the run's snapshot stream (bus.py), so a viewer that connects on any
replica gets the current one at once and the live ones after.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from ..runs.hub import Hub
from . import keys
from .mirror import Mirrors

log = logging.getLogger("layerlab.cluster")

OnWatch = Callable[[str, bool], None]


class RemoteWatch:
    def __init__(self, redis: Any, replica: str, lease_s: float):
        self.redis = redis
        self.replica = replica
        self.lease_s = lease_s
        self.remote: dict[str, dict[str, float]] = {}  # run id -> replica -> until (owner side)
        self._local: OnWatch | None = None  # the manager's own on_watch
        self._hub: Hub | None = None
        self._mirrors: Mirrors | None = None
        self._owned: Callable[[str], bool] = lambda run_id: False
        self._task: asyncio.Task | None = None
        self._sends: set[asyncio.Task] = set()

    def start(self, hub: Hub, mirrors: Mirrors, owned: Callable[[str], bool]) -> None:
        """Take the hub's on_watch: runs owned here count remote viewers too; runs followed
        from elsewhere tell their owner."""
        self._local, self._hub, self._mirrors, self._owned = hub.on_watch, hub, mirrors, owned
        hub.on_watch = self._on_watch
        self._task = asyncio.create_task(self._every())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for task in list(self._sends):
            task.cancel()

    # -- viewers here ------------------------------------------------------------------------
    def _on_watch(self, run_id: str, watched: bool) -> None:
        if self._owned(run_id):
            self._apply(run_id)
        elif self._mirrors is not None and run_id in self._mirrors.owners:
            self._tell(run_id, watched)

    def _tell(self, run_id: str, on: bool) -> None:
        assert self._mirrors is not None
        owner = self._mirrors.owners.get(run_id)
        if owner is None or owner == self.replica:
            return
        body = json.dumps({"watch": run_id, "from": self.replica, "on": on})
        task = asyncio.get_running_loop().create_task(self._send(owner, body))
        self._sends.add(task)
        task.add_done_callback(self._sends.discard)

    async def _send(self, owner: str, body: str) -> None:
        try:
            await self.redis.publish(keys.controls(owner), body)
        except Exception as err:  # Redis down: the next round sends it again
            log.warning("a watch could not be sent to replica %s: %s", owner, err)

    # -- viewers elsewhere (owner side) ----------------------------------------------------
    def heard(self, message: dict) -> None:
        """A replica's viewers of a run owned here came or went."""
        run_id, replica = message["watch"], message["from"]
        if not self._owned(run_id):
            return
        if message["on"]:
            self.remote.setdefault(run_id, {})[replica] = time.monotonic() + self.lease_s
        else:
            self.remote.get(run_id, {}).pop(replica, None)
        self._apply(run_id)

    def _apply(self, run_id: str) -> None:
        """Tell the worker whether anyone, here or elsewhere, watches the run."""
        assert self._hub is not None and self._local is not None
        channel = self._hub.channels.get(run_id)
        here = channel is not None and bool(channel.viewers)
        self._local(run_id, here or bool(self.remote.get(run_id)))

    async def _every(self) -> None:
        while True:
            await asyncio.sleep(self.lease_s / 3)
            try:
                self._round()
            except Exception:  # one bad round never stops the next
                log.exception("remote watches could not be renewed")

    def _round(self) -> None:
        assert self._hub is not None and self._mirrors is not None
        now = time.monotonic()
        for run_id in list(self.remote):  # the owner's side: lapse, and tell a new worker
            alive = {r: until for r, until in self.remote[run_id].items() if until > now}
            if not alive or not self._owned(run_id):
                del self.remote[run_id]
            else:
                self.remote[run_id] = alive
            if self._owned(run_id):
                self._apply(run_id)
        for run_id in list(self._mirrors.owners):  # the viewers' side: still watching
            channel = self._hub.channels.get(run_id)
            if channel is not None and channel.viewers:
                self._tell(run_id, True)
