"""Upload shares: the owner's share token (its hash) and the owners who accepted it.

Revision ID: 0005_upload_shares
Revises: 0004_upload_preview
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_upload_shares"
down_revision = "0005_class_board"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "upload_shares",
        sa.Column(
            "upload_id",
            sa.String(32),
            sa.ForeignKey("uploads.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created", sa.Float, nullable=False),
    )
    op.create_table(
        "upload_grants",
        sa.Column(
            "upload_id",
            sa.String(32),
            sa.ForeignKey("uploads.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("owner", sa.String(64), primary_key=True),
        sa.Column("created", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("upload_grants")
    op.drop_table("upload_shares")
