"""The classes' tables, on the store's shared metadata (migration 0002_classes builds them).

A run's membership lives here (`class_runs`), not in `runs`: the run machinery knows nothing
of classes beyond two attributes set at creation.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Float, Integer, String, Table, Text

from ..store.tables import metadata

classes = Table(
    "classes",
    metadata,
    Column("code", String(7), primary_key=True),
    Column("name", String(120), nullable=False),
    Column("teacher_hash", String(64), nullable=False, unique=True),
    Column("created", Float, nullable=False),
    Column("closed", Float),
    Column("locked", Boolean, nullable=False, default=False),
    Column("spotlight", String(32)),
    Column("push_json", Text),  # the design pushed to every student, if any
    Column("push_seq", Integer, nullable=False, default=0),
    Column("show_names", Boolean, nullable=False, default=False),  # on the projector (0005)
    # The limits it was opened under (0005_class_limits): the address's limits key, and the
    # teacher's run budget (NULL: LAYERLAB_MAX_RUNS_PER_CLASS).
    Column("client", String(64)),
    Column("max_runs", Integer),
)

students = Table(
    "class_students",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("class_code", String(7), nullable=False, index=True),
    Column("name", String(40), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("joined", Float, nullable=False),
    Column("alias", String(40)),  # the projector's name for the student (0005)
    Column("group_name", String(40)),  # the teacher's group, if any (0005)
)

class_runs = Table(
    "class_runs",
    metadata,
    Column("run_id", String(32), primary_key=True),
    Column("class_code", String(7), nullable=False, index=True),
    Column("student_id", String(16), nullable=False, index=True),
    Column("shared", Boolean, nullable=False, default=False),
    Column("created", Float, nullable=False),
)
