"""A stream's messages as WebSocket frames built once and written to each viewer's transport.

The hub hands every viewer of a run the same message object (one `epoch` batch, one snapshot),
and through Starlette and uvicorn each viewer's send of it went down the ASGI send chain,
encoded the whole message (`str.encode`) and built its frame: a 24 KiB snapshot to 1,000
viewers was encoded 1,000 times (bench/lecture.py measured the fan-out at 40-80 us of CPU per
message sent). Here the frame (text frame, unmasked, as a
server sends it) is built once per message and each viewer's send is a write of those bytes to
its transport, with the same back-pressure uvicorn's own send has (wait while the transport's
buffer is past its high-water mark). Where the server is not uvicorn's sans-I/O WebSocket
protocol (the test client, another ASGI server), a viewer's send is Starlette's `send_text`.
"""

from __future__ import annotations

from typing import Any

from fastapi import WebSocket
from websockets.frames import Frame, Opcode
from websockets.protocol import State

PROTOCOL_KEY = "layerlab.ws_protocol"  # set by stream.py's TransportMiddleware
FRAMES_KEPT = 64  # frames of the latest messages kept, at most ...
FRAMES_BYTES = 8 << 20  # ... and at most this many bytes (a hello with a long history is big)


class FrameCache:
    """Frames of the latest messages, by message object (kept alive here, so an id is never
    another message's)."""

    def __init__(self, size: int = FRAMES_KEPT, max_bytes: int = FRAMES_BYTES):
        self.size = size
        self.max_bytes = max_bytes
        self._frames: dict[int, tuple[str, bytes]] = {}
        self._bytes = 0
        self.built = 0  # frames built so far
        self.shared = 0  # sends that found their frame built (by another viewer's send)

    def frame(self, text: str) -> bytes:
        kept = self._frames.get(id(text))
        if kept is not None and kept[0] is text:
            self.shared += 1
            return kept[1]
        frame = Frame(Opcode.TEXT, text.encode()).serialize(mask=False)
        if len(self._frames) >= self.size or self._bytes + len(frame) > self.max_bytes:
            self._frames.clear()  # started over: bounded, and the newest are the shared ones
            self._bytes = 0
        self._frames[id(text)] = (text, frame)
        self._bytes += len(frame)
        self.built += 1
        return frame


def direct_protocol(websocket: WebSocket) -> Any | None:
    """uvicorn's sans-I/O WebSocket protocol of this socket, where frames may be written to
    its transport directly (no extension negotiated: a plain text frame is then valid)."""
    protocol = websocket.scope.get(PROTOCOL_KEY)
    needed = ("writable", "transport", "conn", "close_sent", "disconnected")
    if protocol is None or not all(hasattr(protocol, name) for name in needed):
        return None
    if getattr(protocol.conn, "extensions", None):
        return None
    return protocol


class FrameSender:
    """One viewer's sends: `send` (awaited by its sender task, with back-pressure) and
    `write_now` (the hub's fast path: a caught-up viewer's message written at once, no task
    woken), both writing the shared frame to its transport."""

    def __init__(self, protocol: Any, cache: FrameCache):
        self.protocol = protocol
        self.cache = cache

    def _open(self) -> bool:
        protocol = self.protocol
        return not (
            protocol.disconnected
            or protocol.close_sent
            or protocol.conn.state is not State.OPEN
            or protocol.transport.is_closing()
        )

    async def send(self, text: str) -> None:
        await self.protocol.writable.wait()  # past the high-water mark: until it drained
        if not self._open():
            raise ConnectionResetError("the viewer's connection is closing")
        self.protocol.transport.write(self.cache.frame(text))

    def write_now(self, text: str) -> bool:
        """Written at once, or False (the transport is full or closing: queue it instead)."""
        if not self.protocol.writable.is_set() or not self._open():
            return False
        self.protocol.transport.write(self.cache.frame(text))
        return True


def frame_sender(websocket: WebSocket, cache: FrameCache) -> FrameSender | None:
    """This viewer's frame sender, or None where frames cannot be written directly (then its
    sends are Starlette's `send_text`)."""
    protocol = direct_protocol(websocket)
    return None if protocol is None else FrameSender(protocol, cache)
