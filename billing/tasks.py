"""django-q2 tasks of billing: they take ids and call a service."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import async_task

from billing.services.imports import BUSY, cost_import
from inventory.models import CloudAccount

RETRY_DELAY = timedelta(minutes=5)


def import_all_costs() -> int:
    """Daily: queue a cost import of every enabled, unpaused account."""
    ids = list(
        CloudAccount.objects.filter(enabled=True, paused_at__isnull=True).values_list(
            "pk", flat=True
        )
    )
    for account_id in ids:
        async_task("billing.tasks.import_account_costs", account_id, group="cost-imports")
    return len(ids)


def import_account_costs(account_id: int) -> str | None:
    account = (
        CloudAccount.objects.filter(pk=account_id, enabled=True, paused_at__isnull=True)
        .select_related("organization")
        .first()
    )
    if account is None:
        return None
    run = cost_import(account=account)
    if run is None:  # another import of the account is running: try again in a few minutes
        Schedule.objects.create(
            name=f"billing: retry import of account {account.pk} {timezone.now():%H%M%S%f}",
            func="billing.tasks.import_account_costs",
            args=repr((account.pk,)),
            schedule_type=Schedule.ONCE,
            next_run=timezone.now() + RETRY_DELAY,
        )
        return f"postponed: {BUSY}"
    return f"{run.status}: {run.rows} rows"
