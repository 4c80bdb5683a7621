"""The waste rules: each a small function over an organization's live resources, giving the
resources that cost money for nothing and the monthly saving of removing them.

- Unattached disks (`inventory.attachments.unattached`): size x the disk price.
- Unassociated public IPs (the same definition): the hourly price of a kept address.
- Snapshots older than SNAPSHOT_DAYS whose source disk is gone (no live resource holds the
  id the snapshot names): size x the snapshot price.
- VMs stopped for more than STOPPED_DAYS (since the provider says they stopped, where it
  says so, else since the last sync that saw them stop, or since they were first seen
  stopped): their disks' cost, which a stopped VM keeps paying.
- Load balancers with nothing to balance (no live VM, VM group, function or cluster behind
  them, and no target the provider counts): the balancer's own price.

Every figure is an estimate. Prices come from the price catalog (`inventory.estimates`: list
prices in USD, by the resource's class and region, read once per rule); a resource the
catalog does not price saves 0. Where a resource has billed cost this month, its month is
projected from that instead. The
fingerprint of a finding is what it rests on (size, state, attachment), never a timestamp,
so a dismissed finding reappears only when one of those changes.
"""

from __future__ import annotations

import calendar
import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import DateTimeField, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce, Lower
from django.utils import timezone

from accounts.models import Organization
from billing.models import CostResourceMonth, Finding
from inventory.attachments import resources_by_key, unattached
from inventory.estimates import resource_estimates
from inventory.models import Resource, ResourceEvent, ResourceLink, ResourceType

SNAPSHOT_DAYS = 90
STOPPED_DAYS = 7
USD = "USD"
FIELDS = (
    "id",
    "organization_id",
    "account_id",
    "provider",
    "resource_id",
    "name",
    "type",
    "region",
    "status",
    "metadata",
    "created_at",
    "first_seen",
)


@dataclass
class Found:
    """One finding as a rule makes it, before it is stored."""

    resource: Resource
    rule: str
    saving: Decimal
    currency: str
    basis: str
    details: dict[str, Any] = field(default_factory=dict)
    rests_on: dict[str, Any] = field(default_factory=dict)

    @property
    def fingerprint(self) -> str:
        text = json.dumps([self.rule, self.rests_on], sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class Context:
    """What every rule reads: the organization, now, and this month's billed cost of each
    resource that has one ({(account id, lower-case id): (projected month, currency)})."""

    organization: Organization
    now: datetime
    billed: dict[tuple[int, str], tuple[Decimal, str]]


def billed_this_month(*, organization: Organization, today: date) -> dict:
    """{(account id, lower-case resource id): (this month projected from its days so far,
    currency)}, in one query; a resource billed in two currencies keeps the larger."""
    days = calendar.monthrange(today.year, today.month)[1]
    rows = (
        CostResourceMonth.objects.filter(organization=organization, month=today.replace(day=1))
        .values("account_id", "resource_id", "currency")
        .annotate(total=Sum("amount"))
        .order_by("total")
    )
    billed: dict[tuple[int, str], tuple[Decimal, str]] = {}
    for row in rows:
        month = row["total"] * days / today.day
        billed[(row["account_id"], row["resource_id"].lower())] = (month, row["currency"])
    return billed


def size_gb(resource: Resource) -> Decimal:
    try:
        return Decimal(str(resource.metadata.get("size_gb") or 0))
    except ArithmeticError:
        return Decimal(0)


def monthly(ctx: Context, resource: Resource, estimate: Decimal) -> tuple[Decimal, str, str]:
    """(saving, currency, basis): the billed month where there is one, else `estimate`."""
    billed = ctx.billed.get((resource.account_id, resource.resource_id.lower()))
    if billed and billed[0] > 0:
        return billed[0], billed[1], Finding.Basis.BILLED
    return estimate, USD, Finding.Basis.ESTIMATE


def list_prices(resources: list[Resource]) -> dict[int, Decimal]:
    """{pk: a month of the resource at list price}, 0 where the catalog has no price for it,
    in one read of the catalog."""
    return {pk: usd or Decimal(0) for pk, usd in resource_estimates(resources).items()}


def live(ctx: Context) -> Any:
    return Resource.objects.filter(organization=ctx.organization, deleted_at__isnull=True)


def unattached_disks(ctx: Context) -> list[Found]:
    disks = list(unattached(live(ctx).filter(type=ResourceType.DISK)).only(*FIELDS))
    estimates = list_prices(disks)
    found = []
    for disk in disks:
        size = size_gb(disk)
        saving, currency, basis = monthly(ctx, disk, estimates[disk.pk])
        found.append(
            Found(
                disk,
                Finding.Rule.UNATTACHED_DISK,
                saving,
                currency,
                basis,
                {"size_gb": str(size)},
                {"size": str(size), "status": disk.status, "attached": False},
            )
        )
    return found


def unused_ips(ctx: Context) -> list[Found]:
    ips = list(unattached(live(ctx).filter(type=ResourceType.IP_ADDRESS)).only(*FIELDS))
    estimates = list_prices(ips)
    found = []
    for ip in ips:
        saving, currency, basis = monthly(ctx, ip, estimates[ip.pk])
        found.append(
            Found(
                ip,
                Finding.Rule.UNUSED_IP,
                saving,
                currency,
                basis,
                {},
                {"status": ip.status, "attached": False},
            )
        )
    return found


def orphan_snapshots(ctx: Context, days: int = SNAPSHOT_DAYS) -> list[Found]:
    """Snapshots created more than `days` ago none of whose linked sources is a live
    resource (a snapshot that names no source is left alone: it may be an image's)."""
    old = list(
        live(ctx)
        .filter(type=ResourceType.SNAPSHOT, created_at__lt=ctx.now - timedelta(days=days))
        .only(*FIELDS)
    )
    sources: dict[int, list[str]] = {}
    for resource_pk, key in ResourceLink.objects.filter(resource__in=old).values_list(
        "resource_id", "target_key"
    ):
        sources.setdefault(resource_pk, []).append(key)
    holders = resources_by_key(
        organization_id=ctx.organization.pk, keys={k for ks in sources.values() for k in ks}
    )
    orphans = [
        snap
        for snap in old
        if (keys := sources.get(snap.pk))
        and not any(k in holders and holders[k].deleted_at is None for k in keys)
    ]
    estimates = list_prices(orphans)
    found = []
    for snap in orphans:
        keys = sources[snap.pk]
        size = size_gb(snap)
        saving, currency, basis = monthly(ctx, snap, estimates[snap.pk])
        found.append(
            Found(
                snap,
                Finding.Rule.ORPHAN_SNAPSHOT,
                saving,
                currency,
                basis,
                {"size_gb": str(size), "source": sorted(keys)},
                {
                    "size": str(size),
                    "status": snap.status,
                    "source": sorted(keys),
                    "source_live": False,
                },
            )
        )
    return found


def stopped_vms(ctx: Context, days: int = STOPPED_DAYS) -> list[Found]:
    """VMs stopped since before `days` ago, with their disks' cost. A VM stopped when the
    provider says (`metadata.stopped_at`, where it gives one: AWS and GCP do); else at the
    last status event that stopped it, else at its first sighting (stopped from the start).
    The provider's time is read here over the stopped VMs already fetched: one query."""
    stopped_event = (
        ResourceEvent.objects.filter(
            resource=OuterRef("pk"), kind=ResourceEvent.Kind.STATUS, new_status="stopped"
        )
        .order_by("-occurred_at")
        .values("occurred_at")[:1]
    )
    stopped = list(
        live(ctx)
        .filter(type=ResourceType.VM, status="stopped")
        .annotate(
            seen_stopped=Coalesce(
                Subquery(stopped_event), "first_seen", output_field=DateTimeField()
            )
        )
        .only(*FIELDS)
    )
    cutoff = ctx.now - timedelta(days=days)
    since = {vm.pk: stopped_since(vm, ctx.now, vm.seen_stopped) for vm in stopped}
    vms = [vm for vm in stopped if since[vm.pk] < cutoff]
    disks = vm_disks(ctx, vms)
    estimates = list_prices([d for held in disks.values() for d in held])
    found = []
    for vm in vms:
        parts = [monthly(ctx, d, estimates[d.pk]) for d in disks.get(vm.pk, [])]
        currencies = {currency for _, currency, _ in parts}
        if len(currencies) > 1:  # never summed across currencies: the list prices then
            parts = [(estimates[d.pk], USD, Finding.Basis.ESTIMATE) for d in disks[vm.pk]]
        billed = any(basis == Finding.Basis.BILLED for _, _, basis in parts)
        listing = sorted((d.resource_id, str(size_gb(d))) for d in disks.get(vm.pk, []))
        found.append(
            Found(
                vm,
                Finding.Rule.STOPPED_VM,
                sum((p[0] for p in parts), Decimal(0)),
                parts[0][1] if parts else USD,
                Finding.Basis.BILLED if billed else Finding.Basis.ESTIMATE,
                {
                    "disks": [{"id": rid, "size_gb": gb} for rid, gb in listing],
                    "stopped_since": since[vm.pk].isoformat(),
                },
                {"status": vm.status, "disks": listing},
            )
        )
    return found


# What a load balancer can send traffic to: a balancer with none of these behind it is idle.
SERVING = (ResourceType.VM, ResourceType.VM_GROUP, ResourceType.FUNCTION, ResourceType.KUBERNETES)


def idle_load_balancers(ctx: Context) -> list[Found]:
    """Load balancers with no live VM, VM group, function or cluster behind them (their
    attachments), and no target the provider counts (`metadata.targets`, where it gives one:
    AWS registers IP targets the inventory does not hold), in three queries."""
    balancers = list(live(ctx).filter(type=ResourceType.LOAD_BALANCER).only(*FIELDS))
    behind: dict[int, set[str]] = {}
    for pk, key in ResourceLink.objects.filter(resource__in=balancers).values_list(
        "resource_id", "target_key"
    ):
        behind.setdefault(pk, set()).add(key)
    serving = set(
        live(ctx)
        .filter(type__in=SERVING)
        .annotate(key=Lower("resource_id"))
        .filter(key__in=sorted(set().union(*behind.values())))
        .values_list("key", flat=True)
    ) if behind else set()  # fmt: skip
    idle = [
        lb
        for lb in balancers
        if not (behind.get(lb.pk, set()) & serving) and not _counted_targets(lb)
    ]
    estimates = list_prices(idle)
    found = []
    for lb in idle:
        saving, currency, basis = monthly(ctx, lb, estimates[lb.pk])
        found.append(
            Found(
                lb, Finding.Rule.IDLE_LOAD_BALANCER, saving, currency, basis, {},
                {"status": lb.status, "serving": False},
            )
        )  # fmt: skip
    return found


def _counted_targets(lb: Resource) -> int:
    try:
        return int(lb.metadata.get("targets") or 0)
    except (TypeError, ValueError):
        return 0


def stopped_since(vm: Resource, now: datetime, seen: datetime) -> datetime:
    """The provider's stop time of `vm` when it gives a readable one no later than `now`
    (a time to come is no evidence), else `seen`: when our syncs saw it stopped."""
    value = vm.metadata.get("stopped_at") if isinstance(vm.metadata, dict) else None
    try:
        when = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return seen
    if when is None or when.tzinfo is None or when > now:
        return seen
    return when


def vm_disks(ctx: Context, vms: list[Resource]) -> dict[int, list[Resource]]:
    """{VM pk: its live disks}, linked either way, in three queries."""
    if not vms:
        return {}
    by_key = {vm.resource_id.lower(): vm for vm in vms}
    pairs: set[tuple[int, str]] = set()  # (VM pk, lower-case disk id)
    for vm_pk, key in ResourceLink.objects.filter(resource__in=vms).values_list(
        "resource_id", "target_key"
    ):
        pairs.add((vm_pk, key))
    named = ResourceLink.objects.filter(
        organization=ctx.organization, target_key__in=list(by_key), resource__type=ResourceType.DISK
    ).values_list("target_key", "resource__resource_id")
    for vm_key, disk_id in named:
        pairs.add((by_key[vm_key].pk, disk_id.lower()))
    holders = {
        disk.resource_id.lower(): disk
        for disk in live(ctx)
        .filter(type=ResourceType.DISK)
        .alias(key=Lower("resource_id"))
        .filter(key__in=sorted({k for _, k in pairs}))
        .only(*FIELDS)
    }
    disks: dict[int, list[Resource]] = {}
    for vm_pk, key in sorted(pairs):
        if key in holders:
            disks.setdefault(vm_pk, []).append(holders[key])
    return disks


RULES: dict[str, Callable[[Context], list[Found]]] = {
    Finding.Rule.UNATTACHED_DISK: unattached_disks,
    Finding.Rule.UNUSED_IP: unused_ips,
    Finding.Rule.ORPHAN_SNAPSHOT: orphan_snapshots,
    Finding.Rule.STOPPED_VM: stopped_vms,
    Finding.Rule.IDLE_LOAD_BALANCER: idle_load_balancers,
}


def findings(
    *, organization: Organization, now: datetime | None = None, rules: Iterable[str] = RULES
) -> list[Found]:
    """What every rule finds in the organization's live resources now."""
    now = now or timezone.now()
    ctx = Context(
        organization,
        now,
        billed_this_month(organization=organization, today=timezone.localdate(now)),
    )
    return [found for rule in rules for found in RULES[rule](ctx)]
