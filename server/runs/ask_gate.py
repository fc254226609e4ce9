"""How many questions (`/predict`) may be in flight: per run and per client.

Each ask waits in its run's worker for that run's turn (runs/asks.py); without a bound one
client could queue thousands (Captum's `explain` costs 32+ passes each). `enter` raises
`LimitReached` (429 with Retry-After) naming the setting; the count is released when the
answer comes, the ask times out or its caller gives up.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from ..config import Settings
from .model import LimitReached


class AskGate:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.per_run: Counter[str] = Counter()
        self.per_client: Counter[str] = Counter()

    @contextmanager
    def enter(self, run_id: str, client: str) -> Iterator[None]:
        s = self.settings
        if self.per_run[run_id] >= s.max_asks_per_run:
            raise LimitReached(
                f"run {run_id} already has {s.max_asks_per_run} predictions waiting, the limit "
                "per run (LAYERLAB_MAX_ASKS_PER_RUN); wait for an answer"
            )
        if self.per_client[client] >= s.max_asks_per_client:
            raise LimitReached(
                f"you already have {s.max_asks_per_client} predictions waiting, the limit per "
                "client (LAYERLAB_MAX_ASKS_PER_CLIENT); wait for an answer"
            )
        self.per_run[run_id] += 1
        self.per_client[client] += 1
        try:
            yield
        finally:
            for counter, key in ((self.per_run, run_id), (self.per_client, client)):
                counter[key] -= 1
                if counter[key] <= 0:
                    del counter[key]
