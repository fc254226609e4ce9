"""Runs: start one, list them, read one, control one (with its owner token)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from starlette.concurrency import run_in_threadpool

from .deps import ClientDep, JsonBody, ManagerDep, RunDep, SettingsDep, TokenDep
from .models import ControlRequest, RunCreated, RunDetail, RunSummary
from .openapi import EXPERIMENT_BODY
from .routes_check import validate_experiment

router = APIRouter(prefix="/api/runs", tags=["runs"])

CREATE_ERRORS = {
    422: {"description": "the design cannot run; `detail` lists {loc, msg, type}"},
    429: {"description": "too many active runs, in all or for this client"},
}
CONTROL_ERRORS = {
    403: {"description": "missing or wrong X-Run-Token"},
    404: {"description": "no such run"},
    409: {"description": "the run has ended"},
}


@router.post("", status_code=201, openapi_extra=EXPERIMENT_BODY, responses=CREATE_ERRORS)
async def create_run(
    doc: JsonBody,
    settings: SettingsDep,
    manager: ManagerDep,
    client: ClientDep,
    paused: Annotated[bool, Query(description="create it paused, to step or resume")] = False,
) -> RunCreated:
    """Check an experiment and start training it; the token is returned only here."""
    experiment, result = await run_in_threadpool(validate_experiment, doc, settings)
    run = manager.create(experiment, result, client, paused=paused)
    return RunCreated(id=run.id, token=run.token, status=run.status, stream=f"/ws/runs/{run.id}")


@router.get("")
def list_runs(manager: ManagerDep) -> list[RunSummary]:
    """Every run the server holds, newest first."""
    runs = sorted(manager.list(), key=lambda r: r.created, reverse=True)
    return [RunSummary(**r.summary()) for r in runs]


@router.get("/{run_id}", responses={404: {"description": "no such run"}})
def get_run(run: RunDep) -> RunDetail:
    """One run: status, experiment, check result and history."""
    return RunDetail(**run.detail())


@router.post("/{run_id}/control", responses=CONTROL_ERRORS)
async def control_run(
    run: RunDep, body: ControlRequest, manager: ManagerDep, token: TokenDep = None
) -> RunSummary:
    """Pause, resume, step one epoch, stop, or set the learning rate (owner only)."""
    if not manager.owns(run, token):
        raise HTTPException(403, "this run's owner token is needed (header X-Run-Token)")
    await manager.control(run, body.action, body.learning_rate)
    return RunSummary(**run.summary())
