"""Rate limits shared by every worker and host: one token bucket per key.

- `acquire(key, rate=, burst=)` waits until the bucket lets one more call go, then returns.
  The bucket holds at most `burst` tokens and refills at `rate` a second; over any stretch
  of T seconds at most `burst + rate * T` calls go, whatever the number of processes asking.
- It reserves: one atomic step takes a token even when the bucket is empty (its count goes
  below zero) and says how long the caller must wait for it, so waiters go in the order
  they asked and each asks once. A wait longer than `max_wait` takes nothing and raises
  `RateLimitTimeout`.
- The bucket lives in Redis when `REDIS_URL` is set (one Lua script, atomic on the server),
  in the database otherwise (a `RateBucket` row, written under a row lock: PostgreSQL's
  `SELECT ... FOR UPDATE`, SQLite's write lock), so that it is shared either way.
- Time comes from the clock given (`Clock`): the system's wall clock by default, whose
  seconds since the epoch every host shares; tests give one they move themselves.

The VM actions use it per provider (`action_limit`, `acquire_action_slot`); every other
provider API call goes through it too, per provider and rate-limit domain
(`inventory.cloud_limits`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.db.models import F

from inventory.models import RateBucket
from mcloud.clouds.registry import provider_get


class RateLimitTimeout(Exception):
    """The wait for a token would be longer than the caller accepts."""


@dataclass(frozen=True)
class Limit:
    rate: float  # tokens a second
    burst: int  # the bucket's size


class Clock:
    """Seconds since the epoch, and a way to wait. Tests pass their own."""

    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


SYSTEM_CLOCK = Clock()


def acquire(
    key: str,
    *,
    rate: float,
    burst: int,
    clock: Clock = SYSTEM_CLOCK,
    max_wait: float | None = None,
) -> float:
    """Wait for one token of bucket `key` (see the module docstring); returns the seconds
    waited."""
    if rate <= 0 or burst < 1:
        raise ValueError(f"A rate limit needs a rate above 0 and a burst of 1 or more ({key}).")
    wait = reserve(key, rate=rate, burst=burst, now=clock.now(), max_wait=max_wait)
    if wait > 0:
        clock.sleep(wait)
    return wait


def reserve(
    key: str,
    *,
    rate: float,
    burst: int,
    now: float,
    max_wait: float | None,
    count: int = 1,
) -> float:
    """Take `count` tokens of `key` at time `now`: the seconds until the last is due (0: now).
    Raises RateLimitTimeout, taking nothing, when that is more than `max_wait`."""
    limit = -1.0 if max_wait is None else max_wait
    if settings.REDIS_URL:
        wait = _reserve_redis(key, rate, burst, now, limit, count)
    else:
        wait = _reserve_database(key, rate, burst, now, limit, count)
    if wait < 0:
        raise RateLimitTimeout(f"No token of {key} within {max_wait} s.")
    return wait


def _refill(
    tokens: float, updated: float, rate: float, burst: int, now: float
) -> tuple[float, float]:
    """The bucket at `now`. A host whose clock is behind the last writer's refills nothing."""
    if now > updated:
        return min(float(burst), tokens + (now - updated) * rate), now
    return tokens, updated


def _reserve_database(
    key: str, rate: float, burst: int, now: float, limit: float, count: int
) -> float:
    with transaction.atomic():
        RateBucket.objects.get_or_create(key=key, defaults={"tokens": burst, "updated": now})
        if connection.vendor == "sqlite":  # a first write takes the database's write lock
            RateBucket.objects.filter(key=key).update(key=F("key"))
            bucket = RateBucket.objects.get(key=key)
        else:
            bucket = RateBucket.objects.select_for_update().get(key=key)
        tokens, updated = _refill(bucket.tokens, bucket.updated, rate, burst, now)
        wait = max(0.0, (count - tokens) / rate)
        if limit >= 0 and wait > limit:
            return -1.0
        RateBucket.objects.filter(key=key).update(tokens=tokens - count, updated=updated)
    return wait


_LUA = """
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local now, limit, count = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens, updated = tonumber(state[1]), tonumber(state[2])
if tokens == nil then tokens, updated = burst, now end
if now > updated then
  tokens = math.min(burst, tokens + (now - updated) * rate)
  updated = now
end
local wait = 0
if tokens < count then wait = (count - tokens) / rate end
if limit >= 0 and wait > limit then return '-1' end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens - count), 'updated', tostring(updated))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate + wait) + 60)
return tostring(wait)
"""
_scripts: dict[str, Any] = {}


def _reserve_redis(
    key: str, rate: float, burst: int, now: float, limit: float, count: int
) -> float:
    script = _scripts.get(settings.REDIS_URL)
    if script is None:
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL)
        script = _scripts[settings.REDIS_URL] = client.register_script(_LUA)
    answer = script(keys=[f"mcloud:rate:{key}"], args=[rate, burst, repr(now), limit, count])
    return float(answer)


# --- per-provider limits, from the registry unless a setting says otherwise ---------------
def limits_parsed(setting: str, value: str) -> dict[str, Limit]:
    """A setting's limits: "aws=5/20,gcp=10" (rate[/burst] per provider key; a burst left
    out is the rate, at least 1)."""
    found: dict[str, Limit] = {}
    for pair in filter(None, (p.strip() for p in value.split(","))):
        key, _, number = pair.partition("=")
        rate, _, burst = number.partition("/")
        try:
            limit = Limit(float(rate), int(burst) if burst else max(1, int(float(rate))))
        except ValueError:
            limit = Limit(0, 0)
        if not key.strip() or limit.rate <= 0 or limit.burst < 1:
            raise ImproperlyConfigured(
                f"{setting}: {pair!r} is not key=rate or key=rate/burst "
                "(a rate above 0, a whole burst of 1 or more)."
            )
        found[key.strip()] = limit
    return found


def action_limit(provider: str) -> Limit:
    """How fast actions go to `provider`: the ACTION_RATE_LIMITS setting's, else the
    provider's registry entry's."""
    override = limits_parsed("ACTION_RATE_LIMITS", settings.ACTION_RATE_LIMITS).get(provider)
    if override is not None:
        return override
    entry = provider_get(provider)
    return Limit(entry.action_rate, entry.action_burst)


def acquire_action_slot(provider: str, *, clock: Clock = SYSTEM_CLOCK) -> float:
    """Wait for the provider's next action slot (every worker and host share them)."""
    limit = action_limit(provider)
    return acquire(f"actions:{provider}", rate=limit.rate, burst=limit.burst, clock=clock)
