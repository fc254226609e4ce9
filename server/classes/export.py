"""The class's results as CSV: one line per run of each student, for the teacher's records.

Columns: student, alias, group, run, status, epoch, created (ISO time), loss, val_loss, then
each metric the runs report (val_accuracy, val_r2, val_mae...), and the design in one line.
Cells a spreadsheet would run as a formula (`=`, `+`, `-`, `@` first) get a leading `'`.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from .dashboard import design_summary
from .registry import Classroom

FIXED = ("student", "alias", "group", "run", "status", "epoch", "created", "loss", "val_loss")


def _cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") and not _number(text) else text


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def results_csv(room: Classroom, runs: dict[str, list[dict]]) -> str:
    """`runs`: student id -> [{"id", "status", "epoch", "created", "last", "experiment"}]."""
    metrics: list[str] = []
    for summaries in runs.values():
        for run in summaries:
            for name in (run.get("last") or {}).get("metrics") or {}:
                if name not in metrics:
                    metrics.append(name)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*FIXED, *metrics, "design"])
    for student in sorted(room.students.values(), key=lambda s: s.name.casefold()):
        for run in sorted(runs.get(student.id, []), key=lambda r: r.get("created") or 0):
            last = run.get("last") or {}
            values = last.get("metrics") or {}
            created = run.get("created")
            when = datetime.fromtimestamp(created, UTC).isoformat() if created else ""
            line = [
                student.name,
                student.alias,
                student.group,
                run["id"],
                run.get("status"),
                run.get("epoch"),
                when,
                last.get("loss"),
                last.get("val_loss"),
                *(values.get(m) for m in metrics),
                design_summary(run.get("experiment") or {}),
            ]
            writer.writerow([_cell(v) for v in line])
    return out.getvalue()
