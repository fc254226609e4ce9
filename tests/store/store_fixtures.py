"""Fixtures of the store tests (imported by each test module: a conftest.py here would
shadow the other folders' `conftest` modules). The store's tests run against SQLite and against a real PostgreSQL (a throwaway cluster).

Without PostgreSQL installed the PostgreSQL cases skip with the reason, except under CI=true,
where they are mandatory (`scripts/test.sh` installs it when it runs as root).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from pg_cluster import Cluster

from server.config import Settings


@pytest.fixture(scope="session")
def postgres() -> Iterator[Cluster]:
    try:
        cluster = Cluster()
    except (FileNotFoundError, KeyError, OSError) as err:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI=true: {err}")
        pytest.skip(f"no PostgreSQL here: {err}")
    except Exception as err:  # initdb or pg_ctl failed: say why
        output = getattr(err, "stderr", "") or ""
        pytest.fail(f"could not start a PostgreSQL cluster: {err} {output}")
    yield cluster
    cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request) -> str:
    """An empty database of each kind: "" means SQLite in the test's state folder."""
    if request.param == "sqlite":
        return ""
    return request.getfixturevalue("postgres").new_database()


@pytest.fixture
def settings(tmp_path, database_url) -> Settings:
    return Settings(
        state_dir=tmp_path / "state",
        database_url=database_url,
        flush_interval_s=0.2,
        persist_runs=True,
    )
