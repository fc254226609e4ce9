"""Work on ended runs, in a process of their own: ONNX exports, predictions, projections, t-SNE.

An ended run has no worker any more, only its experiment and safetensors weights. PyTorch's
ONNX exporter costs 2-15 s of a core per network, and rebuilding a network to answer a
prediction costs a data load and a model build, so neither runs in the event loop nor in a
training worker (it would stall every run that worker time-slices): one spawned process,
started on the first request, does both. It keeps the last few rebuilt runs, so a person
clicking point after point on an ended run's surface pays the rebuild once. ONNX requests for
the same run share one job. Jobs wait their turn without their weights (read when the
process is theirs), at most `max_offline_jobs` of them; a job that runs past `onnx_timeout_s`
or kills its process fails alone (it was the only one in the process), and the process is
replaced for the next. The same process runs every t-SNE (of an active run's projection too:
a training worker hands over the activations, cut to 50 principal components, rather than spend
seconds of its runs' turns), limited to `tsne_timeout_s`.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from typing import Any

from ..config import Settings
from ..core.orphans import exit_with_parent
from ..engine.onnx_export import OnnxUnavailable, onnx_from_weights
from .model import LimitReached

KEPT_RUNS = 4  # rebuilt ended runs the process keeps for predictions
_kept: OrderedDict[str, Any] = OrderedDict()  # in the child: run id -> Trainer


def _export_in_child(experiment: dict[str, Any], *, weights: bytes, settings: Settings) -> bytes:
    """What the export process runs; one torch thread, like the training workers."""
    import torch

    torch.set_num_threads(1)
    return onnx_from_weights(experiment, weights, settings)


def _trainer_in_child(run_id: str, experiment: dict[str, Any], weights: bytes, settings: Settings):
    """The ended run rebuilt from its weights (kept for the next few questions)."""
    import torch
    from safetensors.torch import load

    from ..engine.model import parse_experiment
    from ..engine.trainer import Trainer

    torch.set_num_threads(1)
    trainer = _kept.pop(run_id, None)
    if trainer is None:
        trainer = Trainer(parse_experiment(experiment, settings), settings, device="cpu")
        trainer.model.load_state_dict(load(weights), strict=True)
    _kept[run_id] = trainer
    while len(_kept) > KEPT_RUNS:
        _kept.popitem(last=False)
    return trainer


def _predict_in_child(
    run_id: str,
    experiment: dict[str, Any],
    *,
    question: tuple[Any, bool, int | None],
    weights: bytes,
    settings: Settings,
) -> tuple[str | None, dict | None]:
    """An ended run's answer for one raw input: (None, answer) or (why not, None)."""
    from ..engine.predict import InputError, predict

    trainer = _trainer_in_child(run_id, experiment, weights, settings)
    raw, explain, target = question
    try:
        return None, predict(trainer, raw, explain, target)
    except InputError as err:
        return str(err), None


def _query_in_child(
    run_id: str,
    experiment: dict[str, Any],
    *,
    question: tuple[str, dict],
    weights: bytes,
    settings: Settings,
) -> tuple[str | None, dict | None]:
    """An ended run's answer to a query (engine/queries.py), t-SNE left to `_tsne_in_child`."""
    from ..engine.queries import InputError, answer_query

    trainer = _trainer_in_child(run_id, experiment, weights, settings)
    kind, params = question
    try:
        return None, answer_query(trainer, kind, params, defer_tsne=True)
    except InputError as err:
        return str(err), None


def _tsne_in_child(reduced: list, seed: int) -> list:
    """t-SNE of (N, <=50) activations -> (N, 2) rounded lists (engine/projector.py)."""
    from ..engine.bytegrid import rounded_list
    from ..engine.projector import tsne_points

    return rounded_list(tsne_points(reduced, seed), 4)


class OfflineJobs:
    """One process for ended runs, shared by every request, one job at a time.

    Jobs wait here in order, holding only what names them (run id, experiment, question):
    a job reads its run's weights (`load_weights`, in a thread) only once the process is its,
    so the queue costs no weights. At most `LAYERLAB_MAX_OFFLINE_JOBS` jobs wait or run
    (LimitReached past it: a 429). A job that runs past `onnx_timeout_s` or kills the process
    fails alone: the process is replaced and the jobs behind it go on. ONNX jobs of one run
    share one job."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._pool: ProcessPoolExecutor | None = None
        self._jobs: dict[str, asyncio.Future[bytes]] = {}
        self._turn = asyncio.Lock()  # the process runs one job at a time
        self._waiting = 0  # jobs waiting for the process or in it

    def _admit(self) -> None:
        most = self.settings.max_offline_jobs
        if self._waiting >= most:
            raise LimitReached(
                f"{most} exports and predictions of ended runs are already waiting, the "
                "server's limit (LAYERLAB_MAX_OFFLINE_JOBS); try again in a moment"
            )

    async def export(
        self, run_id: str, experiment: dict[str, Any], load_weights: Callable[[], bytes]
    ) -> bytes:
        """The run's network as ONNX bytes; OnnxUnavailable (with the reason) otherwise."""
        job = self._jobs.get(run_id)
        if job is None:
            self._admit()
            job = asyncio.ensure_future(
                self._in_turn(self._export, load_weights, partial(_export_in_child, experiment))
            )
            self._jobs[run_id] = job
            job.add_done_callback(lambda _: self._jobs.pop(run_id, None))
        return await asyncio.shield(job)

    async def predict(
        self,
        run_id: str,
        experiment: dict[str, Any],
        load_weights: Callable[[], bytes],
        question: tuple[Any, bool, int | None],
    ) -> tuple[str | None, dict | None]:
        """An ended run's answer for (raw input, explain, target): (None, answer) or
        (why the input does not fit, None); OnnxUnavailable-like failures raise RuntimeError.
        `load_weights` raises what the caller answers when there are none."""
        self._admit()
        work = partial(_predict_in_child, run_id, experiment, question=question)
        return await self._in_turn(self._predict, load_weights, work)

    async def query(
        self,
        run_id: str,
        experiment: dict[str, Any],
        load_weights: Callable[[], bytes],
        question: tuple[str, dict],
    ) -> tuple[str | None, dict | None]:
        """An ended run's answer to (kind, params) (engine/queries.py), as `predict` answers."""
        self._admit()
        work = partial(_query_in_child, run_id, experiment, question=question)
        return await self._in_turn(self._predict, load_weights, work)

    async def tsne(self, reduced: list, seed: int = 0) -> list:
        """(N, D) activations -> (N, 2) t-SNE points, in the process, within
        `tsne_timeout_s`; RuntimeError (with the reason) when it takes longer or dies."""
        self._admit()
        self._waiting += 1
        limit = self.settings.tsne_timeout_s
        try:
            async with self._turn:
                return await self._submit(partial(_tsne_in_child, reduced, seed), limit)
        except (TimeoutError, asyncio.TimeoutError):
            raise RuntimeError(
                f"t-SNE took longer than {limit:g} s (LAYERLAB_TSNE_TIMEOUT_S): ask for fewer "
                "points"
            ) from None
        except BrokenProcessPool:
            raise RuntimeError("the t-SNE process died (out of memory?); try again") from None
        finally:
            self._waiting -= 1

    async def _in_turn(self, job: Callable, load_weights: Callable[[], bytes], work: Any) -> Any:
        self._waiting += 1
        try:
            async with self._turn:  # no weights are held while waiting here
                weights = await asyncio.to_thread(load_weights)
                return await job(weights, work)
        finally:
            self._waiting -= 1

    async def _predict(self, weights: bytes, work: Callable) -> tuple[str | None, dict | None]:
        try:
            return await self._submit(partial(work, weights=weights, settings=self.settings))
        except (TimeoutError, asyncio.TimeoutError, BrokenProcessPool):
            raise RuntimeError("the prediction process did not answer; try again") from None

    async def _export(self, weights: bytes, work: Callable) -> bytes:
        timeout = self.settings.onnx_timeout_s
        try:
            return await self._submit(partial(work, weights=weights, settings=self.settings))
        except (TimeoutError, asyncio.TimeoutError):
            raise OnnxUnavailable(
                f"the ONNX export took longer than {timeout:g} s (LAYERLAB_ONNX_TIMEOUT_S)"
            ) from None
        except BrokenProcessPool:
            raise OnnxUnavailable(
                "the ONNX export process died (out of memory?); try again"
            ) from None

    async def _submit(self, call: Callable, timeout: float | None = None) -> Any:
        """Run `call` in the process (alone in it: the turn is held); on a timeout (default
        `onnx_timeout_s`) or a dead process, the process is replaced, which fails this job
        only."""
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._ensure_pool(), call)
        try:
            return await asyncio.wait_for(future, timeout or self.settings.onnx_timeout_s)
        except (TimeoutError, asyncio.TimeoutError, BrokenProcessPool):
            self._discard_pool()  # still busy with it, or dead: the next job gets a fresh one
            raise

    def _ensure_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=exit_with_parent,  # a kill -9 of the server ends it too
                initargs=(os.getpid(),),
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


__all__ = ["OfflineJobs", "OnnxUnavailable"]
