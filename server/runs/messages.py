"""Run statuses and the stream's JSON messages: encoded once, never with NaN or infinity."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

STATUSES = (
    "queued",
    "running",
    "paused",
    "finished",
    "stopped",
    "failed",
    "diverged",
    "interrupted",  # the server stopped (or was killed) while the run was active
)
ACTIVE = frozenset({"queued", "running", "paused"})
TERMINAL = frozenset({"finished", "stopped", "failed", "diverged", "interrupted"})


def json_safe(obj: Any) -> Any:
    """A copy of `obj` that JSON can carry: non-finite floats become None, tuples become lists."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    if obj is None or isinstance(obj, str | int | bool):
        return obj
    if hasattr(obj, "tolist"):  # numpy and torch scalars and arrays
        return json_safe(obj.tolist())
    return str(obj)


def dumps(obj: Any) -> str:
    """Compact JSON that a browser accepts: NaN and infinity are sent as null."""
    try:
        return json.dumps(obj, allow_nan=False, separators=(",", ":"))
    except (ValueError, TypeError):
        return json.dumps(json_safe(obj), allow_nan=False, separators=(",", ":"))


def hello_message(run: dict, history: Iterable[str], layer_history: Iterable[str] = ()) -> str:
    """`hello`: the run, its history so far and its snapshots' per-layer summaries (all given
    already encoded), so a late viewer draws norms and histograms over the whole run."""
    return (
        '{"type":"hello","run":'
        + dumps(run)
        + ',"history":['
        + ",".join(history)
        + '],"layer_history":['
        + ",".join(layer_history)
        + "]}"
    )


def epoch_message(records: Iterable[str]) -> str:
    """`epoch`: a batch of records, in order (records given already encoded)."""
    return '{"type":"epoch","records":[' + ",".join(records) + "]}"


def snapshot_message(snapshot: dict) -> str:
    """`snapshot`: the latest visual state of a run."""
    return '{"type":"snapshot","snapshot":' + dumps(snapshot) + "}"


def status_message(
    status: str, message: str | None, epoch: int, best_epoch: int | None = None
) -> str:
    """`status`: a state change, with a message when a run fails or diverges; `best_epoch`
    when early stopping kept that epoch's weights."""
    doc: dict[str, Any] = {"type": "status", "status": status, "message": message, "epoch": epoch}
    if best_epoch is not None:
        doc["best_epoch"] = best_epoch
    return dumps(doc)
