"""The teacher's dashboard: one row per student (their latest run), sorted as a leaderboard.

Each row: the student's real name (this page is the teacher's own), their projector alias and
group, and their latest run. class-experiment adds `diagnosis` ([{"code", "sentence"}]) and
`hand` (bool) to each row; the page draws them as flags when present.

Built once a second per class with a teacher watching (hub.py) from what the manager holds in
memory; runs that have left memory (ended, or from before a restart) are read once from the
database into `RunView`s and kept. Cost: a few dozen dict reads per student, no I/O.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..runs.history import History
from .registry import Classroom, Member

SPARK_POINTS = 40  # validation losses per sparkline (the history, downsampled)
METRICS = ("val_accuracy", "val_r2", "val_mae")  # the first present is the row's metric
HIGHER_IS_BETTER = {"val_accuracy": True, "val_r2": True, "val_mae": False}


@dataclass
class RunView:
    """What a row shows of one run, from memory or the database."""

    id: str
    status: str
    epoch: int
    experiment: dict
    history: Sequence[dict] = field(default_factory=list)  # a live run's: its History
    worker: int | None = None  # the pid of the worker process training it
    created: float = 0.0


def design_summary(experiment: dict) -> str:
    """`spiral · dense 8 tanh → dense 8 tanh · adam 0.01`: the design in one line."""
    dataset = experiment.get("dataset", {}).get("name", "?")
    parts = []
    for layer in experiment.get("model", {}).get("layers", []):
        kind = layer.get("type", "?")
        size = layer.get("units") or layer.get("filters") or layer.get("hidden_size") or ""
        act = layer.get("activation") or ""
        parts.append(" ".join(str(p) for p in (kind, size, act) if p))
    training = experiment.get("training", {})
    opt = f"{training.get('optimizer', '')} {training.get('learning_rate', '')}".strip()
    return " · ".join(p for p in (dataset, " → ".join(parts) or "no hidden layers", opt) if p)


def sparkline(history: Sequence[dict]) -> list[float | None]:
    """Up to SPARK_POINTS validation losses, evenly spaced over the whole history (a live
    run's `History` keeps them as numbers: no record is decoded for it)."""
    if isinstance(history, History):
        return history.val_losses(SPARK_POINTS)
    values = [r.get("val_loss") for r in history]
    if len(values) <= SPARK_POINTS:
        return values
    step = (len(values) - 1) / (SPARK_POINTS - 1)
    return [values[round(i * step)] for i in range(SPARK_POINTS)]


def student_rows(room: Classroom, members: list[Member], lookup) -> list[dict]:
    """One row per student, best first; `lookup(run_id) -> RunView | None`."""
    by_student: dict[str, list[RunView]] = {}
    for member in members:
        view = lookup(member.run_id)
        if view is not None:
            by_student.setdefault(member.student_id, []).append(view)
    rows = []
    for student in room.students.values():
        views = sorted(by_student.get(student.id, []), key=lambda v: v.created)
        row: dict = {
            "student": student.id,
            "name": student.name,
            "alias": student.alias,
            "group": student.group,
            "runs": len(views),
            "active": sum(v.status in ("queued", "running", "paused") for v in views),
            "run_id": None,
            "status": None,
            "epoch": 0,
            "design": None,
            "val_loss": None,
            "metric_name": None,
            "metric": None,
            "spark": [],
            "updated": None,
        }
        if views:
            latest = views[-1]
            last = latest.history[-1] if latest.history else {}
            metrics = last.get("metrics") or {}
            name = next((m for m in METRICS if metrics.get(m) is not None), None)
            row.update(
                run_id=latest.id,
                status=latest.status,
                epoch=latest.epoch,
                design=design_summary(latest.experiment),
                val_loss=last.get("val_loss"),
                metric_name=name,
                metric=metrics.get(name) if name else None,
                spark=sparkline(latest.history),
                updated=last.get("time"),
            )
        rows.append(row)
    rows.sort(key=_rank_key)
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank
    return rows


def _rank_key(row: dict) -> tuple:
    """Rows with a metric first (best first), then by validation loss, then no run yet."""
    metric, name = row["metric"], row["metric_name"]
    if metric is not None:
        return (0, -metric if HIGHER_IS_BETTER[name] else metric, row["name"])
    if row["val_loss"] is not None:
        return (1, row["val_loss"], row["name"])
    return (2, 0.0, row["name"])


def dashboard_message(room: Classroom, members: list[Member], lookup) -> dict:
    rows = student_rows(room, members, lookup)
    return {
        "type": "dashboard",
        "time": time.time(),
        "class": room.state(),
        "students": rows,
        "active": sum(r["active"] for r in rows),
        "groups": sorted({r["group"] for r in rows if r["group"]}),
    }
