"""The one lease helper (mcloud.leases): one holder at a time, renewals, expiry and take-over,
and a keeper that renews from the background while the run's thread is held up."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from inventory.models import CloudAccount
from mcloud.leases import (
    Lease,
    LeaseLost,
    lease_acquire,
    lease_kept,
    lease_release,
    lease_renew,
)
from tests.inventory.factories import aws_account


@pytest.fixture
def lease(org) -> Lease:
    return Lease(CloudAccount, aws_account(org, ("AKIAEXAMPLE000000000", "secret")).pk)


def held(lease: Lease) -> tuple[str, object]:
    return lease.rows().values_list("lease_token", "lease_until").get()


@pytest.mark.django_db
def test_a_lease_has_one_holder_until_it_is_released_or_expires(lease, settings):
    settings.LEASE_SECONDS = 30
    first = lease_acquire(lease)
    assert first
    assert lease_acquire(lease) is None  # live: refused
    lease_renew(lease, first)
    with pytest.raises(LeaseLost):
        lease_renew(lease, "someone-else")
    with pytest.raises(LeaseLost):
        lease_renew(lease, "")
    assert held(lease)[1] > timezone.now() + timedelta(seconds=25)

    # A holder that stops renewing (its worker died) loses it once it expires.
    lease.rows().update(lease_until=timezone.now() - timedelta(seconds=1))
    second = lease_acquire(lease)
    assert second not in (None, first)
    with pytest.raises(LeaseLost):
        lease_renew(lease, first)
    assert lease_release(lease, first) is False  # the old holder cannot free the new one's
    assert held(lease)[0] == second
    assert lease_release(lease, second) is True
    assert held(lease) == ("", None)
    assert lease_acquire(lease)


@pytest.mark.django_db(transaction=True)
def test_the_keeper_renews_in_the_background_while_the_block_is_held_up(lease, settings):
    settings.LEASE_SECONDS = 1  # renewed every third of a second
    token = lease_acquire(lease)
    with lease_kept(lease, token):
        # This thread never renews (as in a long provider call), for over twice the lease.
        deadline = time.monotonic() + 2.5
        while time.monotonic() < deadline:
            assert lease_acquire(lease) is None, "the lease expired while its holder worked"
            time.sleep(0.2)
    assert held(lease) == ("", None)  # released at the end


@pytest.mark.django_db(transaction=True)
def test_the_keeper_stops_its_run_once_another_worker_took_the_lease(lease, settings):
    settings.LEASE_SECONDS = 1
    token = lease_acquire(lease)

    def run_that_checks_between_steps() -> None:
        with lease_kept(lease, token) as keeper:
            keeper.check()
            lease.rows().update(lease_token="another-worker")
            for _ in range(20):  # the next renewal, due within a third of the lease, finds out
                keeper.check()
                time.sleep(0.1)

    with pytest.raises(LeaseLost):
        run_that_checks_between_steps()
    assert held(lease)[0] == "another-worker"  # leaving does not release another's lease
