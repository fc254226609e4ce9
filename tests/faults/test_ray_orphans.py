"""A server on a Ray cluster that dies or hangs leaves no worker actor behind (issue 20).

The cluster is started here, in the test's process (one node, 2 CPUs, no dashboard); the
server is a real `layerlab serve` process that joins it (`LAYERLAB_RAY_ADDRESS`) with one
worker actor and a run training on it. Then:

- a kill -9 of the server: Ray must end its actor (the job's driver is gone) and free the CPU
  it reserved; before `LAYERLAB_RAY_ORPHAN_S` had a backstop, nothing said so;
- a server that stops answering (SIGSTOP: its driver still connected, so Ray keeps its job):
  the actor's PollWatch (server/runs/backends/ray_actor.py) sees no poll for
  `LAYERLAB_RAY_ORPHAN_S` and the actor exits on its own.

Each wait is on the event itself (the actor's name gone from Ray, its process gone, the CPU
back); the deadlines only turn "never" into a failure. Ray is an optional extra
(`pip install -e '.[ray]'`): without it these tests skip, except under CI=true.
"""

from __future__ import annotations

import contextlib
import copy
import os
import shutil
import signal
import tempfile
import time
import warnings
from collections.abc import Iterator

import pytest
import servers

from server.api.models import SPIRAL_EXAMPLE

ray = servers.ray_or_skip()

pytestmark = pytest.mark.slow

ORPHAN_S = 5.0  # LAYERLAB_RAY_ORPHAN_S of the server under test
GONE_TIMEOUT_S = 60.0  # a failure only: every wait below ends on its event


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A one-node Ray cluster owned by this test process; its GCS address."""
    # A short folder of its own (Ray's socket paths must stay under 108 bytes; /tmp/ray is
    # shared with whatever else runs Ray on this machine).
    folder = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ray.init(num_cpus=2, include_dashboard=False, namespace="layerlab", _temp_dir=folder)
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()
        shutil.rmtree(folder, ignore_errors=True)


def serve(address: str, tmp_path) -> servers.ServerProcess:
    env = servers.layerlab_env(
        backend="ray",
        ray_address=address,
        ray_num_cpus=1,
        ray_orphan_s=ORPHAN_S,
        heartbeat_timeout_s=30,  # other suites share this machine's two cores
        state_dir=tmp_path / "state",
        data_dir=tmp_path / "data",
        cache_dir=tmp_path / "cache",
    )
    return servers.ServerProcess(env=env, workers=1, timeout=300)


def train_until_stopped(server: servers.ServerProcess) -> dict:
    """A run on the server's one actor, trained until stopped (active whatever the speed), and
    that actor's `/api/workers` entry once the run has trained an epoch there."""
    doc = copy.deepcopy(SPIRAL_EXAMPLE)
    doc["dataset"]["samples"] = 100
    doc["training"].update(epochs=None, batch_size=50)
    created = server.http.post("/api/runs", json=doc)
    assert created.status_code == 201, created.text
    run_id = created.json()["id"]
    deadline = time.monotonic() + GONE_TIMEOUT_S * 2
    while True:
        detail = server.http.get(f"/api/runs/{run_id}").json()
        if detail["status"] == "running" and detail.get("epoch", 0) >= 1:
            break
        assert time.monotonic() < deadline, (detail["status"], server.output())
        time.sleep(0.1)
    (worker,) = [w for w in server.http.get("/api/workers").json() if run_id in w["runs"]]
    assert worker["pid"] and worker["actor_name"]
    return worker


def process_gone(pid: int) -> bool:
    """The process has exited (a zombie waiting for Ray to reap it counts as exited)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError):  # gone, or gone between open and read
        return True


def actor_gone(name: str) -> bool:
    try:
        ray.get_actor(name, namespace="layerlab")
    except ValueError:  # "Failed to look up actor": dead, or never was
        return True
    return False


def wait_orphan_gone(worker: dict, server: servers.ServerProcess, named: bool = True) -> float:
    """Until the actor's process has exited, its CPU is free and (`named`) Ray no longer knows
    its name; how long that took."""
    began = time.monotonic()
    while not (
        (actor_gone(worker["actor_name"]) or not named)
        and process_gone(worker["pid"])
        and ray.available_resources().get("CPU", 0) >= 2
    ):
        assert time.monotonic() - began < GONE_TIMEOUT_S, (
            f"actor {worker['actor_name']} (pid {worker['pid']}) still there: "
            f"gone from Ray {actor_gone(worker['actor_name'])}, process gone "
            f"{process_gone(worker['pid'])}, CPUs free {ray.available_resources().get('CPU')}"
            f"\n{server.output()[-3000:]}"
        )
        time.sleep(0.2)
    return time.monotonic() - began


def test_a_server_killed_9_leaves_no_actor_on_the_cluster(cluster, tmp_path):
    server = serve(cluster, tmp_path)
    try:
        worker = train_until_stopped(server)
        assert not actor_gone(worker["actor_name"]) and not process_gone(worker["pid"])
        server.kill()
        took = wait_orphan_gone(worker, server)
    finally:
        server.stop()
    print(f"\n[ray orphans] kill -9: actor gone {took:.1f} s after")


def test_a_server_that_stops_polling_has_its_actor_exit_on_its_own(cluster, tmp_path):
    server = serve(cluster, tmp_path)
    try:
        worker = train_until_stopped(server)
        # Stopped, not killed: its driver stays connected, so Ray keeps its job and actors;
        # only the actor's own watch of the server's polls can end it.
        os.kill(server.pid, signal.SIGSTOP)
        try:
            # Its name stays registered while the (stopped) driver that owns it lives: Ray
            # would answer for a dead actor; the process and its CPU are what must go.
            took = wait_orphan_gone(worker, server, named=False)
        finally:
            with contextlib.suppress(OSError):
                os.kill(server.pid, signal.SIGCONT)
        assert took >= ORPHAN_S * 0.5, f"gone after {took:.1f} s: not by its PollWatch?"
    finally:
        server.stop()
    print(f"\n[ray orphans] SIGSTOP: actor exited {took:.1f} s after (limit {ORPHAN_S} s)")


def session_members(sid: int) -> list[str]:
    """The live processes of session `sid` (the server's: tests/servers.py starts it in a
    session of its own), each as "pid: command"."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                command = cmdline.read().replace(b"\0", b" ")[:120].decode(errors="replace")
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] not in ("Z", "X"):
            found.append(f"{entry}: {command}")
    return found


def test_a_server_killed_9_takes_the_ray_it_started_with_it(tmp_path):
    """Without LAYERLAB_RAY_ADDRESS the server starts a Ray of its own (GCS, raylet, workers):
    after its kill -9 none of those processes may stay."""
    server = serve("", tmp_path)
    sid = server.pid
    try:
        worker = train_until_stopped(server)
        members = session_members(sid)
        # Ray's processes are the server's children, in its session: the actor's among them.
        assert str(worker["pid"]) in {m.split(":")[0] for m in members}, members
        assert any("raylet" in m for m in members) and any("gcs_server" in m for m in members)
        server.kill()
        deadline = time.monotonic() + GONE_TIMEOUT_S
        while left := session_members(sid):
            assert time.monotonic() < deadline, "left behind:\n" + "\n".join(left)
            time.sleep(0.2)
        assert process_gone(worker["pid"])
    finally:
        server.stop()
