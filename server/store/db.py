"""Connecting to the database and bringing its schema up to date with the shipped migrations.

SQLite (the default, `<state_dir>/layerlab.db`) runs in WAL mode: readers never wait for the
writer, and a commit survives a kill -9 of the server (synchronous=NORMAL: only a power cut can
lose the last commits). PostgreSQL is used when `LAYERLAB_DATABASE_URL` names one, through
psycopg 3 (`postgresql://` URLs are given the `+psycopg` driver).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url

from ..config import Settings

log = logging.getLogger("layerlab.store")

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
MIGRATE_LOCK = 0x4C4C4D49  # PostgreSQL advisory lock key ("LLMI") held while migrating
MIGRATE_WAIT_S = 120  # a replica waits this long for another's migration
LOCK_TIMEOUT_S = 2  # a write that waits this long for a lock fails (the writer retries later)


def database_url(settings: Settings) -> tuple[str, Path | None]:
    """The URL to connect to, and a temporary folder to delete at close (persist_runs off)."""
    if settings.database_url:
        url = make_url(settings.database_url)
        if url.drivername in ("postgresql", "postgres"):
            url = url.set(drivername="postgresql+psycopg")
        return url.render_as_string(hide_password=False), None
    if not settings.persist_runs:
        scratch = Path(tempfile.mkdtemp(prefix="layerlab-db-"))
        return f"sqlite:///{scratch / 'layerlab.db'}", scratch
    state = Path(settings.state_dir)
    state.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{state.resolve() / 'layerlab.db'}", None


def make_engine(url: str) -> Engine:
    """An engine for `url`, with each dialect's settings for a server that must keep serving."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": LOCK_TIMEOUT_S})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(
        url,
        pool_pre_ping=True,  # a restarted PostgreSQL does not leave dead connections behind
        pool_size=4,
        connect_args={"options": f"-c lock_timeout={LOCK_TIMEOUT_S * 1000}", "connect_timeout": 5},
    )


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def migrate(engine: Engine) -> None:
    """Run every migration not yet applied (alembic `upgrade heads`), in one transaction.

    `heads`, not `head`: features add their tables as branches off the initial revision
    (uploads, classes, sweeps), and every branch is applied."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            # Replicas starting together on one database migrate one at a time: the lock is
            # held until this transaction ends, and the next one finds nothing left to do.
            connection.execute(text(f"SET LOCAL lock_timeout = '{MIGRATE_WAIT_S}s'"))
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATE_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")


def discard(scratch: Path | None) -> None:
    """Delete a temporary database folder."""
    if scratch is not None:
        shutil.rmtree(scratch, ignore_errors=True)
