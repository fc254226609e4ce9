"""One viewer of a run: its ordered queue, its pending snapshot, and its sender (hub.py fans
each run's stream out to these).

The publisher never waits on a viewer: it appends to the viewer's queue and wakes its sender
task, or, where the viewer is caught up (its sender waits, nothing queued) and its stream has a
fast path (server/api/frames.py: the message's shared frame written to its transport), writes
the record or due snapshot at once, with no task woken per viewer and message; a viewer whose
transport is full is queued as before.

A viewer whose records waited longer than `LAG_S` in its queue, or reached the hub that much
late (its replica is behind: a lecture's thousand viewers, a loaded machine; `Hub`'s
`_published_late`), gets its snapshots less often, down to one each
`SLOWEST_SNAPSHOT_S`, and back to the full rate once its records go out promptly again: the
snapshot bytes (tens of KiB each, against a few hundred for a record) give way to the records,
and each viewer still gets the newest snapshot.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from ..config import Settings
from .stamps import Stamps

Send = Callable[[str], Awaitable[Any]]
WriteNow = Callable[[str], bool]  # written at once (True), or not at all (False)
BATCH_BYTES = 256 * 1024

LAG_S = 0.05  # a record that waited this long in a viewer's queue: its snapshots thin out
SLOWEST_SNAPSHOT_S = 1.0  # ... to one a second at most

RECORD, TEXT, STATUS = 0, 1, 2
clock = time.monotonic  # the records' waits (a test's own clock replaces it)


class ViewerChannel(Protocol):
    """What a viewer reads of its run's channel (hub.py's RunChannel)."""

    id: str
    private: bool
    viewers: set[Any]  # the viewers watching it (the hub's)

    def epoch_batch(self, records: list[str]) -> str: ...


class Viewer:
    """One viewer: its ordered queue, its pending snapshot, and its sender loop."""

    def __init__(
        self,
        channel: ViewerChannel,
        send: Send,
        settings: Settings,
        examples: bool = True,
        stamps: Stamps | None = None,
        label: str = "",
        write_now: WriteNow | None = None,
    ):
        self.channel = channel
        # Whether this viewer may see the run's examples (traces, sample images): false for
        # someone other than its owner watching a run on an uploaded dataset.
        self.examples = examples or not channel.private
        self._send = send
        self._items: deque[tuple[int, str]] = deque()
        self._pending_bytes = 0
        self._pushed = 0  # items queued so far
        self._taken = 0  # items taken off the queue so far
        self._snapshot: str | None = None
        self._snapshot_after = 0  # the snapshot follows this many items
        self._last_snapshot = -1e9
        self._fastest = 1.0 / settings.snapshot_rate
        self.snapshot_interval = self._fastest  # longer while its records wait (`_pace`)
        self._records_since: float | None = None  # when its oldest queued record came
        self._late = False  # a queued record reached the hub late
        self._limit = settings.viewer_buffer_bytes
        self._wake = asyncio.Event()
        self._final = False
        self._task: asyncio.Task | None = None
        self.send_started: float | None = None
        self.dropped: str | None = None
        self.sent_messages = 0
        self.written_now = 0  # records written by the publisher (`_write`)
        # Timing stamps (stamps.py), only where on: the epoch of each queued record, in order.
        self._stamps = stamps if stamps is not None and stamps.on else None
        self._epochs: deque[int] = deque()
        self.label = label
        # The fast path (stream.py's frames): a caught-up viewer's record or due snapshot is
        # written by the publisher at once, with no task woken per viewer and message.
        self._write_now = write_now
        # Its sender waits (for work or a snapshot's time): nothing queued, no send under way.
        self._idle = False

    # -- producer side (never blocks) ---------------------------------------------------
    def push(self, kind: int, text: str, epoch: int = 0, late: bool = False) -> None:
        """`late`: the record reached the hub late (its replica is behind: `_pace`)."""
        if self.dropped is not None or self._final:
            return
        if kind == RECORD and late:
            self._slower()
        if kind == RECORD and self._idle and not self._items and self._write(text, epoch, late):
            return
        if kind == RECORD:
            self._late = self._late or late
            if self._records_since is None:
                self._records_since = clock()
            if self._stamps is not None:
                self._epochs.append(epoch)
        self._items.append((kind, text))
        self._pushed += 1
        self._pending_bytes += len(text)
        if self._pending_bytes > self._limit:
            self.drop(f"viewer fell {self._pending_bytes:,} bytes behind; reconnect to resume")
            return
        self._wake.set()

    def push_status(self, text: str, terminal: bool) -> None:
        self.push(STATUS, text)
        self._final = self._final or terminal

    def push_snapshot(self, text: str | None) -> None:
        if self.dropped is None and text:
            if self._idle and not self._items and self._write_snapshot(text):
                return
            self._snapshot = text
            self._snapshot_after = self._pushed
            self._wake.set()

    def _write(self, text: str, epoch: int, late: bool) -> bool:
        """A record for a caught-up viewer, as a one-record `epoch` message written now."""
        if self._write_now is None:
            return False
        start = time.time() if self._stamps is not None else 0.0
        if not self._write_now(self.channel.epoch_batch([text])):
            return False
        self._taken += 1
        self._pushed += 1
        self.sent_messages += 1
        self.written_now += 1
        if not late:  # prompt all the way: the snapshots come back
            self._faster()
        if self._stamps is not None:
            self._stamps.sent(self.label, epoch, 1, start, time.time())
        return True

    def _write_snapshot(self, text: str) -> bool:
        """A snapshot for a caught-up viewer, written now where it is due."""
        if self._write_now is None:
            return False
        now = asyncio.get_running_loop().time()
        if now < self._last_snapshot + self.snapshot_interval or not self._write_now(text):
            return False
        self._snapshot = None
        self._last_snapshot = now
        self.sent_messages += 1
        return True

    def drop(self, reason: str) -> None:
        """Stop serving this viewer (its sender task is cancelled)."""
        if self.dropped is None:
            self.dropped = reason
            self._items.clear()
            self._snapshot = None
            if self._task is not None and self._task is not asyncio.current_task():
                self._task.cancel()

    # -- sender side --------------------------------------------------------------------
    async def run(self) -> None:
        """Send until the run's final status went out (returns) or the viewer is dropped."""
        self._task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        while self.dropped is None:
            self._wake.clear()
            if self._items:
                kind = self._items[0][0]
                if kind == STATUS and self._snapshot_due_before_status():
                    await self._send_snapshot(loop)
                elif kind == RECORD:
                    self._pace()
                    records = self._take_records()
                    message = self.channel.epoch_batch(records)
                    if self._stamps is None:
                        await self._deliver(message)
                    else:
                        await self._deliver_stamped(message, len(records))
                else:
                    text = self._items.popleft()[1]
                    self._taken += 1
                    self._pending_bytes -= len(text)
                    await self._deliver(text)
                continue
            if self._final:
                if self._stamps is not None:
                    self._stamps.flush()
                return
            if self._snapshot is not None:
                wait = self._last_snapshot + self.snapshot_interval - loop.time()
                if wait <= 0:
                    await self._send_snapshot(loop)
                    continue
                # Woken by the next item or when the snapshot falls due: a timer, not
                # wait_for, whose task per call cost ~13% of a lecture replica's loop (py-spy).
                timer = loop.call_later(wait, self._wake.set)
                self._idle = True
                try:
                    await self._wake.wait()
                finally:
                    self._idle = False
                    timer.cancel()
                continue
            self._idle = True
            try:
                await self._wake.wait()
            finally:
                self._idle = False

    def _pace(self) -> None:
        """Thin this viewer's snapshots while its records wait past `LAG_S` (doubling the
        interval, up to `SLOWEST_SNAPSHOT_S`), and restore them as the waits shrink."""
        if self._records_since is None:
            return
        waited = clock() - self._records_since
        if waited > LAG_S:
            self._slower()
        elif waited < LAG_S / 2 and not self._late:
            self._faster()
        self._late = False

    def _slower(self) -> None:
        self.snapshot_interval = min(SLOWEST_SNAPSHOT_S, self.snapshot_interval * 2)

    def _faster(self) -> None:
        self.snapshot_interval = max(self._fastest, self.snapshot_interval / 2)

    def _take_records(self) -> list[str]:
        batch: list[str] = []
        size = 0
        while self._items and self._items[0][0] == RECORD:
            text = self._items[0][1]
            if batch and size + len(text) > BATCH_BYTES:
                break
            self._items.popleft()
            batch.append(text)
            size += len(text)
        self._taken += len(batch)
        self._pending_bytes -= size
        # Records left (past BATCH_BYTES) count as waiting from now on.
        more = bool(self._items) and self._items[0][0] == RECORD
        self._records_since = clock() if more else None
        return batch

    def _snapshot_due_before_status(self) -> bool:
        """A snapshot taken before this status change goes out first (e.g. the final one)."""
        return self._snapshot is not None and self._taken >= self._snapshot_after

    async def _send_snapshot(self, loop: asyncio.AbstractEventLoop) -> None:
        text, self._snapshot = self._snapshot, None
        self._last_snapshot = loop.time()
        if text is not None:
            await self._deliver(text)

    async def _deliver_stamped(self, message: str, count: int) -> None:
        assert self._stamps is not None
        first = self._epochs[0]
        for _ in range(count):
            self._epochs.popleft()
        start = time.time()
        await self._deliver(message)
        self._stamps.sent(self.label, first, count, start, time.time())

    async def _deliver(self, text: str) -> None:
        self.send_started = time.monotonic()
        await self._send(text)
        self.send_started = None
        self.sent_messages += 1
