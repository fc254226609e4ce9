"""Class sockets (`WS /ws/classes/{code}`): one per page, each with its own queue and sender.

Every page of a class (the teacher's, each student's, the projector) gets `state` messages
(spotlight, push, lock, close) in order; teacher pages also get the dashboard, latest wins,
about once a second (`class_dashboard_interval_s`), built once per class and sent as the same
text to each. A page that stops reading is dropped after `viewer_timeout_s` and never slows the
others or the server (no shared send loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable

log = logging.getLogger("layerlab.classes")

MAX_EVENTS = 256  # state messages a page may owe before it is dropped


class ClassViewer:
    """One page's socket: a queue of state messages and one pending dashboard."""

    def __init__(self, code: str, teacher: bool, send: Callable[[str], Awaitable[None]]):
        self.code = code
        self.teacher = teacher
        self.send = send
        self.events: deque[str] = deque()
        self.dashboard: str | None = None
        self.wake = asyncio.Event()
        self.dropped: str | None = None

    def post(self, text: str) -> None:
        if len(self.events) >= MAX_EVENTS:
            self.dropped = "the page stopped reading class messages"
        self.events.append(text)
        self.wake.set()

    def offer(self, text: str) -> None:
        self.dashboard = text
        self.wake.set()

    async def run(self, timeout: float) -> None:
        """Send until dropped (returns) or cancelled; a send blocked past `timeout` drops."""
        while self.dropped is None:
            await self.wake.wait()
            self.wake.clear()
            try:
                while self.events and self.dropped is None:
                    await asyncio.wait_for(self.send(self.events.popleft()), timeout)
                if self.dashboard is not None:
                    text, self.dashboard = self.dashboard, None
                    await asyncio.wait_for(self.send(text), timeout)
            except (TimeoutError, asyncio.TimeoutError):
                self.dropped = f"a send was blocked for over {timeout:g} s"


class ClassHub:
    """The class sockets of every class, and the dashboard ticker."""

    def __init__(self, interval_s: float, build: Callable[[str], Awaitable[str | None]]):
        self.interval_s = interval_s
        self.build = build  # code -> the dashboard message (JSON text), or None
        self.viewers: dict[str, set[ClassViewer]] = {}
        self._ticker: asyncio.Task | None = None

    def start(self) -> None:
        self._ticker = asyncio.create_task(self._tick())

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker

    def join(self, viewer: ClassViewer) -> None:
        self.viewers.setdefault(viewer.code, set()).add(viewer)

    def leave(self, viewer: ClassViewer) -> None:
        group = self.viewers.get(viewer.code)
        if group is not None:
            group.discard(viewer)
            if not group:
                del self.viewers[viewer.code]

    def broadcast(self, code: str, message: dict) -> None:
        text = json.dumps(message, allow_nan=False)
        for viewer in list(self.viewers.get(code, ())):
            viewer.post(text)

    async def push_dashboard(self, code: str) -> None:
        teachers = [v for v in self.viewers.get(code, ()) if v.teacher]
        if not teachers:
            return
        text = await self.build(code)
        if text is not None:
            for viewer in teachers:
                viewer.offer(text)

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            for code in list(self.viewers):
                try:
                    await self.push_dashboard(code)
                except Exception:  # one class's bad row never stops the others' dashboards
                    log.exception("the dashboard of class %s could not be built", code)
            await asyncio.sleep(max(0.05, self.interval_s - (loop.time() - started)))
