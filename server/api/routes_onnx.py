"""A run's network as ONNX: made from its saved weights on the first download, then kept."""

from __future__ import annotations

import contextlib
from functools import partial

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ..runs.offline import OnnxUnavailable
from ..store.store import StoreUnavailable
from .deps import OfflineDep, RunDep, StoreDep
from .routes_runs import ONNX_NAME, export_bytes, export_file, export_responses

router = APIRouter(prefix="/api/runs", tags=["runs"])
MEDIA = "application/octet-stream"


@router.get(
    f"/{{run_id}}/export/{ONNX_NAME}",
    response_class=Response,
    responses=export_responses(
        MEDIA,
        "the network as ONNX (opset 18): input `input` (N, *input_shape) as the script's "
        "preprocess() gives it, output `output` as its predict() (class probabilities for "
        "classification); the batch dimension is dynamic",
    ),
)
async def export_onnx(run: RunDep, store: StoreDep, jobs: OfflineDep) -> Response:
    """The trained network as ONNX (`model.onnx`), for onnxruntime and other runtimes. Made
    from the run's weights on the first request (seconds, in a process of its own, never in a
    training worker), then kept with its export. 404 says why when there is none: the run has
    not ended, it has no weights, or ONNX cannot express the network."""
    kept = not run.active and (
        await run_in_threadpool(store.export_file, run.id, ONNX_NAME) is not None
    )
    if kept:  # made before: serve it without reading the weights again
        return await run_in_threadpool(export_file, run, store, ONNX_NAME, MEDIA, ONNX_NAME)
    if run.active:  # 404 at once, naming why (the same answer export_bytes gives)
        await run_in_threadpool(export_bytes, run, store, "weights.safetensors")
    weights = partial(export_bytes, run, store, "weights.safetensors")  # read in its turn
    try:
        content = await jobs.export(run.id, run.experiment, weights)
    except OnnxUnavailable as err:
        raise HTTPException(404, f"run {run.id} has no ONNX export: {err}") from None
    # Kept with the run's other export files (spooled, then moved into the database); a full
    # disk or a failing database costs the cache, never the download.
    with contextlib.suppress(OSError, StoreUnavailable):
        await run_in_threadpool(store.spool.write, run.id, {ONNX_NAME: content})
        store.take_export(run.id)
    return Response(
        content,
        media_type=MEDIA,
        headers={"Content-Disposition": f'attachment; filename="{ONNX_NAME}"'},
    )
