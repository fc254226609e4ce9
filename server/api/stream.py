"""The live stream of a run over a WebSocket: one sender task and one queue per viewer."""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import APIRouter, WebSocket
from fastapi.responses import JSONResponse

from .deps import get_manager

router = APIRouter()

CLOSE_TIMEOUT_S = 2.0
CLOSE_NO_RUN = 4404
CLOSE_TOO_SLOW = 1013  # "try again later": reconnect, the history comes first


@router.websocket("/ws/runs/{run_id}")
async def stream_run(websocket: WebSocket, run_id: str) -> None:
    """hello (run and history), then epoch, snapshot and status messages; closed at the end."""
    manager = get_manager(websocket)
    if manager.get(run_id) is None:
        await _refuse(websocket, run_id)
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
