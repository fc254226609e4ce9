"""Class experiments without a server: every setting applies to a real design and is checked
as POST /api/check would; values are assigned evenly per student, per group where students
have groups, and to latecomers; a run must carry the student's value; answers are checked."""

from __future__ import annotations

import pytest

from server.classes.errors import ClassRefused
from server.classes.experiments import Experiments, ValueRefused, apply, value_of
from server.classes.predictions import AnswerRefused, Predictions
from server.classes.registry import Classroom, Student
from server.config import Settings
from server.engine.errors import ExperimentError
from server.engine.validation import validate_experiment

SETTINGS = Settings()
BASE = {
    "dataset": {"name": "spiral", "samples": 200},
    "model": {
        "layers": [
            {"type": "dense", "units": 8, "activation": "tanh"},
            {"type": "dense", "units": 8, "activation": "tanh"},
        ]
    },
    "training": {"optimizer": "adam", "learning_rate": 0.01, "epochs": 5},
}


def check(doc: dict) -> dict:
    try:
        return validate_experiment(doc, SETTINGS)[0]
    except ExperimentError as err:
        raise ValueError(err.errors[0]["msg"]) from err


def room(n: int, groups: list[str] | None = None) -> Classroom:
    r = Classroom("ABC-DEF", "9B", "hash", 0.0)
    for i in range(n):
        s = Student(f"s{i:02d}", r.code, f"Student {i}", f"t{i}", float(i))
        if groups is not None:
            s.group = groups[i % len(groups)]  # as a class with groups gives its students
        r.students[s.id] = s
    return r


@pytest.mark.parametrize(
    ("setting", "values"),
    [
        ("learning_rate", [0.001, 0.1]),
        ("units", [2, 32]),
        ("layers", [0, 1, 3]),
        ("activation", ["relu", "sigmoid"]),
        ("batch_size", [1, 50]),
        ("optimizer", ["sgd", "adam"]),
        ("optimiser", ["rmsprop"]),
        ("data_fraction", [0.2, 1.0]),
        ("seed", [1, 2]),
    ],
)
def test_every_setting_applies_to_a_checked_design(setting, values):
    exp = Experiments().start(room(4), BASE, setting, values, check)
    for value, design in zip(values, exp.designs, strict=True):
        assert value_of(design, setting) == value
        check(design)  # the checked design checks again


@pytest.mark.parametrize(
    ("setting", "values", "bad"),
    [
        ("learning_rate", [0.1, -1], 1),
        ("units", [4, 0], 1),
        ("layers", [2, 99], 1),
        ("activation", ["zigzag"], 0),
        ("optimizer", ["adam", "newton"], 1),
        ("batch_size", [True], 0),
    ],
)
def test_a_bad_value_is_refused_naming_its_index(setting, values, bad):
    with pytest.raises(ValueRefused) as err:
        Experiments().start(room(2), BASE, setting, values, check)
    assert err.value.index == bad


def test_values_are_assigned_evenly_then_to_latecomers():
    r = room(10)
    experiments = Experiments()
    experiments.start(r, BASE, "learning_rate", [0.01, 0.1, 1.0], check)
    got = [experiments.assignment(r, s)["value"] for s in r.students.values()]
    assert got == [0.01, 0.1, 1.0] * 3 + [0.01]
    late = Student("late", r.code, "Late", "t", 99.0)
    r.students[late.id] = late
    assert experiments.assignment(r, late)["value"] in (0.1, 1.0)  # the values fewest have


def test_groups_share_a_value():
    r = room(9, groups=["red", "blue", "green"])
    experiments = Experiments()
    experiments.start(r, BASE, "units", [4, 16, 64], check)
    by_group: dict[str, set] = {}
    for s in r.students.values():
        by_group.setdefault(s.group, set()).add(experiments.assignment(r, s)["value"])
    assert all(len(v) == 1 for v in by_group.values())
    assert {next(iter(v)) for v in by_group.values()} == {4, 16, 64}


def test_a_run_must_carry_the_students_value():
    r = room(2)
    experiments = Experiments()
    exp = experiments.start(r, BASE, "activation", ["relu", "tanh"], check)
    ada, bo = r.students.values()
    experiments.admit(r, ada, exp.designs[0])
    with pytest.raises(ClassRefused) as err:
        experiments.admit(r, ada, exp.designs[1])
    assert err.value.status == 423 and "activation" in err.value.message
    experiments.admit(r, bo, apply(exp.designs[1], "learning_rate", 0.5))  # other settings free


def test_answers_are_checked_and_revealed_without_names():
    p = Predictions()
    p.ask("C", "choice", "Which?", ["a", "b"], None)
    for bad in (2, True, "a", -1):
        with pytest.raises(AnswerRefused):
            p.answer("C", "s1", bad)
    p.answer("C", "s1", 1)
    p.answer("C", "s2", 0)
    q = p.reveal("C", {"answer": 1})
    public = q.public()
    assert sorted(public["answers"]) == [0, 1] and "s1" not in str(public)
    p.ask("C", "sketch", "Draw", [], [-1, 1, -1, 1])
    with pytest.raises(AnswerRefused) as err:
        p.answer("C", "s1", [[[0, 0], [float("nan"), 1]]])
    assert err.value.field == "answer.0.1"
    with pytest.raises(AnswerRefused):
        p.answer("C", "s1", [[[0, 0], [1, 1]]] * 9)
    assert p.answer("C", "s1", [[[0, 0], [0.5, 0.25]]]).answers["s1"] == [[[0, 0], [0.5, 0.25]]]
