"""Per-address rate limits with bounded memory: a token bucket per client address.

`Throttle(per_minute, max_clients)`: each address may spend `per_minute` tokens at once and
gets them back evenly over a minute. At most `max_clients` addresses are tracked: a full
bucket is the same as no bucket, so those are forgotten first; past that the bucket touched
longest ago goes (the one most likely to have refilled). IPv6 addresses are counted per /64,
the block one household or school network is given, so hopping addresses within it buys
nothing. Thread-safe: sync routes call it from the thread pool.

Replicas (`shared`: server/cluster/shared_limits.py): the buckets live in Redis, one per
setting `name` and address, so an address spends one budget across every replica; if Redis
does not answer, this process's own buckets count meanwhile.
"""

from __future__ import annotations

import contextlib
import ipaddress
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from ..cluster.shared_limits import SharedLimits, SharedUnavailable

SCAN = 64  # buckets looked at for a full one when the table is full


def client_key(address: str) -> str:
    """The key an address is limited under: itself, or its /64 for IPv6."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


class Throttle:
    """Token buckets of `per_minute` tokens, one per address, at most `max_clients` kept."""

    def __init__(
        self,
        per_minute: int,
        max_clients: int,
        clock: Callable[[], float] = time.monotonic,
        shared: SharedLimits | None = None,
        name: str = "",
    ):
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0  # tokens back per second
        self.max_clients = max_clients
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # level, when
        self._lock = threading.Lock()
        self.shared, self.name = shared, name  # replicas: the buckets in Redis, under `name`

    def __len__(self) -> int:
        return len(self._buckets)

    def level(self, address: str) -> float:
        """Tokens the address has now."""
        if self.shared is not None:
            with contextlib.suppress(SharedUnavailable):
                return self._shared(address, 0.0)[1]
        with self._lock:
            found = self._buckets.get(client_key(address))
        return self.capacity if found is None else self._refilled(*found)

    def allowed(self, address: str) -> bool:
        """Whether the address has a token left (none is spent)."""
        return self.level(address) >= 1.0

    def retry_after(self, address: str) -> int:
        """Whole seconds until the address has a token again (0: it has one)."""
        missing = 1.0 - self.level(address)
        return 0 if missing <= 0 else max(1, math.ceil(missing / self.rate))

    def spend(self, address: str, tokens: float = 1.0) -> bool:
        """Take `tokens` if the address has them (True), else take nothing (False)."""
        if self.shared is not None:
            with contextlib.suppress(SharedUnavailable):
                return self._shared(address, tokens)[0]
        key = client_key(address)
        with self._lock:
            now = self.clock()
            found = self._buckets.pop(key, None)
            level = self.capacity if found is None else self._refilled(*found, now=now)
            ok = level >= tokens
            if ok:
                level -= tokens
            if level < self.capacity:
                self._make_room()
                self._buckets[key] = (level, now)  # the newest at the end
            return ok

    def _shared(self, address: str, tokens: float) -> tuple[bool, float]:
        assert self.shared is not None
        key = client_key(address)
        return self.shared.take(self.name, key, self.capacity, self.rate, tokens)

    def _refilled(self, level: float, when: float, now: float | None = None) -> float:
        now = self.clock() if now is None else now
        return min(self.capacity, level + (now - when) * self.rate)

    def _make_room(self) -> None:
        """Forget full buckets among the oldest few, else the oldest one."""
        if len(self._buckets) < self.max_clients:
            return
        now = self.clock()
        oldest = [k for k, _ in zip(self._buckets, range(SCAN), strict=False)]
        for key in oldest:
            if self._refilled(*self._buckets[key], now=now) >= self.capacity:
                del self._buckets[key]
        while len(self._buckets) >= self.max_clients:
            self._buckets.popitem(last=False)
