"""A run as the server keeps it in memory, and the refusals the run machinery raises.

A run read back from the database is a `store.rows.StoredRun`; both answer the same questions
(`id`, `status`, `active`, `epoch`, `message`, `client`, `owner`, `design_id`, `experiment`,
`check`, `created`, `summary()`, `owns(token)`), so callers take either without asking which
(`RunView`); what only memory has (its records as sent, its viewers) is read through
`runs/reads.py`, which looks a run up in memory by id before it reads the database.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..core.tokens import same_hash
from .hub import RunChannel
from .messages import ACTIVE
from .protocol import Control


class LimitReached(Exception):
    """Too many runs, in all or for one client (HTTP 429, `Retry-After: retry_after`)."""

    def __init__(self, message: str, retry_after: int = 5):
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Quota:
    """One count a new run must fit: its name among the LayerLab's run counts ("all",
    "client:<address>", or a class's, which server/classes names), the most active runs it
    may hold, and what a run refused by it is told (LimitReached)."""

    count: str
    limit: int
    refusal: str
    retry_after: int = 5


class ControlRefused(Exception):
    """A control that does not apply to the run's state (HTTP 409)."""


class BadInput(Exception):
    """An input to predict that does not fit the run's data (HTTP 422 at body.input)."""


class RunView(Protocol):
    """What every run answers, in memory or from the database."""

    id: str
    client: str
    owner: str | None
    design_id: str | None
    experiment: dict
    check: dict
    created: float

    @property
    def status(self) -> str: ...

    @property
    def active(self) -> bool: ...

    @property
    def epoch(self) -> int: ...

    @property
    def message(self) -> str | None: ...

    def summary(self) -> dict: ...

    def owns(self, token: str | None) -> bool: ...


@dataclass(eq=False)
class Run:
    """One run in memory: every active run, and a few ended ones (`cache_runs`)."""

    id: str
    token: str
    client: str
    experiment: dict
    check: dict
    channel: RunChannel
    created: float = field(default_factory=time.time)
    ended: float | None = None
    worker: Any = None  # the backend's WorkerBase it is placed on, None while queued
    accepted: bool = False  # its worker took the start command (else it may be placed again)
    token_hash: str | None = None  # set instead of a known token: a run taken over (cluster)
    paused_start: bool = False
    resume_from: dict | None = None  # the checkpoint it resumes from, sent with its start
    owner: str | None = None  # sha256 of the X-Owner-Token it was started with
    design_id: str | None = None
    saved_layers_at: float = 0.0
    pending_layers: tuple[int, str] | None = None  # the newest summary not stored yet
    committed_after: int = 0  # the store has everything once this many ops are written
    class_code: str | None = None  # the class it belongs to (server/classes), if any
    student: str | None = None  # ... and the student who started it
    # Controls sent while it waited for a worker: they follow its start, in order.
    deferred: list[Control] = field(default_factory=list)

    @property
    def status(self) -> str:
        return self.channel.status

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def epoch(self) -> int:
        return self.channel.epoch

    @property
    def message(self) -> str | None:
        return self.channel.message

    def owns(self, token: str | None) -> bool:
        """Whether `token` is this run's owner token (any text: never raises)."""
        if self.token_hash is not None:  # taken over from another replica: only its hash
            return same_hash(self.token_hash, token)
        return token is not None and secrets.compare_digest(
            self.token.encode("utf-8"), token.encode("utf-8", "surrogatepass")
        )

    def summary(self) -> dict:
        training = self.experiment.get("training", {})
        c = self.channel
        return {
            "id": self.id,
            "status": c.status,
            "message": c.message,
            "epoch": c.epoch,
            "epochs": training.get("epochs"),
            "dataset": self.experiment.get("dataset", {}).get("name"),
            "total_params": self.check.get("total_params"),
            "created": self.created,
            "ended": self.ended,
            "last": c.history[-1] if c.history else None,
            "viewers": len(c.viewers),
            "design": self.design_id,
        }

    def detail(self, limit: int | None = None) -> dict:
        return {
            **self.summary(),
            "experiment": self.experiment,
            "check": self.check,
            "history": self.channel.history[:limit],
        }
