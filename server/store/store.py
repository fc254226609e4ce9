"""The store as the rest of the server sees it: open it, queue writes, read back.

Writes are queued (`Writer`, flushed from its own thread about every `flush_interval_s`);
reads are blocking (the API calls them from its thread pool). `health()` says whether the
database can be written and, when not, why.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.exc import SQLAlchemyError

from ..config import Settings
from ..core.jsonsafe import dumps
from ..core.tokens import token_hash
from . import queries
from .db import database_url, discard, make_engine, migrate
from .journal import Journal, JournalBusy
from .ops import AddEpoch, AddLayers, InsertRun, Op, TakeExport, Truncate, UpdateRun
from .spool import ExportSpool
from .startup import import_legacy, interrupt_active
from .writer import Writer

log = logging.getLogger("layerlab.store")
T = TypeVar("T")

__all__ = ["Store", "StoreUnavailable", "spool_for", "token_hash"]


class StoreUnavailable(Exception):
    """The database could not be read (HTTP 503, with the reason)."""


def spool_for(settings: Settings) -> ExportSpool:
    """Where workers leave export files for the store (`<state_dir>/exports`)."""
    return ExportSpool(Path(settings.state_dir) / "exports")


class Store:
    """One database: runs, epoch records, layer summaries, exports and designs."""

    def __init__(
        self,
        settings: Settings,
        on_failure: Callable[[str, set[str]], None] | None = None,
        on_recovery: Callable[[set[str]], None] | None = None,
    ):
        self.settings = settings
        url, self._scratch = database_url(settings)
        weakref.finalize(self, discard, self._scratch)  # a temporary database goes with it
        self.engine = make_engine(url)
        self.dialect = self.engine.dialect.name
        self.spool = spool_for(settings)
        journal = None
        if settings.store_journal_mb:
            # A temporary database's journal goes with it; a kept one's stays for the next start.
            folder = self._scratch or Path(settings.state_dir)
            try:
                journal = Journal(folder / "store-journal.bin", settings.store_journal_mb << 20)
            except JournalBusy as err:
                log.warning("no store journal: %s (writes wait in memory only)", err)
        self.writer = Writer(
            self.engine,
            self.spool,
            settings.flush_interval_s,
            on_failure,
            on_recovery,
            max_pending=settings.store_max_pending,
            journal=journal,
        )
        self.interrupted: list[str] = []

    def watch(
        self,
        on_failure: Callable[[str, set[str]], None] | None,
        on_recovery: Callable[[set[str]], None] | None,
    ) -> None:
        """Who hears that the database cannot be written (reason, runs affected), and that it
        can again (the runs): called from the writer's thread."""
        self.writer.on_failure, self.writer.on_recovery = on_failure, on_recovery

    def open(self) -> None:
        """Migrate, import old JSON runs, mark runs left active `interrupted`, start writing."""
        migrate(self.engine)
        if self.settings.persist_runs and not self.settings.database_url:
            import_legacy(self.engine, Path(self.settings.state_dir))
        self.writer.replay()  # an earlier server's last writes, before runs are marked
        self.interrupted = interrupt_active(self.engine)
        for run_id in self.interrupted:
            if self.spool.names(run_id):
                self.writer.put(TakeExport(run_id))
        self.writer.start()

    def flush(self, timeout: float = 10.0) -> bool:
        """Commit every write queued so far (blocking); False if not done within `timeout`."""
        return self.writer.flush(timeout)

    def close(self) -> None:
        self.writer.close()
        self.engine.dispose()
        discard(self._scratch)

    def health(self) -> dict:
        w = self.writer
        return {
            "ok": w.error is None,
            "dialect": self.dialect,
            "error": w.error,
            "since": w.error_since,
            "pending": w.pending,
            "journaled": w.journaled,
            "dropped": w.dropped,
        }

    # -- writes (queued; never block) --------------------------------------------------
    def add_run(
        self,
        run_id: str,
        *,
        status: str,
        client: str,
        experiment: dict,
        check: dict,
        created: float,
        owner: str | None = None,
        token: str | None = None,
        design_id: str | None = None,
    ) -> None:
        training = experiment.get("training", {}) if isinstance(experiment, dict) else {}
        dataset = experiment.get("dataset", {}) if isinstance(experiment, dict) else {}
        self.writer.put(
            InsertRun(
                {
                    "id": run_id,
                    "status": status,
                    "message": None,
                    "client": client[:64],
                    "owner": owner,
                    "token_hash": token_hash(token) if token else None,
                    "design_id": design_id,
                    "dataset": dataset.get("name") if isinstance(dataset, dict) else None,
                    "experiment_json": dumps(experiment),
                    "check_json": dumps(check),
                    "epoch": 0,
                    "epochs": training.get("epochs") if isinstance(training, dict) else None,
                    "total_params": check.get("total_params"),
                    "last_json": None,
                    "created": created,
                    "ended": None,
                },
            )
        )

    def truncate(self, run_id: str, epoch: int) -> None:
        """Drop a run's records after `epoch` (it resumes from a checkpoint there)."""
        self.writer.put(Truncate(run_id, epoch))

    def queue(self, op: Op) -> None:
        """Queue another part's own operation (`ops.Sql`: the classes' tables)."""
        self.writer.put(op)

    def update_run(self, run_id: str, **values: Any) -> None:
        self.writer.put(UpdateRun(run_id, values))

    def add_epoch(self, run_id: str, epoch: int, record_json: str) -> None:
        self.writer.put(AddEpoch(run_id, epoch, record_json))

    def add_layers(self, run_id: str, epoch: int, layers_json: str) -> None:
        self.writer.put(AddLayers(run_id, epoch, layers_json))

    def take_export(self, run_id: str) -> None:
        """Move the run's spooled export files (if any) into the database."""
        self.writer.put(TakeExport(run_id))

    # -- reads and immediate writes (blocking: call them from a thread) ---------------
    def read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`fn(engine, ...)` (a query), with a failing database as StoreUnavailable."""
        return self._call("read", fn, args, kwargs)

    def write(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`fn(engine, ...)` that changes rows now (a design saved, an upload stored: the
        request answers once it is committed), with a failing database as StoreUnavailable."""
        return self._call("written", fn, args, kwargs)

    def _call(self, verb: str, fn: Callable[..., T], args: tuple, kwargs: dict) -> T:
        try:
            return fn(self.engine, *args, **kwargs)
        except SQLAlchemyError as err:
            reason = " ".join(str(getattr(err, "orig", None) or err).split())[:200]
            log.error("the database could not be %s: %s", verb, reason)
            raise StoreUnavailable(f"the database could not be {verb}: {reason}") from None

    def get_run(self, run_id: str):
        return self.read(queries.get_run, run_id)

    def export_file(self, run_id: str, name: str) -> bytes | Path | None:
        """An export file: still spooled (a Path) or in the database (bytes), else None.
        The spool first: the writer deletes a spooled file only once it is committed."""
        path = self.spool.path(run_id, name)
        if path is not None:
            return path
        return self.read(queries.export_data, run_id, name)

    def export_names(self, run_id: str) -> list[str]:
        names = set(self.spool.names(run_id))
        return sorted(names | set(self.read(queries.export_names, run_id)))
