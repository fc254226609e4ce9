"""Class events between replicas: one Redis stream that every replica writes and reads.

A class opened, a student joined, a spotlight moved, a message for a class's pages: each
replica's classes (server/classes/sync.py) publish these as small JSON documents, and every
other replica applies them to its own memory and its own class sockets. One stream keeps them
in the order each replica wrote them (a replica's own writer sends them in order), capped at
`LAYERLAB_REDIS_STREAM_MAX` entries; each replica reads on from the last entry it applied, so
a Redis blip delays events but loses none the cap kept. Publishing never waits: events are
queued (bounded by the same setting; past it the oldest are dropped and logged) and one writer
task sends them, pipelined.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from . import keys

log = logging.getLogger("layerlab.cluster")

BLOCK_MS = 2000
READ_COUNT = 500
RETRY_S = 0.5


class ClassEvents:
    """This replica's end of the class event stream."""

    def __init__(self, redis: Any, replica: str, cap: int):
        self.redis = redis
        self.replica = replica
        self.cap = cap
        self.last = "0-0"  # the last entry read (or, before reading, the stream's end at `mark`)
        self.dropped = 0
        self._queue: deque[str] = deque()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task] = []

    async def mark(self) -> None:
        """Note the stream's end: call it before loading classes from the database, so every
        change made after the load began is read (again: events are idempotent)."""
        newest = await self.redis.xrevrange(keys.class_events(), count=1)
        if newest:
            self.last = newest[0][0]

    def start(self, handler: Callable[[dict], None]) -> None:
        """Apply other replicas' events with `handler` (on the event loop), from `mark` on."""
        self._tasks = [
            asyncio.create_task(self._read(handler)),
            asyncio.create_task(self._write()),
        ]

    async def stop(self) -> None:
        with contextlib.suppress(Exception):  # what is queued goes, if Redis is there
            await self._flush()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def publish(self, event: dict) -> None:
        """Queue one event for the other replicas (event loop; returns at once)."""
        if len(self._queue) >= self.cap:
            self._queue.popleft()
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.warning("Redis is behind: %d class events dropped", self.dropped)
        self._queue.append(json.dumps(event, allow_nan=False))
        self._wake.set()

    async def _write(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self._flush()
            except Exception as err:  # Redis down: keep the queue, try again
                log.warning("class events could not be written (%s); retrying", err)
                await asyncio.sleep(RETRY_S)
                self._wake.set()

    async def _flush(self) -> None:
        if not self._queue:
            return
        batch = list(self._queue)
        pipe = self.redis.pipeline(transaction=False)
        for text in batch:
            fields = {"o": self.replica, "e": text}
            pipe.xadd(keys.class_events(), fields, maxlen=self.cap, approximate=True)
        await pipe.execute()
        for _ in batch:  # sent: only now off the queue (a failure keeps them, in order)
            self._queue.popleft()

    async def _read(self, handler: Callable[[dict], None]) -> None:
        stream = keys.class_events()
        while True:
            try:
                got = await self.redis.xread({stream: self.last}, block=BLOCK_MS, count=READ_COUNT)
            except asyncio.CancelledError:
                raise
            except Exception as err:
                log.warning("class events could not be read (%s); retrying", err)
                await asyncio.sleep(RETRY_S)
                continue
            for _, entries in got or []:
                for entry_id, fields in entries:
                    self.last = entry_id
                    if fields.get("o") == self.replica:
                        continue
                    try:
                        handler(json.loads(fields["e"]))
                    except Exception:  # one bad event never stops the others
                        log.exception("a class event could not be applied")
