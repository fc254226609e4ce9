"""The runs this process counts against the run limits: its active runs, and the runs being
admitted now (reserved while their admission is awaited).

A run's admission has two halves. This process's counts (and the other replicas' census) are
checked with no await, so two requests to one process cannot both pass them for the last
slot. Replicas then take the run's slots in Redis, which is awaited (a round trip, at most a
short timeout): the event loop is never held on Redis. For the requests that arrive while
that await is in flight to see the run, it holds its seat here from the local check until it
is registered or refused. The map is bounded by the limits it is counted in: a seat is only
reserved once the local counts, which include every seat, have room for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple


class Seat(NamedTuple):
    """One run as the limits count it (what the replicas' census says of each run too)."""

    run_id: str
    client: str
    class_code: str | None = None  # a class run is counted per student, not per address
    student: str | None = None


class Reservations:
    """Seats held while their runs' admission is awaited (see the module doc)."""

    def __init__(self) -> None:
        self._held: dict[str, Seat] = {}

    def __contains__(self, run_id: object) -> bool:
        return run_id in self._held

    def __len__(self) -> int:
        return len(self._held)

    def __iter__(self) -> Iterator[Seat]:
        return iter(list(self._held.values()))

    def hold(self, seat: Seat) -> None:
        """Reserve `seat` (its run must not hold one already: a resume checks first)."""
        if seat.run_id in self._held:
            raise KeyError(f"run {seat.run_id} is being admitted already")
        self._held[seat.run_id] = seat

    def free(self, run_id: str) -> None:
        self._held.pop(run_id, None)
