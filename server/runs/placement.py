"""Which worker each run goes to, and the runs that wait for one.

A run goes to the least-loaded usable worker (ready, alive, heard from recently). While none is
usable (every worker dead, hung or still starting) it waits in `pending`, in the order it came,
and is placed when a worker says it is ready or is heard from again (`on_ready`). Controls sent
to a run while it waited (`Run.deferred`) follow its start to the same worker, in order.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from .calls import Calls
from .model import Run
from .protocol import Control, Start


class Placement:
    """Places runs on the backend's workers."""

    def __init__(self, pool: Any, calls: Calls):
        self.pool = pool
        self.calls = calls
        self.pending: deque[Run] = deque()  # created while no worker was usable

    def place(self, run: Run) -> None:
        """Send a run to the least-loaded usable worker, or keep it queued until one is
        ready."""
        while run.active:
            worker = self.pool.least_loaded()
            if worker is None:
                run.worker = None
                if run not in self.pending:
                    self.pending.append(run)
                return
            run.worker, run.accepted = worker, False
            worker.runs.add(run.id)
            paused = run.paused_start or run.status == "paused"
            if self.pool.send(worker, Start(run.id, run.experiment, paused, run.resume_from)):
                if run.channel.viewers:  # placed again, or late: its viewers want snapshots
                    self.pool.send(worker, Control(None, run.id, "watch", True))
                self._send_deferred(run, worker)
                return
            worker.runs.discard(run.id)  # gone meanwhile: try the next one

    def _send_deferred(self, run: Run, worker: Any) -> None:
        deferred, run.deferred = run.deferred, []
        for command in deferred:
            self.calls.bind(command.seq, worker)
            if not self.pool.send(worker, command):
                self.calls.answer(command.seq, None)  # its worker went: nobody will answer

    def on_ready(self, worker: Any) -> None:
        """A worker (new, replacing one, or heard from again) is usable: place the runs that
        were waiting."""
        waiting = list(self.pending)
        self.pending.clear()
        for run in waiting:
            self.place(run)

    def forget(self, run: Run) -> None:
        """The run ended: it waits for no worker, and its worker no longer holds it."""
        if run in self.pending:
            self.pending.remove(run)
        if run.worker is not None:
            run.worker.runs.discard(run.id)
