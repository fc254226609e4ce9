"""What every WebSocket route does alike: refuse a handshake, notice the peer leaving, close
without waiting forever. Used by the run stream and the class socket."""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import WebSocket
from fastapi.responses import JSONResponse

CLOSE_TIMEOUT_S = 2.0


async def refuse_socket(websocket: WebSocket, status: int, code: int, detail: str) -> None:
    """An HTTP answer to the handshake where the server allows it, else a close code."""
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(JSONResponse({"detail": detail}, status_code=status))
    else:
        await websocket.close(code, detail[:120])


async def read_until_closed(websocket: WebSocket) -> None:
    """Incoming messages are not used; reading them notices when the viewer leaves."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return


async def close_socket(websocket: WebSocket, code: int, reason: str) -> None:
    """Close with `code`, giving up after CLOSE_TIMEOUT_S (a peer that never reads)."""
    with contextlib.suppress(Exception):
        await asyncio.wait_for(websocket.close(code, reason), CLOSE_TIMEOUT_S)
