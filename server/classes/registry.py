"""Classes in memory, the database behind them, and who may see which run.

Everything a request needs to decide (a token's class or student, a run's class) is answered
from memory without a query; every change goes to the database through the store's writer
queue (`put`: committed with the runs' own writes about every `flush_interval_s`, retried
while the database fails, never blocking a request), and `load()` reads it all back at start,
so a class, its students and its runs' membership survive a restart.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine, delete, insert, or_, select, update

from ..core.tokens import token_hash
from ..store.ops import Sql
from ..store.tables import runs as runs_table
from . import codes
from .aliases import new_alias
from .tables import class_runs, classes, students


@dataclass
class Student:
    id: str
    code: str
    name: str
    token_hash: str
    joined: float
    alias: str = ""  # the projector's name for them (aliases.py)
    group: str | None = None  # the teacher's group, if any

    def public(self, show_names: bool = False) -> dict:
        """The student as a projected page may show them: the alias unless names are shown."""
        return {"id": self.id, "name": self.name if show_names else self.alias}


@dataclass
class Classroom:
    code: str
    name: str
    teacher_hash: str
    created: float
    closed: float | None = None
    locked: bool = False
    spotlight: str | None = None
    push: dict | None = None  # the pushed experiment
    push_seq: int = 0
    show_names: bool = False  # projected pages show real names (else aliases)
    students: dict[str, Student] = field(default_factory=dict)
    # Stored (0005_class_limits), so a restarted class keeps its budget and still counts
    # against the address that opened it (a class from before: None, the server's budget).
    client: str | None = None  # the address (limits key) that opened it
    max_runs: int | None = None  # its teacher's run budget; None: LAYERLAB_MAX_RUNS_PER_CLASS

    def state(self) -> dict:
        """What every page of the class is told (hello and each change)."""
        return {
            "code": self.code,
            "name": self.name,
            "closed": self.closed is not None,
            "locked": self.locked,
            "spotlight": self.spotlight,
            "push": {"seq": self.push_seq, "experiment": self.push} if self.push else None,
            "students": len(self.students),
            "show_names": self.show_names,
        }


@dataclass
class Member:
    """Which class and student a run belongs to."""

    run_id: str
    code: str
    student_id: str
    shared: bool = False


@dataclass
class Who:
    """The class identities a request proves: a teacher's class, a student, or neither."""

    teacher_of: str | None = None
    student: Student | None = None

    @property
    def anonymous(self) -> bool:
        return self.teacher_of is None and self.student is None


class Registry:
    """Every class, student and class run, with write-through to the database."""

    def __init__(self, engine: Engine, put: Callable[[Sql], None]):
        self.engine = engine
        self.put = put  # the store writer's queue
        self.classes: dict[str, Classroom] = {}
        self.by_teacher: dict[str, str] = {}  # token hash -> class code
        self.by_student: dict[str, Student] = {}  # token hash -> student
        self.members: dict[str, Member] = {}  # run id -> membership
        # Replicas: each change, ("class" | "student" | "left" | "member", the thing), is also
        # sent to the other replicas (sync.py); one process: nothing.
        self.changed: Callable[[str, object], None] = _nothing

    # -- start ---------------------------------------------------------------------------
    def load(self) -> None:
        """Read every class, student and membership (blocking; at start)."""
        with self.engine.connect() as conn:
            for row in conn.execute(select(classes)):
                room = Classroom(
                    row.code,
                    row.name,
                    row.teacher_hash,
                    row.created,
                    row.closed,
                    bool(row.locked),
                    row.spotlight,
                    _parse(row.push_json),
                    row.push_seq or 0,
                    bool(row.show_names),
                    client=row.client,
                    max_runs=row.max_runs,
                )
                self.classes[room.code] = room
                self.by_teacher[room.teacher_hash] = room.code
            for row in conn.execute(select(students)):
                room = self.classes.get(row.class_code)
                if room is None:
                    continue
                student = Student(
                    row.id,
                    row.class_code,
                    row.name,
                    row.token_hash,
                    row.joined,
                    row.alias or "",
                    row.group_name,
                )
                if not student.alias:  # a student from before aliases: one now, kept
                    student.alias = new_alias(s.alias for s in room.students.values())
                    self.save_student(student)
                room.students[student.id] = student
                self.by_student[student.token_hash] = student
            for row in conn.execute(select(class_runs)):
                self.members[row.run_id] = Member(
                    row.run_id, row.class_code, row.student_id, bool(row.shared)
                )

    # -- identities ----------------------------------------------------------------------
    def who(self, teacher_token: str | None, student_token: str | None) -> Who:
        teacher = self.by_teacher.get(token_hash(teacher_token)) if teacher_token else None
        student = self.by_student.get(token_hash(student_token)) if student_token else None
        return Who(teacher, student)

    def get(self, code: str) -> Classroom | None:
        return self.classes.get(codes.normalize(code))

    # -- changes (queued to the database) ------------------------------------------------
    def open_class(
        self, name: str, client: str | None = None, max_runs: int | None = None
    ) -> tuple[Classroom, str]:
        """A new class and its teacher's token (`client`: the limits key of its address)."""
        code = codes.new_code()
        while code in self.classes:
            code = codes.new_code()
        token = codes.new_token()
        room = Classroom(code, name, token_hash(token), time.time())
        room.client, room.max_runs = client, max_runs
        self.put(
            Sql(
                code,
                insert(classes).values(
                    code=code,
                    name=name,
                    teacher_hash=room.teacher_hash,
                    created=room.created,
                    locked=False,
                    push_seq=0,
                    client=client,
                    max_runs=max_runs,
                ),
            )
        )
        self.classes[code] = room
        self.by_teacher[room.teacher_hash] = code
        self.changed("class", room)
        return room, token

    def join(self, room: Classroom, name: str, group: str | None = None) -> tuple[Student, str]:
        token = codes.new_token()
        alias = new_alias(s.alias for s in room.students.values())
        student = Student(
            secrets.token_hex(4), room.code, name, token_hash(token), time.time(), alias, group
        )
        while student.id in room.students:
            student.id = secrets.token_hex(4)
        self.put(
            Sql(
                room.code,
                insert(students).values(
                    id=student.id,
                    class_code=room.code,
                    name=name,
                    token_hash=student.token_hash,
                    joined=student.joined,
                    alias=alias,
                    group_name=group,
                ),
            )
        )
        room.students[student.id] = student
        self.by_student[student.token_hash] = student
        self.changed("student", student)
        return student, token

    def save_student(self, student: Student) -> None:
        """Write a student's name, alias and group (a rename or a group change)."""
        self.put(
            Sql(
                student.code,
                update(students)
                .where(students.c.id == student.id)
                .values(name=student.name, alias=student.alias, group_name=student.group),
            )
        )
        self.changed("student", student)

    def remove(self, room: Classroom, student: Student) -> None:
        """The student leaves the class: their token stops working; their runs stay the
        class's (the teacher's export keeps them)."""
        room.students.pop(student.id, None)
        self.by_student.pop(student.token_hash, None)
        self.put(Sql(room.code, delete(students).where(students.c.id == student.id)))
        self.changed("left", student)

    def add_member(self, run_id: str, student: Student) -> Member:
        """Record that a run is a student's (memory first, so it is hidden at once)."""
        member = Member(run_id, student.code, student.id)
        self.members[run_id] = member
        self.changed("member", member)
        return member

    def save_member(self, member: Member) -> None:
        """Queue the membership row (committed with the run's own row)."""
        self.put(
            Sql(
                member.run_id,
                insert(class_runs).values(
                    run_id=member.run_id,
                    class_code=member.code,
                    student_id=member.student_id,
                    shared=member.shared,
                    created=time.time(),
                ),
            )
        )

    def save_share(self, member: Member) -> None:
        self.put(
            Sql(
                member.run_id,
                update(class_runs)
                .where(class_runs.c.run_id == member.run_id)
                .values(shared=member.shared),
            )
        )
        self.changed("member", member)

    def save_class(self, room: Classroom) -> None:
        """Write a class's mutable state (spotlight, lock, push, closed)."""
        self.put(
            Sql(
                room.code,
                update(classes)
                .where(classes.c.code == room.code)
                .values(
                    closed=room.closed,
                    locked=room.locked,
                    spotlight=room.spotlight,
                    push_json=json.dumps(room.push) if room.push else None,
                    push_seq=room.push_seq,
                    show_names=room.show_names,
                ),
            )
        )
        self.changed("class", room)

    # -- who sees what -------------------------------------------------------------------
    def runs_of(self, code: str) -> list[Member]:
        return [m for m in self.members.values() if m.code == code]

    def can_see(self, run_id: str, who: Who) -> bool:
        """A class run is seen by its student, its teacher, the class while it is in the
        spotlight, and anyone once its owner shares it; every other run by anyone."""
        member = self.members.get(run_id)
        if member is None:
            return True
        if member.shared or who.teacher_of == member.code:
            return True
        if who.student is not None and who.student.id == member.student_id:
            return True
        room = self.classes.get(member.code)
        return (
            who.student is not None
            and who.student.code == member.code
            and room is not None
            and room.spotlight == run_id
        )

    def can_export(self, run_id: str, who: Who) -> bool:
        """Exports: the owner, the teacher, or anyone once the owner shares the run."""
        member = self.members.get(run_id)
        if member is None or member.shared or who.teacher_of == member.code:
            return True
        return who.student is not None and who.student.id == member.student_id

    def owns(self, run_id: str, who: Who) -> bool:
        member = self.members.get(run_id)
        return (
            member is not None and who.student is not None and who.student.id == member.student_id
        )

    def listable(self, run_id: str, who: Who) -> bool:
        """Listed in GET /api/runs (and so Compare): to its student, its teacher and, while
        spotlighted, the class. A shared run stays off other lists (its link is the share)."""
        member = self.members.get(run_id)
        return member is None or self._listed_for(member, run_id, who)

    def _listed_for(self, member: Member, run_id: str, who: Who) -> bool:
        if who.teacher_of == member.code:
            return True
        if who.student is None or who.student.code != member.code:
            return False
        room = self.classes.get(member.code)
        return who.student.id == member.student_id or (
            room is not None and room.spotlight == run_id
        )

    def list_condition(self, who: Who):
        """The SQL condition on `runs` matching `listable`: not a class run, or one of mine."""
        mine = []
        if who.teacher_of is not None:
            mine.append(class_runs.c.class_code == who.teacher_of)
        if who.student is not None:
            mine.append(class_runs.c.student_id == who.student.id)
            room = self.classes.get(who.student.code)
            if room is not None and room.spotlight:
                mine.append(class_runs.c.run_id == room.spotlight)
        outside = runs_table.c.id.not_in(select(class_runs.c.run_id))
        if not mine:
            return outside
        return or_(outside, runs_table.c.id.in_(select(class_runs.c.run_id).where(or_(*mine))))


def _nothing(kind: str, thing: object) -> None:
    """One process: a change stays here."""


def _parse(text: str | None) -> dict | None:
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
