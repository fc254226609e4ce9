"""The write-behind thread: everything the event loop records reaches the database from here.

The event loop only appends operations to a list (no I/O, no waiting). About every
`flush_interval_s` the thread takes all of them and commits them in one transaction, epoch
records as one multi-row insert: a kill -9 of the server loses at most the last interval.

A database that cannot be written (full disk, read-only, locked) never stops the server: the
batch is kept and retried every interval, `error` says why (shown by `/api/health`), and
`on_failure(reason, run_ids)` tells the manager which runs are affected; `on_recovery(run_ids)`
follows the first commit that succeeds again, with nothing lost. An operation the database
refuses for itself (a constraint, a bad value) is dropped alone and logged.

Memory keeps `max_pending` operations; beyond that the thread spills them, oldest first, to
the journal (`journal.py`, on disk), so the order is always: journal, then memory. Retries and
the replay once the database is back take chunks from the journal's front first. Only when
the journal too is full are operations dropped (counted, logged, shown by `/api/health`).

Operations: the types of `ops.py`, applied in order.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy import Connection, Engine, bindparam, delete, insert, update
from sqlalchemy.exc import DataError, IntegrityError

from . import tables
from .journal import Journal
from .ops import AddEpoch, AddLayers, InsertRun, Op, Sql, TakeExport, Truncate, UpdateRun
from .spool import ExportSpool

log = logging.getLogger("layerlab.store")

# This operation is bad, not the database: dropped alone. Not ProgrammingError: PostgreSQL
# raises it for a missing permission or table, the database's state, which a retry outlives
# (before, such writes were dropped silently).
REFUSED = (IntegrityError, DataError)
# LAYERLAB_STORE_MAX_PENDING's default: 50,000 queued epoch records (a 144-byte record each,
# typical of a 2D run) measured 14 MiB with tracemalloc; a minute of one run at ~800 epochs/s.
MAX_PENDING = 50_000
# While the database fails, each retry takes at most this many operations from the front: a
# locked SQLite database had 68,000 queued after a minute, each interval retried them all.
RETRY_CHUNK = 1_000
BULK = (AddEpoch, AddLayers)  # what a full queue drops first: a run's row and status stay


class Writer:
    """Batches operations and commits them from its own thread."""

    def __init__(
        self,
        engine: Engine,
        spool: ExportSpool,
        interval_s: float,
        on_failure: Callable[[str, set[str]], None] | None = None,
        on_recovery: Callable[[set[str]], None] | None = None,
        max_pending: int = MAX_PENDING,
        journal: Journal | None = None,
    ):
        self.engine = engine
        self.journal = journal
        self.max_pending = max_pending
        self.dropped = 0  # operations refused since start because too many waited
        self._dropped_by_run: dict[str, int] = {}
        self.spool = spool
        self.interval_s = interval_s
        self.on_failure = on_failure
        self.on_recovery = on_recovery
        self.error: str | None = None
        self.error_since: float | None = None
        self._ops: list[Op] = []
        self._queued = journal.count if journal else 0  # operations put so far (+ a restart's)
        self._done = 0  # operations committed (or dropped as refused) so far
        self._affected: set[str] = set()  # runs whose records wait on a failing database
        self._cond = threading.Condition()
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name="layerlab-store", daemon=True)
        # Spilling has a thread of its own: the writer's may wait seconds on a lock of the
        # database while memory fills. `_order` is held across taking operations from memory
        # and writing them to the journal, and around every other use of the journal, so the
        # order (journal, then memory) holds whichever thread moves them.
        self._order = threading.Lock()
        self._spill_wake = threading.Event()
        self._spiller = threading.Thread(
            target=self._spill_loop, name="layerlab-store-journal", daemon=True
        )

    # -- the event loop's side (never blocks on the database) --------------------------
    def start(self) -> None:
        self._thread.start()
        if self.journal is not None:
            self._spiller.start()

    def put(self, op: Op) -> bool:
        """Queue one operation; False when it was dropped: memory holds `max_pending` and the
        journal is full (or off), for epoch records and summaries; twice that, anything. While
        the journal has room nothing is dropped: when its thread is behind (a loaded machine:
        memory at twice the bound), the caller spills memory to it itself. Each drop is counted,
        per run."""
        with self._cond:
            if self._admit(op):
                return True
            spills = self.journal is not None and not self.journal.full
        if spills:
            self._spill()  # outside the condition: _spill takes the journal's order first
            with self._cond:
                if self._admit(op, behind_ok=True):
                    return True
        with self._cond:
            held = len(self._ops)
            if self.dropped == 0 or held == self.max_pending:
                log.error(
                    "%d writes wait for the database: dropping %s "
                    "(LAYERLAB_STORE_MAX_PENDING, LAYERLAB_STORE_JOURNAL_MB)",
                    self._queued - self._done,
                    "epoch records" if isinstance(op, BULK) else "every write",
                )
            self.dropped += 1
            if op.run_id is not None:
                self._dropped_by_run[op.run_id] = self._dropped_by_run.get(op.run_id, 0) + 1
            return False

    def _admit(self, op: Op, behind_ok: bool = False) -> bool:
        """Append `op` unless memory is over its bound (called holding the condition)."""
        held = len(self._ops)
        spills = self.journal is not None and not self.journal.full
        if held >= self.max_pending and spills:
            self._spill_wake.set()  # to the journal with them
        over = held >= 2 * self.max_pending and not (behind_ok and spills)
        if held >= self.max_pending and (over or (not spills and isinstance(op, BULK))):
            return False
        self._ops.append(op)
        self._queued += 1
        return True

    def take_dropped(self, run_id: str) -> int:
        """How many of a run's writes were dropped since last asked (then forgotten)."""
        with self._cond:
            return self._dropped_by_run.pop(run_id, 0)

    @property
    def queued(self) -> int:
        """Operations put so far (compare with `done` to know when one is committed)."""
        return self._queued

    @property
    def done(self) -> int:
        """Operations committed (or dropped as refused) so far."""
        return self._done

    @property
    def pending(self) -> int:
        with self._cond:
            return self._queued - self._done

    def flush(self, timeout: float = 10.0) -> bool:
        """Commit everything put so far now; False if it could not be done within `timeout`."""
        with self._cond:
            target = self._queued
            self._wake.set()
            return self._cond.wait_for(lambda: self._done >= target, timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Write what is left (one last try; what still fails goes to the journal, for the
        next start) and stop the thread."""
        self._stopping = True
        self._wake.set()
        self._spill_wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        if self._spiller.is_alive():
            self._spiller.join(timeout)
        kept = self.journal.count if self.journal else 0
        if self.journal is not None:
            self.journal.close()
        left = len(self._ops)
        if kept:
            log.error("the database could not be written: %d writes kept in the journal", kept)
        if left:
            log.error("the database could not be written: %d operations were lost", left)

    def replay(self) -> None:
        """Commit what an earlier server left in the journal, now (before the thread starts:
        the store marks runs left active only after their last writes are in)."""
        while self.journal is not None and self.journal.count and self._step(stopping=True):
            pass  # chunk after chunk, until done or the database fails (the thread retries)

    @property
    def held(self) -> int:
        """Operations waiting in memory (not counting a batch being written)."""
        return len(self._ops)

    @property
    def journaled(self) -> int:
        """Operations waiting in the journal."""
        return self.journal.count if self.journal else 0

    # -- the thread --------------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            self._wake.wait(self.interval_s)
            self._wake.clear()
            stopping = self._stopping
            while self._step(stopping):
                pass  # a batch went through and more waits: at once, not in a second
            if stopping:
                self._spill(everything=self.error is not None)
                return

    def _spill_loop(self) -> None:
        while not self._stopping:
            self._spill_wake.wait(self.interval_s)
            self._spill_wake.clear()
            self._spill()

    def _step(self, stopping: bool) -> bool:
        """Write one batch, from the journal while it holds any (all of memory goes there
        first while the database fails); whether it was taken and more waits (then the next
        goes at once)."""
        failing = self.error is not None and not stopping
        self._spill(everything=failing)
        with self._order:
            marked = self.journal.peek(RETRY_CHUNK) if self.journal is not None else []
        if marked:
            batch = [op for op, _ in marked]
            ok, done = self._write(batch, requeue=False)
            if done:
                with self._order:
                    self.journal.forget(marked[done - 1][1], done)
            self._succeeded(done)
            return ok and bool(self.journaled or self._ops)
        with self._cond:
            take = RETRY_CHUNK if failing else len(self._ops)
            batch, self._ops = self._ops[:take], self._ops[take:]
            more = bool(self._ops)
        if not batch:
            return False
        ok, done = self._write(batch, requeue=True)
        self._succeeded(done)
        return ok and more

    def _spill(self, everything: bool = False) -> None:
        """Memory's operations to the journal's end (oldest first): all of them when memory
        holds `max_pending`, or `everything` (the database fails: retries read the journal)."""
        if self.journal is None:
            return
        with self._order:
            with self._cond:
                if not self._ops or not (everything or len(self._ops) >= self.max_pending):
                    return
                ops, self._ops = self._ops, []
            if not self.journal.append(ops):
                with self._cond:
                    self._ops[:0] = ops  # the journal is full: memory keeps them (put drops)

    def _write(self, batch: list[Op], requeue: bool) -> tuple[bool, int]:
        """Commit a batch: whether the database took it (refused operations dropped), and
        how many from the front are done; the rest go back before all others (`requeue`:
        to the journal's front if newer ones were spilled meanwhile, else memory's)."""
        done, exported, err = 0, [], None
        try:
            exported = self._commit(batch)
            done = len(batch)
        except REFUSED:
            done, exported, err = self._one_by_one(batch)
        except Exception as failure:  # noqa: BLE001 - any failure of the database: keep, retry
            err = failure
        self.spool.remove(exported)
        if requeue and done < len(batch):
            with self._order:
                if not (self.journaled and self.journal.prepend(batch[done:])):
                    with self._cond:
                        self._ops[:0] = batch[done:]  # first again, in order
        if err is not None:
            with self._order, self._cond:
                waiting = {op.run_id for op in self._ops}
                if self.journal is not None:
                    waiting |= self.journal.run_ids
            self._failed(err, waiting - {None})
        return err is None, done

    def _one_by_one(self, batch: list[Op]) -> tuple[int, list[str], Exception | None]:
        """Each operation alone: refused ones are dropped (logged); stops at a failure of
        the database itself, returning how many were handled."""
        exported: list[str] = []
        for i, op in enumerate(batch):
            try:
                exported += self._commit([op])
            except REFUSED as err:
                log.error(
                    "the database refused %s for run %s: %s", type(op).__name__, op.run_id, err
                )
            except Exception as err:  # noqa: BLE001 - the database failed: retry from here
                return i, exported, err
        return len(batch), exported, None

    def _commit(self, batch: list[Op]) -> list[str]:
        with self.engine.begin() as conn:
            return apply(conn, batch, self.spool)

    def _failed(self, err: Exception, run_ids: set[str]) -> None:
        reason = _reason(err)
        new = reason != self.error or not run_ids <= self._affected
        self._affected |= run_ids
        if new:
            log.error("the database cannot be written (retrying): %s", reason)
            if self.on_failure is not None:
                self.on_failure(reason, set(self._affected))
        # Health shows the failure only once those who hear of it have (a reader of health
        # never sees an error whose runs have not been told).
        self.error_since = self.error_since or time.time()
        self.error = reason

    def _succeeded(self, count: int) -> None:
        with self._cond:
            self._done += count
            self._cond.notify_all()
        if self.error is not None and count and self.pending == 0:
            affected, self._affected = self._affected, set()
            log.warning(
                "the database can be written again; %s",
                f"{self.dropped} writes were dropped" if self.dropped else "nothing was lost",
            )
            self.error = self.error_since = None
            if self.on_recovery is not None:
                self.on_recovery(affected)


# Each run's latest epoch, for all the runs of a batch in one executemany: one statement
# built and compiled once. Built per run, the updates took ~28% of the server's CPU with 100
# runs at 20 epochs/s (py-spy: SQLAlchemy's statement building and cache keys).
RUN_LAST_EPOCH = (
    update(tables.runs)
    .where(tables.runs.c.id == bindparam("run"))
    .values(epoch=bindparam("epoch_"), last_json=bindparam("last"))
)


def apply(conn: Connection, batch: list[Op], spool: ExportSpool) -> list[str]:
    """Apply operations in order on `conn` (inside its transaction); the runs exported."""
    epochs: list[dict] = []
    last: dict[str, tuple[int, str]] = {}
    exported: list[str] = []

    def write_epochs() -> None:
        if epochs:
            conn.execute(insert(tables.epochs), epochs)
            conn.execute(
                RUN_LAST_EPOCH,
                [{"run": r, "epoch_": e, "last": text} for r, (e, text) in last.items()],
            )
            epochs.clear()
            last.clear()

    for op in batch:
        if isinstance(op, AddEpoch):
            epochs.append({"run_id": op.run_id, "epoch": op.epoch, "record_json": op.record_json})
            last[op.run_id] = (op.epoch, op.record_json)
            continue
        write_epochs()
        if isinstance(op, InsertRun):
            conn.execute(insert(tables.runs), op.row)
        elif isinstance(op, UpdateRun):
            conn.execute(
                update(tables.runs).where(tables.runs.c.id == op.run_id).values(**op.values)
            )
        elif isinstance(op, AddLayers):
            conn.execute(
                insert(tables.layer_summaries),
                {"run_id": op.run_id, "epoch": op.epoch, "layers_json": op.layers_json},
            )
        elif isinstance(op, TakeExport):
            if _take_export(conn, spool, op.run_id):
                exported.append(op.run_id)
        elif isinstance(op, Sql):
            conn.execute(op.statement)
        elif isinstance(op, Truncate):
            for table in (tables.epochs, tables.layer_summaries):
                conn.execute(
                    delete(table).where(table.c.run_id == op.run_id, table.c.epoch > op.epoch)
                )
        else:
            raise ValueError(f"unknown store operation {op!r}")
    write_epochs()
    return exported


def _take_export(conn: Connection, spool: ExportSpool, run_id: str) -> bool:
    """Store the run's spooled files beside its stored ones: a name spooled again replaces
    that file alone (an ONNX export after the end must not delete model.py and the weights:
    before, every export replaced the run's rows whole). Whether anything was spooled."""
    files = spool.read(run_id)
    if not files:
        return False
    e = tables.exports.c
    conn.execute(delete(tables.exports).where(e.run_id == run_id, e.name.in_(list(files))))
    now = time.time()
    conn.execute(
        insert(tables.exports),
        [{"run_id": run_id, "name": n, "data": d, "created": now} for n, d in files.items()],
    )
    return True


def _reason(err: Exception) -> str:
    """The database's own words, first line, short (for /api/health and a run's message)."""
    text = str(getattr(err, "orig", None) or err).strip().splitlines()
    return (text[0] if text else type(err).__name__)[:200]
