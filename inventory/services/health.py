"""Provider health: test an account's connection, record how it went, pause a dead one."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.urls import reverse

from accounts.audit import audit_record
from accounts.models import User
from accounts.notifications.events import Event
from accounts.notifications.services import notify
from inventory.account_adapters import adapter_for
from inventory.models import CloudAccount, HealthStatus, ProviderHealth
from inventory.services.accounts import cloud_account_pause
from inventory.tasks import CHECK_ACCOUNT
from mcloud.clouds.base import CloudError

logger = logging.getLogger(__name__)

# Connection tests run here so that a provider that never answers cannot hold the caller
# past CONNECTION_TEST_TIMEOUT; the SDK's own socket timeouts end the thread soon after.
_executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="connection-test")


def connection_check(
    *,
    account: CloudAccount,
    trigger: str = ProviderHealth.Trigger.MANUAL,
    user: User | None = None,
    ip: str | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> ProviderHealth:
    """Test the account's credentials and record a ProviderHealth row.

    Slow answers (over HEALTH_DEGRADED_MS by `clock`, in seconds) are degraded, failures are
    errors; after HEALTH_PAUSE_AFTER_FAILURES errors in a row the account is paused, once: an
    "account paused" notification (its channels, and e-mail to whoever chose it: admins by
    default). Tests pass a `clock` to classify without depending on the speed of
    the machine.
    """
    # Credentials are read here, in the caller's thread (and database transaction); only the
    # network call runs in the executor, with one retry at most and socket timeouts within
    # the overall deadline.
    deadline = settings.CONNECTION_TEST_TIMEOUT
    started = clock()
    try:
        adapter = adapter_for(
            account, timeout=max(1.0, deadline / 2), retries=1, throttle_patience=deadline / 2
        )
        result = _executor.submit(adapter.test_connection).result(timeout=deadline)
    except FutureTimeout:
        status, message = (
            HealthStatus.ERROR,
            (f"{account.get_provider_display()} did not answer within {deadline:g} seconds"),
        )
    except CloudError as error:
        status, message = HealthStatus.ERROR, error.message
    except Exception as error:  # noqa: BLE001 - any failure is recorded, never raised to the page
        # The class name only: SDK exception texts can echo request details.
        logger.warning(
            "Connection test of account %s failed: %s", account.pk, error.__class__.__name__
        )
        status, message = HealthStatus.ERROR, f"Unexpected error ({error.__class__.__name__})"
    else:
        elapsed_ms = (clock() - started) * 1000
        slow = elapsed_ms > settings.HEALTH_DEGRADED_MS
        status = HealthStatus.DEGRADED if slow else HealthStatus.HEALTHY
        message = result.message + (f" (slow: {elapsed_ms:.0f} ms)" if slow else "")
    elapsed = round((clock() - started) * 1000)
    return _record(account, status, message, elapsed, trigger, user, ip)


@transaction.atomic
def _record(
    account: CloudAccount,
    status: str,
    message: str,
    elapsed_ms: int,
    trigger: str,
    user: User | None,
    ip: str | None,
) -> ProviderHealth:
    check = ProviderHealth.objects.create(
        organization_id=account.organization_id,
        account=account,
        status=status,
        response_ms=elapsed_ms,
        message=message[:500],
        trigger=trigger,
    )
    failures = F("consecutive_failures") + 1 if status == HealthStatus.ERROR else 0
    CloudAccount.objects.filter(pk=account.pk).update(
        latest_health=check, consecutive_failures=failures
    )
    account.refresh_from_db(fields=["latest_health", "consecutive_failures", "paused_at"])
    if trigger == ProviderHealth.Trigger.MANUAL:
        audit_record(
            organization=account.organization,
            action="cloud_account.tested",
            target=account,
            data={"status": status, "message": message[:200]},
            actor=user,
            ip=ip,
        )
    limit = settings.HEALTH_PAUSE_AFTER_FAILURES
    if (
        status == HealthStatus.ERROR
        and account.consecutive_failures >= limit
        and not account.is_paused
    ):
        reason = f"Paused after {account.consecutive_failures} failed checks in a row: {message}"
        cloud_account_pause(account=account, reason=reason)
        notify(
            organization=account.organization,
            event=Event.ACCOUNT_PAUSED,
            title=f"Cloud account {account.name} was paused",
            text=f"{reason}\n\nWhile it is paused, mcloud neither syncs it nor imports its "
            'costs. Fix the credentials (or the permissions) and press "Resume" on its page.',
            url=reverse("inventory:account_detail", args=[account.pk]),
            facts=[("Account", account.name), ("Provider", account.get_provider_display())],
        )
    return check


def connection_check_request(*, account: CloudAccount) -> None:
    """Have a worker check the account's connection (after the transaction commits)."""
    CHECK_ACCOUNT.enqueue(account.pk)
