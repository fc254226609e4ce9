"""Sweeps and their variants' runs (server/sweeps/tables.py).

Revision ID: 0002_sweeps
Revises: 0001
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_sweeps"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sweeps",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("spec_json", sa.Text, nullable=False),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("stopped", sa.Float),
    )
    op.create_index("ix_sweeps_owner", "sweeps", ["owner"])
    op.create_index("ix_sweeps_created", "sweeps", ["created"])
    op.create_table(
        "sweep_runs",
        sa.Column(
            "sweep_id",
            sa.String(32),
            sa.ForeignKey("sweeps.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("values_json", sa.Text, nullable=False),
    )
    op.create_index("ix_sweep_runs_run_id", "sweep_runs", ["run_id"])


def downgrade() -> None:
    op.drop_table("sweep_runs")
    op.drop_table("sweeps")
