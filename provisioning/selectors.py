"""Reads for the pages, each with what it shows joined in (query counts stay flat)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.db.models.functions import Substr

from accounts.models import Organization
from provisioning.models import Blueprint, Deployment, DeploymentRun, DeploymentState


def blueprint_list(*, organization: Organization) -> QuerySet[Blueprint]:
    """The bundled blueprints and the organization's own."""
    return (
        Blueprint.objects.filter(Q(organization=organization) | Q(organization__isnull=True))
        .select_related("latest_version")
        .order_by("organization_id", "name", "id")
    )


def deployment_list(*, organization: Organization) -> QuerySet[Deployment]:
    return Deployment.objects.filter(organization=organization).select_related(
        "blueprint_version__blueprint", "account", "last_run"
    )


def run_list(*, deployment: Deployment, limit: int = 50) -> list[DeploymentRun]:
    return list(
        deployment.runs.select_related("started_by", "approved_by")
        .defer("log", "plan_file")
        .order_by("-queued_at", "-id")[:limit]
    )


def state_current(*, deployment: Deployment) -> dict[str, Any] | None:
    """The current state's version, serial, size and time (never the state itself)."""
    return (
        DeploymentState.objects.filter(deployment=deployment)
        .order_by("-version")
        .values("version", "serial", "size", "created_at")
        .first()
    )


LOG_OFFSET_MAX = 2**31 - 2  # the databases' integer range


def run_log_rows(offset: int) -> QuerySet[DeploymentRun]:
    """Runs with `tail`, their log from character `offset` on (0-based, clamped)."""
    start = min(max(0, offset), LOG_OFFSET_MAX) + 1
    return (
        DeploymentRun.objects.annotate(tail=Substr("log", start))
        .select_related("deployment")
        .only(
            "id", "status", "organization_id", "lease_token",
            "deployment__lease_token", "deployment__lease_until",
        )
    )  # fmt: skip
