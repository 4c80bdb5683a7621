"""Reads of the inventory app."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import Organization
from inventory.models import CloudAccount, ProviderHealth


def cloud_account_list(*, organization: Organization) -> QuerySet[CloudAccount]:
    return (
        CloudAccount.objects.filter(organization=organization)
        .select_related("latest_health")
        .defer("secrets")
        .order_by("name")
    )


def health_history(*, account: CloudAccount, limit: int = 20) -> list[ProviderHealth]:
    return list(account.health_checks.order_by("-checked_at", "-id")[:limit])
