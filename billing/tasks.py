"""django-q2 tasks of billing: they take ids and call a service; each is followed by its
`Task`. Services are imported inside the tasks (the services queue these tasks)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from inventory.models import CloudAccount
from mcloud.background import Task

RETRY_DELAY = timedelta(minutes=5)


def import_account_costs(account_id: int) -> str | None:
    from billing.services.imports import BUSY, cost_import

    account = CloudAccount.objects.cost_importing().filter(pk=account_id)
    account = account.select_related("organization")
    found = account.first()
    if found is None:
        return None
    run = cost_import(account=found)
    if run is None:  # another import of the account is running: try again in a few minutes
        IMPORT_ACCOUNT_COSTS.schedule_once(
            found.pk,
            at=timezone.now() + RETRY_DELAY,
            name=f"billing: retry import of account {found.pk}",  # one pending retry each
        )
        return f"postponed: {BUSY}"
    return f"{run.status}: {run.rows} rows"


IMPORT_ACCOUNT_COSTS = Task.of(import_account_costs, group="cost-imports")


def import_all_costs() -> int:
    """Daily: queue a cost import of every account whose costs are imported."""
    ids = list(CloudAccount.objects.cost_importing().values_list("pk", flat=True))
    for account_id in ids:
        IMPORT_ACCOUNT_COSTS.enqueue(account_id)
    return len(ids)


IMPORT_ALL_COSTS = Task.of(import_all_costs)


def check_account_anomalies(account_id: int) -> str | None:
    from billing.services.anomalies import anomalies_detect

    found = CloudAccount.objects.active().filter(pk=account_id).select_related("organization")
    account = found.first()
    if account is None:
        return None
    return f"{len(anomalies_detect(account=account))} new anomalies"


CHECK_ACCOUNT_ANOMALIES = Task.of(check_account_anomalies, group="anomaly-checks")


def check_all_anomalies() -> int:
    """Daily: queue an anomaly check of every enabled, unpaused account (each import checks
    its own account too; this catches the days no import changed)."""
    ids = list(CloudAccount.objects.active().values_list("pk", flat=True))
    for account_id in ids:
        CHECK_ACCOUNT_ANOMALIES.enqueue(account_id)
    return len(ids)


CHECK_ALL_ANOMALIES = Task.of(check_all_anomalies)


def recover_abandoned_imports() -> int:
    """The old path of the one recovery (inventory.tasks.recover_abandoned_runs), kept for one
    release: a recovery queued under it before the recoveries became one still runs. The
    schedule that named it is deleted by billing.schedules (OBSOLETE).
    Remove after the next release."""
    from inventory.tasks import recover_abandoned_runs

    return recover_abandoned_runs()
