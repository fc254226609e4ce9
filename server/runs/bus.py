"""Where a run's stream goes besides this process's viewers: the bus the manager is handed.

One process (no `LAYERLAB_REDIS_URL`) uses `LocalBus`, which does nothing: the hub is the
whole stream. Replicas use server/cluster's Redis bus, which copies each record, status and
snapshot of the runs this replica owns into Redis (a stream per run, in order), so viewers on
other replicas get them, and holds each run's lease while it lives. The manager calls it from
the event loop and never waits on it: every method returns at once, but for the two that
are awaited: `admit` (by the manager, for a new run's slots; at once in one process) and
`claimed` (by the route that answers a new run's 201).
"""

from __future__ import annotations

from collections.abc import Sequence

from .model import Quota


class RunBus:
    """The interface (and the one-process implementation: nothing leaves this process)."""

    def owned(self, run_id: str, info: dict) -> None:
        """This replica took `run_id` (created or resumed): `info` is what hello describes."""

    def epoch(self, run_id: str, text: str) -> None:
        """One epoch record (JSON text), in order."""

    def status(self, run_id: str, status: str, message: str | None, epoch: int) -> None:
        """A status change; a terminal one ends the run's stream."""

    def snapshot(self, run_id: str, text: str) -> None:
        """The latest visual state (latest wins)."""

    def text(self, run_id: str, text: str) -> None:
        """A small message every viewer gets in order (a trace, a pace change)."""

    def released(self, run_id: str) -> None:
        """The run ended here: its lease goes."""

    def active_elsewhere(self, client: str | None = None) -> int:
        """Active runs other replicas hold: all, or one address's outside classes (the run
        limits count the whole LayerLab). One process: none."""
        return 0

    async def admit(self, run_id: str, quotas: Sequence[Quota]) -> Quota | None:
        """Count a new run in every quota's count of the whole LayerLab in one atomic step,
        once this process's counts have passed it: None when admitted, else the first quota
        at its limit. One process: None (its own counts decide), without suspending, so a
        run is checked and created here in one step of the event loop."""
        return None

    async def claimed(self, run_id: str) -> None:
        """Returns once other replicas can find this one as `run_id`'s owner (its lease is
        written), so that a control sent elsewhere right after the run's 201 is relayed here;
        at once in one process. The one method awaited: by the route that creates a run."""


LocalBus = RunBus
