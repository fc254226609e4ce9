"""A run's network as ONNX: made from its saved weights on the first download, then kept."""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, Response

from ..runs.offline import OnnxUnavailable
from ..runs.store import ONNX_FILE
from .deps import ManagerDep, OfflineDep, RunDep
from .routes_runs import _export_file, export_responses

router = APIRouter(prefix="/api/runs", tags=["runs"])

(ONNX_NAME,) = ONNX_FILE


@router.get(
    f"/{{run_id}}/export/{ONNX_NAME}",
    response_class=Response,
    responses=export_responses(
        "application/octet-stream",
        "the network as ONNX (opset 18): input `input` (N, *input_shape) as the script's "
        "preprocess() gives it, output `output` as its predict() (class probabilities for "
        "classification); the batch dimension is dynamic",
    ),
)
async def export_onnx(run: RunDep, manager: ManagerDep, jobs: OfflineDep) -> Response:
    """The trained network as ONNX (`model.onnx`), for onnxruntime and other runtimes. Made
    from the run's weights on the first request (seconds, in a process of its own, never in a
    training worker), then kept beside them. 404 says why when there is none: the run has not
    ended, it has no weights, or ONNX cannot express the network."""
    weights = _export_file(run, manager, "weights.safetensors")
    kept = manager.store.export_path(run.id, ONNX_NAME)
    if kept.is_file():
        return FileResponse(kept, media_type="application/octet-stream", filename=ONNX_NAME)
    try:
        content = await jobs.export(
            run.id, run.experiment, await asyncio.to_thread(weights.read_bytes)
        )
    except OnnxUnavailable as err:
        raise HTTPException(404, f"run {run.id} has no ONNX export: {err}") from None
    with contextlib.suppress(OSError):  # a full disk costs the cache, not the download
        await asyncio.to_thread(manager.store.save_export, run.id, {ONNX_NAME: content})
    return Response(
        content,
        media_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{ONNX_NAME}"'},
    )
