"""Uploads keep their preview apart from their arrays: a GET reads it, never the npz.

Revision ID: 0004_upload_preview
Revises: 0003_upload_client
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_upload_preview"
down_revision = "0003_upload_client"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("uploads") as batch:
        batch.add_column(sa.Column("preview_json", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("uploads") as batch:
        batch.drop_column("preview_json")
