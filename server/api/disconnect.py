"""Stop waiting for an answer once the caller has gone: its work is cancelled with it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from fastapi import HTTPException, Request

T = TypeVar("T")
POLL_S = 0.25  # how often the connection is looked at while the answer is awaited


async def until_disconnected(request: Request, work: Awaitable[T]) -> T:
    """`work`'s result; cancelled (a 499 no one reads) once the client disconnects, so what
    it waited on is dropped (a queued prediction: runs/manager.ask sends CancelAsk)."""
    task = asyncio.ensure_future(work)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=POLL_S)
            if done:
                return task.result()
            if await request.is_disconnected():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                raise HTTPException(499, "the client closed the request")
    finally:
        if not task.done():
            task.cancel()
