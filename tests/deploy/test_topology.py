"""The reference deployment's topology as processes: it stands in for bringing
docker-compose.yml up, which this suite cannot do (it starts no Docker daemon, and no image
registry is reachable); where Docker runs, `python tests/deploy/smoke.py <balancer URL>` runs
the same smoke test against the compose file's balancer (README, Docker).

The wheel built from this checkout, installed alone in a new environment (wheel_env.py), runs
two `layerlab serve` replicas sharing a real PostgreSQL and a real Redis (the replica tests'
helpers); Debian's nginx, with the deployment's own proxy settings (deploy/nginx/proxy.conf),
balances them. Through the balancer: the health, the page, a run created, a WebSocket that
receives real epochs from a real worker, controls; each replica reached directly serves a
viewer of the same run. The Ray head and workers of the compose file are left out here:
starting a Ray cluster costs more than this whole test on a 2-core machine, and the Ray
backend has tests of its own (tests/runs/test_ray_backend.py).

Without nginx, redis-server or PostgreSQL the test skips with the reason, except under
CI=true, where they are mandatory (scripts/test.sh installs them when it runs as root).
"""

from __future__ import annotations

import os
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
    "Redis, nginx; no Ray)"
)


@pytest.fixture
def balancer_needed() -> None:
    try:
        from nginx_balancer import find_nginx

        find_nginx()
    except FileNotFoundError as err:
        if os.environ.get("CI") == "true":
            pytest.fail(f"nginx is required under CI=true: {err}")
        pytest.skip(f"no nginx here: {err}")


@pytest.fixture
def topology(
    tmp_path, redis_url, pg, balancer_needed
) -> Iterator[tuple[Balancer, list[servers.ServerProcess]]]:
    """Two replicas from the installed wheel behind nginx; stopped after."""
    print(STANDS_IN)
    venv = wheel_env.install_wheel(tmp_path, extras="replicas")
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
            ),
        }
        command = [str(venv / "bin" / "layerlab")]
        return servers.ServerProcess(env=env, workers=1, command=command, cwd=tmp_path)

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


def test_the_deployment_serves_through_its_balancer(topology):
    """Standing in for docker-compose.yml (Docker cannot run here): its topology as processes."""
    balancer, (a, b) = topology
    seen = smoke_test(balancer.base, replicas=[a.base, b.base])
    # The balancer spread the requests over both replicas (round robin, no stickiness).
    assert {f"127.0.0.1:{a.port}", f"127.0.0.1:{b.port}"} <= seen[UPSTREAM_HEADER.lower()], seen
