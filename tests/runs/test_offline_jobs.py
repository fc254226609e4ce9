"""The process for ended runs (ONNX exports, predictions): a bounded queue whose jobs hold no
weights while they wait, and a timeout that fails the timed-out job alone (issue 20: an
unbounded queue, each ask holding its run's weights, and one timeout failed everyone's work).
A real spawned process; a job that sleeps in it stands in for an export that never ends."""

from __future__ import annotations

import asyncio
import threading
import time
from functools import partial

import pytest

from server.config import Settings
from server.engine.export import save_weights
from server.engine.model import parse_experiment
from server.engine.trainer import Trainer
from server.runs.model import LimitReached
from server.runs.offline import OfflineJobs

EXPERIMENT = {
    "dataset": {"name": "circle", "samples": 100},
    "model": {"layers": [{"type": "dense", "units": 4}]},
    "training": {"epochs": 1, "device": "cpu"},
}


def _stuck_in_child(*, weights: bytes, settings: Settings) -> None:
    """A job that holds the process far past any timeout."""
    time.sleep(600)


def _weights() -> bytes:
    settings = Settings(persist_runs=False)
    trainer = Trainer(parse_experiment(EXPERIMENT, settings), settings)
    return save_weights(trainer.model)


def test_jobs_wait_without_weights_are_bounded_and_a_timeout_fails_only_its_own():
    settings = Settings(persist_runs=False, max_offline_jobs=3, onnx_timeout_s=120)
    weights = _weights()
    jobs = OfflineJobs(settings)
    loaded: list[str] = []
    stuck_in = threading.Event()

    def load(name: str) -> bytes:
        loaded.append(name)
        if name == "stuck":
            stuck_in.set()
        return weights

    async def scenario():
        stuck = asyncio.ensure_future(
            jobs._in_turn(jobs._export, partial(load, "stuck"), _stuck_in_child)
        )
        await asyncio.to_thread(stuck_in.wait, 30)
        while jobs._pool is None:  # submitted: its timeout (3 s) is read
            await asyncio.sleep(0.01)
        settings.onnx_timeout_s = 120  # the jobs behind it: time enough
        question = ([0.5, -0.5], False, None)
        behind = [
            asyncio.ensure_future(
                jobs.predict(f"r{i}", EXPERIMENT, partial(load, f"r{i}"), question)
            )
            for i in (1, 2)
        ]
        await asyncio.sleep(0)  # both queued behind the stuck job
        with pytest.raises(LimitReached, match="LAYERLAB_MAX_OFFLINE_JOBS"):
            await jobs.predict("r3", EXPERIMENT, partial(load, "r3"), question)
        assert loaded == ["stuck"]  # the waiting jobs hold no weights
        stuck_result = await asyncio.gather(stuck, return_exceptions=True)
        answers = await asyncio.gather(*behind)
        return stuck_result[0], answers

    settings.onnx_timeout_s = 3  # the stuck job's limit, read when it is submitted
    try:
        failure, answers = asyncio.run(scenario())
    finally:
        jobs.close()
    assert "LAYERLAB_ONNX_TIMEOUT_S" in str(failure)  # it alone failed
    for error, answer in answers:  # the jobs behind it ran in a fresh process
        assert error is None and len(answer["output"]) == 2
    assert loaded == ["stuck", "r1", "r2"]  # each read its weights in its turn
