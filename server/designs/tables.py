"""The `designs` table (migration 0001), on the store's shared metadata."""

from __future__ import annotations

from sqlalchemy import Column, Float, String, Table, Text

from ..store.tables import metadata

designs = Table(
    "designs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("owner", String(64), nullable=False, index=True),  # sha256 of X-Owner-Token
    Column("name", String(200), nullable=False),
    Column("note", Text, nullable=False, default=""),
    Column("experiment_json", Text, nullable=False),
    Column("created", Float, nullable=False),
    Column("updated", Float, nullable=False, index=True),
)
