"""The sweeps' tables, on the store's shared metadata (migration 0002_sweeps builds them).

`sweep_runs.run_id` is not a foreign key: a run's row is written by the store's write-behind
thread, which may commit it a second after the sweep's own rows.
"""

from __future__ import annotations

from sqlalchemy import Column, Float, ForeignKey, Integer, String, Table, Text

from ..store.tables import metadata

sweeps = Table(
    "sweeps",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("owner", String(64), nullable=False, index=True),  # sha256 of X-Owner-Token
    Column("name", String(200), nullable=False, default=""),
    Column("spec_json", Text, nullable=False),  # {"experiment": base, "axes": [...]}
    Column("created", Float, nullable=False, index=True),
    Column("stopped", Float),  # when its owner stopped it
)

sweep_runs = Table(
    "sweep_runs",
    metadata,
    Column("sweep_id", String(32), ForeignKey("sweeps.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),  # the variant's index
    Column("run_id", String(32), nullable=False, index=True),
    Column("values_json", Text, nullable=False),  # {setting: value}
)
