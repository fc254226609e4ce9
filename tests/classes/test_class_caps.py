"""A class's own caps: its pages (class sockets) and its students, each refused naming its
setting once full, and freed again when a page closes; the race board's thumbnails, cut small
from a snapshot's byte grids (surface, images); the results CSV, safe in a spreadsheet."""

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
        limits.check_room(room)
        reg.join(room, name)
    with pytest.raises(ClassRefused) as refused:
        limits.check_room(room)
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


def test_an_image_thumbnail_is_a_few_samples_with_their_predictions():
    import torch

    from server.engine.bytegrid import byte_grid

    samples = byte_grid(torch.rand(16, 28, 28))
    images = {
        "samples": samples,
        "labels": [3, 1, 4, 1] + [0] * 12,
        "predictions": [3, 7, 4, 2] + [0] * 12,
        "confidence": [0.9] * 16,
        "class_names": [str(k) for k in range(10)],
    }
    thumb = thumbnail(json.dumps({"type": "snapshot", "epoch": 3, "images": images}))
    assert thumb["kind"] == "images" and thumb["grid"]["shape"] == [4, 14, 14]
    assert len(base64.b64decode(thumb["grid"]["b64"])) == 4 * 14 * 14
    assert thumb["predictions"] == ["3", "7", "4", "2"]
    assert thumb["correct"] == [True, False, True, False]


def test_the_results_csv_keeps_a_formula_out_of_a_spreadsheet():
    import csv
    import io

    from server.classes.export import results_csv

    reg = Registry(engine=None, put=lambda _sql: None)  # type: ignore[arg-type]
    room, _ = reg.open_class("9B")
    mallory, _ = reg.join(room, "=HYPERLINK(1)", "G1")
    last = {"loss": 0.5, "val_loss": -0.25, "metrics": {"val_accuracy": 0.75}}
    run = {"id": "r1", "status": "finished", "epoch": 9, "created": 1.0, "last": last}
    text = results_csv(room, {mallory.id: [{**run, "experiment": {"dataset": {"name": "xor"}}}]})
    (row,) = csv.DictReader(io.StringIO(text))
    assert row["student"] == "'=HYPERLINK(1)" and row["group"] == "G1"
    assert row["val_loss"] == "-0.25" and row["val_accuracy"] == "0.75"  # numbers stay numbers
    assert row["design"].startswith("xor")
