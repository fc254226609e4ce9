"""Runs, their epoch records and per-layer summaries, exports, designs.

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Serial = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("message", sa.Text),
        sa.Column("client", sa.String(64), nullable=False),
        sa.Column("owner", sa.String(64)),
        sa.Column("token_hash", sa.String(64)),
        sa.Column("design_id", sa.String(32)),
        sa.Column("dataset", sa.String(64)),
        sa.Column("experiment_json", sa.Text, nullable=False),
        sa.Column("check_json", sa.Text, nullable=False),
        sa.Column("epoch", sa.Integer, nullable=False),
        sa.Column("epochs", sa.Integer),
        sa.Column("total_params", sa.BigInteger),
        sa.Column("last_json", sa.Text),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("ended", sa.Float),
    )
    for column in ("status", "owner", "design_id", "dataset", "created"):
        op.create_index(f"ix_runs_{column}", "runs", [column])
    for table, payload in (("epochs", "record_json"), ("layer_summaries", "layers_json")):
        op.create_table(
            table,
            sa.Column("id", Serial, primary_key=True, autoincrement=True),
            sa.Column(
                "run_id",
                sa.String(32),
                sa.ForeignKey("runs.id", ondelete="CASCADE"),
                nullable=False,
            ),
            sa.Column("epoch", sa.Integer, nullable=False),
            sa.Column(payload, sa.Text, nullable=False),
        )
        op.create_index(f"ix_{table}_run_epoch", table, ["run_id", "epoch"])
    op.create_table(
        "exports",
        sa.Column(
            "run_id", sa.String(32), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("created", sa.Float, nullable=False),
    )
    op.create_table(
        "designs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("experiment_json", sa.Text, nullable=False),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("updated", sa.Float, nullable=False),
    )
    op.create_index("ix_designs_owner", "designs", ["owner"])
    op.create_index("ix_designs_updated", "designs", ["updated"])


def downgrade() -> None:
    for table in ("designs", "exports", "layer_summaries", "epochs", "runs"):
        op.drop_table(table)
