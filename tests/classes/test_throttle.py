"""The class rate limiters: token buckets per address, IPv6 per /64, bounded memory."""

from __future__ import annotations

import logging

from server.api.log_redact import RedactTokens, redact
from server.classes.throttle import Throttle, client_key


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_spends_and_refills_over_a_minute():
    clock = Clock()
    throttle = Throttle(6, 100, clock)  # six a minute: one back every 10 s
    assert all(throttle.spend("10.0.0.1") for _ in range(6))
    assert not throttle.spend("10.0.0.1") and not throttle.allowed("10.0.0.1")
    assert throttle.retry_after("10.0.0.1") == 10
    assert throttle.spend("10.0.0.2"), "another address has its own bucket"
    clock.now += 9.5
    assert not throttle.allowed("10.0.0.1") and throttle.retry_after("10.0.0.1") == 1
    clock.now += 0.5
    assert throttle.spend("10.0.0.1") and not throttle.allowed("10.0.0.1")
    clock.now += 3600
    assert throttle.level("10.0.0.1") == 6, "never more than the bucket holds"


def test_ipv6_addresses_share_their_64():
    assert client_key("2001:db8:1:2:aaaa::1") == client_key("2001:db8:1:2:ffff::9")
    assert client_key("2001:db8:1:2::1") != client_key("2001:db8:1:3::1")
    assert client_key("::ffff:10.1.2.3") == "10.1.2.3"
    assert client_key("unknown") == "unknown"
    throttle = Throttle(2, 100, Clock())
    assert throttle.spend("2001:db8::1") and throttle.spend("2001:db8::2")
    assert not throttle.spend("2001:db8::3"), "hopping addresses in one /64 buys nothing"


def test_the_limiter_remembers_a_bounded_number_of_addresses():
    clock = Clock()
    throttle = Throttle(3, 50, clock)
    throttle.spend("192.0.2.1", 3)  # drained, then thousands of others arrive
    for i in range(5000):
        throttle.spend(f"10.{i // 250}.{i % 250}.1")
        assert len(throttle) <= 50
    # A full bucket is never stored: an address that spent nothing costs no memory.
    idle = Throttle(3, 50, clock)
    assert idle.allowed("10.0.0.1") and len(idle) == 0
    # Refilled buckets are forgotten first: a drained one survives while they go.
    throttle = Throttle(60, 4, clock)
    for address in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        throttle.spend(address)
    clock.now += 5  # those three are full again
    throttle.spend("192.0.2.9", 60)
    for address in ("10.0.1.1", "10.0.1.2", "10.0.1.3"):
        throttle.spend(address)
    assert len(throttle) <= 4 and not throttle.allowed("192.0.2.9")


def test_tokens_in_query_strings_are_masked():
    assert redact("/ws/classes/K7Q-4MX?teacher=s3cr3t&x=1") == "/ws/classes/K7Q-4MX?teacher=***&x=1"
    assert redact("/api/runs/ab/history.csv?token=abc") == "/api/runs/ab/history.csv?token=***"
    assert redact("/x?Student=a&my%74oken=b&page=2") == "/x?Student=***&my%74oken=***&page=2"
    assert redact("/api/runs?limit=5") == "/api/runs?limit=5"
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", "/ws/runs/x?student=s3cr3t", "1.1", 200),
        None,
    )
    assert RedactTokens().filter(record)
    assert "s3cr3t" not in record.getMessage() and "student=***" in record.getMessage()
