"""Questions to a run's network (a prediction, a projection...), answered by its worker.

The worker that holds the run's weights answers in the run's turn there (asks.py); how many
questions are in flight is bounded per run and per client (ask_gate.py). A caller who gives up
(cancelled, timed out) has its question dropped from the worker's queue (CancelAsk).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from .ask_gate import AskGate
from .backends import Backend
from .calls import Calls, unreachable
from .model import BadInput, ControlRefused, Run
from .protocol import Ask, CancelAsk, Command, Query

ASK_TIMEOUT_S = 30.0  # a prediction with attributions: Captum's passes on the worker


class Questions:
    """Sends a run's questions to its worker and waits for the answers."""

    def __init__(self, pool: Backend, calls: Calls, gate: AskGate):
        self.pool = pool
        self.calls = calls
        self.gate = gate  # questions in flight, per run and per client

    async def ask(
        self, run: Run, raw: Any, explain: bool, target: int | None, client: str = ""
    ) -> dict:
        """The run's prediction for one raw input, from the worker that holds its weights,
        answered in the run's turn there (raises LimitReached past the asks in flight per run
        or per `client`; ControlRefused with the reason: an ended run, a silent worker...;
        BadInput for an input that does not fit). A caller who gives up (cancelled, timed
        out) has its ask dropped from the worker's queue (CancelAsk)."""
        return await self._question(
            run, lambda seq: Ask(seq, run.id, raw, explain, target), client, "predictions"
        )

    async def query(self, run: Run, kind: str, params: dict, client: str = "") -> dict:
        """Another question to the run's network (`kind` "project", "recommend": see
        engine/queries.py), asked and bounded like a prediction (`ask`)."""
        return await self._question(
            run, lambda seq: Query(seq, run.id, kind, params), client, "projections"
        )

    async def _question(
        self, run: Run, command: Callable[[int], Command], client: str, what: str
    ) -> dict:
        """Send `command(seq)` to the run's worker and wait for its Reply (see `ask`)."""
        if not run.active:
            raise ControlRefused(
                f"run {run.id} has ended ({run.status}): {what} need a running or paused run "
                "here; ask again and it answers from its saved weights"
            )
        worker = run.worker
        if worker is None:
            raise ControlRefused(f"run {run.id} is waiting for a worker; try again in a moment")
        if worker.alive and not worker.responsive:
            raise ControlRefused(
                f"run {run.id}'s worker has not been heard from for {worker.silent_s:.0f} s; "
                "try again in a moment"
            )
        with self.gate.enter(run.id, client), self.calls.open(worker) as (seq, future):
            if not self.pool.send(worker, command(seq)):
                raise ControlRefused(unreachable(run.id, worker))
            try:
                reply = await asyncio.wait_for(future, ASK_TIMEOUT_S)
            except (TimeoutError, asyncio.TimeoutError):
                self.pool.send(worker, CancelAsk(seq))
                raise ControlRefused(
                    f"run {run.id}'s worker did not answer within {ASK_TIMEOUT_S:g} s; try again"
                ) from None
            except asyncio.CancelledError:  # the caller went away: nobody wants the answer
                self.pool.send(worker, CancelAsk(seq))
                raise
        if reply is None:
            raise ControlRefused(f"run {run.id} ended before it could answer")
        if reply.refusal is not None:
            raise (BadInput if reply.refusal == "input" else ControlRefused)(reply.error)
        return json.loads(reply.answer)
