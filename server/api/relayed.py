"""Requests for a run another replica owns (replicas: LAYERLAB_REDIS_URL): sent on to it."""

from __future__ import annotations

from fastapi import HTTPException
from starlette.requests import HTTPConnection, Request

from ..cluster import Cluster, RelayRefused
from ..runs.model import RunView
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
        headers = {"Retry-After": "2"} if err.code == 503 else None
        raise HTTPException(err.code, str(err), headers=headers) from None
