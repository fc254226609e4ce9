"""The live stream of a run over a WebSocket: one sender task and one queue per viewer."""

from __future__ import annotations

import asyncio
import contextlib
import json

from fastapi import APIRouter, WebSocket
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from ..runs.manager import RunManager
from ..runs.messages import epoch_message, hello_message, status_message
from ..store import queries
from ..store.store import StoreUnavailable
from .deps import get_manager

router = APIRouter()

CLOSE_TIMEOUT_S = 2.0
CLOSE_NO_RUN = 4404
CLOSE_TOO_SLOW = 1013  # "try again later": reconnect, the history comes first
CLOSE_UNAVAILABLE = 1011
ARCHIVE_PAGE = 2000  # records per message when an ended run is read from the database


@router.websocket("/ws/runs/{run_id}")
async def stream_run(websocket: WebSocket, run_id: str) -> None:
    """hello (run and history), then epoch, snapshot and status messages; closed at the end."""
    manager = get_manager(websocket)
    if manager.get(run_id) is None:
        await _stream_stored(websocket, manager, run_id)
        return
    await websocket.accept()
    viewer = manager.hub.join(run_id, websocket.send_text)
    if viewer is None:  # removed between the two lines above: cannot happen without an await
        await websocket.close(CLOSE_NO_RUN)
        return
    sender = asyncio.create_task(viewer.run())
    receiver = asyncio.create_task(_read_until_closed(websocket))
    try:
        await asyncio.wait({sender, receiver}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        manager.hub.leave(viewer)
        for task in (sender, receiver):
            task.cancel()
        results = await asyncio.gather(sender, receiver, return_exceptions=True)
    client_gone = receiver.done() and not receiver.cancelled() and results[1] is None
    if client_gone:
        return
    if viewer.dropped is not None:
        await _close(websocket, CLOSE_TOO_SLOW, viewer.dropped[:120])
    else:
        await _close(websocket, 1000, "run ended")


async def _stream_stored(websocket: WebSocket, manager: RunManager, run_id: str) -> None:
    """An ended run that has left memory: hello, its history from the database in pages, its
    final status, then close (the same messages a viewer of the live run ended with)."""
    try:
        run = await run_in_threadpool(manager.store.get_run, run_id)
    except StoreUnavailable:
        run = None
    if run is None:
        await _refuse(websocket, run_id)
        return
    await websocket.accept()
    try:
        layers = await run_in_threadpool(manager.store.read, queries.layer_history, run_id)
        after, first = 0, True
        while True:
            texts = await run_in_threadpool(
                manager.store.read, queries.history, run_id, after, ARCHIVE_PAGE
            )
            if first:
                info = {
                    "id": run.id,
                    "experiment": run.experiment,
                    "check": run.check,
                    "status": run.status,
                    "message": run.message,
                    "epoch": run.epoch,
                }
                await websocket.send_text(hello_message(info, texts, layers))
                first = False
            elif texts:
                await websocket.send_text(epoch_message(texts))
            if len(texts) < ARCHIVE_PAGE:
                break
            after = run_epoch(texts[-1])
        await websocket.send_text(status_message(run.status, run.message, run.epoch))
    except StoreUnavailable as err:
        await _close(websocket, CLOSE_UNAVAILABLE, str(err)[:120])
        return
    except Exception:  # noqa: BLE001 - the viewer left while we were sending
        return
    await _close(websocket, 1000, "run ended")


def run_epoch(text: str) -> int:
    return int(json.loads(text)["epoch"])


async def _read_until_closed(websocket: WebSocket) -> None:
    """Incoming messages are not used; reading them notices when the viewer leaves."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(websocket.close(code, reason), CLOSE_TIMEOUT_S)


async def _refuse(websocket: WebSocket, run_id: str) -> None:
    """A 404 answer to the handshake where the server allows it, else close code 4404."""
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(
            JSONResponse({"detail": f"no run with id {run_id!r}"}, status_code=404)
        )
    else:
        await websocket.close(CLOSE_NO_RUN, f"no run with id {run_id!r}")
