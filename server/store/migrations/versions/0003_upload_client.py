"""Uploads remember the address they came from: quotas per address (server/uploads/quota.py).

Revision ID: 0003_upload_client
Revises: 0002_uploads
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_upload_client"
down_revision = "0002_uploads"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("uploads") as batch:
        batch.add_column(sa.Column("client", sa.String(64), nullable=False, server_default=""))
        batch.create_index("ix_uploads_client", ["client"])


def downgrade() -> None:
    with op.batch_alter_table("uploads") as batch:
        batch.drop_index("ix_uploads_client")
        batch.drop_column("client")
