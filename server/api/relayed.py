"""Requests for a run another replica owns (replicas: LAYERLAB_REDIS_URL): sent on to it."""

from __future__ import annotations

import asyncio
import time

from fastapi import HTTPException
from starlette.requests import HTTPConnection, Request

from ..cluster import Cluster, RelayRefused
from ..core.statuses import ACTIVE
from ..runs.model import BadInput, ControlRefused, LimitReached, RunView
from .class_access import student_owns
from .control_values import check_edit, control_value
from .models import ControlRequest


def cluster_of(conn: HTTPConnection) -> Cluster | None:
    """This replica's cluster, or None in one process (no LAYERLAB_REDIS_URL)."""
    return getattr(conn.app.state, "cluster", None)


async def relay_control(
    cluster: Cluster, run: RunView, body: ControlRequest, token: str | None, request: Request
) -> dict:
    """The owner token checked here (the database has its hash), the value checked here, the
    control applied by the owning replica: its summary after, or its refusal."""
    if not (run.owns(token) or student_owns(request, run.id)):
        raise HTTPException(403, "this run's owner token is needed (header X-Run-Token)")
    value = control_value(body)
    if body.action == "set_weight":
        check_edit(run.check, value)
    try:
        return await cluster.relay.control(run.id, body.action, value)
    except RelayRefused as err:
        if err.code == 503:
            ended = await _ended_since(request, run.id)
            if ended is not None:  # it ended while asked: its lease went before its status
                raise HTTPException(
                    409, f"run {run.id} has ended ({ended}); it takes no controls"
                ) from None
        headers = {"Retry-After": "2"} if err.code == 503 else None
        raise HTTPException(err.code, str(err), headers=headers) from None


async def relay_predict(cluster: Cluster, run_id: str, question: tuple, client: str) -> dict:
    """A prediction of another replica's run, answered by its owner (anyone who may watch the
    run may ask: the caller checked that)."""
    try:
        return await cluster.relay.predict(run_id, list(question), client)
    except RelayRefused as err:
        raise as_owner_would(err) from None


async def relay_query(
    cluster: Cluster, request: Request, run_id: str, kind: str, params: dict, client: str
) -> dict | None:
    """Another replica's run asked a question of its network (the projection, the
    recommendations: `kind` as manager.query takes it), answered in its turn on its owner;
    None when the run has ended meanwhile (its saved weights answer then, here)."""
    try:
        return await cluster.relay.query(run_id, kind, params, client)
    except RelayRefused as err:
        if err.code in (409, 503) and await _ended_since(request, run_id) is not None:
            return None
        raise as_owner_would(err) from None


def as_owner_would(err: RelayRefused) -> Exception:
    """The owner's refusal as the owner raised it, so this replica's handlers answer it as the
    owner does (a 422 naming the field, a 429 with Retry-After, a 409); a 503 says when to
    try again (the run is being taken over)."""
    kinds = {422: BadInput, 429: LimitReached, 409: ControlRefused}
    if err.code in kinds:
        return kinds[err.code](str(err))
    headers = {"Retry-After": "2"} if err.code == 503 else None
    return HTTPException(err.code, str(err), headers=headers)


async def _ended_since(request: Request, run_id: str, wait_s: float = 3.0) -> str | None:
    """The run's stored status if it has ended, read again for up to `wait_s`: a run that ends
    gives up its lease at once, and its final status reaches the database a write later."""
    manager = request.app.state.manager
    deadline = time.monotonic() + wait_s
    while True:
        stored = await asyncio.to_thread(manager.find, run_id)
        if stored is not None and stored.status not in ACTIVE:
            return stored.status
        if time.monotonic() >= deadline:
            return None
        await asyncio.sleep(0.1)
