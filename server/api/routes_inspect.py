"""Look inside a run: the trace of its last traced step, and its answer for one input."""

from __future__ import annotations

import json
import math
from typing import Any

from fastapi import APIRouter, HTTPException, Request

from ..core.statuses import ACTIVE
from ..runs.manager import BadInput
from ..uploads.access import uses
from ..web.owner import MaybeOwner, owns
from .deps import ClientDep, ManagerDep, OfflineDep, RunDep, StoreDep, TokenDep
from .disconnect import until_disconnected
from .models import PredictRequest
from .relayed import cluster_of, relay_predict
from .routes_runs import export_bytes

router = APIRouter(prefix="/api/runs", tags=["runs"])


@router.get(
    "/{run_id}/trace",
    responses={
        403: {"description": "a run on an uploaded dataset: its owner's only"},
        404: {"description": "no such run, or no step_batch traced yet"},
    },
)
def get_trace(
    run: RunDep, manager: ManagerDep, owner: MaybeOwner, token: TokenDep = None
) -> dict[str, Any]:
    """The trace of the run's latest `step_batch`: per sample the input, target and output,
    the loss, and per layer (the head last) z, a, delta and each parameter's before, grad and
    after, in PyTorch's own numbers (see the README, Step through). The trace of a run on an
    uploaded dataset holds the upload's rows: only its owner reads it (X-Run-Token, or the
    X-Owner-Token it was created with)."""
    if uses(run.experiment) and not (run.owns(token) or owns(owner, run.owner)):
        raise HTTPException(
            403,
            "this run trains on an uploaded dataset: its trace is its owner's "
            "(header X-Run-Token or X-Owner-Token)",
        )
    text = manager.trace(run)
    if text is None:
        raise HTTPException(
            404, f"run {run.id} has no trace yet: pause it and send the step_batch control"
        )
    return json.loads(text)


def check_input_size(raw: Any, input_shape: list[int]) -> None:
    """BadInput (422 at body.input) when `raw` holds far more values than the model's input
    shape: no raw form is larger than the shape (points are 2 values, rows and images the
    shape itself, token ids one per step); twice the shape and a few more leave a near miss to
    the worker's own, more precise message ("expected a 2D point [x1, x2]"). Counted without
    building anything, stopping past the limit, so a 1 MB body of numbers is refused before it
    reaches a worker (it would have crossed the worker's pipe and held its loop)."""
    most = 2 * max(1, math.prod(input_shape)) + 16
    if _count_values(raw, most) > most:
        raise BadInput(
            f"the input holds more than {most} values, but this model takes one sample of "
            f"shape {list(input_shape)}"
        )


def _count_values(raw: Any, most: int) -> int:
    """How many values `raw` holds (lists nested), or most + 1 once past `most`."""
    count, stack = 0, [raw]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
            if len(stack) > most + 1:
                return most + 1
        else:
            count += 1
            if count > most:
                return count
    return count


@router.post(
    "/{run_id}/predict",
    responses={
        404: {"description": "no such run"},
        409: {"description": "the run ended without weights (failed, diverged)"},
        429: {
            "description": "too many predictions waiting (LAYERLAB_MAX_ASKS_PER_RUN, "
            "LAYERLAB_MAX_ASKS_PER_CLIENT)"
        },
        422: {"description": "the input does not fit the run's data; `msg` says what would"},
    },
)
async def predict_run(
    run: RunDep,
    body: PredictRequest,
    manager: ManagerDep,
    store: StoreDep,
    offline: OfflineDep,
    client: ClientDep,
    request: Request,
) -> dict[str, Any]:
    """The model's answer for one raw input with the run's current weights (the numbers the
    exported script gives); with `explain`, Captum attributions (saliency, integrated
    gradients and Grad-CAM for images; per feature, time step or token otherwise). A running
    or paused run answers from its worker; a finished or stopped one from its saved weights,
    in a process of its own. Anyone who can watch the run may ask: it changes nothing."""
    check_input_size(body.input, run.check.get("input_shape") or [])
    question = (body.input, body.explain, body.target)
    cluster = cluster_of(request)
    if cluster is not None and run.status in ACTIVE and manager.get(run.id) is None:  # elsewhere
        return await until_disconnected(request, relay_predict(cluster, run.id, question, client))
    if run.active:
        return await until_disconnected(request, manager.ask(run, *question, client=client))

    def weights() -> bytes:  # read once the offline process is this question's
        try:
            return export_bytes(run, store, "weights.safetensors")
        except HTTPException as err:
            raise HTTPException(409, f"run {run.id} cannot answer: {err.detail}") from None

    try:
        error, answer = await offline.predict(run.id, run.experiment, weights, question)
    except RuntimeError as err:
        raise HTTPException(409, f"run {run.id} cannot answer now: {err}") from None
    if error:
        raise BadInput(error)
    return answer
