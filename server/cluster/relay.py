"""Controls sent to any replica reach the run: relayed to the replica that owns it.

The asking replica looks up the run's live lease (server/store/leases.py), publishes the
control on the owner's channel with a reply key, and waits (BLPOP, `LAYERLAB_RELAY_TIMEOUT_S`)
for the answer, which says what happened: the run's summary after the control, or the owner's
refusal with its status code. A prediction (`POST /api/runs/{id}/predict`) and a question to
the run's network (`query`: the projection, the recommendations) of another replica's run
travel the same way, answered in the run's turn on its owner with the owner's bounds
(LAYERLAB_MAX_ASKS_*), and the answer comes back to the asker. Nobody listening (the owner just
died) is a 503 to try again: another replica takes the run over once its lease lapses.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections.abc import Callable
from typing import Any

from ..config import Settings
from ..runs.manager import RunManager
from ..runs.model import BadInput, ControlRefused, LimitReached
from ..store import leases
from ..store.store import Store
from . import keys

log = logging.getLogger("layerlab.cluster")

REPLY_TTL_S = 60

OWNER_WAIT_S = 3.0  # how long a relay waits for a new run's lease to be written


class RelayRefused(Exception):
    """A relayed control that did not apply: `code` (HTTP) and the owner's reason."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code


class Relay:
    """Answers controls for the runs owned here; relays those for runs owned elsewhere."""

    def __init__(self, settings: Settings, store: Store, redis: Any, replica: str):
        self.settings = settings
        self.store = store
        self.redis = redis
        self.replica = replica
        self.manager: RunManager | None = None
        self._pubsub: Any = None
        self._listener: asyncio.Task | None = None
        self._handlers: set[asyncio.Task] = set()
        # Notices from other replicas on this channel that ask nothing back: a run's viewers
        # there ({"watch": ...}, watch.py), runs handed over ({"handover": [...]}).
        self.on_notice: Callable[[dict], None] | None = None

    async def start(self, manager: RunManager) -> None:
        self.manager = manager
        self._pubsub = self.redis.pubsub()
        await self._pubsub.subscribe(keys.controls(self.replica))
        self._listener = asyncio.create_task(self._listen())

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        for task in list(self._handlers):
            task.cancel()
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()

    # -- asking side ---------------------------------------------------------------------
    async def control(self, run_id: str, action: str, value: Any) -> dict:
        """Apply a control on the replica that owns `run_id`; its summary after, or raises
        RelayRefused with the owner's answer."""
        answer = await self._ask(run_id, {"action": action, "value": value})
        return answer["run"]

    async def predict(self, run_id: str, question: list, client: str) -> dict:
        """The owning replica's answer to `POST /api/runs/{id}/predict` ([raw, explain,
        target]), or raises RelayRefused with its refusal."""
        answer = await self._ask(run_id, {"predict": question, "client": client})
        return answer["answer"]

    async def query(self, run_id: str, kind: str, params: dict, client: str) -> dict:
        """The owning replica's answer to a question to the run's network (`kind` "project",
        "recommend": engine/queries.py), or raises RelayRefused with its refusal."""
        answer = await self._ask(run_id, {"query": [kind, params], "client": client})
        return answer["answer"]

    async def _ask(self, run_id: str, what: dict) -> dict:
        # A run just created on another replica has its lease a database write later: wait
        # for it a moment before answering that nobody owns the run.
        deadline = time.monotonic() + OWNER_WAIT_S
        while True:
            owner = await asyncio.to_thread(self.store.read, leases.owner, run_id, time.time())
            if owner is not None or time.monotonic() >= deadline:
                break
            await asyncio.sleep(0.1)
        if owner is None:
            raise RelayRefused(
                503, f"no live replica owns run {run_id} now; try again in a few seconds"
            )
        ask = secrets.token_hex(12)
        body = json.dumps({"ask": ask, "run": run_id, **what})
        if await self.redis.publish(keys.controls(owner), body) == 0:
            raise RelayRefused(
                503, f"replica {owner}, which owns run {run_id}, is not answering; try again"
            )
        got = await self.redis.blpop([keys.reply(ask)], timeout=self.settings.relay_timeout_s)
        if got is None:
            raise RelayRefused(
                504,
                f"replica {owner} did not answer within {self.settings.relay_timeout_s:g} s "
                "(LAYERLAB_RELAY_TIMEOUT_S); the control may still apply",
            )
        answer = json.loads(got[1])
        if "error" in answer:
            raise RelayRefused(answer["code"], answer["error"])
        return answer

    # -- owning side ---------------------------------------------------------------------
    async def _listen(self) -> None:
        async for message in self._pubsub.listen():
            if message.get("type") != "message":
                continue
            data = json.loads(message["data"])
            if "ask" not in data:
                if self.on_notice is not None:
                    self.on_notice(data)
                continue
            task = asyncio.create_task(self._answer(data))
            self._handlers.add(task)
            task.add_done_callback(self._handlers.discard)

    async def _answer(self, ask: dict) -> None:
        assert self.manager is not None
        run = self.manager.get(ask["run"])
        try:
            if run is None:
                raise ControlRefused(f"run {ask['run']} is not held by replica {self.replica}")
            if "predict" in ask:
                raw, explain, target = ask["predict"]
                got = await self.manager.ask(run, raw, explain, target, client=ask["client"])
                answer: dict = {"answer": got}
            elif "query" in ask:
                kind, params = ask["query"]
                got = await self.manager.query(run, kind, params, client=ask["client"])
                answer = {"answer": got}
            else:
                await self.manager.control(run, ask["action"], value=ask["value"])
                answer = {"run": run.summary()}
        except LimitReached as err:
            answer = {"error": str(err), "code": 429}
        except ControlRefused as err:
            answer = {"error": str(err), "code": 409}
        except BadInput as err:
            answer = {"error": str(err), "code": 422}
        except Exception as err:  # the asker must hear something, whatever went wrong here
            log.exception("relayed control failed")
            answer = {"error": f"the owning replica failed: {err}", "code": 500}
        key = keys.reply(ask["ask"])
        pipe = self.redis.pipeline(transaction=False)
        pipe.rpush(key, json.dumps(answer))
        pipe.expire(key, REPLY_TTL_S)
        await pipe.execute()
