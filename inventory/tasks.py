"""django-q2 tasks. They receive ids only (never credentials) and call a service."""

from __future__ import annotations

from django_q.tasks import async_task

from inventory.models import CloudAccount, ProviderHealth
from inventory.services.health import connection_check


def check_all_accounts() -> int:
    """Scheduled: queue one health check per enabled, unpaused account."""
    ids = list(
        CloudAccount.objects.filter(enabled=True, paused_at__isnull=True).values_list(
            "pk", flat=True
        )
    )
    for account_id in ids:
        async_task("inventory.tasks.check_account", account_id, group="health-checks")
    return len(ids)


def check_account(account_id: int) -> str | None:
    account = (
        CloudAccount.objects.filter(pk=account_id, enabled=True, paused_at__isnull=True)
        .select_related("organization")
        .first()
    )
    if account is None:  # deleted, disabled or paused since it was queued
        return None
    return connection_check(account=account, trigger=ProviderHealth.Trigger.SCHEDULED).status
