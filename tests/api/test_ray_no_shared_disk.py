"""The Ray backend without a shared disk (issue #21): an actor writes in a folder of its own,
never the server's, and sends back what the server keeps (checkpoints, export files) through
its message channel; a resume on Ray gets its checkpoint with the start command.

A real single-node Ray (module-scoped, as in test_ray_backend.py) and two server lifetimes on
one state folder: the first trains a run to its end (its export is downloaded) and leaves an
open-ended one interrupted at shutdown; the second resumes that one from its checkpoint.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import servers
from live_server import Live, spiral

from server.config import Settings

ray = servers.ray_or_skip()


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ray.init(num_cpus=2, include_dashboard=False, namespace="layerlab")
    try:
        yield
    finally:
        ray.shutdown()


def _settings(tmp_path: Path) -> Settings:
    return Settings(
        backend="ray",
        workers=1,
        ray_num_cpus=1,
        heartbeat_timeout_s=15.0,  # other suites share this machine's cores
        checkpoint_interval_s=0.3,
        state_dir=tmp_path / "state",
        data_dir=tmp_path / "data",
        cache_dir=tmp_path / "cache",
    )


def _live(settings: Settings):
    class Serving:
        def __enter__(self) -> Live:
            self._server = servers.in_thread(settings, timeout=120)
            server, base = self._server.__enter__()
            self._http = httpx.Client(base_url=base, timeout=30, trust_env=False)
            live = Live(settings, base, self._http, server)
            live.wait_workers_ready(timeout=240)
            return live

        def __exit__(self, *exc) -> None:
            self._http.close()
            self._server.__exit__(*exc)

    return Serving()


def _actor_folder(live: Live) -> Path:
    (worker,) = live.http.get("/api/workers").json()
    where = ray.get(ray.get_actor(worker["actor_name"]).where.remote())
    return Path(where.get("state_dir") or live.settings.state_dir)


def _until(check, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while not (found := check()):
        assert time.monotonic() < deadline, what
        time.sleep(0.1)
    return found


def test_an_actor_writes_in_its_own_folder_and_sends_what_the_server_keeps(
    ray_cluster, tmp_path: Path
):
    settings = _settings(tmp_path)
    state = Path(settings.state_dir).absolute()
    checkpoint = state / "checkpoints"
    with _live(settings) as live:
        own = _actor_folder(live)
        # Not the server's folder, nor inside it: what the server gets came as messages.
        assert own.absolute() != state and state not in own.absolute().parents, own

        done = live.start(spiral(epochs=5, samples=100))
        live.stream(done["id"]).read_to_end()
        script = live.http.get(f"/api/runs/{done['id']}/export/model.py")
        assert script.status_code == 200, script.text
        assert f"Run {done['id']}, 5 epochs trained." in script.text
        # An ended run's checkpoint is forgotten on the server too.
        assert not (checkpoint / f"{done['id']}.safetensors").exists()

        run = live.start(spiral(epochs=None, samples=100, batch_size=50, pace=20))
        viewer = live.stream(run["id"])
        viewer.read_until(lambda m: m["type"] == "epoch" and m["records"][-1]["epoch"] >= 10)
        _until(
            lambda: (checkpoint / f"{run['id']}.safetensors").is_file(),
            30,
            "no checkpoint reached the server's folder",
        )
        assert not (own / "checkpoints" / f"{run['id']}.safetensors").samefile(
            checkpoint / f"{run['id']}.safetensors"
        )
        viewer.close()
    # The server stopped: the actor checkpointed the run and sent it before it went.
    assert (checkpoint / f"{run['id']}.safetensors").is_file()

    with _live(settings) as live:
        before = live.http.get(f"/api/runs/{run['id']}").json()
        assert before["status"] == "interrupted" and before["epoch"] >= 10, before
        resumed = live.control(run, "resume")
        assert resumed.status_code == 200, resumed.text
        viewer = live.stream(run["id"])
        viewer.read_until(
            lambda m: m["type"] == "epoch" and m["records"][-1]["epoch"] >= before["epoch"] + 5
        )
        records = viewer.records()
        epochs = [r["epoch"] for r in records]
        assert epochs == list(range(1, len(epochs) + 1))  # the kept history, then onwards
        # Its weights came back (from the bytes sent with the start): the loss carries on.
        restart_at = max(e for e in epochs if e <= before["epoch"])
        first_new = {r["epoch"]: r for r in records}[restart_at + 1]
        assert first_new["loss"] < before["history"][0]["loss"]
        assert live.control(run, "stop").status_code == 200
        viewer.read_to_end()
        viewer.close()
        script = live.http.get(f"/api/runs/{run['id']}/export/model.py")
        assert script.status_code == 200, script.text
        _until(
            lambda: not (checkpoint / f"{run['id']}.safetensors").exists(),
            10,
            "the ended run's checkpoint stayed on the server",
        )


UPLOADS = "/api/datasets/uploads"
MINE = {"X-Owner-Token": "ray-no-shared-disk-owner-0123"}
CSV = b"a,b,label\n" + b"\n".join(
    f"{i / 10:.1f},{(i % 7) / 3:.3f},{'xy'[i % 2]}".encode() for i in range(80)
)


def test_an_uploaded_dataset_goes_to_the_actor_with_the_start(ray_cluster, tmp_path: Path):
    with _live(_settings(tmp_path)) as live:
        own = _actor_folder(live)
        made = live.http.post(UPLOADS, files={"file": ("c.csv", CSV)}, headers=MINE)
        assert made.status_code == 201, made.text
        doc = {
            "dataset": {"name": "upload", "id": made.json()["id"]},
            "model": {"layers": [{"type": "dense", "units": 4}]},
            "training": {"epochs": 3, "batch_size": 8},
        }
        started = live.http.post("/api/runs", json=doc, headers=MINE)
        assert started.status_code == 201, started.text
        stream = live.stream(started.json()["id"])
        try:
            messages = stream.read_to_end(timeout=120)
        finally:
            stream.close()
        assert messages[-1]["status"] == "finished", messages[-1]
        assert own != Path(live.settings.state_dir).absolute()
