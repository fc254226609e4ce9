"""Viewer side: a run owned by another replica, followed from its Redis stream into this
replica's hub, so its viewers here are served exactly like local ones.

One follower task per run and replica, however many viewers: it reads the run's stream from
the start (the history), then blocks for what comes next, and publishes each entry into the
hub in order, where each viewer gets hello with the history so far and then every later
record once (hub.py). Snapshots come from the run's one-entry snapshot stream, latest wins.
Once the run ended the channel stays `MIRROR_KEEP_S` for late viewers, then goes (a later
viewer reads the database).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from ..core.statuses import TERMINAL
from ..runs.hub import Hub
from . import keys

log = logging.getLogger("layerlab.cluster")

BLOCK_MS = 2000
READ_COUNT = 2000
MIRROR_KEEP_S = 30.0
RETRY_S = 0.5
TRACE = '{"type":"trace","trace":'  # a trace message as the owner's bus sends it


class Mirrors:
    """The runs of other replicas that viewers here are following."""

    def __init__(self, redis: Any, hub: Hub):
        self.redis = redis
        self.hub = hub
        self.following: dict[str, asyncio.Task] = {}
        self.owners: dict[str, str] = {}  # run id -> the replica that streams it (watch.py)

    async def ensure(self, run_id: str) -> bool:
        """Whether `run_id` can be watched here: a channel already, or a run Redis knows
        (then a follower starts). False: no replica has streamed it (yet)."""
        if run_id in self.hub.channels:
            return True
        meta = await self.redis.get(keys.meta(run_id))
        if meta is None:
            return False
        if run_id in self.hub.channels:  # opened by another viewer during the await
            return True
        info = json.loads(meta)
        status = info.pop("status", "queued")
        generation = int(info.pop("generation", 0))
        owner = info.pop("replica", None)
        if owner is not None:
            self.owners[run_id] = owner
        channel = self.hub.open(run_id, info)
        channel.status = status
        self.following[run_id] = asyncio.create_task(self._follow(run_id, generation))
        return True

    async def stop(self) -> None:
        for task in self.following.values():
            task.cancel()
        for task in list(self.following.values()):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.following.clear()

    def adopt(self, run_id: str) -> None:
        """This replica took the run over: its own records follow, the mirror stops."""
        task = self.following.pop(run_id, None)
        self.owners.pop(run_id, None)
        if task is not None:
            task.cancel()
        self.hub.remove(run_id)  # its viewers reconnect, to the run's new history

    async def _follow(self, run_id: str, generation: int) -> None:
        streams = {
            keys.records(run_id, generation): "0-0",
            keys.snapshots(run_id, generation): "0-0",
            keys.resets(run_id): "0-0",
        }
        ended = False
        try:
            while not ended:
                try:
                    got = await self.redis.xread(streams, block=BLOCK_MS, count=READ_COUNT)
                except asyncio.CancelledError:
                    raise
                except Exception as err:
                    log.warning("reading run %s from Redis failed (%s); retrying", run_id, err)
                    await asyncio.sleep(RETRY_S)
                    continue
                for name, entries in got or []:
                    for entry_id, fields in entries:
                        streams[name] = entry_id
                        if name == keys.resets(run_id):
                            if int(fields["generation"]) > generation:  # taken over
                                self.hub.remove(run_id)  # its viewers reconnect
                                return
                            continue
                        ended = self._apply(run_id, name, fields, generation) or ended
            await asyncio.sleep(MIRROR_KEEP_S)
            if self.following.get(run_id) is asyncio.current_task():
                self.hub.remove(run_id)
        finally:
            if self.following.get(run_id) is asyncio.current_task():
                del self.following[run_id]
                self.owners.pop(run_id, None)

    def _apply(self, run_id: str, name: str, fields: dict, generation: int) -> bool:
        """Publish one entry into the hub; True once the run has ended."""
        if name == keys.snapshots(run_id, generation):
            self.hub.publish_snapshot(run_id, 0, fields["t"])
            return False
        kind = fields.get("k")
        if kind == "e":
            text = fields["t"]  # encoded once by the owner: its viewers here get it as is
            self.hub.publish_epoch(run_id, json.loads(text), text)
        elif kind == "t" and fields["t"].startswith(TRACE):  # kept, and not for every viewer
            self.hub.publish_trace(run_id, fields["t"][len(TRACE) : -1])
        elif kind == "t":
            self.hub.publish_text(run_id, fields["t"])
        elif kind == "s":
            status = fields["s"]
            self.hub.publish_status(run_id, status, fields.get("m") or None, int(fields["n"]))
            return status in TERMINAL
        return False
