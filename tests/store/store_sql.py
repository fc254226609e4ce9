"""Shared by the store tests: direct SQL on the test's database (as an outsider would), and
holding its write lock (a database that cannot be written)."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import psycopg

from server.config import Settings


def sql(settings: Settings, statement: str, params: tuple = ()) -> list[tuple]:
    """Run one statement on the test database outside LayerLab (SQLite `?`, psycopg `%s`)."""
    if settings.database_url:
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            cur = conn.execute(statement.replace("?", "%s"), params)
            return cur.fetchall() if cur.description else []
    conn = sqlite3.connect(Path(settings.state_dir) / "layerlab.db")
    try:
        rows = conn.execute(statement, params).fetchall()
        conn.commit()
        return rows
    finally:
        conn.close()


@contextlib.contextmanager
def write_lock(settings: Settings) -> Iterator[None]:
    """Hold the database's write lock from another connection (writes fail; reads go on)."""
    if settings.database_url:
        with psycopg.connect(settings.database_url) as conn:
            conn.execute("LOCK TABLE runs, epochs, layer_summaries, exports IN EXCLUSIVE MODE")
            yield
            conn.rollback()
        return
    conn = sqlite3.connect(Path(settings.state_dir) / "layerlab.db", isolation_level=None)
    try:
        conn.execute("BEGIN EXCLUSIVE")
        yield
        conn.execute("ROLLBACK")
    finally:
        conn.close()
