"""Classes, their students, and which class and student each run belongs to.

Revision ID: 0002_classes
Revises: 0001
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_classes"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "classes",
        sa.Column("code", sa.String(7), primary_key=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("teacher_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("closed", sa.Float),
        sa.Column("locked", sa.Boolean, nullable=False),
        sa.Column("spotlight", sa.String(32)),
        sa.Column("push_json", sa.Text),
        sa.Column("push_seq", sa.Integer, nullable=False),
    )
    op.create_table(
        "class_students",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("class_code", sa.String(7), nullable=False),
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("joined", sa.Float, nullable=False),
    )
    op.create_index("ix_class_students_class_code", "class_students", ["class_code"])
    op.create_table(
        "class_runs",
        sa.Column("run_id", sa.String(32), primary_key=True),
        sa.Column("class_code", sa.String(7), nullable=False),
        sa.Column("student_id", sa.String(16), nullable=False),
        sa.Column("shared", sa.Boolean, nullable=False),
        sa.Column("created", sa.Float, nullable=False),
    )
    op.create_index("ix_class_runs_class_code", "class_runs", ["class_code"])
    op.create_index("ix_class_runs_student_id", "class_runs", ["student_id"])


def downgrade() -> None:
    op.drop_table("class_runs")
    op.drop_table("class_students")
    op.drop_table("classes")
