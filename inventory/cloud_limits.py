"""How fast mcloud calls each provider's API, shared by every worker and host.

- Every request an adapter sends (syncs, member discovery, cost imports, connection tests,
  actions; each retry too) first takes a token of the shared bucket (`inventory.rate_limit`:
  Redis when REDIS_URL is set, the database otherwise) of its provider and rate-limit
  domain, "calls:<provider>:<domain>"; the adapter names the domain
  (`mcloud.clouds.throttling`: AWS account, region and service, or S3 bucket; Azure
  subscription or tenant; GCP project). One sync fans out over threads and q2 workers (one
  task per member account): they all draw from the same buckets.
- Limits are the registry entry's (`CloudProvider.call_rate`, `call_burst`) unless the
  CLOUD_RATE_LIMITS setting names the provider; "off" there paces nothing (each SDK's own
  retries of throttling answers remain).
- Tokens are taken a few at a time (`batch`): one shared write per batch instead of one per
  call, which in the database is a row-locked transaction a call. The cost of it: an adapter
  (one sync, one import) may send up to `batch - 1` calls on tokens it took before, so over
  any stretch of T seconds at most `burst + rate * T + batch - 1` calls go per domain and
  adapter, and the tokens an adapter took and did not use are lost (at most `batch - 1` per
  domain). Batches stay small beside the burst (a tenth of it, at most `MAX_BATCH`).
- When the buckets' store fails (Redis down, the database locked past its timeout), calls
  go unpaced, with a warning: pacing is a courtesy to the provider, whose throttling answers
  are still waited out, and must not fail a sync by itself.
- A thread that had no database connection before it took tokens from the database closes
  the one it opened: the listing threads of a sync are short-lived and would otherwise leave
  one connection each behind until garbage collection. A thread that had one (the sync's,
  an action's, maybe inside a transaction) keeps it.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection

from inventory.rate_limit import SYSTEM_CLOCK, Clock, Limit, limits_parsed, reserve
from mcloud.clouds.registry import provider_get
from mcloud.clouds.throttling import Throttle

logger = logging.getLogger(__name__)
MAX_BATCH = 10
OFF = "off"
_MAX_KEY = 120  # RateBucket.key


def calls_limit(provider: str) -> Limit | None:
    """How fast calls go to `provider`: the CLOUD_RATE_LIMITS setting's, else its registry
    entry's; None when the setting is "off"."""
    value = settings.CLOUD_RATE_LIMITS.strip()
    if value.lower() == OFF:
        return None
    override = limits_parsed("CLOUD_RATE_LIMITS", value).get(provider)
    if override is not None:
        return override
    entry = provider_get(provider)
    return Limit(entry.call_rate, entry.call_burst)


def bucket_key(provider: str, domain: str) -> str:
    """The shared bucket's key; a long domain is hashed to fit the column."""
    key = f"calls:{provider}:{domain}"
    if len(key) <= _MAX_KEY:
        return key
    return f"calls:{provider}:{hashlib.sha256(domain.encode()).hexdigest()}"


@dataclass
class CallThrottle:
    """The throttle one adapter is given (`Endpoints.throttle`): called with a domain, it
    returns when a call of that domain may go (see the module docstring)."""

    provider: str
    limit: Limit
    clock: Clock = SYSTEM_CLOCK
    _held: dict[str, int] = field(default_factory=dict)  # tokens taken and not yet used
    _key_locks: dict[str, threading.Lock] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def batch(self) -> int:
        return max(1, min(MAX_BATCH, self.limit.burst // 10))

    def __call__(self, domain: str) -> None:
        key = bucket_key(self.provider, domain)
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        # The adapter's threads that call one domain at once share a batch: one reserves it
        # (and waits for it) while the others wait for their share.
        with key_lock:
            if self._held.get(key, 0) > 0:
                self._held[key] -= 1
                return
            wait = self._reserve(key)
            if wait > 0:
                self.clock.sleep(wait)
            self._held[key] = self.batch - 1

    def _reserve(self, key: str) -> float:
        limit, count = self.limit, self.batch
        opened = not settings.REDIS_URL and connection.connection is None
        try:
            return reserve(key, rate=limit.rate, burst=limit.burst, now=self.clock.now(),
                           max_wait=None, count=count)  # fmt: skip
        except Exception as error:  # noqa: BLE001 - see the module docstring
            logger.warning("Calls of %s go unpaced: the rate-limit store failed (%s)",
                           key, error.__class__.__name__)  # fmt: skip
            return 0.0
        finally:
            if opened:
                connection.close()


def calls_throttle(provider: str, *, clock: Clock = SYSTEM_CLOCK) -> Throttle | None:
    """A new adapter's throttle for `provider`, or None when calls are not paced."""
    limit = calls_limit(provider)
    return None if limit is None else CallThrottle(provider, limit, clock)
