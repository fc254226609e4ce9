"""The stage's controls in the run manager, with the stand-in pool of test_manager (no
processes): pace recorded in the run's document and announced, even for a run still waiting
for a worker; set_weight only for a paused run; early stopping's best epoch on the status."""

from __future__ import annotations

import asyncio
import copy
import json

import pytest
from test_manager import CHECK, EXPERIMENT, make

from server.runs.manager import ControlRefused


class Collector:
    def __init__(self):
        self.messages: list[dict] = []

    async def __call__(self, text: str) -> None:
        self.messages.append(json.loads(text))


def test_a_pace_for_a_run_waiting_for_a_worker_goes_with_its_start(tmp_path):
    async def main():
        manager = make(tmp_path)
        for worker in manager.pool.workers.values():
            worker.ready = False  # no usable worker: the run waits in `pending`
        original = copy.deepcopy(EXPERIMENT)
        run = await manager.create(EXPERIMENT, CHECK, "c")
        sock = Collector()
        viewer = manager.hub.join(run.id, sock)
        task = asyncio.create_task(viewer.run())
        await manager.control(run, "pace", value=12.5)
        assert not manager.pool.sent  # nothing to send yet: it is recorded
        assert run.experiment["training"]["pace"] == 12.5
        assert original == EXPERIMENT  # the caller's document is not changed under it
        assert manager.hub.channels[run.id].describe()["experiment"]["training"]["pace"] == 12.5
        fresh = manager.pool.workers[0]
        fresh.ready = True
        manager.pool.on_ready(fresh)
        (start,) = [c for _, c in manager.pool.sent if c[0] == "start"]
        assert start[2]["training"]["pace"] == 12.5  # the worker starts at that pace

        await manager.control(run, "pace", value=None)  # placed now: through the worker
        assert manager.pool.sent[-1][1][2:] == (run.id, "pace", None)
        assert run.experiment["training"]["pace"] is None
        manager.hub.publish_status(run.id, "stopped")
        await asyncio.wait_for(task, 2)
        paces = [m["value"] for m in sock.messages if m["type"] == "pace"]
        assert paces == [12.5, None]

    asyncio.run(main())


def test_set_weight_needs_a_paused_run_and_carries_the_edit(tmp_path):
    async def main():
        manager = make(tmp_path)
        run = await manager.create(EXPERIMENT, CHECK, "c")
        edit = {"layer": "head", "to": 1, "bias": 0.5}
        with pytest.raises(ControlRefused, match="paused"):
            await manager.control(run, "set_weight", value=edit)
        manager.pool.on_message(run.worker, ("status", run.id, "paused", None, 4))
        await manager.control(run, "set_weight", value=edit)
        assert manager.pool.sent[-1][1][2:] == (run.id, "set_weight", edit)

    asyncio.run(main())


def test_early_stopping_puts_the_best_epoch_on_the_final_status(tmp_path):
    async def main():
        manager = make(tmp_path)
        run = await manager.create(EXPERIMENT, CHECK, "c")
        sock = Collector()
        task = asyncio.create_task(manager.hub.join(run.id, sock).run())
        text = "stopped early at epoch 9: the validation loss was lowest at epoch 4; ..."
        manager.pool.on_message(run.worker, ("early_stopped", run.id, 4))
        manager.pool.on_message(run.worker, ("status", run.id, "finished", text, 9))
        await asyncio.wait_for(task, 2)
        final = sock.messages[-1]
        assert final == {
            "type": "status",
            "status": "finished",
            "message": text,
            "epoch": 9,
            "best_epoch": 4,
        }
        assert run.channel.describe()["best_epoch"] == 4  # a late viewer's hello

    asyncio.run(main())
