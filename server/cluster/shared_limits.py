"""Class limits across replicas: the per-minute throttles and the class socket counts in Redis.

One process keeps its token buckets (server/classes/throttle.py) and its class socket counts
(server/classes/limits.py) in memory. Replicas share them here, so a class spending its joins or
guesses, or opening its pages, through one replica is refused on every other one, with the same
status and message:

- a token bucket is a Redis hash `{level, when}` (keys.bucket) changed by one Lua script, on
  Redis's own clock (replicas' clocks may differ); it expires once it would be full again (a
  full bucket is the same as none), so Redis holds the addresses of the last minute at most;
- a socket count is a sorted set of the open sockets (keys.sockets), each scored by when it
  lapses; one Lua script drops the lapsed ones, checks every count against its limit and adds
  the socket to all of them, or to none. This replica renews its sockets every third of
  `LAYERLAB_LEASE_S`, so those of a replica that died stop counting a lease later.

The calls are synchronous, on their own small connection pool with short timeouts (a loopback
round trip is a fraction of a millisecond; a Redis that hangs costs TIMEOUT_S): they are made
in threads only, by sync dependencies and routes, and by coroutines through `run_in_threadpool`
(server/api/routes_classes.py), never on the event loop, which a hung Redis would stall. With
Redis unreachable each call raises `SharedUnavailable` and the caller falls back to its own
process's counts (a replica then limits as one process does).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import threading
import time
from collections.abc import Sequence

from . import keys

log = logging.getLogger("layerlab.cluster")

TIMEOUT_S = 0.5  # a limit check waits at most this long for Redis, then counts locally
POOL_SIZE = 16  # sync connections: the thread pool's checks
WARN_EVERY_S = 10.0  # Redis down: one warning this often, not one per request

# KEYS[1]: the bucket; ARGV: capacity, tokens back per second, tokens to take (0: look only).
# Returns {taken (0/1), the level after, as text (Lua numbers come back as integers)}.
BUCKET = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local cap, rate, want = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local got = redis.call('HMGET', KEYS[1], 'level', 'when')
local level = cap
if got[1] then
  level = math.min(cap, tonumber(got[1]) + (now - tonumber(got[2])) * rate)
end
local taken = 0
if want > 0 and level >= want then
  level = level - want
  taken = 1
  redis.call('HSET', KEYS[1], 'level', tostring(level), 'when', tostring(now))
  redis.call('EXPIRE', KEYS[1], math.ceil((cap - level) / rate) + 1)
end
return {taken, tostring(level)}
"""

# KEYS: the counts (sorted sets); ARGV[1]: the socket, ARGV[2]: seconds it lives unrenewed,
# ARGV[3..]: each count's limit. Returns 0 (counted in all), or the 1-based index of the first
# count at its limit (counted in none).
OPEN = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local ttl = tonumber(ARGV[2])
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  if redis.call('ZCARD', key) >= tonumber(ARGV[i + 2]) then
    return i
  end
end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, now + ttl, ARGV[1])
  redis.call('EXPIRE', key, math.ceil(ttl) + 1)
end
return 0
"""

# KEYS: the counts of this replica's open sockets; ARGV[1]: seconds they live; ARGV[2..]: the
# socket of each key. Moves their lapse time on (XX: a socket already closed is not re-added).
RENEW = """
local t = redis.call('TIME')
local until_ = tonumber(t[1]) + tonumber(t[2]) / 1000000 + tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, 'XX', until_, ARGV[i + 1])
  redis.call('EXPIRE', key, math.ceil(tonumber(ARGV[1])) + 1)
end
return #KEYS
"""


class SharedUnavailable(Exception):
    """Redis did not answer a limit check: the caller counts in its own process."""


class SharedLimits:
    """Token buckets and socket counts every replica shares (see the module doc)."""

    def __init__(self, redis_url: str, replica: str, lease_s: float):
        import redis  # only replicas need the client

        self.errors = redis.RedisError  # what a failed call raises (admission.py too)
        pool = redis.BlockingConnectionPool.from_url(
            redis_url,
            max_connections=POOL_SIZE,
            timeout=TIMEOUT_S,
            socket_timeout=TIMEOUT_S,
            socket_connect_timeout=TIMEOUT_S,
            decode_responses=True,
        )
        self.redis = redis.Redis(connection_pool=pool)
        self._bucket = self.redis.register_script(BUCKET)
        self._open = self.redis.register_script(OPEN)
        self._renew = self.redis.register_script(RENEW)
        self.replica = replica
        self.lease_s = lease_s
        self._held: dict[tuple[str, ...], list[str]] = {}  # counts -> this replica's sockets
        self._lock = threading.Lock()
        self._renewer: asyncio.Task | None = None
        self._warned = float("-inf")

    def _unavailable(self, err: Exception) -> SharedUnavailable:
        now = time.monotonic()
        if now - self._warned >= WARN_EVERY_S:
            self._warned = now
            log.warning("class limits counted in this replica only: Redis did not answer (%s)", err)
        return SharedUnavailable(str(err))

    # -- token buckets -----------------------------------------------------------------------
    def take(
        self, name: str, key: str, capacity: float, per_s: float, tokens: float
    ) -> tuple[bool, float]:
        """Take `tokens` from bucket `name` of `key` if it holds them: whether they were
        taken, and its level after. `tokens=0` only looks."""
        try:
            taken, level = self._bucket(
                keys=[keys.bucket(name, key)], args=[capacity, per_s, tokens]
            )
        except self.errors as err:
            raise self._unavailable(err) from None
        return bool(taken), float(level)

    # -- socket counts ---------------------------------------------------------------------
    def open_socket(self, counts: Sequence[str], limits: Sequence[int]) -> int:
        """Count one more socket in each of `counts` unless one is at its limit: -1 when
        counted, else the index of the first full one (counted nowhere)."""
        socket = f"{self.replica}:{secrets.token_hex(8)}"
        names = [keys.sockets(c) for c in counts]
        try:
            full = int(self._open(keys=names, args=[socket, self.lease_s, *limits]))
        except self.errors as err:
            raise self._unavailable(err) from None
        if full:
            return full - 1
        with self._lock:
            self._held.setdefault(tuple(counts), []).append(socket)
        return -1

    def close_socket(self, counts: Sequence[str]) -> None:
        """One socket of `counts` opened here has closed (a lapse removes it if Redis is
        unreachable now)."""
        with self._lock:
            held = self._held.get(tuple(counts))
            if not held:
                return
            socket = held.pop()
            if not held:
                del self._held[tuple(counts)]
        try:
            pipe = self.redis.pipeline(transaction=False)
            for count in counts:
                pipe.zrem(keys.sockets(count), socket)
            pipe.execute()
        except self.errors as err:
            log.warning("a class socket could not be uncounted now (%s); it lapses", err)

    def renew(self) -> int:
        """Move every socket open here a lease on; how many (a blocking call: a thread's)."""
        with self._lock:
            pairs = [(c, s) for counts, held in self._held.items() for s in held for c in counts]
        if not pairs:
            return 0
        self._renew(
            keys=[keys.sockets(c) for c, _ in pairs], args=[self.lease_s, *(s for _, s in pairs)]
        )
        return len(pairs)

    async def start(self) -> None:
        self._renewer = asyncio.create_task(self._renew_often())

    async def stop(self) -> None:
        if self._renewer is not None:
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewer
        with self._lock:
            held = [
                (c, s) for counts, sockets in self._held.items() for s in sockets for c in counts
            ]
            self._held.clear()
        with contextlib.suppress(Exception):  # this replica's sockets stop counting at once
            pipe = self.redis.pipeline(transaction=False)
            for count, socket in held:
                pipe.zrem(keys.sockets(count), socket)
            await asyncio.to_thread(pipe.execute)
        self.redis.close()

    async def _renew_often(self) -> None:
        while True:
            await asyncio.sleep(self.lease_s / 3)
            try:
                await asyncio.to_thread(self.renew)
            except Exception as err:  # Redis down: the next round renews them
                log.warning("class sockets could not be renewed (%s)", err)
