"""Pace: a run's epochs per second (`training.pace`), kept by its worker.

A paced run trains one epoch each time one is due, at 1/pace intervals, and the worker blocks
on its command pipe until the next due time when no run has work: a slowed run costs the server
less (the spiral starter, 32-32 Adam, unwatched: 0.13 of a core at 20 epochs/s, where at full
speed it takes all the core it is given; measured with the worker on a thread, /proc's CPU
time, on the shared 2-core machine at load average 6-9). Full-speed runs
still time-slice as before; their slices end by the next paced epoch's due time, so a paced run
keeps its pace beside them.

The schedule keeps its phase (epoch k is due at t0 + k/pace), so waking late by less than one
interval does not slow the average; a run later than one interval (paused, resumed, or slower
than its pace) starts its next epoch at once and anchors the schedule there: never a burst of
catch-up epochs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

MIN_SLICE_S = 0.002  # a full-speed slice shortened for a paced neighbour still trains a while


class Pace:
    """When one run's next epoch may start."""

    def __init__(self, rate: float | None = None):
        self.rate = rate  # epochs per second; None: full speed
        self.due: float | None = None  # monotonic time the next epoch is due (None: now)
        self.started: float | None = None  # the epoch in progress began then (None: none)

    def set(self, rate: float | None, now: float) -> None:
        """Change the pace live: a faster one applies at once, a slower one after the next
        epoch (which was due under the old pace)."""
        self.rate = rate
        if rate is None:
            self.due = None
        elif self.due is not None:
            self.due = min(self.due, now + 1.0 / rate)

    def wait(self, now: float) -> float:
        """Seconds until this run may train (0: now; an epoch in progress always may)."""
        if self.rate is None or self.started is not None or self.due is None:
            return 0.0
        return max(0.0, self.due - now)

    def on_time(self, now: float) -> bool:
        """An epoch is in progress and has run for less than one interval."""
        return (
            self.rate is not None
            and self.started is not None
            and now - self.started < 1 / self.rate
        )

    def begin(self, now: float) -> None:
        """A training slice is about to run: the first of an epoch marks its start."""
        if self.started is None:
            self.started = now

    def epoch_done(self) -> None:
        """The epoch in progress ended: the next is due one interval after this one was."""
        if self.rate is not None and self.started is not None:
            interval = 1.0 / self.rate
            late = self.due is None or self.started - self.due >= interval
            self.due = (self.started if late else self.due) + interval
        self.started = None


class PacedJob(Protocol):
    """What the schedule reads of a worker's Job."""

    pace: Pace
    paused: bool
    step_pending: bool
    trainer: Any

    @property
    def active(self) -> bool: ...


def schedule(
    jobs: Iterable[PacedJob], now: float, time_slice_s: float
) -> tuple[list[Any], float | None, float]:
    """-> (the jobs to advance now, in order; else how long the worker may sleep, None: until
    a command; the time slice a full-speed job gets, ending by the next paced due time, or
    short while a paced epoch is in progress). A paced job's own slice is `time_slice_s`:
    its epoch runs in one go where it can, so it ends on time."""
    ready: list[Any] = []
    next_wait: float | None = None
    for job in jobs:
        if not job.active:
            continue
        # A requested step, an unbuilt trainer and an epoch in progress never wait.
        wait = 0.0 if job.step_pending or job.trainer is None else job.pace.wait(now)
        if wait <= 0:
            ready.append(job)
        if job.pace.rate is not None and (wait > 0 or job.pace.on_time(now)):
            # A paced epoch in progress, still able to end on time, goes first: full-speed
            # slices stay short meanwhile. One later than its interval cannot keep its pace
            # whatever its neighbours do, so it takes its turn like them.
            next_wait = wait if next_wait is None else min(next_wait, wait)
    budget = time_slice_s if next_wait is None else max(MIN_SLICE_S, min(time_slice_s, next_wait))
    return ready, (None if ready else next_wait), budget


def slice_for(pace: Pace, fast_budget: float, time_slice_s: float) -> float:
    """The training time one job gets this turn (see `schedule`)."""
    return fast_budget if pace.rate is None else time_slice_s
