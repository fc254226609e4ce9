"""Runs: start one, list them, read one, control one (with its owner token), download the
export of an ended one."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from ..runs.manager import Run, RunManager
from ..runs.store import EXPORT_FILES, ONNX_FILE
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
def get_run(run: RunDep, manager: ManagerDep) -> RunDetail:
    """One run: status, experiment, check result, history, and its export's download paths
    once it has finished or been stopped."""
    return RunDetail(**run.detail(), export=export_links(run, manager))


@router.post("/{run_id}/control", responses=CONTROL_ERRORS)
async def control_run(
    run: RunDep, body: ControlRequest, manager: ManagerDep, token: TokenDep = None
) -> RunSummary:
    """Pause, resume, step one epoch or one batch, stop, or set the learning rate (owner only)."""
    if not manager.owns(run, token):
        raise HTTPException(403, "this run's owner token is needed (header X-Run-Token)")
    await manager.control(run, body.action, body.learning_rate, body.sample)
    return RunSummary(**run.summary())


EXPORT_PENDING = "export is available once the run has finished or been stopped"


def export_responses(media_type: str, what: str) -> dict:
    return {
        200: {"description": what, "content": {media_type: {}}},
        404: {"description": f"no such run, or no export yet: {EXPORT_PENDING}"},
    }


def export_links(run: Run, manager: RunManager) -> dict[str, str] | None:
    """The download paths of an ended run's export, or None where it has none."""
    if run.active or manager.store is None:
        return None
    if not all(manager.store.export_path(run.id, name).is_file() for name in EXPORT_FILES):
        return None
    # model.onnx is made from the weights on its first download (routes_onnx.py).
    return {name: f"/api/runs/{run.id}/export/{name}" for name in (*EXPORT_FILES, *ONNX_FILE)}


def _export_file(run: Run, manager: RunManager, name: str) -> Path:
    """The file of run's export called `name`, or a 404 that says why there is none."""
    if run.active:
        raise HTTPException(404, f"run {run.id} is {run.status}: {EXPORT_PENDING}")
    path = manager.store.export_path(run.id, name) if manager.store is not None else None
    if path is None or not path.is_file():
        if manager.store is None:
            why = "this server does not keep ended runs (LAYERLAB_PERSIST_RUNS is off)"
        elif run.status not in ("finished", "stopped"):
            why = f"it ended {run.status}"
        else:
            why = "its export could not be written"
        raise HTTPException(404, f"run {run.id} has no export: {why}; {EXPORT_PENDING}")
    return path


@router.get(
    "/{run_id}/export/model.py",
    response_class=FileResponse,
    responses=export_responses("text/x-python", "the standalone PyTorch script"),
)
@router.head("/{run_id}/export/model.py", include_in_schema=False)
def export_script(run: RunDep, manager: ManagerDep) -> FileResponse:
    """The trained network as a standalone PyTorch script (downloads as `model.py`, so `from
    model import load_model` works): it rebuilds the network with plain torch.nn, names the
    preprocessing its inputs need, loads the weights (`weights.safetensors` beside it) and
    predicts once when run. Available once the run has finished or been stopped; HEAD says
    whether it is."""
    path = _export_file(run, manager, "model.py")
    return FileResponse(path, media_type="text/x-python", filename="model.py")


@router.get(
    "/{run_id}/export/weights.safetensors",
    response_class=FileResponse,
    responses=export_responses("application/octet-stream", "the weights, safetensors"),
)
@router.head("/{run_id}/export/weights.safetensors", include_in_schema=False)
def export_weights(run: RunDep, manager: ManagerDep) -> FileResponse:
    """The trained weights as safetensors (downloads as `weights.safetensors`, no pickle): the
    model's state_dict, parameters and buffers, with the keys the exported script's
    `build_model()` expects. Available once the run has finished or been stopped."""
    path = _export_file(run, manager, "weights.safetensors")
    return FileResponse(path, media_type="application/octet-stream", filename="weights.safetensors")
