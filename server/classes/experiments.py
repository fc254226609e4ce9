"""Class experiments: one base design, one setting, a value for each student (or group).

`POST /api/classes/{code}/experiment` starts one (`start`): every value is applied to the base
design and checked as POST /api/check would, so a bad value is refused naming its index. Each
student is assigned a value evenly, per group where students have one (`Student.group`, if the
class has groups), else per student in the order they joined; a student who joins later gets
the value fewest have. While the experiment runs, a student's runs must carry their value
(`admit`), so every class run started since is one of the experiment's (`rows`).

One experiment per class, kept in memory (a new one replaces it; a restart ends it): its size
is its values (at most MAX_VALUES) and one assignment per student, whom the class caps bound.
"""

from __future__ import annotations

import copy
import csv
import io
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from ..core.statuses import TERMINAL
from .dashboard import HIGHER_IS_BETTER, METRICS
from .errors import ClassRefused
from .registry import Classroom, Student

MAX_VALUES = 12  # values of one experiment (points on the class plot's axis)

# setting -> where it lives in the design ("training" key, or a rule over model.layers)
TRAINING_KEYS = {
    "learning_rate": "learning_rate",
    "batch_size": "batch_size",
    "optimizer": "optimizer",
    "optimiser": "optimizer",
    "data_fraction": "data_fraction",
    "training_data": "data_fraction",
    "seed": "seed",
}
SETTINGS = (*TRAINING_KEYS, "units", "layers", "activation")


class ValueRefused(ValueError):
    """A value that cannot be applied to the design: `index` into values, and why."""

    def __init__(self, index: int, message: str):
        super().__init__(message)
        self.index = index


def apply(design: dict, setting: str, value: object) -> dict:
    """A copy of `design` with `setting` set to `value` (unchecked: validate it after)."""
    doc = copy.deepcopy(design)
    if setting in TRAINING_KEYS:
        doc.setdefault("training", {})[TRAINING_KEYS[setting]] = value
        return doc
    layers = doc.setdefault("model", {}).setdefault("layers", [])
    if setting == "layers":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 16:
            raise ValueError("a number of hidden layers must be a whole number from 0 to 16")
        hidden = layers[0] if layers else {"type": "dense", "units": 8, "activation": "relu"}
        doc["model"]["layers"] = [copy.deepcopy(hidden) for _ in range(value)]
        return doc
    key = "units" if setting == "units" else "activation"
    touched = [layer for layer in layers if isinstance(layer, dict) and key in layer]
    if not touched:
        raise ValueError(f"the base design has no layer with {key!r} to set")
    for layer in touched:
        layer[key] = value
    return doc


def value_of(design: dict, setting: str) -> object:
    """The setting's value in a design (None where it has none)."""
    if setting in TRAINING_KEYS:
        return (design.get("training") or {}).get(TRAINING_KEYS[setting])
    layers = (design.get("model") or {}).get("layers") or []
    if setting == "layers":
        return len(layers)
    key = "units" if setting == "units" else "activation"
    found = [layer.get(key) for layer in layers if isinstance(layer, dict) and key in layer]
    return found[0] if found and all(v == found[0] for v in found) else None


@dataclass
class ClassExperiment:
    setting: str
    values: list
    designs: list[dict]  # the checked design of each value
    started: float = field(default_factory=time.time)
    assigned: dict[str, int] = field(default_factory=dict)  # student id -> index into values

    def public(self) -> dict:
        return {"setting": self.setting, "values": self.values, "started": self.started}


def _group(student: Student) -> str | None:
    group = getattr(student, "group", None)  # classes with groups give students one
    return group if isinstance(group, str) and group else None


class Experiments:
    """Every class's current experiment."""

    def __init__(self) -> None:
        self.by_class: dict[str, ClassExperiment] = {}

    def start(
        self,
        room: Classroom,
        base: dict,
        setting: str,
        values: list,
        check: Callable[[dict], dict],
    ) -> ClassExperiment:
        """Check every value (`check(doc) -> checked doc`, raising per value) and assign."""
        designs = []
        for i, value in enumerate(values):
            try:
                designs.append(check(apply(base, setting, value)))
            except ValueError as err:
                raise ValueRefused(i, str(err)) from err
        exp = ClassExperiment(setting, list(values), designs)
        self.by_class[room.code] = exp
        self.assign_all(room)
        return exp

    def stop(self, code: str) -> bool:
        return self.by_class.pop(code, None) is not None

    def assign_all(self, room: Classroom) -> None:
        exp = self.by_class.get(room.code)
        if exp is None:
            return
        students = sorted(room.students.values(), key=lambda s: (s.joined, s.id))
        groups = sorted({g for s in students if (g := _group(s)) is not None})
        n = len(exp.values)
        for i, student in enumerate(students):
            group = _group(student)
            exp.assigned[student.id] = groups.index(group) % n if group is not None else i % n

    def assignment(self, room: Classroom, student: Student) -> dict | None:
        """`{"setting", "value", "index", "experiment"}` for the student, None without one."""
        exp = self.by_class.get(room.code)
        if exp is None:
            return None
        index = exp.assigned.get(student.id)
        if index is None:  # joined after the start: the value fewest have (or their group's)
            group = _group(student)
            if group is not None:
                self.assign_all(room)
                index = exp.assigned[student.id]
            else:
                counts = Counter(exp.assigned.values())
                index = min(range(len(exp.values)), key=lambda k: (counts[k], k))
                exp.assigned[student.id] = index
        return {
            "setting": exp.setting,
            "value": exp.values[index],
            "index": index,
            "experiment": exp.designs[index],
        }

    def admit(self, room: Classroom, student: Student, design: dict) -> None:
        """423 unless the run carries the student's assigned value."""
        assignment = self.assignment(room, student)
        if assignment is None:
            return
        setting, value = assignment["setting"], assignment["value"]
        if value_of(design, setting) != value_of(assignment["experiment"], setting):
            raise ClassRefused(
                423,
                f"class {room.code} runs an experiment: your {setting} is {value!r}; "
                "train the design it gave you",
            )

    def rows(self, room: Classroom, runs: list[tuple[str, str, dict]]) -> list[dict]:
        """One row per ended run of the experiment: `runs` is (student id, run id, summary)
        for each class run (summary as `Run.summary()`), oldest first."""
        exp = self.by_class.get(room.code)
        if exp is None:
            return []
        out = []
        for student_id, run_id, summary in runs:
            index = exp.assigned.get(student_id)
            student = room.students.get(student_id)
            if index is None or student is None or summary["created"] < exp.started:
                continue
            if summary["status"] not in TERMINAL:
                continue
            last = summary.get("last") or {}
            metrics = last.get("metrics") or {}
            name = next((m for m in METRICS if metrics.get(m) is not None), None)
            out.append(
                {
                    "student": student_id,
                    "name": student.name,
                    "run_id": run_id,
                    "setting": exp.setting,
                    "value": exp.values[index],
                    "status": summary["status"],
                    "epoch": summary.get("epoch"),
                    "loss": last.get("loss"),
                    "val_loss": last.get("val_loss"),
                    "metric_name": name,
                    "metric": metrics.get(name) if name else None,
                    "higher_is_better": HIGHER_IS_BETTER.get(name) if name else None,
                }
            )
        return out


CSV_COLUMNS = ("name", "setting", "value", "status", "epoch", "loss", "val_loss", "metric_name")


def rows_csv(rows: list[dict]) -> str:
    """The rows as CSV (one line per run), for a spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*CSV_COLUMNS, "metric", "run_id"])
    for row in rows:
        writer.writerow([*(row[c] for c in CSV_COLUMNS), row["metric"], row["run_id"]])
    return out.getvalue()
