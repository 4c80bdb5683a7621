"""Reads of the inventory app."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from accounts.models import Organization
from inventory.filters import ResourceFilters, apply_filters, tally_filters
from inventory.models import (
    ActionRun,
    BulkAction,
    CloudAccount,
    PowerSchedule,
    ProviderHealth,
    Resource,
    ResourceEvent,
    ResourceTally,
    SavedView,
    ScheduleOccurrence,
    ScheduleTarget,
    SyncRun,
)


@dataclass(frozen=True)
class ResourceFigures:
    """The dashboard's resource figures: the live counts, by provider and by type."""

    counts: dict[str, int]  # total, vms, running_vms, stopped_vms, storage, disks, ...
    by_provider: dict[str, int]
    by_type: dict[str, int]


def excluded_members(organization: Organization) -> QuerySet[CloudAccount, int]:
    """The member accounts an admin excluded (as a subquery of their ids): their resources
    are out of the inventory's lists and figures until they are included again."""
    return CloudAccount.objects.filter(
        organization=organization, parent__isnull=False, enabled=False
    ).values_list("pk", flat=True)


def resource_figures(*, organization: Organization) -> ResourceFigures:
    """One aggregate query over the live tallies, whatever the number of resources."""
    rows = (
        ResourceTally.objects.filter(organization=organization, live=True)
        .exclude(account_id__in=excluded_members(organization))
        .order_by()
        .values_list("provider", "type", "status")
        .annotate(n=Sum("count"))
    )
    counts = dict.fromkeys(
        ("total", "vms", "running_vms", "stopped_vms", "storage", "disks", "networks",
         "databases"), 0,
    )  # fmt: skip
    by_provider: dict[str, int] = {}
    by_type: dict[str, int] = {}
    plural = {"vm": "vms", "disk": "disks", "network": "networks", "database": "databases"}
    for provider, kind, status, n in rows:
        counts["total"] += n
        by_provider[provider] = by_provider.get(provider, 0) + n
        by_type[kind] = by_type.get(kind, 0) + n
        key = "storage" if kind == "storage" else plural.get(kind)
        if key:
            counts[key] += n
        if kind == "vm" and status in ("running", "stopped"):
            counts[f"{status}_vms"] += n
    return ResourceFigures(counts, by_provider, by_type)


def cloud_account_list(*, organization: Organization) -> QuerySet[CloudAccount]:
    return (
        CloudAccount.objects.filter(organization=organization)
        .select_related("latest_health")
        .defer("secrets")
        .order_by("name")
    )


def member_list(*, account: CloudAccount) -> list[CloudAccount] | None:
    """The member accounts a connection discovered (retired ones last), each with its live
    resource count (`resources_live`, from the tallies); None for an account that is no
    connection with members."""
    if account.parent_id is not None or not (
        account.config.get("discover_members") or account.members.exists()
    ):
        return None
    live = (
        ResourceTally.objects.filter(account=OuterRef("pk"), live=True)
        .values("account")
        .annotate(n=Sum("count"))
        .values("n")
    )
    return list(
        account.members.select_related("latest_health")
        .defer("secrets")
        .annotate(resources_live=Coalesce(Subquery(live), 0))
        .order_by(F("retired_at").asc(nulls_first=True), "name")
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


def sync_runs_active(*, organization: Organization) -> dict[int, SyncRun]:
    """Account id -> its queued or running sync, for the organization (one query)."""
    runs = SyncRun.objects.filter(
        organization=organization, status__in=[SyncRun.State.QUEUED, SyncRun.State.RUNNING]
    ).order_by("queued_at", "id")
    return {run.account_id: run for run in runs}


def account_choices(*, organization: Organization) -> list[CloudAccount]:
    return list(
        CloudAccount.objects.filter(organization=organization).only("id", "name").order_by("name")
    )


def region_choices(*, organization: Organization) -> list[str]:
    return list(
        ResourceTally.objects.filter(organization=organization)
        .order_by("region")
        .values_list("region", flat=True)
        .distinct()
    )


def resource_list(*, organization: Organization, filters: ResourceFilters) -> QuerySet[Resource]:
    rows = Resource.objects.filter(organization=organization).exclude(
        account_id__in=excluded_members(organization)
    )
    return apply_filters(rows, filters, organization=organization)


@dataclass(frozen=True)
class CostTotal:
    """What the resources a filter matches cost a month, in one currency; `estimated` when
    list-price estimates are part of it."""

    currency: str
    amount: Decimal
    estimated: bool


@dataclass(frozen=True)
class ResourceSummary:
    """How many resources a filter matches, and what they cost a month per currency
    (largest first)."""

    count: int
    totals: list[CostTotal]


def resource_summary(
    *, organization: Organization, filters: ResourceFilters, rows: QuerySet[Resource]
) -> ResourceSummary:
    """Count and cost / month of the resources the filters match (`rows`), in one query:
    over the tallies when the filters allow, else one scan of the rows (tags, search,
    managed and attachments need them), which counts them too, so that a page needs no
    COUNT of its own. Resources without a figure count for nothing in the totals."""
    lookups = tally_filters(filters)
    if lookups is None:
        source: QuerySet = rows.order_by()
        count: Any = Count("id")
    else:
        source = (
            ResourceTally.objects.filter(organization=organization, **lookups)
            .exclude(account_id__in=excluded_members(organization))
            .order_by()
        )
        count = Sum("count")
    priced = ~Q(cost_basis="")
    groups = source.values_list("cost_currency").annotate(
        n=count,
        priced=Count("id", filter=priced),
        total=Sum("monthly_cost", filter=priced),
        estimates=Count("id", filter=Q(cost_basis="estimate", monthly_cost__gt=0)),
    )
    cent = Decimal("0.01")  # as stored, whatever the database's sum returns
    matched, totals = 0, []
    for code, n, priced_rows, total, estimates in groups:
        matched += n or 0
        if priced_rows:
            totals.append(CostTotal(code, (total or Decimal(0)).quantize(cent), bool(estimates)))
    totals.sort(key=lambda t: (-t.amount, t.currency))
    return ResourceSummary(matched, totals)


def resource_events(*, resource: Resource, limit: int = 50) -> list[ResourceEvent]:
    events = resource.events.select_related("sync_run", "action_run")
    return list(events.order_by("-occurred_at", "-id")[:limit])


def action_run_list(*, resource: Resource, limit: int = 10) -> list[ActionRun]:
    """The resource's latest action runs, newest first, with who asked."""
    runs = resource.action_runs.select_related("requested_by", "schedule")
    return list(runs.order_by("-queued_at", "-id")[:limit])


def bulk_action_failures(*, bulk: BulkAction, limit: int = 200) -> list[ActionRun]:
    """The bulk action's failed runs with their resources (one query), first failed first."""
    runs = bulk.runs.filter(status=ActionRun.State.FAILED).select_related("resource")
    return list(runs.order_by("finished_at", "id")[:limit])


def bulk_action_skips(*, bulk: BulkAction, limit: int = 20) -> list[tuple[str, int]]:
    """(reason, count) of the bulk action's skipped runs, most common first (one query)."""
    rows = (
        bulk.runs.filter(status__in=[ActionRun.State.SKIPPED, ActionRun.State.NOOP])
        .order_by()
        .values_list("message")
        .annotate(n=Count("id"))
        .order_by("-n", "message")
    )
    return [(message, n) for message, n in rows[:limit]]


def bulk_action_list(*, organization: Organization, limit: int = 20) -> list[BulkAction]:
    """The organization's latest bulk actions, with who asked."""
    rows = BulkAction.objects.filter(organization=organization).select_related("requested_by")
    return list(rows.order_by("-queued_at", "-id")[:limit])


def saved_view_list(*, organization: Organization, user: object) -> list[SavedView]:
    """The user's own views and the organization's shared ones."""
    return list(
        SavedView.objects.filter(organization=organization)
        .filter(Q(owner=user) | Q(shared=True))
        .select_related("owner")
        .order_by("name")
    )


def power_schedule_list(*, organization: Organization) -> list[PowerSchedule]:
    """The organization's schedules, each with its latest occurrence's time and kind
    (`last_due`, `last_kind`), in one query."""
    latest = ScheduleOccurrence.objects.filter(schedule=OuterRef("pk")).order_by("-due_at", "-id")
    return list(
        PowerSchedule.objects.filter(organization=organization)
        .select_related("saved_view")
        .annotate(
            last_due=Subquery(latest.values("due_at")[:1]),
            last_kind=Subquery(latest.values("kind")[:1]),
        )
        .order_by("name", "id")
    )


def schedule_occurrence_list(
    *, schedule: PowerSchedule, limit: int = 10
) -> list[ScheduleOccurrence]:
    """The schedule's latest occurrences, newest first, with what each did to each VM (two
    queries)."""
    targets = ScheduleTarget.objects.select_related("resource", "action_run").order_by("id")
    return list(
        schedule.occurrences.order_by("-due_at", "-id").prefetch_related(
            Prefetch("targets", queryset=targets)
        )[:limit]
    )
