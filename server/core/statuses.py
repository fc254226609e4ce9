"""Run statuses: where a run is in its life."""

from __future__ import annotations

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
