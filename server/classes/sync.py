"""Classes across replicas: what one replica's change to a class looks like to the others.

With `LAYERLAB_REDIS_URL` every replica keeps the whole registry in memory (registry.py), as one
process does, and each change made here is sent to the others as one small JSON event through
Redis (server/cluster/class_events.py), in the order it was made; the others apply it to their
memory. Events carry the changed thing's whole state, so applying one twice, or late, is
harmless. The database stays the record (each replica loads it at start); events only keep the
memories of the replicas alike while they run. Kinds (`k`):

- `class`, `student`, `left`, `member`: the registry (classroom, student, removed student,
  run membership), each with its full state;
- `experiment`, `question` (the class's current one, or null), `answer`, `hand`: the
  in-memory class activities (experiments.py, predictions.py, help_flags.py);
- `say`, `teachers`, `removed`: a message for the class's pages, sent by the class hub (hub.py).
"""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any

from .experiments import ClassExperiment, Experiments
from .help_flags import HelpFlags
from .predictions import Predictions, Question
from .registry import Classroom, Member, Registry, Student

HUB_KINDS = ("say", "teachers", "removed")

# A classroom's fields that travel (its students travel as their own events).
ROOM_FIELDS = tuple(f.name for f in fields(Classroom) if f.name != "students")


def registry_event(kind: str, thing: Any) -> dict:
    """The event of a registry change (`Registry.changed(kind, thing)`)."""
    if kind == "class":
        return {"k": "class", "room": {name: getattr(thing, name) for name in ROOM_FIELDS}}
    if kind == "student":
        return {"k": "student", "student": asdict(thing)}
    if kind == "left":
        return {"k": "left", "code": thing.code, "student": thing.id}
    return {"k": "member", "member": asdict(thing)}


def experiment_event(code: str, experiments: Experiments) -> dict:
    exp = experiments.by_class.get(code)
    return {"k": "experiment", "code": code, "state": asdict(exp) if exp else None}


def question_event(code: str, predictions: Predictions) -> dict:
    question = predictions.by_class.get(code)
    return {"k": "question", "code": code, "state": asdict(question) if question else None}


def apply(
    event: dict,
    registry: Registry,
    experiments: Experiments,
    predictions: Predictions,
    help_flags: HelpFlags,
) -> None:
    """Apply another replica's event to this replica's memory (hub events: see hub.apply)."""
    kind = event["k"]
    if kind == "class":
        _apply_room(registry, event["room"])
    elif kind == "student":
        _apply_student(registry, Student(**event["student"]))
    elif kind == "left":
        room = registry.classes.get(event["code"])
        student = room.students.pop(event["student"], None) if room else None
        if student is not None:
            registry.by_student.pop(student.token_hash, None)
    elif kind == "member":
        member = Member(**event["member"])
        registry.members[member.run_id] = member
    elif kind == "experiment":
        state = event["state"]
        if state is None:
            experiments.by_class.pop(event["code"], None)
        else:
            experiments.by_class[event["code"]] = ClassExperiment(**state)
    elif kind == "question":
        state = event["state"]
        if state is None:
            predictions.by_class.pop(event["code"], None)
        else:
            predictions.by_class[event["code"]] = Question(**state)
            predictions._seq = max(predictions._seq, state["seq"])
    elif kind == "answer":
        question = predictions.by_class.get(event["code"])
        if question is not None and question.seq == event["seq"]:
            question.answers[event["student"]] = event["answer"]
    elif kind == "hand":
        help_flags.set_hand(event["code"], event["student"], event["up"])


def _apply_room(registry: Registry, state: dict) -> None:
    room = registry.classes.get(state["code"])
    if room is None:
        room = registry.classes[state["code"]] = Classroom(**state)
    else:
        for name, value in state.items():
            setattr(room, name, value)
    registry.by_teacher[room.teacher_hash] = room.code


def _apply_student(registry: Registry, student: Student) -> None:
    room = registry.classes.get(student.code)
    if room is None:  # its class's event has not come (or the class is gone): the database's
        return
    known = room.students.get(student.id)
    if known is not None:
        for name, value in asdict(student).items():
            setattr(known, name, value)
        student = known
    room.students[student.id] = student
    registry.by_student[student.token_hash] = student
