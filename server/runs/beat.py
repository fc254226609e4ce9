"""A worker's heartbeat in shared memory: alive since when, and busy with which run.

The worker's heartbeat thread stamps `alive` every HEARTBEAT_S; its main loop marks the run it
is in (`busy`/`idle`). The pool's watchdog reads both without a message: a stamp cannot queue
behind epoch records in a pipe that a loaded server reads late, so a busy worker is never taken
for a hung one, and a stopped or wedged process (no stamps) still is.
"""

from __future__ import annotations

import time
from multiprocessing.context import BaseContext

HEARTBEAT_S = 0.5  # the pool declares a worker hung after settings.heartbeat_timeout_s of none
RUN_ID_BYTES = 64


class Beat:
    """Four shared values, written by one worker process and read by the pool."""

    def __init__(self, ctx: BaseContext):
        now = time.monotonic()  # CLOCK_MONOTONIC: one clock for every process of the machine
        self._stamp = ctx.Value("d", now, lock=False)  # one aligned double: written whole
        self._since = ctx.Value("d", 0.0, lock=False)  # 0: the main loop is between runs
        self._run = ctx.Array("c", RUN_ID_BYTES)  # locked: a string is not written whole
        self._stacked = ctx.Value("q", 0, lock=False)  # epochs trained in stacked calls

    # -- the worker's side ----------------------------------------------------------------
    def alive(self) -> None:
        self._stamp.value = time.monotonic()

    def busy(self, run_id: str) -> None:
        self._since.value = 0.0
        self._run.value = run_id.encode()[:RUN_ID_BYTES]
        self._since.value = time.monotonic()

    def idle(self) -> None:
        self._since.value = 0.0

    def stacked(self, epochs: int) -> None:
        """How many epochs the worker has trained in stacked calls (runs/stacking.py)."""
        self._stacked.value = epochs

    # -- the pool's side ------------------------------------------------------------------
    @property
    def stamp(self) -> float:
        return self._stamp.value

    @property
    def stacked_epochs(self) -> int:
        return self._stacked.value

    def current(self) -> tuple[str | None, float]:
        """The run the main loop is in, and for how many seconds (None, 0 when between)."""
        since = self._since.value
        if since == 0.0:
            return None, 0.0
        run = self._run.value.decode(errors="replace")
        return (run, time.monotonic() - since) if self._since.value == since else (None, 0.0)
