"""The frames of a stack of runs (stacking.py) after their stacked epoch, decided and computed
together.

A worker that trains R runs of one shape as one stacked epoch then gives each its turn: record,
checkpoint, and a frame if `frames.py` says it is due. Decided one by one, each frame's probe
ran alone (1.4 ms a run at the full grid); decided here for the whole stack at once, the due
runs of one probe key have their snapshots computed as one batched pass
(engine/fastpath/stacked_probes.py: 0.65-0.76 ms a run at R = 3-200, `python -m
bench.stacked_probe`). The decision is the one `Worker.frame_due` makes at a run's turn, with
the time the turns ahead of it will take (`frames.StackTurns`), so a run late for its next
epoch is not given a frame because its turn has not come yet.
"""

from __future__ import annotations

import sys
import time
import traceback
from dataclasses import dataclass
from typing import Any

from server.engine.fastpath.stacked_probes import key, snapshots
from server.engine.probes import GRID_RES


@dataclass
class Frame:
    """A frame a run is due: its boundary side (None: the full grid) and, when it was
    computed with its stack's (engine/fastpath/stacked_probes.py), the snapshot and the
    seconds of that pass it is charged."""

    resolution: int | None
    snapshot: dict | None = None
    cost: float = 0.0


# A stacked run's turn with no frame due: it was decided with its stack's (not again alone).
NO_FRAME = Frame(None)


def stacked_frames(worker: Any, jobs: list, results: list) -> dict[str, Frame]:
    """The frames due to `worker`'s stack of runs (in their turns' order) after their stacked
    epoch, decided at once as `maybe_probe` decides each at its turn, with the time the
    turns ahead of it will take (frames.StackTurns); the snapshots of runs of one probe
    key (engine/fastpath/stacked_probes.py) computed as one pass, each charged its share
    of it. -> {run_id: Frame}: a frame due, with its snapshot when it was computed
    stacked (a run of no key, or a lone one, is probed alone at its turn)."""
    due: dict[tuple, list[Any]] = {}  # (resolution, probe key) -> the jobs due a frame
    frames: dict[str, Frame] = {}
    costs = worker.stack_turns
    ahead = pending = 0.0  # estimated seconds of the turns before, of the frames granted
    for job, result in zip(jobs, results, strict=True):
        if not isinstance(result, dict) or job.trainer.finished:
            continue  # an ended run's last frame is its own (epoch_ended)
        job.pace.epoch_done()  # now, not at its turn (then a no-op): its slack is to
        allowed, resolution = worker.frame_due(job, True, ahead, pending)  # its next epoch
        ahead += costs.turn_s
        if not allowed:
            continue
        ahead += costs.frame_s
        pending += costs.frame_s
        frames[job.run_id] = Frame(resolution)
        k = key(job.trainer, resolution or GRID_RES)
        if k is not None:
            due.setdefault((resolution, k), []).append(job)
    for (resolution, _), group in due.items():
        if len(group) < 2:
            continue
        if worker.beat is not None:  # the watchdog blames the group's first run for a hang
            worker.beat.busy(group[0].run_id)
        start = time.perf_counter()
        try:
            snaps = snapshots([job.trainer for job in group], resolution or GRID_RES)
        except Exception:  # noqa: BLE001 - never the runs: each is probed alone instead
            traceback.print_exc(file=sys.stderr)
            continue
        finally:
            if worker.beat is not None:
                worker.beat.idle()
        share = (time.perf_counter() - start) / len(group)
        worker.stacked_snapshots += len(group)
        for job, snap in zip(group, snaps, strict=True):
            frames[job.run_id] = Frame(resolution, snap, share)
    return frames
