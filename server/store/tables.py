"""The database schema, as SQLAlchemy Core tables (the migrations in `migrations/` build it).

JSON documents are kept as text (`*_json` columns) and parsed on read by `rows.py`, so a row
that someone edited by hand, or that an older version wrote, is validated and skipped when
bad instead of failing a whole query. Times are Unix seconds (floats).

Room is left for the tables other issues add (uploaded datasets, classes); each comes as a
migration of its own.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

# SQLite only autoincrements an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
Serial = BigInteger().with_variant(Integer, "sqlite")

runs = Table(
    "runs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("status", String(16), nullable=False, index=True),
    Column("message", Text),
    Column("client", String(64), nullable=False, default=""),
    Column("owner", String(64), index=True),  # sha256 of the X-Owner-Token that started it
    Column("token_hash", String(64)),  # sha256 of its X-Run-Token (never the token itself)
    Column("design_id", String(32), index=True),
    Column("dataset", String(64), index=True),
    Column("experiment_json", Text, nullable=False),
    Column("check_json", Text, nullable=False),
    Column("epoch", Integer, nullable=False, default=0),
    Column("epochs", Integer),
    Column("total_params", BigInteger),
    Column("last_json", Text),  # the latest epoch record
    Column("created", Float, nullable=False, index=True),
    Column("ended", Float),
)

epochs = Table(
    "epochs",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("run_id", String(32), ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("epoch", Integer, nullable=False),
    Column("record_json", Text, nullable=False),
    Index("ix_epochs_run_epoch", "run_id", "epoch"),
)

layer_summaries = Table(
    "layer_summaries",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("run_id", String(32), ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("epoch", Integer, nullable=False),
    Column("layers_json", Text, nullable=False),  # {"epoch", "layers"}, as in hello
    Index("ix_layer_summaries_run_epoch", "run_id", "epoch"),
)

exports = Table(
    "exports",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("name", String(128), primary_key=True),  # the file name a client asks for
    Column("data", LargeBinary, nullable=False),
    Column("created", Float, nullable=False),
)

# Which replica owns each active run (server/cluster): renewed while the run lives there; a
# lease whose `expires` has passed belongs to a replica that is gone. No foreign key: the
# lease is taken before the writer has committed the run's row.
run_leases = Table(
    "run_leases",
    metadata,
    Column("run_id", String(32), primary_key=True),
    Column("replica", String(64), nullable=False, index=True),
    Column("expires", Float, nullable=False, index=True),
)

# The latest weights checkpoint of each active run of a replica set (server/cluster copies the
# worker's file here), so any replica can take the run over: no shared folder.
run_checkpoints = Table(
    "run_checkpoints",
    metadata,
    Column("run_id", String(32), primary_key=True),
    Column("data", LargeBinary, nullable=False),  # the safetensors file
    Column("saved", Float, nullable=False),
)
