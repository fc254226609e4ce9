"""Owner presence: the heartbeat an owner's page sends while it shows its run.

A run whose owner sent a heartbeat and then none for `LAYERLAB_OWNER_IDLE_PAUSE_S` is
paused, and after `LAYERLAB_OWNER_IDLE_STOP_S` stopped (server/runs/presence.py).
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from .deps import ManagerDep, RunDep, SettingsDep, TokenDep

router = APIRouter(prefix="/api/runs", tags=["runs"])


class PresenceReply(BaseModel):
    """The run's state, and how often its owner's page should send a heartbeat."""

    id: str
    status: str
    epoch: int = Field(description="epochs completed")
    idle_pause_s: float = Field(description="without a heartbeat this long the run is paused")
    idle_stop_s: float = Field(description="... and this long, stopped")


@router.post(
    "/{run_id}/presence",
    responses={
        403: {"description": "missing or wrong X-Run-Token"},
        404: {"description": "no such run"},
    },
)
def post_presence(
    run: RunDep, manager: ManagerDep, settings: SettingsDep, token: TokenDep = None
) -> PresenceReply:
    """The owner's page is still open (header X-Run-Token): keeps its run from the idle pause
    and stop; an ended run answers with its status as well. Send one well within
    `idle_pause_s` (the page: every quarter of it, at most every 15 s)."""
    if not manager.owns(run, token):
        raise HTTPException(403, "this run's owner token is needed (header X-Run-Token)")
    manager.heartbeat(run)
    return PresenceReply(
        id=run.id,
        status=run.status,
        epoch=run.epoch,
        idle_pause_s=settings.owner_idle_pause_s,
        idle_stop_s=settings.owner_idle_stop_s,
    )
