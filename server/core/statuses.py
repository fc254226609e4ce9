"""A run's statuses: which ones are still going and which ones are final."""

from __future__ import annotations

from typing import Literal, get_args

Status = Literal[
    "queued",
    "running",
    "paused",
    "finished",
    "stopped",
    "failed",
    "diverged",
    "interrupted",  # the server stopped (or was killed) while the run was active
]
STATUSES: tuple[str, ...] = get_args(Status)
ACTIVE = frozenset({"queued", "running", "paused"})
TERMINAL = frozenset({"finished", "stopped", "failed", "diverged", "interrupted"})
