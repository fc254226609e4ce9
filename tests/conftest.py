"""Shared test setup: one torch thread per test process, as in a worker; a fresh store."""

from collections.abc import Iterator

import pytest
import torch

from server.config import Settings
from server.store.store import Store

torch.set_num_threads(1)


@pytest.fixture
def fresh_store(tmp_path) -> Iterator[Store]:
    """An opened store on SQLite in the test's own state folder (the packages' unit tests)."""
    store = Store(Settings(state_dir=tmp_path / "state"))
    store.open()
    yield store
    store.close()
