"""What a power schedule would act on and what it would save: the VMs its selector matches now,
its next runs, and the monthly saving estimated from the VMs' hourly costs. Reads only; the
form page shows this before anything is saved, and the scheduler acts on the same matches."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from django.db.models import QuerySet
from django.http import QueryDict

from accounts.models import Organization
from inventory.filters import ResourceFilterForm, ResourceFilters, apply_filters
from inventory.managed import managed_by
from inventory.models import SKIP_TAG, SKIP_VALUE, Resource, ResourceType, SavedView
from inventory.pricing import HOURS_PER_MONTH
from inventory.schedule_times import (
    WEEKS_PER_MONTH,
    Occurrence,
    next_occurrences,
    off_hours_per_week,
    zone_get,
)
from inventory.selectors import account_choices, excluded_members, region_choices

PREVIEW_ROWS = 50  # the VMs a preview lists (the counts and the saving cover them all)


def tag_filters(tag: str) -> ResourceFilters:
    key, _, value = tag.strip().partition("=")
    return ResourceFilters(tag_key=key.strip(), tag_value=value.strip() if "=" in tag else None)


def schedule_vms(
    *, organization: Organization, saved_view: SavedView | None, tag_filter: str
) -> QuerySet[Resource]:
    """The live VMs of `organization` that the selector (a tag filter, else a saved view)
    matches, whatever their status; none without a selector. A saved view's filters are read
    as the list reads them (an invalid value is left out), its "deleted" filter ignored."""
    rows = (
        Resource.objects.filter(organization=organization, type=ResourceType.VM)
        .exclude(account_id__in=excluded_members(organization))
        .select_related("account")
    )
    if tag_filter.strip():
        filters = tag_filters(tag_filter)
    elif saved_view is not None:
        form = ResourceFilterForm(
            QueryDict(saved_view.query),
            accounts=account_choices(organization=organization),
            regions=region_choices(organization=organization),
            organization=organization,
        )
        filters = replace(form.filters(), include_deleted=False)
    else:
        return rows.none()
    return apply_filters(rows, filters, organization=organization)


def is_skipped(resource: Resource) -> bool:
    """Tagged mcloud-schedule=skip: no schedule stops or starts it."""
    return str(resource.tags.get(SKIP_TAG, "")).strip().lower() == SKIP_VALUE


def hourly_cost(resource: Resource) -> float | None:
    """The VM's list price per hour in USD, from the price catalog's estimate the sync stored
    (`Resource.monthly_estimate`, a 730-hour month), or None when the catalog does not price
    its type. The one place a schedule's saving reads a price from."""
    if resource.monthly_estimate is None:
        return None
    return float(resource.monthly_estimate / HOURS_PER_MONTH)


@dataclass(frozen=True)
class PreviewRow:
    resource: Resource
    hourly: float | None
    note: str  # why a schedule leaves it alone, "" when it acts on it


@dataclass(frozen=True)
class Preview:
    runs: list[Occurrence]
    rows: list[PreviewRow]  # the first PREVIEW_ROWS
    matched: int
    acted_on: int  # matched, minus skipped and managed VMs
    running: int  # of those, running now: what the next stop stops
    unpriced: int  # acted-on VMs without a price
    off_hours_per_week: float
    monthly_saving: float  # USD

    @property
    def more(self) -> int:
        return self.matched - len(self.rows)


def schedule_preview(
    *,
    organization: Organization,
    week: list[dict[str, str]],
    time_zone: str,
    saved_view: SavedView | None,
    tag_filter: str,
    now: datetime,
) -> Preview:
    """The next 5 runs, the matching VMs now, and the saving: each acted-on VM's hourly cost
    times its off-hours in an average month."""
    zone = zone_get(time_zone)
    runs = next_occurrences(week, zone, after=now, count=5) if zone is not None else []
    vms = list(
        schedule_vms(organization=organization, saved_view=saved_view, tag_filter=tag_filter)
    )
    owners = managed_by(organization_id=organization.pk, resource_ids=[v.resource_id for v in vms])
    off_hours = off_hours_per_week(week)
    rows: list[PreviewRow] = []
    acted_on, running, unpriced, hourly_total = 0, 0, 0, 0.0
    for vm in vms:
        note = ""
        if is_skipped(vm):
            note = f"tagged {SKIP_TAG}={SKIP_VALUE}: left alone"
        elif deployments := owners.get(vm.resource_id.lower()):
            note = f"managed by the deployment {deployments[0].name}: left alone"
        hourly = hourly_cost(vm)
        if not note:
            acted_on += 1
            running += vm.status == "running"
            if hourly is None:
                unpriced += 1
            else:
                hourly_total += hourly
        if len(rows) < PREVIEW_ROWS:
            rows.append(PreviewRow(vm, hourly, note))
    return Preview(
        runs=runs, rows=rows, matched=len(vms), acted_on=acted_on, running=running,
        unpriced=unpriced, off_hours_per_week=off_hours,
        monthly_saving=round(hourly_total * off_hours * WEEKS_PER_MONTH, 2),
    )  # fmt: skip
