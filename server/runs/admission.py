"""Run admission: whether a new or resumed run may start, checked before it is registered.

The data: `check_datasets` asks the guard `create_app` installs (uploads are their owner's)
whether the owner may train on what the experiments name; it reads the database, so the
routes call it off the event loop, before `create`. The run limits: `admit` checks the
server-wide count, then the address's (a class run is counted per student instead, and
server/classes hands over its class's `quotas`), over this process's seats and the other
replicas' census, with no await; then (replicas) it takes the run's slots atomically in Redis
(server/cluster/admission.py), the run's seat reserved while that is awaited (seats.py). The
quotas and what a refused run is told are run_limits.py's.

A class run resumed or taken over from the database, which does not say whose it is, gets its
class identity (`ClassIdentity`) from server/classes' `class_of`, or `NO_CLASS`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from ..config import Settings
from . import run_limits
from .bus import RunBus
from .model import LimitReached, Quota, Run
from .seats import Reservations, Seat

# Raises (NotOwner: 403) unless the owner (a hash, or None) may train on every experiment's data.
DatasetGuard = Callable[[list[dict], str | None], None]


class ClassIdentity(NamedTuple):
    """A run's class, student and the quotas its runs must fit (`NO_CLASS`: none of them)."""

    class_code: str | None
    student: str | None
    quotas: Sequence[Quota]


NO_CLASS = ClassIdentity(None, None, ())

# A run's class identity, or None outside classes (server/classes/service.py's `class_of`).
ClassOf = Callable[[str], ClassIdentity | None]


def class_identity(class_of: ClassOf | None, run_id: str) -> ClassIdentity:
    """The run's class identity by `class_of`, or NO_CLASS (outside classes, or no classes)."""
    identity = class_of(run_id) if class_of is not None else None
    return identity if identity is not None else NO_CLASS


class Admission:
    """The checks a run passes before it is registered, over the manager's runs and seats."""

    def __init__(self, settings: Settings, runs: dict[str, Run], bus: RunBus):
        self.settings = settings
        self.runs = runs  # the manager's own dict: its active runs hold seats
        self.bus = bus
        self.reserved = Reservations()  # runs whose admission is awaited (seats.py)
        # Whether an owner may train on the data experiments name (uploads are their owner's):
        # set by create_app (server/uploads/access.check_use); raises to refuse. None: all may.
        self.dataset_guard: DatasetGuard | None = None

    def seats(self) -> list[Seat]:
        """Every run this process counts against the run limits: its active runs and those
        being admitted now (seats.py)."""
        active = [
            Seat(r.id, r.client, r.class_code, r.student) for r in self.runs.values() if r.active
        ]
        return [*active, *self.reserved]

    def active_count(self, client: str | None = None) -> int:
        """Active runs in all, or of one address (a class's runs are counted per student),
        the runs being admitted now included."""
        return sum(
            1
            for seat in self.seats()
            if client is None or (seat.client == client and seat.student is None)
        )

    def held(self, run_id: str) -> bool:
        """Whether `run_id` is in memory here, or being admitted (its seat reserved)."""
        return run_id in self.runs or run_id in self.reserved

    def check_datasets(self, experiments: list[dict], owner: str | None) -> None:
        """Raise (the guard's NotOwner: 403) unless `owner` (a hash) may train on the data of
        every experiment; reads the database, so called off the event loop, before `create`."""
        if self.dataset_guard is not None:
            self.dataset_guard(experiments, owner)

    async def admit(self, seat: Seat, quotas: Sequence[Quota] = ()) -> None:
        """Raise LimitReached unless the run fits the run limits: this process's counts and
        the other replicas' census, checked with no await; then (replicas) its slots taken
        atomically in Redis, in the server's counts and `quotas` (a class run's, already
        checked by the classes against the same counts), its seat reserved while that is
        awaited. Returns with the seat free again: the caller registers the run before it
        awaits anything, so it is counted throughout."""
        s = self.settings
        per_client = seat.student is None
        everyone, mine = run_limits.everyone(s), run_limits.per_address(s, seat.client)
        full: Quota | None = None
        if self.active_count() + self.bus.active_elsewhere() >= s.max_runs:
            full = everyone
        elif per_client and (
            self.active_count(seat.client) + self.bus.active_elsewhere(seat.client)
            >= s.max_runs_per_client
        ):
            full = mine
        else:
            counts = [everyone, mine] if per_client else [everyone]
            self.reserved.hold(seat)
            try:
                full = await self.bus.admit(seat.run_id, [*counts, *quotas])
            finally:
                self.reserved.free(seat.run_id)
        if full is not None:
            raise LimitReached(full.refusal, full.retry_after)
