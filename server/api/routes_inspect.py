"""Look inside a run: the trace of its last traced step, and its answer for one input."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, HTTPException

from .deps import ManagerDep, RunDep
from .models import PredictRequest

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
        409: {"description": "the run has ended"},
        422: {"description": "the input does not fit the run's data; `msg` says what would"},
    },
)
async def predict_run(run: RunDep, body: PredictRequest, manager: ManagerDep) -> dict[str, Any]:
    """The model's answer for one raw input with the run's current weights (the numbers the
    exported script gives), while it runs or is paused; with `explain`, Captum attributions
    (saliency, integrated gradients and Grad-CAM for images; per feature, time step or token
    otherwise). Anyone who can watch the run may ask: it changes nothing."""
    return await manager.ask(run, body.input, body.explain, body.target)
