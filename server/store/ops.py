"""The operations the event loop queues for the store's writer: one named type per kind.

The writer (`writer.py`) applies them in order inside one transaction per batch. Each names the
run it concerns (`run_id`; None for another part's own table), so a failing database can tell
which runs' records wait.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class InsertRun:
    """A new `runs` row (a dict of its columns)."""

    row: dict

    @property
    def run_id(self) -> str:
        return self.row["id"]


@dataclass(frozen=True, slots=True)
class UpdateRun:
    """Some columns of a run (status, message, times...)."""

    run_id: str
    values: dict


@dataclass(frozen=True, slots=True)
class AddEpoch:
    """One epoch record; also the run's `epoch` and `last_json`."""

    run_id: str
    epoch: int
    record_json: str


@dataclass(frozen=True, slots=True)
class AddLayers:
    """One per-layer summary."""

    run_id: str
    epoch: int
    layers_json: str


@dataclass(frozen=True, slots=True)
class TakeExport:
    """Move the run's spooled export files into `exports`, beside those stored before (a file
    of the same name is replaced; the others stay)."""

    run_id: str


@dataclass(frozen=True, slots=True)
class Truncate:
    """Drop a run's records and summaries after `epoch` (it resumes from a checkpoint)."""

    run_id: str
    epoch: int


@dataclass(frozen=True, slots=True)
class Sql:
    """A statement on another part's own table (classes); `key` names what it is about."""

    key: str
    statement: Any

    @property
    def run_id(self) -> None:
        return None


Op = InsertRun | UpdateRun | AddEpoch | AddLayers | TakeExport | Truncate | Sql
