"""The django-q2 schedules of the inventory app, kept in step with settings and accounts.

Schedule names are unique by our own convention (the table does not enforce it).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django_q.models import Schedule

from inventory.models import CloudAccount
from inventory.tasks import (
    CHECK_ALL_ACCOUNTS,
    RECOVER_ABANDONED_RUNS,
    RUN_POWER_SCHEDULES,
    SYNC_ACCOUNT,
)

HEALTH_CHECKS = "inventory: provider health checks"
# Runs of every kind (syncs, cost imports, Terraform runs) whose worker died. Requests for work
# recover their own object's runs first; this catches the rest within a minute or so.
RECOVER_RUNS = "inventory: recover abandoned runs"
# The off-hours power schedules' stops and starts: every minute, claimed once however many
# workers run it (inventory.services.power_schedules).
POWER_SCHEDULES = "inventory: power schedules"
OBSOLETE = ["inventory: recover abandoned syncs"]


def _sync_name(account_id: int) -> str:
    return f"inventory: sync account {account_id}"


def ensure_schedules(**kwargs: Any) -> None:
    """Create or update the app-wide schedules (run after every `migrate`)."""
    for name, func, minutes in (
        (HEALTH_CHECKS, CHECK_ALL_ACCOUNTS.path, settings.HEALTH_CHECK_INTERVAL_MINUTES),
        (RECOVER_RUNS, RECOVER_ABANDONED_RUNS.path, 1),
        (POWER_SCHEDULES, RUN_POWER_SCHEDULES.path, 1),
    ):  # fmt: skip
        Schedule.objects.update_or_create(
            name=name,
            defaults={"func": func, "schedule_type": Schedule.MINUTES, "minutes": minutes,
                      "repeats": -1},
        )  # fmt: skip
    Schedule.objects.filter(name__in=OBSOLETE).delete()


def account_schedule_update(account: CloudAccount) -> None:
    """One sync schedule per enabled account that has not left its organization, at the
    account's interval."""
    if not account.enabled or account.retired_at is not None:
        account_schedule_delete(account.pk)
        return
    Schedule.objects.update_or_create(
        name=_sync_name(account.pk),
        defaults={
            "func": SYNC_ACCOUNT.path,
            "args": repr((account.pk,)),
            "schedule_type": Schedule.MINUTES,
            "minutes": account.sync_interval_minutes,
            "repeats": -1,
        },
    )


def account_schedule_delete(account_id: int) -> None:
    Schedule.objects.filter(name=_sync_name(account_id)).delete()
