"""ONNX exports made on request, in a process of their own.

PyTorch's ONNX exporter costs 2-15 s of a core per network (torch.export, then the conversion),
so it runs neither in the event loop nor in a training worker (it would stall every run that
worker time-slices): one spawned process, started on the first request, turns a run's
experiment and safetensors weights into ONNX bytes. Requests for the same run share one job;
a job that runs past `onnx_timeout_s` or kills its process is reported as such and the
process is replaced on the next request.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from ..config import Settings
from ..engine.onnx_export import OnnxUnavailable, onnx_from_weights


def _export_in_child(experiment: dict[str, Any], weights: bytes, settings: Settings) -> bytes:
    """What the export process runs; one torch thread, like the training workers."""
    import torch

    torch.set_num_threads(1)
    return onnx_from_weights(experiment, weights, settings)


class OnnxJobs:
    """One export process, shared by every request; coalesces requests per run."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._pool: ProcessPoolExecutor | None = None
        self._jobs: dict[str, asyncio.Future[bytes]] = {}

    async def export(self, run_id: str, experiment: dict[str, Any], weights: bytes) -> bytes:
        """The run's network as ONNX bytes; OnnxUnavailable (with the reason) otherwise."""
        job = self._jobs.get(run_id)
        if job is None:
            job = asyncio.ensure_future(self._run(experiment, weights))
            self._jobs[run_id] = job
            job.add_done_callback(lambda _: self._jobs.pop(run_id, None))
        return await asyncio.shield(job)

    async def _run(self, experiment: dict[str, Any], weights: bytes) -> bytes:
        pool = self._ensure_pool()
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(pool, _export_in_child, experiment, weights, self.settings)
        timeout = self.settings.onnx_timeout_s
        try:
            return await asyncio.wait_for(future, timeout)
        except (TimeoutError, asyncio.TimeoutError):
            self._discard_pool()  # the process is still busy with it: start afresh next time
            raise OnnxUnavailable(
                f"the ONNX export took longer than {timeout:g} s (LAYERLAB_ONNX_TIMEOUT_S)"
            ) from None
        except BrokenProcessPool:
            self._discard_pool()
            raise OnnxUnavailable(
                "the ONNX export process died (out of memory?); try again"
            ) from None

    def _ensure_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn")
            )
        return self._pool

    def _discard_pool(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            for process in list(getattr(pool, "_processes", {}).values()):
                with contextlib.suppress(Exception):
                    process.kill()
            pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        """Stop the export process (the server is shutting down)."""
        self._discard_pool()


__all__ = ["OnnxJobs", "OnnxUnavailable"]
