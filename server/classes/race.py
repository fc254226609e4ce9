"""The race board: every student's live run at once, for the projector.

One entry per student: their alias (their name only when the teacher shows names), group, run
status, epoch, metric, a loss curve (SPARK_POINTS values) and a thumbnail of the family's main
view: the decision surface for 2D data (the snapshot's 40x40 output grid, every other cell:
20x20 bytes, ~540 base64 characters) or a few image predictions (RACE_IMAGES samples, 14x14 at
most). Thumbnails are cut once per snapshot (the snapshot text is parsed only when it changed),
and the board is built at most every `class_race_interval_s`, so its cost stays bounded:
a few KB per student per interval, whatever the training speed.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable

from .dashboard import RunView, student_rows
from .registry import Classroom, Member

RACE_IMAGES = 4  # image samples on a thumbnail
THUMB_SIDE = 20  # cells on a side of a surface thumbnail
METRIC_CHOICES = ("metric", "val_loss", "epoch")  # what the board may be sorted by


def _shrink(grid: dict, side: int) -> dict | None:
    """A byte grid (..., H, W) cut to at most `side` cells a side (every k-th cell)."""
    shape = grid.get("shape") or []
    if len(shape) < 2:
        return None
    try:
        data = base64.b64decode(grid["b64"])
    except (KeyError, ValueError, TypeError):
        return None
    *lead, h, w = shape
    k = max(1, -(-max(h, w) // side))
    count = 1
    for n in lead:
        count *= n
    if len(data) < count * h * w:
        return None
    out = bytearray()
    for i in range(count):
        base = i * h * w
        for y in range(0, h, k):
            row = data[base + y * w : base + (y + 1) * w]
            out += row[::k]
    return {
        "shape": [*lead, -(-h // k), -(-w // k)],
        "lo": grid.get("lo"),
        "hi": grid.get("hi"),
        "b64": base64.b64encode(bytes(out)).decode("ascii"),
    }


def thumbnail(snapshot_text: str | None) -> dict | None:
    """The family's main view, small: a surface for 2D data, a few predictions for images."""
    if not snapshot_text:
        return None
    try:
        message = json.loads(snapshot_text)
    except ValueError:
        return None
    snap = message.get("snapshot", message) if isinstance(message, dict) else None
    if not isinstance(snap, dict):
        return None
    boundary = snap.get("boundary")
    if isinstance(boundary, dict) and isinstance(boundary.get("output"), dict):
        grid = _shrink(boundary["output"], THUMB_SIDE)
        if grid is not None:
            return {
                "kind": "surface",
                "surface": boundary.get("kind"),  # probability | class | value
                "classes": boundary.get("classes"),
                "grid": grid,
            }
    images = snap.get("images")
    if isinstance(images, dict) and isinstance(images.get("samples"), dict):
        samples = images["samples"]
        shape = samples.get("shape") or []
        if len(shape) == 3 and shape[0] > 0:
            n = min(RACE_IMAGES, shape[0])
            first = {**samples, "shape": [n, *shape[1:]]}
            grid = _shrink(first, 14)
            names = images.get("class_names") or []
            preds = (images.get("predictions") or [])[:n]
            labels = (images.get("labels") or [])[:n]
            if grid is not None:
                return {
                    "kind": "images",
                    "grid": grid,
                    "predictions": [_name(names, p) for p in preds],
                    "correct": [p == y for p, y in zip(preds, labels, strict=False)],
                }
    return None


def _name(names: list, index) -> str:
    return str(names[index]) if isinstance(index, int) and 0 <= index < len(names) else str(index)


class RaceBoard:
    """Builds the `race` message of a class; keeps one thumbnail per run, cut per snapshot."""

    def __init__(self, snapshot_of: Callable[[str], str | None]):
        self.snapshot_of = snapshot_of  # run id -> the latest snapshot text, if in memory
        self._thumbs: dict[str, tuple[int, dict | None]] = {}  # run id -> (text id, thumb)

    def _thumb(self, run_id: str) -> dict | None:
        text = self.snapshot_of(run_id)
        if text is None:
            found = self._thumbs.get(run_id)
            return found[1] if found else None
        found = self._thumbs.get(run_id)
        if found is None or found[0] != id(text):
            found = (id(text), thumbnail(text))
            self._thumbs[run_id] = found
        return found[1]

    def message(
        self, room: Classroom, members: list[Member], lookup: Callable[[str], RunView | None]
    ) -> dict:
        rows = student_rows(room, members, lookup)
        entries = []
        for row in rows:
            student = room.students.get(row["student"])
            if student is None:
                continue
            entries.append(
                {
                    "student": student.id,
                    "name": student.public(room.show_names)["name"],
                    "group": student.group,
                    "run_id": row["run_id"],
                    "status": row["status"],
                    "epoch": row["epoch"],
                    "val_loss": row["val_loss"],
                    "metric_name": row["metric_name"],
                    "metric": row["metric"],
                    "rank": row["rank"],
                    "spark": row["spark"],
                    "thumb": self._thumb(row["run_id"]) if row["run_id"] else None,
                }
            )
        keep = {e["run_id"] for e in entries if e["run_id"]}
        for run_id in [r for r in self._thumbs if r not in keep]:
            del self._thumbs[run_id]  # bounded by the class's students
        return {"type": "race", "time": time.time(), "class": room.state(), "entries": entries}
