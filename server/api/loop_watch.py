"""The server's own watchdog: notices when its event loop stops turning, and says where.

Every request and socket of a `layerlab serve` process goes through one asyncio loop, and so does
the workers' watchdog. One blocking call on that loop (a lock another thread holds, a network
call without a timeout) stalls every client at once; the workers are watched, the loop was not.
A hung test server of this project answered nothing for 300 s and left no trace of where it was.

A thread here asks the loop to answer every `PROBE_S`. An answer late by `LAYERLAB_LOOP_STALL_S`
is a stall: it logs a warning with the loop thread's stack at that moment (once per stall), and
another with the stall's length once the loop turns again. `/api/health` shows the last probe's
lag, the stalls since start, and the last one (when, how long, where). Cost: one callback and
one thread wake-up every quarter second.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import sysconfig
import threading
import time
import traceback
from dataclasses import dataclass

log = logging.getLogger("layerlab.loop")

PROBE_S = 0.25  # how often the loop is asked to answer
# A stall's `where` skips frames of the standard library: a loop stuck in `threading.py`'s
# wait is better named by the line that called it.
_PATHS = sysconfig.get_paths()
_STDLIB = (_PATHS["stdlib"], _PATHS["platstdlib"])
_PACKAGES = (_PATHS["purelib"], _PATHS["platlib"])  # inside the stdlib folder outside a venv


@dataclass(frozen=True)
class Stall:
    """One stall of the loop: when it began (epoch seconds), how long it lasted, and where the
    loop was when it was noticed (the innermost frame, `file:line in function`)."""

    began: float
    seconds: float
    where: str


class LoopWatch:
    """Watches one event loop from a thread of its own (see the module doc)."""

    def __init__(self, stall_s: float, probe_s: float = PROBE_S):
        self.stall_s = stall_s
        self.probe_s = probe_s
        self.lag_s = 0.0  # the last probe's wait for the loop
        self.stalls = 0  # since start, the one in progress included
        self.last: Stall | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Begin watching the running loop (call it from that loop)."""
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._thread = threading.Thread(target=self._watch, name="layerlab-loop-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2 * self.probe_s + 1)

    def _watch(self) -> None:
        assert self._loop is not None
        while not self._stop.is_set():
            answered = threading.Event()
            sent = time.monotonic()
            try:
                self._loop.call_soon_threadsafe(answered.set)
            except RuntimeError:  # the loop has closed
                return
            if answered.wait(self.stall_s):
                self.lag_s = time.monotonic() - sent
            elif not self._stalled(answered, sent):
                return
            self._stop.wait(self.probe_s)

    def _stalled(self, answered: threading.Event, sent: float) -> bool:
        """The loop is `stall_s` late: log where it is, wait for it; False if stopped meanwhile."""
        began = time.time() - (time.monotonic() - sent)
        stack = self._stack()
        self.stalls += 1
        log.warning(
            "the event loop has not turned for %.1f s (LAYERLAB_LOOP_STALL_S); it is in:\n%s",
            time.monotonic() - sent,
            "".join(traceback.format_list(stack)),
        )
        where = _where(stack)
        while not answered.wait(self.probe_s):
            self.last = Stall(began, time.monotonic() - sent, where)  # grows while it lasts
            if self._stop.is_set():
                return False
        self.lag_s = seconds = time.monotonic() - sent
        self.last = Stall(began, seconds, where)
        log.warning("the event loop turned again after a stall of %.1f s", seconds)
        return True

    def _stack(self) -> traceback.StackSummary:
        frame = sys._current_frames().get(self._loop_thread)
        return traceback.extract_stack(frame) if frame is not None else traceback.StackSummary()

    def describe(self) -> dict:
        """For /api/health: the last probe's lag, the stalls since start, the last stall."""
        last = self.last
        return {
            "lag_ms": round(self.lag_s * 1000, 1),
            "stall_s": self.stall_s,
            "stalls": self.stalls,
            "last_stall": None
            if last is None
            else {"began": last.began, "seconds": round(last.seconds, 2), "where": last.where},
        }


def _where(stack: traceback.StackSummary) -> str:
    """`file:line function` of the innermost frame outside the standard library."""
    ours = [
        f for f in stack if not f.filename.startswith(_STDLIB) or f.filename.startswith(_PACKAGES)
    ]
    if not stack:
        return "(no stack)"
    frame = (ours or stack)[-1]
    return f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno} {frame.name}"
