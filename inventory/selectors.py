"""Reads of the inventory app."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import Organization
from inventory.models import CloudAccount, ProviderHealth, SyncRun


def cloud_account_list(*, organization: Organization) -> QuerySet[CloudAccount]:
    return (
        CloudAccount.objects.filter(organization=organization)
        .select_related("latest_health")
        .defer("secrets")
        .order_by("name")
    )


def health_history(*, account: CloudAccount, limit: int = 20) -> list[ProviderHealth]:
    return list(account.health_checks.order_by("-checked_at", "-id")[:limit])


def sync_run_list(*, account: CloudAccount, limit: int = 20) -> list[SyncRun]:
    return list(account.sync_runs.select_related("requested_by").order_by("-queued_at")[:limit])


def sync_run_active(*, account: CloudAccount) -> SyncRun | None:
    return (
        account.sync_runs.filter(status__in=[SyncRun.State.QUEUED, SyncRun.State.RUNNING])
        .select_related("account")
        .order_by("-queued_at")
        .first()
    )
