"""The Terraform runs a person started, for the toasts of accounts.activity."""

from __future__ import annotations

from datetime import datetime

from django.urls import reverse

from accounts.activity import TOASTS_AT_ONCE, Activity, Toast
from accounts.models import Organization, User
from provisioning.models import DeploymentRun

FAILED = (DeploymentRun.Status.FAILED, DeploymentRun.Status.CANCELLED)


def run_activity(user: User, organization: Organization, since: datetime) -> Activity:
    runs = DeploymentRun.objects.filter(organization=organization, started_by=user)
    finished = runs.filter(finished_at__gt=since).select_related("deployment")
    return Activity(
        running=runs.filter(status__in=DeploymentRun.ACTIVE).exists(),
        finished=[
            Toast(
                text=f"{run.get_kind_display()} of {run.deployment.name}: "
                f"{run.get_status_display().lower()}",
                url=reverse("provisioning:run_detail", args=[run.pk]),
                ok=run.status not in FAILED,
                at=run.finished_at,
            )
            for run in finished.order_by("-finished_at")[:TOASTS_AT_ONCE]
            if run.finished_at is not None
        ],
    )
