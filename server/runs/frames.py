"""Frames: when a watched run is probed for a snapshot.

Snapshots follow what viewers can draw, not the epoch rate: at most `snapshot_rate` a second
(default 60, a display's rate), within a share of WALL time (a token bucket that fills at
`share` seconds per second, up to one second's worth). Budgeting against wall time, not
training time, lets a paced run spend its idle time on frames: a run paced at or below the
snapshot rate is probed after every epoch, so every epoch is seen. A full-speed tiny net (a
spiral MLP, 32-32: a probe ~3-6 ms on these machines) gets 25-50 frames a second for at most
`share` of its worker's time.
"""

from __future__ import annotations

import math

PROBE_SHARE = 0.15  # probes may take at most this share of wall time, per watched run
WINDOW_S = 1.0  # unspent budget is kept for at most this long (no burst after a pause)


class FrameBudget:
    """One watched run's frames: a rate limit and a wall-time budget."""

    def __init__(self, rate: float, share: float = PROBE_SHARE):
        self.interval = 1.0 / rate
        self.share = share
        self.credit = share * WINDOW_S  # seconds of probing available now
        self.stamp: float | None = None  # when the credit was last topped up
        self.last = -math.inf  # when the last probe ended

    def _refill(self, now: float) -> None:
        if self.stamp is not None:
            cap = self.share * WINDOW_S
            self.credit = min(cap, self.credit + self.share * (now - self.stamp))
        self.stamp = now

    def allows(self, now: float, every_epoch: bool = False) -> bool:
        """Whether a probe may run now; `every_epoch`: an epoch just ended on a run paced at
        or below the snapshot rate (its frame is due whatever the interval says)."""
        self._refill(now)
        if self.credit <= 0:
            return False
        return every_epoch or now - self.last >= self.interval

    def next_in(self, now: float) -> float:
        """Seconds until the next frame is due (a full-speed slice should end by then)."""
        return max(0.0, self.last + self.interval - now)

    def spent(self, start: float, end: float) -> None:
        """A probe ran from `start` to `end` (perf_counter seconds)."""
        self._refill(end)
        self.credit -= end - start
        self.last = end
