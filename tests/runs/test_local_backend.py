"""The worker pool with a real spawned worker: memory bounded, failures kept to one run."""

from __future__ import annotations

import asyncio

from server.config import Settings
from server.runs.backends.local import WorkerPool, exit_reason
from server.runs.protocol import Start, Status

HOSTILE = {  # passes the shape and parameter checks, but a batch needs ~45 GB
    "dataset": {"name": "digits"},
    "model": {
        "layers": [
            {"type": "upsample", "scale": 8},
            {"type": "conv2d", "filters": 240, "kernel_size": 3},
            {"type": "maxpool2d", "pool_size": 8},
        ]
    },
    "training": {"batch_size": 4096, "epochs": 1},
}
SMALL = {
    "dataset": {"name": "spiral", "samples": 100},
    "model": {"layers": [{"type": "dense", "units": 4, "activation": "tanh"}]},
    "training": {"epochs": 3},
}


def test_exit_reasons_say_what_happened():
    assert exit_reason(-9) == "worker process died (signal 9, SIGKILL)"
    assert exit_reason(1) == "worker process exited with code 1"
    assert exit_reason(None) == "worker process stopped responding"


def test_a_run_over_the_memory_limit_fails_alone_and_the_worker_lives_on(tmp_path):
    settings = Settings(
        workers=1,
        worker_memory_mb=2048,
        persist_runs=False,
        state_dir=tmp_path,
        max_step_flops=1e15,  # the compute check would refuse it first: memory is tested here
    )
    statuses: dict[str, tuple] = {}
    exits: list[str] = []

    async def main():
        done = asyncio.Event()

        def on_message(worker, message):
            if isinstance(message, Status) and message.status in ("finished", "failed"):
                statuses[message.run_id] = (message.status, message.message, message.epoch)
                if len(statuses) == 2:
                    done.set()

        pool = WorkerPool(settings, on_message, lambda worker, reason: exits.append(reason))
        await pool.start()
        try:
            assert await pool.wait_ready(120)
            worker = pool.least_loaded()
            pid = worker.pid
            assert pool.send(worker, Start("hostile", HOSTILE, False))
            assert pool.send(worker, Start("small", SMALL, False))
            await asyncio.wait_for(done.wait(), 120)
            assert worker.alive and worker.pid == pid
        finally:
            await pool.stop()

    asyncio.run(main())
    status, message, _ = statuses["hostile"]
    assert status == "failed" and "out of memory" in message
    assert "LAYERLAB_WORKER_MEMORY_MB" in message
    assert statuses["small"][0] == "finished"
    assert exits == []
