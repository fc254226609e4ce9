"""The class registry's rules without HTTP: who a token proves, which class run each of them
sees, exports and lists, and what is queued to the database."""

from __future__ import annotations

from server.classes import codes
from server.classes.registry import Registry, Who
from server.store.ops import Sql


def registry() -> tuple[Registry, list[Sql]]:
    queued: list[Sql] = []
    return Registry(engine=None, put=queued.append), queued  # type: ignore[arg-type]


def test_tokens_prove_the_teacher_and_the_student_and_nothing_else():
    reg, queued = registry()
    room, teacher = reg.open_class("9B")
    ana, ana_token = reg.join(room, "ana")
    assert codes.is_code(room.code) and reg.get(room.code.lower()) is room
    assert reg.who(teacher, None) == Who(teacher_of=room.code)
    assert reg.who(None, ana_token).student is ana
    assert reg.who("tökén-☃", "tökén-☃").anonymous  # any text is just an unknown token
    assert reg.who(None, None).anonymous
    assert [type(q) for q in queued] == [Sql, Sql]  # the class and the student, written behind


def test_a_class_run_is_seen_by_its_student_its_teacher_and_the_class_in_the_spotlight():
    reg, _ = registry()
    room, teacher = reg.open_class("9B")
    ana, _ = reg.join(room, "ana")
    ben, _ = reg.join(room, "ben")
    other_room, _ = reg.open_class("9C")
    eve, _ = reg.join(other_room, "eve")
    reg.add_member("run-a", ana)
    as_ana, as_ben, as_eve = Who(student=ana), Who(student=ben), Who(student=eve)
    as_teacher, outsider = Who(teacher_of=room.code), Who()
    assert reg.can_see("run-a", as_ana) and reg.can_see("run-a", as_teacher)
    assert not reg.can_see("run-a", as_ben) and not reg.can_see("run-a", outsider)
    assert not reg.can_see("run-a", Who(teacher_of=other_room.code))
    room.spotlight = "run-a"
    assert reg.can_see("run-a", as_ben) and not reg.can_see("run-a", as_eve)
    assert not reg.can_export("run-a", as_ben)  # the spotlight shows, it does not give files
    assert reg.listable("run-a", as_ben) and not reg.listable("run-a", outsider)
    assert reg.owns("run-a", as_ana) and not reg.owns("run-a", as_teacher)
    assert reg.can_see("not-a-class-run", outsider)  # runs outside classes are anyone's


def test_a_shared_run_is_seen_and_exported_by_anyone_but_listed_only_in_its_class():
    reg, queued = registry()
    room, _ = reg.open_class("9B")
    ana, _ = reg.join(room, "ana")
    member = reg.add_member("run-a", ana)
    member.shared = True
    reg.save_share(member)
    assert reg.can_see("run-a", Who()) and reg.can_export("run-a", Who())
    assert not reg.listable("run-a", Who())
    assert isinstance(queued[-1], Sql) and queued[-1].key == "run-a"
