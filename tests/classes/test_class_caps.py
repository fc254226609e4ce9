"""A class's own caps: its pages (class sockets) and its students, each refused naming its
setting once full, and freed again when a page closes; and the race board's thumbnails,
cut small from a real snapshot's byte grid."""

from __future__ import annotations

import base64
import json

import pytest

from server.classes.errors import ClassRefused
from server.classes.limits import ClassLimits
from server.classes.race import THUMB_SIDE, thumbnail
from server.classes.registry import Registry
from server.config import Settings


def test_pages_of_one_class_are_capped_and_freed():
    limits = ClassLimits(Settings(class_max_sockets=3, max_class_sockets_per_client=100))
    for i in range(3):
        limits.open_socket("10.0.0.1", f"student:{i}", "AAA-AAA")
    with pytest.raises(ClassRefused) as refused:
        limits.open_socket("10.0.0.2", "student:9", "AAA-AAA")
    assert refused.value.status == 429 and "LAYERLAB_CLASS_MAX_SOCKETS" in refused.value.message
    limits.open_socket("10.0.0.2", "student:9", "CCC-CCC")  # another class has its own
    limits.close_socket("10.0.0.1", "student:0", "AAA-AAA")
    limits.open_socket("10.0.0.2", "student:10", "AAA-AAA")  # a closed page frees its place


def test_students_per_class_are_capped():
    reg = Registry(engine=None, put=lambda _sql: None)  # type: ignore[arg-type]
    room, _ = reg.open_class("9B")
    limits = ClassLimits(Settings(class_max_students=2))
    for name in ("a", "b"):
        limits.check_join("10.0.0.1", room)
        reg.join(room, name)
    with pytest.raises(ClassRefused) as refused:
        limits.check_join("10.0.0.1", room)
    assert refused.value.status == 409 and "LAYERLAB_CLASS_MAX_STUDENTS" in refused.value.message
    aliases = [s.alias for s in room.students.values()]
    assert len(set(aliases)) == 2 and all(a for a in aliases)


def test_a_surface_thumbnail_is_every_other_cell_of_the_snapshot_grid():
    cells = bytes(range(256)) * 6 + bytes(64)  # 1,600 bytes: a 40x40 grid
    grid = {"shape": [40, 40], "lo": 0.0, "hi": 1.0, "b64": base64.b64encode(cells).decode()}
    text = json.dumps({"type": "snapshot", "boundary": {"kind": "probability", "output": grid}})
    thumb = thumbnail(text)
    assert thumb["kind"] == "surface" and thumb["grid"]["shape"] == [THUMB_SIDE, THUMB_SIDE]
    small = base64.b64decode(thumb["grid"]["b64"])
    assert len(small) == THUMB_SIDE * THUMB_SIDE
    assert small[1] == cells[2] and small[THUMB_SIDE] == cells[2 * 40]  # rows and columns
    assert thumbnail(None) is None and thumbnail("not json") is None
