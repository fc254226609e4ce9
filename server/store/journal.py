"""The writer's overflow on disk: operations that wait for a database that cannot be written,
beyond what memory keeps (`LAYERLAB_STORE_MAX_PENDING`), in order, until it can again.

One file, `<state_dir>/store-journal.bin`: records of a 4-byte big-endian length and a pickled
operation (the `ops.py` types; `Sql` holds a SQLAlchemy statement, which JSON cannot carry).
The file is the server's own, beside its database and checkpoints, never from a client.
`store-journal.offset` holds the byte offset of the first operation not yet committed: the
writer advances it after each committed chunk, so a restart replays only the rest (a kill -9
between a commit and that write replays one chunk twice: the narrowest window a file beside
the database allows). A record cut short by a kill is cut off at open.

One server per journal: it holds an exclusive lock on `store-journal.lock` while it lives; a
second server on the same state folder (replicas sharing it) gets `JournalBusy` and runs
without a journal (its writes wait in memory only). Not thread-safe by itself: the writer calls it under its own lock (its thread and the
spilling thread both use it).
"""

from __future__ import annotations

import fcntl
import logging
import os
import pickle
import struct
from pathlib import Path

from .ops import Op

log = logging.getLogger("layerlab.store")
HEAD = struct.Struct(">I")


class JournalBusy(Exception):
    """Another server holds this journal."""


class Journal:
    """Append at the end, read from the front, forget what was committed."""

    def __init__(self, path: Path, max_bytes: int):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # A bare descriptor, held for the store's life: a store that is never closed (tests
        # building one in-process) leaves no file object for the collector to warn about.
        self._lock: int | None = os.open(self.path.with_suffix(".lock"), os.O_WRONLY | os.O_CREAT)
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self._lock)
            raise JournalBusy(f"{self.path} is another server's") from None
        self.offset_path = self.path.with_suffix(".offset")
        self.max_bytes = max_bytes
        self.start = 0  # byte offset of the first operation not committed
        self.end = 0  # bytes in the file (whole records only)
        self.count = 0  # operations from `start` on
        self.run_ids: set[str] = set()  # the runs those operations concern
        self._open()

    @property
    def full(self) -> bool:
        """Whether the journal has reached its bound (`LAYERLAB_STORE_JOURNAL_MB`)."""
        return self.end - self.start >= self.max_bytes

    @property
    def bytes(self) -> int:
        return self.end - self.start

    def append(self, ops: list[Op]) -> bool:
        """Write operations after the others (all, or none when full or the disk fails)."""
        if not ops:
            return True
        if self.full:
            return False
        blob = b"".join(_record(op) for op in ops)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "ab") as f:
                f.write(blob)
                f.flush()
        except OSError as err:
            log.error("the store journal could not be written: %s", err)
            self._truncate(self.end)  # no half record left behind
            return False
        self.end += len(blob)
        self.count += len(ops)
        self.run_ids |= {op.run_id for op in ops if op.run_id is not None}
        return True

    def prepend(self, ops: list[Op]) -> bool:
        """Write operations before the others (a batch that failed while newer ones were
        spilled): the file is rewritten, which happens once as a failure begins."""
        if not ops:
            return True
        blob = b"".join(_record(op) for op in ops)
        tmp = self.path.with_suffix(".tmp")
        try:
            rest = b""
            if self.path.exists():
                with open(self.path, "rb") as f:
                    f.seek(self.start)
                    rest = f.read(self.end - self.start)
            tmp.write_bytes(blob + rest)
            os.replace(tmp, self.path)
        except OSError as err:
            log.error("the store journal could not be written: %s", err)
            return False
        self.offset_path.unlink(missing_ok=True)
        self.start, self.end = 0, len(blob) + len(rest)
        self.count += len(ops)
        self.run_ids |= {op.run_id for op in ops if op.run_id is not None}
        return True

    def peek(self, limit: int) -> list[tuple[Op, int]]:
        """Up to `limit` operations from the front, each with the offset just after it."""
        out: list[tuple[Op, int]] = []
        if not self.count:
            return out
        with open(self.path, "rb") as f:
            f.seek(self.start)
            at = self.start
            while len(out) < limit and at < self.end:
                (size,) = HEAD.unpack(f.read(HEAD.size))
                op = pickle.loads(f.read(size))  # noqa: S301 - the server's own file
                at += HEAD.size + size
                out.append((op, at))
        return out

    def forget(self, offset: int, count: int) -> None:
        """`count` operations up to `offset` were committed: never replay them again."""
        self.start, self.count = offset, max(0, self.count - count)
        if self.start >= self.end:
            self.clear()
            return
        tmp = self.offset_path.with_suffix(".tmp")
        tmp.write_text(str(self.start))
        os.replace(tmp, self.offset_path)

    def close(self) -> None:
        """Let another server have it (what it holds stays, for the next one to replay)."""
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    def clear(self) -> None:
        for path in (self.path, self.offset_path):
            path.unlink(missing_ok=True)
        self.start = self.end = self.count = 0
        self.run_ids = set()

    def _open(self) -> None:
        """Count what an earlier server left (cutting off a record a kill cut short)."""
        if not self.path.exists():
            self.offset_path.unlink(missing_ok=True)
            return
        try:
            self.start = int(self.offset_path.read_text())
        except (OSError, ValueError):
            self.start = 0
        data = self.path.read_bytes()
        at = 0
        while at + HEAD.size <= len(data):
            (size,) = HEAD.unpack_from(data, at)
            if at + HEAD.size + size > len(data):
                break
            if at >= self.start:
                try:
                    op = pickle.loads(data[at + HEAD.size : at + HEAD.size + size])  # noqa: S301
                except Exception:  # noqa: BLE001 - a damaged record: stop there
                    break
                self.count += 1
                if op.run_id is not None:
                    self.run_ids.add(op.run_id)
            at += HEAD.size + size
        self.end = at
        if at < len(data):
            log.error("the store journal ended in a damaged record: cut at byte %d", at)
            self._truncate(at)
        if self.count:
            log.warning("the store journal holds %d writes from before: replaying", self.count)
        else:
            self.clear()

    def _truncate(self, size: int) -> None:
        try:
            with open(self.path, "r+b") as f:
                f.truncate(size)
        except OSError:
            pass


def _record(op: Op) -> bytes:
    data = pickle.dumps(op, protocol=pickle.HIGHEST_PROTOCOL)
    return HEAD.pack(len(data)) + data
