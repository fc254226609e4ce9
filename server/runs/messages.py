"""Run statuses and the stream's JSON messages: encoded once, never with NaN or infinity."""

from __future__ import annotations

from collections.abc import Iterable

from ..core.jsonsafe import dumps, json_safe
from ..core.statuses import ACTIVE, STATUSES, TERMINAL

__all__ = [
    "ACTIVE",
    "STATUSES",
    "TERMINAL",
    "dumps",
    "epoch_message",
    "hello_message",
    "json_safe",
    "snapshot_message",
    "status_message",
]


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


def status_message(status: str, message: str | None, epoch: int) -> str:
    """`status`: a state change, with a message when a run fails or diverges."""
    return dumps({"type": "status", "status": status, "message": message, "epoch": epoch})
