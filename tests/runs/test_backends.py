"""`LAYERLAB_BACKEND` picks the workers' backend; both fulfil the interface the manager drives."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import time

import pytest

from server.config import Settings
from server.runs.backends import Backend, make_backend
from server.runs.backends.local import LocalBackend


def _nothing(*args):
    return None


def test_the_default_backend_is_the_local_pool():
    backend = make_backend(Settings(persist_runs=False), _nothing, _nothing)
    assert isinstance(backend, LocalBackend) and isinstance(backend, Backend)
    assert backend.name == "local" and backend.describe() == []


def test_a_bad_backend_name_is_refused_naming_the_setting(monkeypatch):
    monkeypatch.setenv("LAYERLAB_BACKEND", "slurm")
    with pytest.raises(ValueError, match="backend"):
        Settings()


@pytest.mark.skipif(
    importlib.util.find_spec("ray") is None and os.environ.get("CI") != "true",
    reason="ray is not installed: pip install -e '.[ray]'",
)
def test_backend_ray_builds_the_ray_backend_without_starting_ray():
    from server.runs.backends.ray import RayBackend, actor_settings

    settings = Settings(backend="ray", persist_runs=False, state_dir="relative/state")
    backend = make_backend(settings, _nothing, _nothing)
    assert isinstance(backend, RayBackend) and isinstance(backend, Backend)
    assert backend.name == "ray" and backend.describe() == []
    # An actor's working directory is Ray's: it gets the server's folders as absolute paths.
    assert actor_settings(settings)["state_dir"] == os.path.abspath("relative/state")


class _SlowStart(LocalBackend):
    """A worker start that takes as long as a forkserver's first one on a loaded machine."""

    def _spawn(self, wid: int):
        time.sleep(3.0)
        return super()._spawn(wid)


def test_starting_and_replacing_workers_never_holds_the_event_loop(tmp_path):
    """Each start and replacement runs in a thread: the loop turns every few ms throughout."""
    settings = Settings(workers=2, persist_runs=False, state_dir=tmp_path)
    exits: list[str] = []

    async def main() -> float:
        backend = _SlowStart(settings, _nothing, lambda worker, why: exits.append(why))
        gaps = [0.0]

        async def tick() -> None:
            last = time.monotonic()
            while True:
                await asyncio.sleep(0.01)
                now = time.monotonic()
                gaps.append(now - last)
                last = now

        ticker = asyncio.create_task(tick())
        try:
            await backend.start()
            assert len(backend.workers) == 2  # started (not yet ready) when start returns
            assert await backend.wait_ready(120)
            first = min(backend.workers.values(), key=lambda w: w.id)
            backend.kill(first, "killed by the test")
            deadline = time.monotonic() + 120
            while first.id in backend.workers or not await backend.wait_ready(0.1):
                assert time.monotonic() < deadline, "the killed worker was never replaced"
                await asyncio.sleep(0.02)
            assert sorted(backend.workers) == [1, 2] and exits == ["killed by the test"]
        finally:
            ticker.cancel()
            await backend.stop()
        return max(gaps)

    # Each start sleeps 3 s in its thread; the loop's longest wait is far below that.
    assert asyncio.run(main()) < 2.0
