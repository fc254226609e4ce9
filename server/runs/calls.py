"""Calls to a worker that wait for its answer: a control's acknowledgement, an ask's reply.

Each call gets a number (`seq`, sent with the command, returned with the answer) and a future
on the event loop, remembered with the worker it went to: when a worker dies, `lost(worker)`
resolves only the calls that worker owed (with None: "no answer will come"), never those of a
healthy worker (before, one worker's exit told every pending control "done" and failed every
ask on every worker). A call its worker could not take is refused in `unreachable`'s words.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .backends.base import COMMAND_QUEUE


class Calls:
    """The pending calls, by number."""

    def __init__(self) -> None:
        self._seq = itertools.count(1)
        self._pending: dict[int, tuple[Any, asyncio.Future]] = {}

    @contextmanager
    def open(self, worker: Any) -> Iterator[tuple[int, asyncio.Future]]:
        """A number and a future for one call to `worker`; forgotten when the block ends."""
        seq = next(self._seq)
        future = asyncio.get_running_loop().create_future()
        self._pending[seq] = (worker, future)
        try:
            yield seq, future
        finally:
            self._pending.pop(seq, None)

    def bind(self, seq: int | None, worker: Any) -> None:
        """Call `seq`, opened while its run waited for a worker, went to `worker`."""
        found = self._pending.get(seq) if seq is not None else None
        if found is not None:
            self._pending[seq] = (worker, found[1])

    def answer(self, seq: int | None, value: Any) -> None:
        """The worker answered call `seq` (a late or unknown answer is ignored)."""
        found = self._pending.get(seq) if seq is not None else None
        if found is not None and not found[1].done():
            found[1].set_result(value)

    def lost(self, worker: Any) -> None:
        """`worker` is gone: its calls get None; every other worker's calls wait on."""
        for owner, future in list(self._pending.values()):
            if owner is worker and not future.done():
                future.set_result(None)

    def waiting(self) -> Counter[int]:
        """How many calls wait on each worker, by its id (`GET /api/workers`)."""
        return Counter(
            owner.id
            for owner, future in self._pending.values()
            if owner is not None and not future.done()
        )

    def __len__(self) -> int:
        return len(self._pending)


def unreachable(run_id: str, worker: Any) -> str:
    """Why a command to run `run_id`'s worker was not sent: it is dead, or owes too many."""
    if not worker.alive:
        return f"run {run_id} has no live worker"
    return (
        f"run {run_id}'s worker has {COMMAND_QUEUE} commands waiting and takes no more "
        "now (it is busy or not responding); try again in a moment"
    )
