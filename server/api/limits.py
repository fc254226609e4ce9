"""A request-body size limit, enforced before a handler reads anything (HTTP 413)."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyLimitMiddleware:
    """Refuse HTTP bodies over `max_bytes`, by Content-Length or while they stream in.
    `overrides`: path -> its own limit (uploads take files larger than any JSON message)."""

    def __init__(self, app: ASGIApp, max_bytes: int, overrides: dict[str, int] | None = None):
        self.app = app
        self.max_bytes = max_bytes
        self.overrides = overrides or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.overrides.get(scope.get("path", ""), self.max_bytes)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await self._refuse(send, int(length), limit)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge(received)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge as err:
            if not started:
                await self._refuse(send, err.size, limit)

    async def _refuse(self, send: Send, size: int, limit: int) -> None:
        setting = (
            "LAYERLAB_MAX_MESSAGE_BYTES" if limit == self.max_bytes else "LAYERLAB_UPLOAD_MAX_BYTES"
        )
        body = json.dumps(
            {"detail": f"the request body is over {limit:,} bytes (got {size:,}; {setting})"}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    def __init__(self, size: int):
        super().__init__(size)
        self.size = size
