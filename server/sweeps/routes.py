"""Sweeps: start one design in several variants at once, read them with their runs and final
metrics, list yours, stop one. Owned by the `X-Owner-Token` it was started with.

Every variant is an ordinary run, created through the run manager on whichever backend it
drives. A sweep is all or nothing: one that could never run at once for one client is a 422
at `axes`; one that does not fit beside the client's other active runs now is a 429, and
nothing starts (sweeps are refused, not queued).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException
from starlette.concurrency import run_in_threadpool

from ..core.ids import new_id
from ..runs.manager import ControlRefused, LimitReached, Run, RunManager
from ..store.store import StoreUnavailable
from ..web.deps import ClientDep, ManagerDep, SettingsDep, StoreDep
from ..web.owner import MaybeOwner, Owner, OwnerToken, owns
from ..web.paging import Page, paging
from .models import SweepCreated, SweepDetail
from .repository import SWEEPS, StoredSweep
from .spec import SpecError, SweepIn
from .summary import describe
from .validate import check_sweep

router = APIRouter(prefix="/api/sweeps", tags=["sweeps"])

NOT_FOUND = {404: {"description": "no such sweep"}}
CREATE_ERRORS = {
    422: {
        "description": "a bad sweep: `detail` lists {loc, msg, type}, `loc` naming the field "
        '(e.g. `["body", "axes", 0, "values", 2]` for a value whose variant cannot run)'
    },
    429: {"description": "its variants do not fit beside your (or the server's) active runs"},
}
SweepPage = Annotated[Page, Depends(paging(default=20, most=100))]


def _detail(manager: RunManager, sweep: StoredSweep, owner: OwnerToken | None) -> SweepDetail:
    return SweepDetail(**describe(sweep, manager.find, owns(owner, sweep.owner)))


def _room(manager: RunManager, client: str, wanted: int) -> None:
    """LimitReached unless `wanted` more runs fit now, in all and for this client."""
    s = manager.settings
    free_all = s.max_runs - manager.active_count()
    free_mine = s.max_runs_per_client - manager.active_count(client)
    if wanted > free_mine:
        raise LimitReached(
            f"this sweep has {wanted} variants but you may start only {max(0, free_mine)} more "
            f"runs now (LAYERLAB_MAX_RUNS_PER_CLIENT is {s.max_runs_per_client}); stop some "
            "of your runs first"
        )
    if wanted > free_all:
        raise LimitReached(
            f"this sweep has {wanted} variants but the server has room for only "
            f"{max(0, free_all)} more runs now (LAYERLAB_MAX_RUNS); try again later"
        )


@router.post("", status_code=201, responses=CREATE_ERRORS)
async def create_sweep(
    body: SweepIn,
    owner: Owner,
    manager: ManagerDep,
    store: StoreDep,
    settings: SettingsDep,
    client: ClientDep,
) -> SweepCreated:
    """Check every variant, then start them all together; each run's token is returned only
    here (the sweep itself is stopped with your X-Owner-Token)."""
    await run_in_threadpool(manager.check_datasets, [body.experiment], owner.hash)
    try:
        base, variants = await run_in_threadpool(check_sweep, body, settings)
    except SpecError as err:
        raise HTTPException(422, err.errors) from None
    await run_in_threadpool(manager.check_datasets, [v.experiment for v in variants], owner.hash)
    _room(manager, client, len(variants))
    # The sweep starts whole or not at all: a variant refused after the room was checked (a
    # replica's create awaits Redis, and another request may take a slot meanwhile) stops
    # the variants created before it, and the 429 stands for the whole sweep.
    runs: list[Run] = []
    try:
        for v in variants:
            runs.append(await manager.create(v.experiment, v.check, client, owner=owner.hash))
    except LimitReached:
        await _stop_all(manager, runs)
        raise
    sweep_id = new_id()
    axes = [a.model_dump() for a in body.axes]
    try:
        await run_in_threadpool(
            store.write,
            SWEEPS.create,
            sweep_id,
            owner.hash,
            body.name.strip(),
            base,
            axes,
            [(r.id, v.values) for r, v in zip(runs, variants, strict=True)],
        )
    except StoreUnavailable:
        await _stop_all(manager, runs)
        raise
    return SweepCreated(
        id=sweep_id,
        name=body.name.strip(),
        status="running",
        variants=[
            {
                "index": v.index,
                "values": v.values,
                "label": v.label,
                "run": r.id,
                "token": r.token,
                "stream": f"/ws/runs/{r.id}",
            }
            for r, v in zip(runs, variants, strict=True)
        ],
    )


@router.get("")
def list_sweeps(
    owner: Owner, manager: ManagerDep, store: StoreDep, page: SweepPage
) -> list[SweepDetail]:
    """Your sweeps, newest first, each with its variants (`X-Total-Count`: how many)."""
    found, total = store.read(SWEEPS.page, owner.hash, page.limit, page.offset)
    page.total(total)
    return [_detail(manager, s, owner) for s in found]


@router.get("/{sweep_id}", responses=NOT_FOUND)
def get_sweep(
    sweep_id: str, manager: ManagerDep, store: StoreDep, owner: MaybeOwner
) -> SweepDetail:
    """One sweep, to anyone with its id: each variant's run, status and final metrics."""
    return _detail(manager, store.read(SWEEPS.find, sweep_id), owner)


@router.post(
    "/{sweep_id}/stop",
    responses={403: {"description": "not the sweep's owner (X-Owner-Token)"}, **NOT_FOUND},
)
async def stop_sweep(
    sweep_id: str, owner: Owner, manager: ManagerDep, store: StoreDep
) -> SweepDetail:
    """Stop every variant still active (the owner only); ended ones keep their results."""
    sweep = await run_in_threadpool(store.read, SWEEPS.owned, sweep_id, owner.hash, "stop")
    runs = [manager.get(v.run_id) for v in sweep.variants]
    await _stop_all(manager, [r for r in runs if r is not None])
    await run_in_threadpool(store.write, SWEEPS.mark_stopped, sweep_id)
    sweep = await run_in_threadpool(store.read, SWEEPS.find, sweep_id)
    return await run_in_threadpool(_detail, manager, sweep, owner)


async def _stop_all(manager: RunManager, runs: list) -> None:
    async def stop(run) -> None:
        if run.active:
            with contextlib.suppress(ControlRefused):
                await manager.control(run, "stop")

    await asyncio.gather(*(stop(r) for r in runs))
