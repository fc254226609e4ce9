"""Fixtures of the replica tests (imported by each test module with `pytest_plugins`: a
conftest.py here would shadow the other folders' `conftest` modules): a real Redis, a real
PostgreSQL (tests/store's throwaway cluster) and `layerlab serve` replicas sharing both.

Without redis-server or PostgreSQL the tests skip with the reason, except under CI=true, where
they are mandatory (`scripts/test.sh` installs both when it runs as root).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from redis_server import RedisServer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "store"))  # pg_cluster
from pg_cluster import Cluster  # noqa: E402
from servers import ServerProcess, layerlab_env  # noqa: E402


def _needed(what: str, err: Exception) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is required under CI=true: {err}")
    pytest.skip(f"no {what} here: {err}")


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """The tests' Redis (its process too: a test may stop it for a moment, SIGSTOP)."""
    try:
        server = RedisServer()
    except FileNotFoundError as err:
        _needed("redis-server", err)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_url(redis_server: RedisServer) -> str:
    return redis_server.url


@pytest.fixture(scope="session")
def pg() -> Iterator[Cluster]:
    try:
        cluster = Cluster()
    except (FileNotFoundError, KeyError, OSError) as err:
        _needed("PostgreSQL", err)
    yield cluster
    cluster.stop()


class Replicas:
    """`layerlab serve` replicas of one LayerLab: same database, same Redis, own folders."""

    def __init__(
        self,
        tmp: Path,
        redis_url: str,
        database_url: str,
        lease_s: float = 3.0,
        name: str = "replica",
        **settings: object,
    ):
        self.tmp, self.redis_url, self.database_url = tmp, redis_url, database_url
        self.settings = settings  # more LAYERLAB_* settings of every replica (max_runs=1)
        self.name = name  # replica ids: Redis pub/sub channels span its databases
        self.lease_s = lease_s  # 3 s: a killed replica's runs are taken over within ~4 s
        self.servers: list[ServerProcess] = []

    def start(self, count: int) -> list[ServerProcess]:
        """`count` more replicas, started side by side; each ready once its worker is."""
        first = len(self.servers)
        with ThreadPoolExecutor(count) as pool:
            futures = [pool.submit(self._one, i) for i in range(first, first + count)]
        started = [f.result() for f in futures if f.exception() is None]
        self.servers += started  # stopped after, even when another failed to start
        for future in futures:
            if future.exception() is not None:
                raise future.exception()
        return started

    def _one(self, index: int) -> ServerProcess:
        env = layerlab_env(
            redis_url=self.redis_url,
            database_url=self.database_url,
            replica_id=f"{self.name}-{index}",
            state_dir=self.tmp / f"{self.name}-{index}",
            flush_interval_s=0.2,
            lease_s=self.lease_s,
            checkpoint_interval_s=0.3,  # what a takeover may lose: a fraction of a second
            **self.settings,
        )
        return ServerProcess(env=env, workers=1)

    def stop(self) -> None:
        for server in self.servers:
            server.stop()


@pytest.fixture(scope="module")
def replicas(tmp_path_factory, redis_url, pg) -> Iterator[Replicas]:
    """Three replicas (more with `.start(n)`), stopped after the module."""
    group = Replicas(tmp_path_factory.mktemp("replicas"), redis_url, pg.new_database())
    try:
        group.start(3)
        yield group
    finally:
        group.stop()


@pytest.fixture(scope="module")
def long_leases(tmp_path_factory, redis_url, pg) -> Iterator[Replicas]:
    """Two replicas whose leases hold for a minute (a run taken over sooner was handed
    over, not abandoned), on their own Redis database: no key shared with `replicas`."""
    url = redis_url.rsplit("/", 1)[0] + "/1"
    tmp = tmp_path_factory.mktemp("handover")
    group = Replicas(tmp, url, pg.new_database(), 60.0, name="handover")
    try:
        group.start(2)
        yield group
    finally:
        group.stop()


@pytest.fixture(scope="module")
def make_replicas(tmp_path_factory, redis_url, pg) -> Iterator:
    """`make(count, name, redis_db, **settings)`: replicas of a LayerLab of their own (their
    own PostgreSQL database and Redis database `redis_db`, nothing shared with another
    module's), with more LAYERLAB_* settings; stopped after the module."""
    groups: list[Replicas] = []

    def make(count: int, name: str, redis_db: int, **settings: object) -> Replicas:
        url = redis_url.rsplit("/", 1)[0] + f"/{redis_db}"
        tmp = tmp_path_factory.mktemp(name)
        group = Replicas(tmp, url, pg.new_database(), name=name, **settings)
        groups.append(group)
        group.start(count)
        return group

    try:
        yield make
    finally:
        for group in groups:
            group.stop()
