"""A new run admitted against the run limits of the whole LayerLab in one atomic step.

The census (census.py) tells every replica the others' active runs a write later, so two
replicas asked for the last slot of LAYERLAB_MAX_RUNS (or of an address's
LAYERLAB_MAX_RUNS_PER_CLIENT) in the same few milliseconds could both admit a run. Here each
admission is also one Lua script in Redis over the run slots of the whole LayerLab:

- `layerlab:slots` (keys.slots) holds one member per active run of every replica, scored by when
  it lapses; `layerlab:slots:client:<address>` the same for one address's runs outside classes;
- the script drops the lapsed slots, refuses if a set is at its limit (a run already there, a run
  taken over, is not counted twice), else adds the run to both: atomically, so of two requests
  for the last slot exactly one gets it;
- the census writer renews its replica's runs' slots every third of LAYERLAB_LEASE_S and removes
  those that ended, so a dead replica's slots lapse a lease later, as its census does.

The check runs where the manager checks its limits (synchronous, on the event loop: one loopback
round trip, at most TIMEOUT_S); with Redis unreachable the census's count alone decides, as
before.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any

from . import keys

log = logging.getLogger("layerlab.cluster")

WARN_EVERY_S = 10.0

# KEYS[1]: every run's slots; KEYS[2]: the address's (KEYS[1] again for a class run).
# ARGV: the run, seconds its slot lives unrenewed, max runs, max per address (0: not counted
# per address). Returns 0 (admitted), 1 (the LayerLab is full), 2 (the address is).
ADMIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local run, ttl = ARGV[1], tonumber(ARGV[2])
local most, mine = tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], run) and redis.call('ZCARD', KEYS[1]) >= most then
  return 1
end
if mine > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
  if not redis.call('ZSCORE', KEYS[2], run) and redis.call('ZCARD', KEYS[2]) >= mine then
    return 2
  end
  redis.call('ZADD', KEYS[2], now + ttl, run)
  redis.call('EXPIRE', KEYS[2], math.ceil(ttl) + 1)
end
redis.call('ZADD', KEYS[1], now + ttl, run)
redis.call('EXPIRE', KEYS[1], math.ceil(ttl) + 1)
return 0
"""

# KEYS[1]: every run's slots; KEYS[i] (i >= 2): the address's set of run ARGV[i] (KEYS[1]
# again for a class run); ARGV[1]: seconds the slots live. Each run's slot moves on, in both.
RENEW = """
local t = redis.call('TIME')
local ttl = tonumber(ARGV[1])
local until_ = tonumber(t[1]) + tonumber(t[2]) / 1000000 + ttl
local all = KEYS[1]
for i = 2, #KEYS do
  redis.call('ZADD', all, until_, ARGV[i])
  if KEYS[i] ~= all then
    redis.call('ZADD', KEYS[i], until_, ARGV[i])
    redis.call('EXPIRE', KEYS[i], math.ceil(ttl) + 1)
  end
end
redis.call('EXPIRE', all, math.ceil(ttl) + 1)
return #KEYS - 1
"""

Slot = tuple[str, str | None]  # a run, and its address (None: a class run, not per address)


class Admission:
    """The run slots of the LayerLab in Redis: `admit` (sync), `renew` (async, the census's)."""

    def __init__(self, sync_redis: Any, async_redis: Any, lease_s: float, errors: type):
        self.lease_s = lease_s
        self._admit = sync_redis.register_script(ADMIT)
        self._renew = async_redis.register_script(RENEW)
        self.redis = async_redis
        self._errors = errors
        self._warned = float("-inf")

    def admit(self, run_id: str, client: str | None, max_runs: int, max_per_client: int) -> int:
        """Take a slot for `run_id` (of `client`, None for a class run): 0 when taken, 1 when
        the LayerLab has `max_runs` active runs, 2 when the address has `max_per_client`;
        0 too when Redis does not answer (the census's count has passed the run already)."""
        per_client = client is not None
        names = [keys.slots(), keys.client_slots(client) if per_client else keys.slots()]
        args = [run_id, self.lease_s, max_runs, max_per_client if per_client else 0]
        try:
            return int(self._admit(keys=names, args=args))
        except self._errors as err:
            now = time.monotonic()
            if now - self._warned >= WARN_EVERY_S:
                self._warned = now
                log.warning("runs admitted on this replica's census only (Redis: %s)", err)
            return 0

    async def renew(self, held: Iterable[Slot], gone: Iterable[Slot]) -> None:
        """Move the slots of the runs held here a lease on; free those that ended here."""
        held, gone = list(held), list(gone)
        if held:
            names = [keys.client_slots(c) if c is not None else keys.slots() for _, c in held]
            await self._renew(
                keys=[keys.slots(), *names], args=[self.lease_s, *(run_id for run_id, _ in held)]
            )
        if gone:
            pipe = self.redis.pipeline(transaction=False)
            for run_id, client in gone:
                pipe.zrem(keys.slots(), run_id)
                if client is not None:
                    pipe.zrem(keys.client_slots(client), run_id)
            await pipe.execute()
