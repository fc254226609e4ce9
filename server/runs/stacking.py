"""Which of a worker's due runs train their next epoch together, as one stacked computation.

Many students' copies of one starter (the spiral at the classroom pace) have the same shape:
the engine trains such runs one epoch each in one batched call (engine/fastpath/stacked.py,
~2.5x less CPU per epoch than one by one at 10-200 runs). A run joins a stack when it is paced,
built, running (not paused, stepping or mid-epoch) and its trainer's stack key matches; a run
of that key due within `EARLY` of its interval joins the stack a little early (its schedule
keeps its phase: pace.py), so stacks stay large however the runs' phases fall. Everything else,
and a key with a single run, trains alone as before.

    plan(ready, jobs, now, limit) -> (stacks: [[job, ...]], alone: [job, ...])
    stackable(job) -> bool   still able to join its stack (after the commands of the turn)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

EARLY = 0.25  # a compatible run due within this share of its interval joins a stack early


def stack_key(job: Any) -> tuple | None:
    """The job's stack key (engine/fastpath/stacked.py), None while it cannot stack."""
    if job.pace.rate is None or job.trainer is None or job.paused or job.step_pending:
        return None
    if job.pace.started is not None:  # an epoch in progress (trained alone) ends alone
        return None
    from server.engine.fastpath.stacked import key

    return key(job.trainer)


def stackable(job: Any) -> bool:
    return stack_key(job) is not None


def plan(
    ready: list[Any], jobs: Iterable[Any], now: float, limit: int
) -> tuple[list[list[Any]], list[Any]]:
    """Split the turn's `ready` jobs into stacks (two to `limit` runs, one key each, plus
    compatible runs of `jobs` due within EARLY of an interval) and the jobs that train alone."""
    if limit < 2:
        return [], list(ready)
    groups: dict[tuple, list[Any]] = {}
    for job in ready:
        k = stack_key(job)
        if k is not None:
            groups.setdefault(k, []).append(job)
    taken = {id(job) for job in ready}
    for job in jobs:
        if id(job) in taken or not job.active or job.pace.rate is None:
            continue
        wait = job.pace.wait(now)
        if 0 < wait <= EARLY / job.pace.rate:
            k = stack_key(job)
            if k is not None and k in groups:
                groups[k].append(job)
    stacks: list[list[Any]] = []
    for members in groups.values():
        for i in range(0, len(members), limit):
            chunk = members[i : i + limit]
            if len(chunk) > 1:
                stacks.append(chunk)
    stacked = {id(job) for stack in stacks for job in stack}
    return stacks, [job for job in ready if id(job) not in stacked]  # in the schedule's order
