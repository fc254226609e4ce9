"""Pace and frames in the worker: the schedule itself (a fake clock), then a real worker on a
thread keeping a run's pace beside a full-speed one, sleeping while nothing is due, and
showing every epoch of a paced run."""

from __future__ import annotations

import json
import os
import statistics
import threading
import time

import pytest
import torch
from test_worker import Harness, spiral

from server.engine.probes import GRID_RES
from server.runs.frames import (
    MOVING_RESOLUTION,
    SATURATED_PROBE_SHARE,
    STILL_SHARE,
    FrameBudget,
    Load,
    ProbeCredit,
)
from server.runs.pace import MIN_SLICE_S, Pace, schedule

PACE = 20.0


def test_a_paced_schedule_keeps_its_phase_and_never_bursts():
    pace = Pace(10.0)  # 0.1 s apart
    assert pace.wait(0.0) == 0  # the first epoch starts at once
    pace.begin(0.0)
    assert pace.wait(0.01) == 0  # an epoch in progress carries on
    pace.epoch_done()
    assert pace.wait(0.04) == pytest.approx(0.06)
    pace.begin(0.13)  # woke 30 ms late: the next is still due at 0.2, the average holds
    pace.epoch_done()
    assert pace.due == pytest.approx(0.2)
    pace.begin(1.5)  # paused or slow for over an interval: start now, the next 0.1 s later
    pace.epoch_done()
    assert pace.due == pytest.approx(1.6) and pace.wait(1.55) == pytest.approx(0.05)


def test_a_pace_change_applies_at_once_when_faster_and_after_one_epoch_when_slower():
    pace = Pace(1.0)
    pace.begin(0.0)
    pace.epoch_done()  # next due at 1.0
    pace.set(20.0, now=0.1)
    assert pace.wait(0.1) == pytest.approx(0.05)
    pace.set(0.5, now=0.1)  # slower: the epoch due under 20/s stays, then every 2 s
    assert pace.wait(0.1) == pytest.approx(0.05)
    pace.set(None, now=0.1)
    assert pace.wait(0.1) == 0


class FakeJob:
    def __init__(self, rate, active=True, trainer=True):
        self.pace, self.paused, self.step_pending = Pace(rate), not active, False
        self.trainer = object() if trainer else None
        self.active = active


def test_schedule_sleeps_until_the_next_due_epoch_and_shortens_full_speed_slices():
    waiting, fast, idle = FakeJob(10.0), FakeJob(None), FakeJob(None, active=False)
    waiting.pace.begin(0.0)
    waiting.pace.epoch_done()  # due at 0.1
    ready, sleep, budget = schedule([waiting, idle], 0.07, 0.05)
    assert ready == [] and sleep == pytest.approx(0.03)
    ready, sleep, budget = schedule([waiting, fast, idle], 0.07, 0.05)
    assert ready == [fast] and sleep is None and budget == pytest.approx(0.03)
    ready, _, budget = schedule([waiting, fast], 0.0999, 0.05)
    assert budget == MIN_SLICE_S
    assert schedule([idle], 0.0, 0.05)[:2] == ([], None)  # nothing at all: block on commands
    waiting.pace.begin(0.1)  # its epoch is in progress: full speed yields while it is on time
    assert schedule([waiting, fast], 0.15, 0.05)[2] == MIN_SLICE_S
    assert schedule([waiting, fast], 0.25, 0.05)[2] == 0.05  # over an interval: no priority
    unbuilt = FakeJob(10.0, trainer=False)
    unbuilt.pace.due = 5.0
    assert schedule([unbuilt], 0.0, 0.05)[0] == [unbuilt]  # building never waits


def test_frames_follow_the_rate_within_a_share_of_wall_time():
    credit = ProbeCredit(share=0.1)  # 100 ms of probing a second, for the whole worker
    frames = FrameBudget(rate=50.0, credit=credit)  # 20 ms apart
    assert frames.allows(0.0)
    frames.spent(0.0, 0.01)
    assert not frames.allows(0.015) and frames.next_in(0.015) == pytest.approx(0.015)
    assert frames.allows(0.031)
    frames.spent(0.031, 0.181)  # one slow probe (150 ms) overspends the budget by 50 ms ...
    assert not frames.allows(0.6)  # ... so the next waits until that is earned back (0.5 s)
    assert frames.allows(0.6, slack=0.01)  # a paced epoch that ended on time: its frame ...
    assert not frames.allows(0.6, slack=0.0)  # ... but not a late one's (the pace first)
    assert frames.allows(0.75)
    # Another run on the same worker draws on the same credit: it waits too.
    neighbour = FrameBudget(rate=50.0, credit=credit)
    frames.spent(0.75, 0.9)
    assert not neighbour.allows(2.0) and neighbour.allows(2.3)  # 128 ms owed: 1.3 s


def test_a_saturated_worker_earns_probe_time_at_the_smaller_share():
    """Its late runs' frames come only from this credit: what they leave goes to the pace."""
    load = Load(window_s=1.0, threshold=0.7)
    credit = ProbeCredit(share=0.25, load=load)
    assert credit.available(0.0)
    credit.spend(0.0, 0.25)  # the whole second's worth
    load.idle(0.9, 1.0)  # 90% busy over the first window
    assert load.saturated(1.0)
    credit.available(1.0)  # refilled over [0.25, 1.0] at the smaller share
    assert credit.credit == pytest.approx(0.75 * SATURATED_PROBE_SHARE)
    assert credit.credit <= SATURATED_PROBE_SHARE  # and capped at a second of it
    load.idle(1.0, 3.0)  # then idle: no longer saturated
    credit.available(3.0)
    assert credit.credit == pytest.approx(0.25)  # the full share again, and its cap


def test_frames_without_a_surface_keep_to_a_small_share_of_their_run():
    frames = FrameBudget(rate=60.0, credit=ProbeCredit(share=0.25))
    assert STILL_SHARE == 0.02
    frames.spent(0.0, 0.004, surface=False)  # a CNN's 4 ms probe: 2% means 196 ms until the next
    assert not frames.allows(0.15) and frames.next_in(0.15) == pytest.approx(0.05)
    assert frames.allows(0.201)
    frames.spent(0.3, 0.304)  # a decision surface's probe: the display's rate again (1/60 s)
    assert frames.allows(0.321)


def _rate(records: list[dict]) -> float:
    """Epochs per second from the records' own end times (Unix seconds, ms resolution): the
    median gap, so one stall of a loaded machine (a process not scheduled for a moment) does
    not count as the pace; a pace kept too slow moves every gap, and the median with them."""
    times = [r["time"] for r in records]
    return 1.0 / statistics.median(b - a for a, b in zip(times, times[1:], strict=False))


def _cpu_s(native_id: int) -> float:
    """CPU seconds (user + system) one thread of this process has used (/proc)."""
    with open(f"/proc/self/task/{native_id}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _epochs_of(h: Harness, run_id: str, first: int, last: int) -> list[dict]:
    h.read_until(lambda m: m[0] == "epoch" and m[1] == run_id and m[2]["epoch"] >= last)
    return [m[2] for m in h.messages if m[0] == "epoch" and m[1] == run_id][first - 1 : last]


@pytest.fixture
def harness():
    # As in a worker process: one torch thread (the default, one per core, spins on a loaded
    # machine: slices of 10 ms took 50-350 ms here) and eager steps (the fast path's compiled
    # kernel loads in a background thread of this very process, a second or more of CPU).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    h = Harness(fast_path=False)
    yield h
    h.close()
    torch.set_num_threads(threads)


def test_a_paced_run_keeps_its_pace_beside_a_full_speed_run(harness: Harness):
    # 10 epochs/s: room for the full-speed neighbour's slices even on a loaded machine.
    harness.send("start", "paced", spiral(None, pace=PACE / 2), False)
    harness.send("start", "fast", spiral(None), False)
    harness.send("start", "slow", spiral(None, pace=PACE / 4), False)  # its own pace
    records = _epochs_of(harness, "paced", 3, 23)  # two seconds
    assert _rate(records) == pytest.approx(PACE / 2, rel=0.1)
    assert _rate(_epochs_of(harness, "slow", 2, 11)) == pytest.approx(PACE / 4, rel=0.1)
    fast = [m for m in harness.messages if m[0] == "epoch" and m[1] == "fast"]
    assert len(fast) > len(records)  # full speed kept time-slicing beside it
    harness.send("control", 1, "paced", "pace", PACE)  # live, its own pace only
    harness.read_until(lambda m: m[0] == "ack" and m[1] == 1)
    now = len(harness.epochs("paced"))
    records = _epochs_of(harness, "paced", now + 2, now + 42)
    assert _rate(records) == pytest.approx(PACE, rel=0.1)
    for run_id in ("paced", "fast", "slow"):
        harness.send("control", None, run_id, "stop", None)


def test_a_worker_sleeps_between_paced_epochs(harness: Harness):
    harness.send("start", "paced", spiral(None, pace=PACE), False)
    _epochs_of(harness, "paced", 1, 3)  # built and going
    thread = harness.thread
    assert thread.native_id is not None and thread is not threading.current_thread()
    cpu, wall = _cpu_s(thread.native_id), time.monotonic()
    _epochs_of(harness, "paced", 1, 33)  # 1.5 s at 20/s
    share = (_cpu_s(thread.native_id) - cpu) / (time.monotonic() - wall)
    # A loop that spun while nothing was due would use the whole core (about 1.0).
    assert share < 0.5, share
    harness.send("control", None, "paced", "stop", None)


def _on_time_epochs(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> set[int]:
    """The epochs whose frame the worker decided with time to spare before the next epoch:
    a run the machine held up past its next due time gets only budgeted frames, by design
    (FrameBudget.allows), which a starved test thread can meet on a loaded machine."""
    worker, ended, on_time = harness.worker, {}, set()
    frame_due, allows = worker.frame_due, FrameBudget.allows

    def spied_frame_due(job, epoch_ended=False, ahead=0.0, pending=0.0):
        ended["epoch"] = job.epoch if epoch_ended else None
        return frame_due(job, epoch_ended, ahead, pending)

    def spied_allows(self, now, slack=None, pending=0.0):
        if ended.get("epoch") is not None and slack is not None and slack > 0:
            on_time.add(ended["epoch"])
        return allows(self, now, slack, pending)

    monkeypatch.setattr(worker, "frame_due", spied_frame_due)
    monkeypatch.setattr(FrameBudget, "allows", spied_allows)
    return on_time


def test_a_watched_paced_run_shows_every_epoch(harness: Harness, monkeypatch):
    # 10 epochs/s: a probe of this tiny net fits in the idle time between epochs.
    on_time = _on_time_epochs(harness, monkeypatch)
    harness.send("start", "paced", spiral(None, pace=PACE / 2), False)
    harness.send("control", None, "paced", "watch", True)
    _epochs_of(harness, "paced", 1, 16)
    shown = {m[2] for m in harness.messages if m[0] == "snapshot" and m[1] == "paced"}
    due = set(range(2, 16)) & on_time  # every one of them on a machine that is not starved
    assert due, "no epoch ended on time"
    missing = due - shown
    assert not missing, f"no snapshot after epochs {sorted(missing)}"  # one after each epoch
    harness.send("control", None, "paced", "stop", None)


def test_a_worker_is_saturated_when_busy_for_most_of_a_window():
    load = Load(window_s=1.0, threshold=0.7)
    assert not load.saturated(0.0)  # no complete window yet: not saturated
    load.idle(0.2, 0.6)  # 40% idle: 60% busy
    assert not load.saturated(1.0)
    assert load.busy_share == pytest.approx(0.6)
    load.idle(1.5, 1.6)  # 10% idle in the next window: 90% busy
    assert load.saturated(2.0)
    assert load.saturated(2.5)  # the last complete window counts until the next ends
    load.idle(2.5, 3.0)
    assert not load.saturated(3.0)


@pytest.mark.parametrize("saturated", [False, True])
def test_a_saturated_worker_shows_every_paced_epoch_on_the_coarse_grid(
    harness: Harness, saturated: bool, monkeypatch
):
    # The load is forced (threshold -1: every window counts as saturated; 2: none does), so
    # the test does not depend on how busy this machine is; the windows are 0.2 s long.
    on_time = _on_time_epochs(harness, monkeypatch)
    harness.worker.load = Load(window_s=0.2, threshold=-1.0 if saturated else 2.0)
    harness.send("start", "paced", spiral(None, pace=PACE / 2), False)
    harness.send("control", None, "paced", "watch", True)
    _epochs_of(harness, "paced", 1, 12)  # past the first complete window
    after = [
        (m[2], json.loads(m[3])["snapshot"]["boundary"]["resolution"])
        for m in harness.messages
        if m[0] == "snapshot" and m[1] == "paced" and m[2] >= 6
    ]
    due = set(range(6, 12)) & on_time
    assert due, "no epoch ended on time"
    assert {epoch for epoch, _ in after} >= due  # still one after each epoch
    assert {res for _, res in after} == {MOVING_RESOLUTION if saturated else GRID_RES}
    harness.send("control", None, "paced", "stop", None)
