"""What a resumed run starts from: its checkpoint and the records it keeps.

An interrupted run (the server stopped while it was active) resumes from the last checkpoint
its worker saved (`checkpoints.py`): the database's records up to the checkpoint's epoch (they
carry the time), then the checkpoint's own beyond them (a kill -9 can leave the database a
flush behind the checkpoint). Records after the checkpoint are dropped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..config import Settings
from ..store import queries
from ..store.rows import StoredRun
from ..store.store import Store
from . import checkpoints
from .model import ControlRefused


@dataclass
class ResumePoint:
    epoch: int  # the checkpoint's
    kept: int  # records the database has and keeps (1..kept, in order)
    records: list[dict]  # the history the run resumes with (the database's, then the rest)
    extra: list[dict]  # the checkpoint's records beyond the database's: stored again
    path: str  # the checkpoint file

    def start_info(self) -> dict:
        """What the worker's start command carries to load it (`Start.resume`)."""
        return {"path": self.path, "history": self.records}


def check_resumable(stored: StoredRun, in_memory: bool) -> None:
    """Raise ControlRefused unless `stored` is an interrupted run not being resumed."""
    if stored.status != "interrupted":
        raise ControlRefused(
            f"run {stored.id} has ended ({stored.status}); only an interrupted run resumes"
        )
    if in_memory:
        raise ControlRefused(f"run {stored.id} is being resumed already")


def resume_point(settings: Settings, store: Store, run_id: str) -> ResumePoint:
    """Read the checkpoint and the stored history (blocking: call it from a thread)."""
    found = checkpoints.read_checkpoint(settings, run_id)
    if found is None:
        raise ControlRefused(f"run {run_id} has no checkpoint to resume from")
    epoch, saved = found
    texts = store.read(queries.history, run_id, 0, epoch)
    kept = 0
    for text in texts:
        if json.loads(text)["epoch"] != kept + 1:
            break
        kept += 1
    records = [json.loads(t) for t in texts[:kept]] + saved[kept:]
    path = str(checkpoints.path_for(settings, run_id))
    return ResumePoint(epoch, kept, records, saved[kept:], path)
