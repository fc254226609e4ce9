"""Classes keep the limits they were opened under: the address (limits key) that opened each
class and its teacher's run budget, so that classes per address, the class runs of an address
and a class's own budget hold across a restart (before, a restarted class had the server's
budget and counted against no address). Per-minute rate windows stay in memory: see
server/classes/limits.py.

Revision ID: 0005_class_limits
Revises: 0005_run_leases
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_class_limits"
down_revision = "0005_run_leases"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("classes") as batch:
        batch.add_column(sa.Column("client", sa.String(64), nullable=True))
        batch.add_column(sa.Column("max_runs", sa.Integer, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("classes") as batch:
        batch.drop_column("max_runs")
        batch.drop_column("client")
