"""Run leases: which replica owns each active run, until when; and each active run's latest
checkpoint, so another replica can take it over (server/cluster).

Revision ID: 0005_run_leases
Revises: 0004_upload_preview
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_run_leases"
down_revision = "0005_upload_shares"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "run_leases",
        sa.Column("run_id", sa.String(32), primary_key=True),
        sa.Column("replica", sa.String(64), nullable=False),
        sa.Column("expires", sa.Float, nullable=False),
    )
    op.create_index("ix_run_leases_replica", "run_leases", ["replica"])
    op.create_index("ix_run_leases_expires", "run_leases", ["expires"])
    op.create_table(
        "run_checkpoints",
        sa.Column("run_id", sa.String(32), primary_key=True),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("saved", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("run_checkpoints")
    op.drop_index("ix_run_leases_expires", "run_leases")
    op.drop_index("ix_run_leases_replica", "run_leases")
    op.drop_table("run_leases")
