"""A new run admitted against the run limits of the whole LayerLab in one atomic step.

The census (census.py) tells every replica the others' active runs a write later, so two
replicas asked for the last slot of a limit in the same few milliseconds could both admit a
run. Here each admission is also one Lua script in Redis over every count the run must fit:

- a count is a sorted set (keys.slots): `all` holds one member per active run of every replica,
  `client:<address>` one address's runs outside classes, and a class run's counts are its
  student's, its class's, its teacher's address's classes' and all classes' (server/classes
  names them, with their limits: `Quota`); each member is scored by when it lapses;
- the script drops the lapsed members, refuses if a count is at its limit (a run already
  there, a run taken over, is not counted twice), else adds the run to every count:
  atomically, so of two requests for the last slot of any count exactly one gets it;
- the census writer renews its replica's runs in their counts every third of LAYERLAB_LEASE_S
  and removes those that ended, so a dead replica's slots lapse a lease later, as its census
  does.

The check runs where the manager checks its limits, awaited on the cluster's async client (one
loopback round trip) and given up after TIMEOUT_S: the event loop never waits on Redis, so a
Redis that hangs (stopped, its socket full) slows a new run by TIMEOUT_S and nothing else. The
manager holds the run's seat while it waits (server/runs/seats.py), so this process's own
counts still see it. With Redis unreachable or slow the census's counts alone decide, as
before.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Sequence
from typing import Any

from ..runs.model import Quota
from . import keys

log = logging.getLogger("layerlab.cluster")

WARN_EVERY_S = 10.0
TIMEOUT_S = 0.5  # a new run waits this long for Redis, then the census's counts decide

# KEYS: the counts; ARGV: the run, seconds its slot lives unrenewed, then each count's limit.
# Returns 0 (admitted in every count) or i, the first count (1-based) at its limit.
ADMIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local run, ttl = ARGV[1], tonumber(ARGV[2])
for i = 1, #KEYS do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
  if not redis.call('ZSCORE', KEYS[i], run) and redis.call('ZCARD', KEYS[i]) >= tonumber(ARGV[i + 2]) then
    return i
  end
end
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], now + ttl, run)
  redis.call('EXPIRE', KEYS[i], math.ceil(ttl) + 1)
end
return 0
"""

# KEYS: counts; ARGV[1]: seconds the slots live, ARGV[i + 1]: the run held in count KEYS[i]
# (a run in several counts appears once per count). Each run's slot moves on.
RENEW = """
local t = redis.call('TIME')
local ttl = tonumber(ARGV[1])
local until_ = tonumber(t[1]) + tonumber(t[2]) / 1000000 + ttl
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], until_, ARGV[i + 1])
  redis.call('EXPIRE', KEYS[i], math.ceil(ttl) + 1)
end
return #KEYS
"""


Slot = tuple[str, str | None]  # a run, and its address (None: a class run, not per address)


def default_counts(client: str | None) -> list[str]:
    """The counts of a run this replica holds but did not admit here (Redis was away): the
    LayerLab's, and its address's unless it is a class run (None)."""
    return ["all"] if client is None else ["all", f"client:{client}"]


class Admission:
    """The run counts of the LayerLab in Redis: `admit` (a new run's) and `renew` (the
    census's), both on the cluster's async client."""

    def __init__(
        self, async_redis: Any, lease_s: float, errors: type, timeout_s: float = TIMEOUT_S
    ):
        self.lease_s = lease_s
        self.timeout_s = timeout_s
        self._admit = async_redis.register_script(ADMIT)
        self._renew = async_redis.register_script(RENEW)
        self.redis = async_redis
        self._errors = errors
        self._warned = float("-inf")
        # run id -> when it was admitted here, and its counts; kept while the census holds it
        self.counts: dict[str, tuple[float, list[str]]] = {}

    async def admit(self, run_id: str, quotas: Sequence[Quota]) -> Quota | None:
        """Take a slot for `run_id` in every quota's count: None when taken, else the first
        quota at its limit; None too when Redis does not answer within `timeout_s` (the
        census's counts have passed the run already, and the next renewal puts it in its
        counts)."""
        names = [keys.slots(q.count) for q in quotas]
        limits = [q.limit for q in quotas]
        try:
            script = self._admit(keys=names, args=[run_id, self.lease_s, *limits])
            full = int(await asyncio.wait_for(script, self.timeout_s))
        except (self._errors, TimeoutError, asyncio.TimeoutError) as err:
            now = time.monotonic()
            if now - self._warned >= WARN_EVERY_S:
                self._warned = now
                why = str(err) or f"no answer within {self.timeout_s:g} s"
                log.warning("runs admitted on this replica's census only (Redis: %s)", why)
            full = 0
        if full:
            return quotas[full - 1]
        self.counts[run_id] = (time.monotonic(), [q.count for q in quotas])
        return None

    def _counts(self, run_id: str, client: str | None) -> list[str]:
        known = self.counts.get(run_id)
        return known[1] if known is not None else default_counts(client)

    async def renew(self, held: Iterable[Slot], gone: Iterable[Slot]) -> None:
        """Move the slots of the runs held here a lease on, in the counts they were admitted
        to; free those that ended here from theirs."""
        held, gone = list(held), list(gone)
        names: list[str] = []
        runs: list[str] = []
        for run_id, client in held:
            for count in self._counts(run_id, client):
                names.append(keys.slots(count))
                runs.append(run_id)
        if names:
            await self._renew(keys=names, args=[self.lease_s, *runs])
        if gone:
            pipe = self.redis.pipeline(transaction=False)
            for run_id, client in gone:
                for count in self._counts(run_id, client):
                    pipe.zrem(keys.slots(count), run_id)
            await pipe.execute()
        # Forget the runs no longer held: those that ended, and any admitted a lease ago that
        # never became active (a resume refused right after its admission).
        ids, stale = {run_id for run_id, _ in held}, time.monotonic() - self.lease_s
        self.counts = {r: c for r, c in self.counts.items() if r in ids or c[0] > stale}
