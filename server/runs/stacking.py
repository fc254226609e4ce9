"""Which of a worker's due runs train their next epoch together, as one stacked computation.

Many students' copies of one starter (the spiral at the classroom pace) have the same shape:
the engine trains such runs one epoch each in one batched call (engine/fastpath/stacked.py,
~2.5x less CPU per epoch than one by one at 10-200 runs). A run joins a stack when it is paced,
built, running (not paused, stepping or mid-epoch) and its trainer's stack key matches; a run
of that key due within `EARLY` of its interval joins the stack early, and the stack's runs
then share its earliest due time (`align`): one shorter interval for a joiner, after which
the runs fall due together, so a class of one starter trains as one stack per interval
whatever order its runs started in. Everything else,
and a key with fewer than STACK_MIN runs, trains alone as before.

    plan(ready, jobs, now, limit) -> (stacks: [[job, ...]], alone: [job, ...])
    stackable(job) -> bool   still able to join its stack (after the commands of the turn)
    align(jobs)              the stack's runs fall due together from now on
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# A compatible run due within this share of its interval joins a stack early; with `align`,
# any two runs of one key and pace fall due together after one interval (of two phases, one
# is always within half an interval after the other).
EARLY = 0.5
# Fewest runs worth stacking. A paced run's epoch is its training and its frame's probe. Spiral
# runs one by one: training 0.42-0.52 ms (the compiled kernel), probe 1.4-1.9 ms; stacked at
# R=3: 0.95 and 0.44-0.81 ms, at R=10-200: 0.32-0.43 and 0.40-0.85 ms (bench/stacked.py and
# bench/stacked_probe.py, CPU per epoch per run). Training alone, stacking pays from ~10 runs.
STACK_MIN = 3


def stack_key(job: Any) -> tuple | None:
    """The job's stack key (engine/fastpath/stacked.py), None while it cannot stack."""
    if job.pace.rate is None or job.trainer is None or job.paused or job.step_pending:
        return None
    if job.pace.started is not None:  # an epoch in progress (trained alone) ends alone
        return None
    from server.engine.fastpath.stacked import key

    shape = key(job.trainer)
    # One pace a stack: `align` moves a joiner's schedule to the stack's, which must not
    # speed up a run paced slower than the others.
    return None if shape is None else (job.pace.rate, shape)


def stackable(job: Any) -> bool:
    return stack_key(job) is not None


def plan(
    ready: list[Any], jobs: Iterable[Any], now: float, limit: int
) -> tuple[list[list[Any]], list[Any]]:
    """Split the turn's `ready` jobs into stacks (STACK_MIN to `limit` runs, one key each, plus
    compatible runs of `jobs` due within EARLY of an interval) and the jobs that train alone.
    A group too small to stack is aligned all the same (its early runs are due now, next
    turn), so that phases merge and stacks form: three runs a third of an interval apart
    would otherwise never meet."""
    if limit < STACK_MIN:
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
        if len(members) < STACK_MIN:  # too few yet: fall due together, to stack later
            align(members)
            continue
        for i in range(0, len(members), limit):
            chunk = members[i : i + limit]
            if len(chunk) >= STACK_MIN:
                stacks.append(chunk)
    stacked = {id(job) for stack in stacks for job in stack}
    return stacks, [job for job in ready if id(job) not in stacked]  # in the schedule's order


def align(jobs: list[Any]) -> None:
    """Give the stack's runs its earliest due time (the most overdue run's phase, kept:
    pace.py), so their next epochs fall due together; a run never due yet keeps None."""
    dues = [job.pace.due for job in jobs if job.pace.due is not None]
    if dues:
        first = min(dues)
        for job in jobs:
            if job.pace.due is not None:
                job.pace.due = first
