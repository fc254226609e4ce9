"""Frames: when a watched run is probed for a snapshot.

Snapshots follow what viewers can draw, not the epoch rate: each watched run is probed at most
`snapshot_rate` times a second (default 60, a display's rate), and all the probes of one worker
together take at most PROBE_SHARE of WALL time (a token bucket, `ProbeCredit`, that fills at
PROBE_SHARE seconds per second, up to one second's worth). One bucket per worker, not per run:
a worker time-slicing 30 watched runs spends the same share on frames as one with a single
run, and its training keeps the rest. Budgeting against wall time, not training time, lets a
paced run use its idle time: a run paced at or below the snapshot rate is probed after every
epoch that ended on time (the pace bounds those probes), so every epoch is seen, and the pace
is kept first on a loaded machine.

A full-speed spiral MLP 32-32 probe and its encoding (coarse grid, below) took ~4.3 ms here,
so one watched run can get ~58 frames a second within 25% of its worker; on a loaded machine
the share, not the rate, sets the frame rate (bench/stage_frames.py: 22-29 a second at load
average 8-14 on 2 cores, where the old 3%-of-training-time rule gave none in 5 s).
"""

from __future__ import annotations

import math

# The boundary grid's side while a run trains at full speed (or faster than frames are
# shown), and for every probe of a saturated worker (`Load`): a spiral 32-32 snapshot falls
# from ~51 KB to ~23 KB (neuron thumbnails 10x10 instead of 20x20) and its probe from ~1.8 to
# ~1.25 ms CPU (bench/probe_cost.py, load average 5-7; 2.8 to 1.9 ms at 12-18). Paused and
# final snapshots keep the full grid (probes.GRID_RES, 40), and so do paced ones while the
# worker has time to spare: that is when a class looks closely.
MOVING_RESOLUTION = 20
# A worker busy for more than this share of the last LOAD_WINDOW_S (training, probing,
# sending: all but its waits for a paced epoch or a command) is saturated: its paced runs'
# per-epoch frames come at MOVING_RESOLUTION, so the time goes to keeping their pace.
SATURATED_SHARE = 0.7
LOAD_WINDOW_S = 1.0
PROBE_SHARE = 0.25  # all of a worker's probes take at most this share of wall time
# ... and this share while the worker is saturated (`Load`): its runs are late then, and a
# late run's frames come only from this budget, so what frames leave goes to the pace.
SATURATED_PROBE_SHARE = 0.1
# A run whose snapshot has no decision surface (images, sequences, autoencoders: feature maps,
# predictions and histograms that change slowly) spends at most this share of its own wall
# time on frames. At 25% a digits CNN with a viewer trained at 0.83-0.88x a plain PyTorch
# loop (bench/overhead.py: ~29 probes/s of ~3 ms each); the surface is what a class watches move.
# At 2% a full-speed digits CNN still gets ~5 frames a second (its probe ~3.5 ms), and its run
# spends ~65 ms outside training in all (start, frames, end; it had 14-18 frames at 5%). A
# paced run's frame after each on-time epoch is not counted here (FrameBudget.allows).
STILL_SHARE = 0.02
WINDOW_S = 1.0  # unspent budget is kept for at most this long (no burst after a pause)


class Load:
    """How busy a worker was over its last complete window of LOAD_WINDOW_S (wall time)."""

    def __init__(self, window_s: float = LOAD_WINDOW_S, threshold: float = SATURATED_SHARE):
        self.window_s, self.threshold = window_s, threshold
        self.start: float | None = None  # when the current window began
        self.idle_s = 0.0  # idle seconds within it
        self.busy_share = 0.0  # of the last complete window (0 until one has passed)

    def idle(self, start: float, end: float) -> None:
        """The worker waited (for a paced epoch or a command) from `start` to `end`."""
        self._roll(start)
        self.idle_s += max(0.0, end - max(start, self.start or start))
        self._roll(end)

    def saturated(self, now: float) -> bool:
        self._roll(now)
        return self.busy_share > self.threshold

    def _roll(self, now: float) -> None:
        if self.start is None:
            self.start = now
        elapsed = now - self.start
        if elapsed >= self.window_s:
            self.busy_share = max(0.0, 1.0 - min(self.idle_s, elapsed) / elapsed)
            self.start, self.idle_s = now, 0.0


class ProbeCredit:
    """A worker's probing budget: seconds of probing it may spend now."""

    def __init__(self, share: float = PROBE_SHARE, load: Load | None = None):
        self.share = share
        self.load = load  # its worker's: a saturated worker fills it at SATURATED_PROBE_SHARE
        self.credit = share * WINDOW_S
        self.stamp: float | None = None  # when the credit was last topped up

    def available(self, now: float, pending: float = 0.0) -> bool:
        """Whether there is credit left now, less `pending` seconds of probes decided but
        not run yet (a stack's frames: StackTurns)."""
        self._refill(now)
        return self.credit - pending > 0

    def spend(self, start: float, end: float) -> None:
        self._refill(end)
        self.credit -= end - start

    def _refill(self, now: float) -> None:
        share = self.share
        if self.load is not None and self.load.saturated(now):
            share = min(share, SATURATED_PROBE_SHARE)
        if self.stamp is not None:
            self.credit = min(share * WINDOW_S, self.credit + share * (now - self.stamp))
        self.stamp = now


class FrameBudget:
    """One watched run's frames: its rate limit, drawing on its worker's `ProbeCredit`."""

    def __init__(self, rate: float, credit: ProbeCredit | None = None):
        self.interval = 1.0 / rate
        self.credit = credit if credit is not None else ProbeCredit()
        self.last = -math.inf  # when the last probe ended
        self.gap = 0.0  # the least time after it before the next (STILL_SHARE's spacing)

    def allows(self, now: float, slack: float | None = None, pending: float = 0.0) -> bool:
        """Whether a probe may run now. `slack`: an epoch just ended on a run paced at or
        below the snapshot rate, with this long until its next epoch is due; its frame is due
        whatever the interval and budget say (the pace bounds those probes) unless the run is
        already late. The pace comes first: a probe that overruns the slack makes the next
        epoch late by less than an interval, which the schedule absorbs (pace.py), and a late
        run gets only budgeted frames until it is on time again."""
        if slack is not None and slack > 0:
            return True
        since = now - self.last
        return since >= self.interval and since >= self.gap and self.credit.available(now, pending)

    def next_in(self, now: float) -> float:
        """Seconds until the next frame is due (a full-speed slice should end by then)."""
        return max(0.0, self.last + max(self.interval, self.gap) - now)

    def spent(self, start: float, end: float, surface: bool = True) -> None:
        """A probe ran from `start` to `end` (perf_counter seconds); `surface`: its snapshot
        drew a decision surface (else the run's frames keep to STILL_SHARE of its time)."""
        self.credit.spend(start, end)
        self.last = end
        self.gap = 0.0 if surface else (end - start) * (1 - STILL_SHARE) / STILL_SHARE


class StackTurns:
    """What the turns after a stacked epoch cost (worker.advance_stacked), learnt as they run:
    one run's turn without its frame (its record, checkpoint), and one frame (its share of
    the stacked probe pass, its encoding and sending).

    A stack's frames are decided all at once, before its turns, so that their snapshots are
    computed as one pass; each run's slack is then counted from when its turn is expected to
    come (`ahead`: the turns and frames before it), and the frame budget less the frames
    already granted (`pending`), as if the frames were taken one by one. Granting every
    on-time run its frame at once instead cost the class its pace: at N=50 (bench/capacity.py)
    595 snapshots/s and 0/50 runs at pace (0.83x), where main kept 50/50 at 289/s."""

    WEIGHT = 0.2  # of each new measurement in the running means

    def __init__(self, turn_s: float = 0.0003, frame_s: float = 0.001):
        self.turn_s, self.frame_s = turn_s, frame_s

    def measured(self, turns: int, turn_time: float, frames: int, frame_time: float) -> None:
        """`turns` turns took `turn_time` seconds besides their `frames` frames' `frame_time`."""
        w = self.WEIGHT
        if turns:
            self.turn_s += w * (max(0.0, turn_time) / turns - self.turn_s)
        if frames:
            self.frame_s += w * (frame_time / frames - self.frame_s)
