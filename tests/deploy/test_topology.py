"""The reference deployment's topology as processes: it stands in for bringing
docker-compose.yml up, which this suite cannot do (it starts no Docker daemon, and no image
registry is reachable); where Docker runs, `python tests/deploy/smoke.py <balancer URL>` runs
the same smoke test against the compose file's balancer (README, Docker).

The wheel built from this checkout, installed alone in a new environment (wheel_env.py), runs
two `layerlab serve` replicas sharing a real PostgreSQL and a real Redis (the replica tests'
helpers); Debian's nginx, with the deployment's own proxy settings (deploy/nginx/proxy.conf),
balances them. Through the balancer: the health, the page, a run created, a WebSocket that
receives real epochs from a real worker, controls; each replica reached directly serves a
viewer of the same run. A second test adds the compose file's Ray part: a head without CPUs
and two worker nodes (ray_nodes.py, real Ray processes), the replicas on the Ray backend with
one actor each, and the same smoke test trains on the worker nodes.

Without nginx, redis-server or PostgreSQL the test skips with the reason, except under
CI=true, where they are mandatory (scripts/test.sh installs them when it runs as root).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import servers
import wheel_env
from nginx_balancer import UPSTREAM_HEADER, Balancer
from smoke import smoke_test

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "replicas"))  # replica_fixtures
pytest_plugins = ["replica_fixtures"]  # redis_url and pg (see there why not a conftest.py)

pytestmark = pytest.mark.slow

STANDS_IN = (
    "Docker cannot run in this suite (it starts no Docker daemon), so this test stands in for "
    "docker-compose.yml: its topology as processes (the built wheel, 2 replicas, PostgreSQL, "
    "Redis, nginx{})"
)
RAY_NODES = Path(__file__).with_name("ray_nodes.py")
RAY_START_S = 300.0  # three Ray nodes on a busy 2-core machine; a failure only


@pytest.fixture
def balancer_needed() -> None:
    try:
        from nginx_balancer import find_nginx

        find_nginx()
    except FileNotFoundError as err:
        if os.environ.get("CI") == "true":
            pytest.fail(f"nginx is required under CI=true: {err}")
        pytest.skip(f"no nginx here: {err}")


@contextlib.contextmanager
def replicas_behind_nginx(
    tmp_path: Path, redis_url: str, pg, venv: Path, **settings: object
) -> Iterator[tuple[Balancer, list[servers.ServerProcess]]]:
    """Two replicas from the installed wheel (`settings`: more LAYERLAB_ settings) behind
    nginx; stopped after."""
    database = pg.new_database()

    def replica(name: str) -> servers.ServerProcess:
        env = {
            **wheel_env.wheel_server_env(tmp_path / name),
            **servers.layerlab_env(
                redis_url=redis_url,
                database_url=database,
                replica_id=name,
                checkpoint_interval_s=1,
                trusted_proxies="127.0.0.1",  # the balancer's X-Forwarded-For
                **settings,
            ),
        }
        command = [str(venv / "bin" / "layerlab")]
        return servers.ServerProcess(
            env=env, workers=1, command=command, cwd=tmp_path, timeout=RAY_START_S
        )

    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(replica, name) for name in ("replica-a", "replica-b")]
    started = [f.result() for f in futures if f.exception() is None]
    balancer = None
    try:
        for future in futures:
            if future.exception() is not None:
                raise future.exception()
        balancer = Balancer([f"127.0.0.1:{s.port}" for s in started])
        yield balancer, started
    finally:
        if balancer is not None:
            balancer.stop()
        for server in started:
            server.stop()


@pytest.fixture
def topology(
    tmp_path, redis_url, pg, balancer_needed
) -> Iterator[tuple[Balancer, list[servers.ServerProcess]]]:
    """Two replicas from the installed wheel behind nginx; stopped after."""
    print(STANDS_IN.format("; no Ray"))
    venv = wheel_env.install_wheel(tmp_path, extras="replicas")
    with replicas_behind_nginx(tmp_path, redis_url, pg, venv) as running:
        yield running


@contextlib.contextmanager
def ray_nodes(venv: Path) -> Iterator[dict]:
    """A Ray head and two worker nodes (ray_nodes.py) run by the wheel's Python; what it
    printed (address, node ids). Shut down after, and killed if it does not go."""
    process = subprocess.Popen(
        [str(venv / "bin" / "python"), str(RAY_NODES)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": ""},
        start_new_session=True,  # its Ray processes are killed with it if need be
    )
    try:
        with ThreadPoolExecutor(1) as pool:  # the first line, or the wait's end
            line = pool.submit(process.stdout.readline).result(timeout=RAY_START_S)
        assert line, f"ray_nodes.py ended before its cluster was up (exit {process.poll()})"
        yield json.loads(line)
    finally:
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


@pytest.fixture
def topology_with_ray(
    tmp_path, redis_url, pg, balancer_needed
) -> Iterator[tuple[Balancer, list[servers.ServerProcess], dict]]:
    """The whole compose topology as processes: Ray's head and two worker nodes, and two
    replicas on the Ray backend (one actor of one CPU each) behind nginx."""
    print(STANDS_IN.format(", a Ray head and two Ray worker nodes"))
    venv = wheel_env.install_wheel(tmp_path, extras="ray,replicas")
    with (
        ray_nodes(venv) as cluster,
        replicas_behind_nginx(
            tmp_path,
            redis_url,
            pg,
            venv,
            backend="ray",
            ray_address=cluster["address"],
            ray_num_cpus=1,
            heartbeat_timeout_s=30,  # other suites share this machine's two cores
        ) as (balancer, started),
    ):
        yield balancer, started, cluster


def test_the_deployment_serves_through_its_balancer(topology):
    """Standing in for docker-compose.yml (Docker cannot run here): its topology as processes."""
    balancer, (a, b) = topology
    seen = smoke_test(balancer.base, replicas=[a.base, b.base])
    # The balancer spread the requests over both replicas (round robin, no stickiness).
    assert {f"127.0.0.1:{a.port}", f"127.0.0.1:{b.port}"} <= seen[UPSTREAM_HEADER.lower()], seen


def test_the_deployment_with_ray_trains_on_its_worker_nodes(topology_with_ray):
    """Standing in for docker-compose.yml with its Ray head and worker nodes: the runs train in
    actors on the worker nodes (one CPU each, none on the head), and the smoke test passes
    through the balancer."""
    balancer, (a, b), cluster = topology_with_ray
    seen = smoke_test(balancer.base, replicas=[a.base, b.base])
    assert {f"127.0.0.1:{a.port}", f"127.0.0.1:{b.port}"} <= seen[UPSTREAM_HEADER.lower()], seen
    nodes = []
    for replica in (a, b):
        (worker,) = replica.http.get("/api/workers").json()
        assert worker["backend"] == "ray", worker
        nodes.append(worker["node_id"])
    # One CPU per worker node and per actor: the two actors sit on the two worker nodes.
    assert sorted(nodes) == sorted(cluster["workers"]), (nodes, cluster)
    assert cluster["head"] not in nodes
