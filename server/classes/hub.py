"""Class sockets (`WS /ws/classes/{code}`): one per page, each with its own queue and sender.

Every page of a class (the teacher's, each student's, the projector) gets `state` messages
(spotlight, push, lock, close) in order; teacher pages also get the dashboard, latest wins,
about once a second (`class_dashboard_interval_s`), built once per class and sent as the same
text to each; race boards (a teacher's projector page, `?view=race`) get the race board, with
aliases, every `class_race_interval_s` instead. A page that stops reading is dropped after `viewer_timeout_s` and never slows the
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

    def __init__(
        self,
        code: str,
        teacher: bool,
        send: Callable[[str], Awaitable[None]],
        race: bool = False,
        student: str | None = None,
    ):
        self.code = code
        self.teacher = teacher
        self.race = race  # a race board: the race message, never the dashboard (real names)
        self.student = student  # the student's id on a student's page
        self.closing = False  # send what is queued, then end (the student was removed)
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
                if self.closing:
                    self.dropped = "removed from the class by the teacher"
                    return
                if self.dashboard is not None:
                    text, self.dashboard = self.dashboard, None
                    await asyncio.wait_for(self.send(text), timeout)
            except (TimeoutError, asyncio.TimeoutError):
                self.dropped = f"a send was blocked for over {timeout:g} s"


class ClassHub:
    """The class sockets of every class, and the dashboard ticker."""

    def __init__(
        self,
        interval_s: float,
        build: Callable[[str], Awaitable[str | None]],
        race_interval_s: float | None = None,
        build_race: Callable[[str], Awaitable[str | None]] | None = None,
    ):
        self.interval_s = interval_s
        self.build = build  # code -> the dashboard message (JSON text), or None
        self.race_interval_s = race_interval_s or interval_s
        self.build_race = build_race  # code -> the race message (JSON text), or None
        self.viewers: dict[str, set[ClassViewer]] = {}
        self._ticker: asyncio.Task | None = None
        self._raced: dict[str, float] = {}  # code -> when its race board was last built
        # Replicas: each message for a class's pages also goes to the other replicas' hubs
        # ({"k": "say" | "teachers" | "removed", "code", ...}, applied there by `apply`).
        self.forward: Callable[[dict], None] | None = None

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
        self.deliver(code, text)
        if self.forward is not None:
            self.forward({"k": "say", "code": code, "text": text})

    def deliver(self, code: str, text: str, teachers_only: bool = False) -> None:
        """To this replica's pages of the class (the teachers' only, if so)."""
        for viewer in list(self.viewers.get(code, ())):
            if viewer.teacher or not teachers_only:
                viewer.post(text)

    def tell_teachers(self, code: str, text: str) -> None:
        """To the teachers' pages of the class only, on every replica."""
        self.deliver(code, text, teachers_only=True)
        if self.forward is not None:
            self.forward({"k": "teachers", "code": code, "text": text})

    def apply(self, event: dict) -> None:
        """A message for the class's pages that another replica sent (see `forward`)."""
        kind, code = event["k"], event["code"]
        if kind == "say":
            self.deliver(code, event["text"])
        elif kind == "teachers":
            self.deliver(code, event["text"], teachers_only=True)
        elif kind == "removed":
            self.close_student(code, event["student"])

    def remove_student(self, code: str, student_id: str) -> None:
        """Tell the removed student's pages, on every replica, then close them."""
        self.close_student(code, student_id)
        if self.forward is not None:
            self.forward({"k": "removed", "code": code, "student": student_id})

    def close_student(self, code: str, student_id: str) -> None:
        """This replica's pages of the removed student: a `removed` message, then closed."""
        text = json.dumps({"type": "removed", "class": code})
        for viewer in list(self.viewers.get(code, ())):
            if viewer.student == student_id:
                viewer.post(text)
                viewer.closing = True

    async def push_dashboard(self, code: str) -> None:
        teachers = [v for v in self.viewers.get(code, ()) if v.teacher and not v.race]
        if not teachers:
            return
        text = await self.build(code)
        if text is not None:
            for viewer in teachers:
                viewer.offer(text)

    async def push_race(self, code: str) -> None:
        boards = [v for v in self.viewers.get(code, ()) if v.race]
        if not boards or self.build_race is None:
            self._raced.pop(code, None)
            return
        self._raced[code] = asyncio.get_running_loop().time()
        text = await self.build_race(code)
        if text is not None:
            for viewer in boards:
                viewer.offer(text)

    def _race_due(self, code: str, now: float) -> bool:
        return now - self._raced.get(code, float("-inf")) >= self.race_interval_s

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            for code in list(self.viewers):
                try:
                    await self.push_dashboard(code)
                    if self._race_due(code, loop.time()):
                        await self.push_race(code)
                except Exception:  # one class's bad row never stops the others' dashboards
                    log.exception("the dashboard of class %s could not be built", code)
            for code in [c for c in self._raced if c not in self.viewers]:
                del self._raced[code]
            period = min(self.interval_s, self.race_interval_s)
            await asyncio.sleep(max(0.05, period - (loop.time() - started)))
