"""The shared token bucket, in the database and in Redis, with a clock the test moves: calls
go at the rate and burst asked, waiters are served in turn, a long wait can be refused, and
the limits per provider come from the registry unless ACTION_RATE_LIMITS says otherwise."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from inventory.models import RateBucket
from inventory.rate_limit import (
    Clock,
    Limit,
    RateLimitTimeout,
    acquire,
    action_limit,
    reserve,
)
from mcloud.clouds.registry import provider_get

REDIS = "redis://127.0.0.1:6379/15"


class FakeClock(Clock):
    """Time that moves only when someone sleeps."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.t = start
        self.lock = threading.Lock()

    def now(self) -> float:
        with self.lock:
            return self.t

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.t += seconds


@pytest.fixture(params=["database", "redis"])
def backend(request, settings, db):
    if request.param == "redis":
        import redis

        try:
            redis.Redis.from_url(REDIS).ping()
        except redis.ConnectionError:
            pytest.skip("no Redis on 127.0.0.1:6379")
        settings.REDIS_URL = REDIS
    else:
        settings.REDIS_URL = ""
    return request.param


def key() -> str:
    return f"test:{uuid.uuid4().hex}"


def test_calls_go_at_the_rate_after_the_burst(backend):
    clock, k = FakeClock(), key()
    start = clock.now()
    times = []
    for _ in range(8):
        acquire(k, rate=2.0, burst=3, clock=clock)
        times.append(round(clock.now() - start, 6))
    # Three at once (the bucket), then one every half second.
    assert times == [0, 0, 0, 0.5, 1.0, 1.5, 2.0, 2.5]


def test_the_bucket_refills_while_nobody_asks(backend):
    clock, k = FakeClock(), key()
    for _ in range(3):
        acquire(k, rate=1.0, burst=3, clock=clock)
    clock.sleep(10)  # idle: refills to the burst, never beyond
    start = clock.now()
    for _ in range(4):
        acquire(k, rate=1.0, burst=3, clock=clock)
    assert clock.now() - start == pytest.approx(1.0)


def test_waiters_reserve_in_turn(backend):
    """Reservations taken at the same instant (several workers) are spread at the rate:
    each waits its own slot, and none is handed the same one."""
    clock, k = FakeClock(), key()
    now = clock.now()
    waits = [reserve(k, rate=4.0, burst=1, now=now, max_wait=None) for _ in range(5)]
    assert waits == pytest.approx([0, 0.25, 0.5, 0.75, 1.0])


def test_a_wait_longer_than_accepted_takes_nothing(backend):
    clock, k = FakeClock(), key()
    acquire(k, rate=1.0, burst=1, clock=clock)
    with pytest.raises(RateLimitTimeout):
        acquire(k, rate=1.0, burst=1, clock=clock, max_wait=0.5)
    start = clock.now()
    acquire(k, rate=1.0, burst=1, clock=clock, max_wait=1.0)  # the refused wait took nothing
    assert clock.now() - start == pytest.approx(1.0)


def test_bad_limits_are_refused(backend):
    with pytest.raises(ValueError, match="rate above 0"):
        acquire(key(), rate=0, burst=1)


@pytest.mark.django_db(transaction=True)
def test_threads_share_one_database_bucket(settings):
    """Eight threads (each its own connection, as workers) take 24 tokens at the same
    instant: with a bucket of 2 at 4 a second, the reservations are 0, 0, 0.25, ... 5.5 s,
    each handed out once."""
    if connection.vendor == "sqlite" and "memory" in str(connection.settings_dict["NAME"]):
        pytest.skip("an in-memory SQLite database is not shared between connections")
    settings.REDIS_URL = ""
    k, now = key(), 1_800_000_000.0
    waits: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            for _ in range(3):
                wait = reserve(k, rate=4.0, burst=2, now=now, max_wait=None)
                with lock:
                    waits.append(wait)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    expected = [0.0, 0.0] + [0.25 * n for n in range(1, 23)]
    assert sorted(waits) == pytest.approx(expected)
    assert RateBucket.objects.get(key=k).tokens == pytest.approx(-22.0)


def test_action_limits_come_from_the_registry_unless_set(settings):
    gcp = provider_get("gcp")
    settings.ACTION_RATE_LIMITS = ""
    assert action_limit("gcp") == Limit(gcp.action_rate, gcp.action_burst)
    settings.ACTION_RATE_LIMITS = "gcp=2.5/4, aws=7"
    assert action_limit("gcp") == Limit(2.5, 4)
    assert action_limit("aws") == Limit(7.0, 7)
    azure = provider_get("azure")
    assert action_limit("azure") == Limit(azure.action_rate, azure.action_burst)
    settings.ACTION_RATE_LIMITS = "gcp=fast"
    with pytest.raises(ImproperlyConfigured, match="ACTION_RATE_LIMITS"):
        action_limit("gcp")
