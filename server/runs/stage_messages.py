"""Worker -> server messages of the watchable stage, as named types.

Each is a NamedTuple whose first field is its kind, so the pool and manager, which dispatch on
`message[0]`, route it like the older positional tuples, while code reads it by name.
"""

from __future__ import annotations

from typing import NamedTuple


class EarlyStopped(NamedTuple):
    """Worker -> server, right before a run's `finished` status: it stopped early, keeping
    the weights of `best_epoch` (the status message to viewers then carries it)."""

    kind: str
    run_id: str
    best_epoch: int

    @classmethod
    def of(cls, run_id: str, best_epoch: int) -> EarlyStopped:
        return cls("early_stopped", run_id, best_epoch)
