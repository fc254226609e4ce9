"""The live stream of a run over a WebSocket: one sender task and one queue per viewer.

A viewer the hub drops (it stopped reading) gets a close frame if one still fits, and then its
TCP connection is aborted: a plain close would wait for the kernel's send buffer (megabytes
queued for a client that never reads) to drain, which it never does. Streams per client
address are bounded (`max_ws_per_client`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections import Counter

from fastapi import APIRouter, WebSocket
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from ..engine.early_stopping import best_epoch_of
from ..runs.messages import epoch_message, hello_message, status_message
from ..store import queries
from ..store.store import Store, StoreUnavailable
from ..web.owner import OwnerToken
from .class_access import chosen_subprotocol, may_watch, stream_key, subprotocol_tokens
from .deps import get_client, get_manager
from .frames import PROTOCOL_KEY, frame_sender
from .relayed import cluster_of
from .sockets import close_socket, read_until_closed, refuse_socket

router = APIRouter()

CLOSE_NO_RUN = 4404
CLOSE_TOO_MANY = 4429
CLOSE_TOO_SLOW = 1013  # "try again later": reconnect, the history comes first
CLOSE_UNAVAILABLE = 1011
ARCHIVE_PAGE = 2000  # records per message when an ended run is read from the database
# Kernel send buffer per stream. Linux autotunes loopback and LAN sockets up to 4 MB, so a
# viewer that never reads held ~2.7 MB of kernel memory and took ~20 s to block its sender;
# 256 KiB is still 10x what a 20/s snapshot stream needs across a 100 ms round trip.
STREAM_SNDBUF_BYTES = 256 * 1024


def open_streams(websocket: WebSocket) -> Counter:
    """Open streams per client address, kept on the app."""
    state = websocket.app.state
    if not hasattr(state, "open_streams"):
        state.open_streams = Counter()
    return state.open_streams


@router.websocket("/ws/runs/{run_id}")
async def stream_run(websocket: WebSocket, run_id: str) -> None:
    """hello (run and history), then epoch, snapshot and status messages; closed at the end."""
    manager = get_manager(websocket)
    refused = may_watch(websocket, run_id)  # a class's run: its student, teacher, spotlight
    if refused is not None:
        await refuse_socket(websocket, 403, 4403, refused)
        return
    client = stream_key(websocket) or get_client(websocket)  # a class is counted per token
    streams = open_streams(websocket)
    limit = websocket.app.state.settings.max_ws_per_client
    if streams[client] >= limit:
        detail = (
            f"you already have {limit} open streams, the limit per client address "
            "(LAYERLAB_MAX_WS_PER_CLIENT); close one first"
        )
        await refuse_socket(websocket, 429, CLOSE_TOO_MANY, detail)
        return
    streams[client] += 1
    try:
        cluster = cluster_of(websocket)
        if manager.get(run_id) is None and cluster is not None and await cluster.watchable(run_id):
            await _serve(websocket, run_id)  # another replica's run, followed through Redis
        elif manager.get(run_id) is None:  # not in memory: an ended run, from the database
            await _stream_stored(websocket, websocket.app.state.store, run_id)
        else:
            await _serve(websocket, run_id)
    finally:
        streams[client] -= 1
        if streams[client] <= 0:
            del streams[client]


async def _serve(websocket: WebSocket, run_id: str) -> None:
    manager = get_manager(websocket)
    _bound_send_buffer(websocket)
    await websocket.accept(subprotocol=chosen_subprotocol(websocket))
    # Its client port names it in the timing stamps (bench/lecture.py), only where they are on.
    label = str(websocket.client.port) if manager.hub.stamps.on and websocket.client else ""
    frames = frame_sender(websocket, websocket.app.state.frame_cache)
    send = websocket.send_text if frames is None else frames.send
    write_now = None if frames is None else frames.write_now
    examples = sees_examples(websocket, run_id)
    viewer = manager.hub.join(run_id, send, examples, label=label, write_now=write_now)
    if viewer is None:  # removed between the two lines above: cannot happen without an await
        await websocket.close(CLOSE_NO_RUN)
        return
    sender = asyncio.create_task(viewer.run())
    receiver = asyncio.create_task(read_until_closed(websocket))
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
        await close_socket(websocket, CLOSE_TOO_SLOW, viewer.dropped[:120])
        abort_transport(websocket)
    else:
        await close_socket(websocket, 1000, "run ended")


def sees_examples(websocket: WebSocket, run_id: str) -> bool:
    """Whether this viewer is the run's owner, who alone sees the examples of a run on an
    uploaded dataset: its owner token (`layerlab-owner.<token>`) or run token
    (`layerlab-run.<token>`) offered as a subprotocol, never in the URL."""
    run = get_manager(websocket).get(run_id)
    if run is None:
        return False
    offered = subprotocol_tokens(websocket)
    owner = offered.get("owner")
    return run.owns(offered.get("run")) or (owner is not None and OwnerToken(owner).owns(run.owner))


async def _stream_stored(websocket: WebSocket, store: Store, run_id: str) -> None:
    """An ended run that has left memory: hello, its history from the database in pages, its
    final status, then close (the same messages a viewer of the live run ended with)."""
    try:
        run = await run_in_threadpool(store.get_run, run_id)
    except StoreUnavailable:
        run = None
    if run is None:
        await refuse_socket(websocket, 404, CLOSE_NO_RUN, f"no run with id {run_id!r}")
        return
    await websocket.accept(subprotocol=chosen_subprotocol(websocket))
    try:
        layers = await run_in_threadpool(store.read, queries.layer_history, run_id)
        after, first = 0, True
        best = best_epoch_of(run.message)
        while True:
            texts = await run_in_threadpool(
                store.read, queries.history, run_id, after, ARCHIVE_PAGE
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
                if best is not None:  # a run that stopped early, read back from its message
                    info["best_epoch"] = best
                await websocket.send_text(hello_message(info, texts, layers))
                first = False
            elif texts:
                await websocket.send_text(epoch_message(texts))
            if len(texts) < ARCHIVE_PAGE:
                break
            after = run_epoch(texts[-1])
        await websocket.send_text(status_message(run.status, run.message, run.epoch, best))
    except StoreUnavailable as err:
        await close_socket(websocket, CLOSE_UNAVAILABLE, str(err)[:120])
        return
    except Exception:  # noqa: BLE001 - the viewer left while we were sending
        return
    await close_socket(websocket, 1000, "run ended")


def run_epoch(text: str) -> int:
    return int(json.loads(text)["epoch"])


TRANSPORT_KEY = "layerlab.transport"


class TransportMiddleware:
    """Keep a WebSocket's uvicorn protocol object and asyncio transport in its scope.

    ASGI has no way to abort a connection; uvicorn's WebSocket protocol object, the owner of
    the `send` callable the server passes in, holds the transport, whose `abort()` does
    (`abort_transport`), and to which a stream's shared frames are written (frames.py). Added
    outermost, so `send` is still the server's own (inner layers wrap it)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            protocol = getattr(send, "__self__", None)
            scope[TRANSPORT_KEY] = getattr(protocol, "transport", None)
            scope[PROTOCOL_KEY] = protocol
        await self.app(scope, receive, send)


def _bound_send_buffer(websocket: WebSocket) -> None:
    transport = websocket.scope.get(TRANSPORT_KEY)
    sock = transport.get_extra_info("socket") if transport is not None else None
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, STREAM_SNDBUF_BYTES)


def abort_transport(websocket: WebSocket) -> bool:
    """Drop the connection now, discarding what the kernel still holds for it; False where
    the server gave no transport."""
    transport = websocket.scope.get(TRANSPORT_KEY)
    if transport is None or not hasattr(transport, "abort"):
        return False
    transport.abort()
    return True
