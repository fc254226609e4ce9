"""Classes keep each student's projector alias and group, and whether the projector shows
real names.

Revision ID: 0005_class_board
Revises: 0004_upload_preview, 0002_classes (the tables it alters; a merge of the two heads
until the chain is made one line)
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_class_board"
down_revision = ("0004_upload_preview", "0002_classes")
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("class_students") as batch:
        batch.add_column(sa.Column("alias", sa.String(40), nullable=True))
        batch.add_column(sa.Column("group_name", sa.String(40), nullable=True))
    with op.batch_alter_table("classes") as batch:
        batch.add_column(
            sa.Column("show_names", sa.Boolean, nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("classes") as batch:
        batch.drop_column("show_names")
    with op.batch_alter_table("class_students") as batch:
        batch.drop_column("group_name")
        batch.drop_column("alias")
