"""The race board: every student's live run at once, for the projector.

One entry per student: their alias (their name only when the teacher shows names), group, run
status, epoch, metric, a loss curve (SPARK_POINTS values) and a thumbnail of the family's main
view: the decision surface for 2D data (the snapshot's 40x40 output grid, every other cell:
20x20 bytes, ~540 base64 characters) or a few image predictions (RACE_IMAGES samples, 14x14 at
most). Thumbnails are cut from the snapshot's text (never a parse of all of it) when it changed,
and each run's at most every THUMB_REFRESH_S; the board is built at most every
`class_race_interval_s`, so its cost stays bounded:
a few KB per student per interval, whatever the training speed.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable

from .dashboard import RunView, student_rows
from .registry import Classroom, Member

RACE_IMAGES = 4  # image samples on a thumbnail
THUMB_REFRESH_S = 3.0  # a run's thumbnail is cut again at most this often
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


_GRID = re.compile(r'"(output|samples)":\s*(\{[^{}]*\})')
_LIST = re.compile(r'"(predictions|labels|class_names)":\s*(\[[^\[\]]*\])')


def _section(text: str, name: str) -> str | None:
    """The text from a snapshot's top-level section `name` on (a cheap cut, no parse)."""
    at = text.find(f'"{name}":')
    return text[at:] if at >= 0 else None


def thumbnail(snapshot_text: str | None) -> dict | None:
    """The family's main view, small: a surface for 2D data, a few predictions for images.
    Cut from the snapshot's text with two regular expressions, never a parse of the whole
    snapshot (~50 KB with its neuron heatmaps): ~0.1 ms a run instead of ~5 ms."""
    if not snapshot_text:
        return None
    boundary = _section(snapshot_text, "boundary")
    if boundary is not None:
        found = _GRID.search(boundary)
        kind = re.search(r'"kind":\s*"(\w+)"', boundary[:200])
        classes = re.search(r'"classes":\s*(\d+)', boundary[:400])
        grid = _parsed(found.group(2)) if found and found.group(1) == "output" else None
        grid = _shrink(grid, THUMB_SIDE) if isinstance(grid, dict) else None
        if grid is not None:
            return {
                "kind": "surface",
                "surface": kind.group(1) if kind else None,  # probability | class | value
                "classes": int(classes.group(1)) if classes else None,
                "grid": grid,
            }
    images = _section(snapshot_text, "images")
    if images is not None:
        samples = re.search(r'"samples":\s*(\{[^{}]*\})', images)
        grid = _parsed(samples.group(1)) if samples else None
        shape = grid.get("shape") if isinstance(grid, dict) else None
        if isinstance(shape, list) and len(shape) == 3 and shape[0] > 0:
            n = min(RACE_IMAGES, shape[0])
            small = _shrink({**grid, "shape": shape}, 14)
            lists = {m.group(1): _parsed(m.group(2)) for m in _LIST.finditer(images)}
            names = lists.get("class_names") or []
            preds = (lists.get("predictions") or [])[:n]
            labels = (lists.get("labels") or [])[:n]
            if small is not None:
                side = small["shape"][1:]
                count = side[0] * side[1]
                data = base64.b64decode(small["b64"])[: n * count]
                small = {**small, "shape": [n, *side], "b64": base64.b64encode(data).decode()}
                return {
                    "kind": "images",
                    "grid": small,
                    "predictions": [_name(names, p) for p in preds],
                    "correct": [p == y for p, y in zip(preds, labels, strict=False)],
                }
    return None


def _parsed(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return None


def _name(names: list, index) -> str:
    return str(names[index]) if isinstance(index, int) and 0 <= index < len(names) else str(index)


class RaceBoard:
    """Builds the `race` message of a class; keeps one thumbnail per run, cut per snapshot."""

    def __init__(self, snapshot_of: Callable[[str], str | None]):
        self.snapshot_of = snapshot_of  # run id -> the latest snapshot text, if in memory
        # run id -> (the snapshot text's id, when it was cut, the thumbnail)
        self._thumbs: dict[str, tuple[int, float, dict | None]] = {}

    def _thumb(self, run_id: str, now: float) -> dict | None:
        found = self._thumbs.get(run_id)
        if found is not None and now - found[1] < THUMB_REFRESH_S:
            return found[2]
        text = self.snapshot_of(run_id)
        if text is None:
            return found[2] if found else None
        if found is None or found[0] != id(text):
            found = (id(text), now, thumbnail(text) or (found[2] if found else None))
            self._thumbs[run_id] = found
        return found[2]

    def message(
        self, room: Classroom, members: list[Member], lookup: Callable[[str], RunView | None]
    ) -> dict:
        rows = student_rows(room, members, lookup)
        now = time.monotonic()
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
                    "thumb": self._thumb(row["run_id"], now) if row["run_id"] else None,
                }
            )
        keep = {e["run_id"] for e in entries if e["run_id"]}
        for run_id in [r for r in self._thumbs if r not in keep]:
            del self._thumbs[run_id]  # bounded by the class's students
        return {"type": "race", "time": time.time(), "class": room.state(), "entries": entries}
