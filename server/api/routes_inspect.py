"""Look inside a run: the trace of its last traced step, and its answer for one input."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, HTTPException
from starlette.concurrency import run_in_threadpool

from ..runs.manager import BadInput
from .deps import ManagerDep, OfflineDep, RunDep, StoreDep
from .models import PredictRequest
from .routes_runs import export_bytes

router = APIRouter(prefix="/api/runs", tags=["runs"])


@router.get(
    "/{run_id}/trace",
    responses={404: {"description": "no such run, or no step_batch traced yet"}},
)
def get_trace(run: RunDep, manager: ManagerDep) -> dict[str, Any]:
    """The trace of the run's latest `step_batch`: per sample the input, target and output,
    the loss, and per layer (the head last) z, a, delta and each parameter's before, grad and
    after, in PyTorch's own numbers (see the README, Step through)."""
    text = manager.trace(run)
    if text is None:
        raise HTTPException(
            404, f"run {run.id} has no trace yet: pause it and send the step_batch control"
        )
    return json.loads(text)


@router.post(
    "/{run_id}/predict",
    responses={
        404: {"description": "no such run"},
        409: {"description": "the run ended without weights (failed, diverged)"},
        422: {"description": "the input does not fit the run's data; `msg` says what would"},
    },
)
async def predict_run(
    run: RunDep, body: PredictRequest, manager: ManagerDep, store: StoreDep, offline: OfflineDep
) -> dict[str, Any]:
    """The model's answer for one raw input with the run's current weights (the numbers the
    exported script gives); with `explain`, Captum attributions (saliency, integrated
    gradients and Grad-CAM for images; per feature, time step or token otherwise). A running
    or paused run answers from its worker; a finished or stopped one from its saved weights,
    in a process of its own. Anyone who can watch the run may ask: it changes nothing."""
    question = (body.input, body.explain, body.target)
    if run.active:
        return await manager.ask(run, *question)
    try:
        weights = await run_in_threadpool(export_bytes, run, store, "weights.safetensors")
    except HTTPException as err:
        raise HTTPException(409, f"run {run.id} cannot answer: {err.detail}") from None
    try:
        error, answer = await offline.predict(run.id, run.experiment, weights, question)
    except RuntimeError as err:
        raise HTTPException(409, f"run {run.id} cannot answer now: {err}") from None
    if error:
        raise BadInput(error)
    return answer
