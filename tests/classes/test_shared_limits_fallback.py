"""Class limits of a replica whose Redis does not answer: each call gives up within its short
timeout and the replica counts in its own process, as one process does (a warning says so)."""

from __future__ import annotations

import logging
import socket

import pytest

from server.classes.errors import ClassRefused
from server.classes.limits import ClassLimits
from server.classes.throttle import Throttle
from server.cluster.shared_limits import SharedLimits, SharedUnavailable
from server.config import Settings


@pytest.fixture
def unreachable():
    """SharedLimits on a port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    shared = SharedLimits(f"redis://127.0.0.1:{port}/0", "lonely", 3.0)
    yield shared
    shared.redis.close()


def test_a_throttle_counts_locally_while_redis_is_away(unreachable, caplog):
    with pytest.raises(SharedUnavailable):
        unreachable.take("class_joins_per_minute", "10.0.0.1", 2, 2 / 60, 1)
    throttle = Throttle(2, 100, shared=unreachable, name="class_joins_per_minute")
    with caplog.at_level(logging.WARNING, logger="layerlab.cluster"):
        assert throttle.spend("10.0.0.1") and throttle.spend("10.0.0.1")
        assert not throttle.spend("10.0.0.1") and throttle.retry_after("10.0.0.1") == 30
    assert "counted in this replica only" in caplog.text
    assert caplog.text.count("counted in this replica only") == 1  # not once per request


def test_class_pages_count_locally_while_redis_is_away(unreachable):
    limits = ClassLimits(Settings(max_class_sockets_per_member=2), shared=unreachable)
    limits.open_socket("10.0.0.1", "teacher:AAA-AAA", "AAA-AAA")
    limits.open_socket("10.0.0.1", "teacher:AAA-AAA", "AAA-AAA")
    with pytest.raises(ClassRefused) as refused:
        limits.open_socket("10.0.0.1", "teacher:AAA-AAA", "AAA-AAA")
    assert refused.value.status == 429
    assert "LAYERLAB_MAX_CLASS_SOCKETS_PER_MEMBER" in refused.value.message
    limits.close_socket("10.0.0.1", "teacher:AAA-AAA", "AAA-AAA")
    limits.open_socket("10.0.0.1", "teacher:AAA-AAA", "AAA-AAA")  # its place is free again
