"""Alembic environment: migrations run on the connection `server.store.db.migrate` hands over
(`config.attributes["connection"]`), or on `sqlalchemy.url` when run from the alembic CLI."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from server.store.tables import metadata

config = context.config


def run(connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.begin() as conn:
        run(conn)
