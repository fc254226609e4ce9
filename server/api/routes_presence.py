"""Owner presence: the heartbeat an owner's page sends while it shows its run.

A run whose owner sent a heartbeat and then none for `LAYERLAB_OWNER_IDLE_PAUSE_S` is
paused, and after `LAYERLAB_OWNER_IDLE_STOP_S` stopped (server/runs/presence.py).
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from .deps import ManagerDep, RunDep, TokenDep
from .models import RunSummary

router = APIRouter(prefix="/api/runs", tags=["runs"])


@router.post(
    "/{run_id}/presence",
    responses={
        403: {"description": "missing or wrong X-Run-Token"},
        404: {"description": "no such run"},
    },
)
def post_presence(run: RunDep, manager: ManagerDep, token: TokenDep = None) -> RunSummary:
    """The owner's page is still open (header X-Run-Token): keeps its run from the idle pause
    and stop; an ended run answers with its status as well."""
    if not manager.owns(run, token):
        raise HTTPException(403, "this run's owner token is needed (header X-Run-Token)")
    manager.heartbeat(run)
    return RunSummary(**run.summary())
