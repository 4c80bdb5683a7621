"""The syncs a person started, for the toasts of accounts.activity."""

from __future__ import annotations

from datetime import datetime

from django.urls import reverse

from accounts.activity import TOASTS_AT_ONCE, Activity, Toast
from accounts.models import Organization, User
from inventory.models import SyncRun


def sync_activity(user: User, organization: Organization, since: datetime) -> Activity:
    runs = SyncRun.objects.filter(organization=organization, requested_by=user)
    finished = runs.filter(finished_at__gt=since).select_related("account")
    return Activity(
        running=runs.filter(status__in=(SyncRun.State.QUEUED, SyncRun.State.RUNNING)).exists(),
        finished=[
            Toast(
                text=f"Sync of {run.account.name}: {run.get_status_display().lower()}",
                url=reverse("inventory:account_detail", args=[run.account_id]),
                ok=run.status == SyncRun.State.SUCCEEDED,
                at=run.finished_at,
            )
            for run in finished.order_by("-finished_at")[:TOASTS_AT_ONCE]
            if run.finished_at is not None
        ],
    )
