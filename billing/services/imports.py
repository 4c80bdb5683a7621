"""Importing an account's costs: back-fill on the first import, then re-fetch recent days.

Providers restate recent days, so an import replaces every row of the days it fetched, in
one transaction with the rollups: a failed import changes nothing.

The costs by allocation tag (the organization's keys, `BillingSettings.allocation_keys`) come
from the provider's own grouping of its bill by each key, fetched in the same import and
replaced the same way; a key with no stored day yet (just chosen) is back-filled.

An organization's consolidated bill (a connection that discovers its members) is split among
its member accounts as it is written: each member's rows are its own, those of accounts not
discovered or excluded stay on the connection, named (`billing.services.member_costs`).

Each resource's daily costs and the inventory's "cost / month" figures are written in the
same transaction (`billing.services.resource_costs`). An AWS account that names its CUR 2.0
data export gets the days before Cost Explorer's 14 per resource from it, whole billing
periods replaced in the same transaction (`billing.services.cost_exports`); an export that
cannot be read fails the import. A provider's resource-level query that
fails (AWS's resource-level data not enabled) fails nothing else: the import keeps the
resources' stored days and says why in its audit entry.

One import per account at a time: an import holds the account's cost import lease
(`mcloud.leases`; its own, not the sync's, so a sync and an import of one account run side by
side). Each import first recovers the account's dead imports (failed and audited); a worker
killed half-way is noticed within LEASE_SECONDS.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import date, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from accounts.audit import audit_record
from billing.models import (
    BillingSettings,
    CostDaily,
    CostData,
    CostImportLease,
    CostResourceMonth,
    CostTagDaily,
    ImportRun,
)
from billing.services.anomalies import anomalies_detect
from billing.services.budgets import budgets_evaluate
from billing.services.cost_exports import SOURCE, ExportRead, export_costs_read
from billing.services.member_costs import CostOwners, cost_owners, member_costs_follow
from billing.services.resource_costs import resource_costs_replace, resource_figures_refresh
from billing.services.waste import findings_refresh
from billing.tasks import IMPORT_ACCOUNT_COSTS
from inventory.account_adapters import adapter_for
from inventory.models import CloudAccount
from mcloud.bulk_insert import instances_insert, rows_insert
from mcloud.clouds.base import CloudError, CostRecord, ResourceCosts, TagCostRecord
from mcloud.leases import (
    Lease,
    LeaseLost,
    RunKind,
    lease_acquire,
    lease_is_live,
    lease_kept,
    lease_renew,
    runs_recover,
)

logger = logging.getLogger(__name__)
# What the import writes of each row (in bulk: mcloud.bulk_insert).
COST_FIELDS = ("organization", "account", "member_id", "provider", "date", "billing_period",
               "service", "region", "resource_id", "amount", "currency", "metadata")  # fmt: skip
TAG_FIELDS = ("organization", "account", "member_id", "provider", "date", "key", "value",
              "currency", "amount")  # fmt: skip
IMPORT_ABANDONED = "Abandoned: the worker running this cost import stopped before it finished."
BUSY = "A cost import of this account is running."


def _audit_abandoned(run: ImportRun, reason: str) -> None:
    account = CloudAccount.objects.select_related("organization").get(pk=run.account_id)
    audit_record(
        organization=account.organization, action="costs.import_failed", target=account,
        actor_label="cost import recovery",
        data={"run": run.pk, "error": reason, "recovered": True},
    )  # fmt: skip


IMPORT_RUNS = RunKind(
    name="cost import",
    runs=ImportRun,
    owner="account",
    lease_model=CostImportLease,
    lease_path="account__cost_import_lease",
    running=ImportRun.State.RUNNING,
    failed=ImportRun.State.FAILED,
    abandoned=IMPORT_ABANDONED,
    on_failed=_audit_abandoned,
)


def import_lease(account: CloudAccount) -> Lease:
    CostImportLease.objects.get_or_create(account_id=account.pk)
    return Lease(CostImportLease, account.pk)


def import_window(account: CloudAccount, today: date) -> tuple[date, date]:
    """[start, end): the last BILLING_BACKFILL_DAYS at first, then BILLING_RESTATE_DAYS, or
    more after a gap.

    Each import treats a day as final once it has been fetched at an age of RESTATE - 1 days.
    When imports stopped for a while (failures, a paused account), the window reaches back
    to the first day the last successful import left open, so that no day is skipped; never
    further than the back-fill.
    """
    end = today + timedelta(days=1)  # today's partial costs too
    backfill_start = end - timedelta(days=settings.BILLING_BACKFILL_DAYS)
    restate = timedelta(days=settings.BILLING_RESTATE_DAYS)
    last_end = (
        ImportRun.objects.filter(account=account, status=ImportRun.State.SUCCEEDED)
        .order_by("-end")
        .values_list("end", flat=True)
        .first()
    )
    if last_end is None:  # costs written without a run (older data): after their last day
        last_day = CostData.objects.filter(account=account).aggregate(last=Max("date"))["last"]
        last_end = last_day + timedelta(days=1) if last_day else None
    if last_end is None:
        return backfill_start, end
    start = min(end - restate, last_end - restate + timedelta(days=1))
    return max(start, backfill_start), end


def cost_import_queue(*, account: CloudAccount) -> ImportRun | None:
    """Hand an import of the account's costs to a worker (at commit) and return None; or,
    when an import of the account is running (dead ones are recovered first), return it and
    queue nothing."""
    runs_recover(IMPORT_RUNS, owner_id=account.pk)
    running = (
        ImportRun.objects.filter(account=account, status=ImportRun.State.RUNNING)
        .select_related("account__cost_import_lease")
        .first()
    )
    if running is not None:
        lease = running.account.cost_import_lease
        if lease_is_live(lease.lease_until, lease.lease_token, running.lease_token):
            return running
    IMPORT_ACCOUNT_COSTS.enqueue(account.pk)
    return None


def cost_import(*, account: CloudAccount, today: date | None = None) -> ImportRun | None:
    """Fetch the account's costs of the window and replace the stored days with them, now, in
    this process. Returns None when another import of the account holds its lease (BUSY).
    A successful import evaluates the organization's budgets and checks the account for
    anomalies: the costs changed."""
    lease = import_lease(account)
    runs_recover(IMPORT_RUNS, owner_id=account.pk)
    today = today or timezone.localdate()
    with transaction.atomic():  # the lease and the run show together
        token = lease_acquire(lease)
        if token is None:
            return None
        start, end = import_window(account, today)
        run = ImportRun.objects.create(
            organization_id=account.organization_id, account=account, start=start, end=end,
            lease_token=token,
        )  # fmt: skip
    keys = allocation_keys(account.organization_id)
    tag_start = tag_window_start(account, keys, start, end)
    with lease_kept(lease, token) as keeper:  # renewed while the provider answers
        try:
            adapter = adapter_for(account)
            records = adapter.costs(start, end)
            keeper.check()
            resource_start, resource_records, note = _resource_records(adapter, start, end)
            keeper.check()
            tag_records = adapter.tag_costs(tag_start, end, keys) if keys else []
            keeper.check()
            exported = export_costs_read(
                account=account, adapter=adapter, start=start, end=end, keys=keys,
                refill=tag_start < start, check=keeper.check,
            )  # fmt: skip
            run.note = "; ".join(n for n in (note, exported.note) if n)[:500]
            with transaction.atomic():
                lease_renew(lease, token)  # never write for an import that was recovered
                owners = cost_owners(connection=account)
                member_costs_follow(owners=owners)
                run.rows = cost_records_replace(
                    account=account, start=start, end=end, records=records, owners=owners
                )
                if resource_start is not None:
                    resource_costs_replace(
                        account=account, start=resource_start, end=end, records=resource_records
                    )
                tag_costs_replace(
                    account=account, start=tag_start, end=end, keys=keys, records=tag_records,
                    owners=owners,
                )  # fmt: skip
                run.rows += export_costs_replace(account=account, read=exported, keys=keys)
                resource_figures_refresh(account=account, today=today)
        except LeaseLost:
            return _import_finish(run, ImportRun.State.FAILED, "Stopped: its lease was lost.")
        except CloudError as error:
            return _import_finish(run, ImportRun.State.FAILED, error.message)
        except Exception as error:
            logger.exception("Cost import %s of account %s failed", run.pk, account.pk)
            return _import_finish(
                run, ImportRun.State.FAILED, f"Unexpected error ({error.__class__.__name__})"
            )
        finished = _import_finish(run, ImportRun.State.SUCCEEDED, "")
    budgets_evaluate(organization=account.organization, today=today)
    for owner in _cost_holders(account, start):
        anomalies_detect(account=owner, today=today)
    if finished.status == ImportRun.State.SUCCEEDED:  # savings rest on billed costs
        findings_refresh(organization=account.organization)
    return finished


def _cost_holders(account: CloudAccount, start: date) -> list[CloudAccount]:
    """The account, and its members that hold costs from `start` on: whose anomalies an
    import of the account may have changed."""
    members = CloudAccount.objects.filter(
        parent=account,
        pk__in=CostDaily.objects.filter(account__parent=account, date__gte=start).values(
            "account_id"
        ),
    ).select_related("organization")
    return [account, *members]


def _resource_records(
    adapter: object, start: date, end: date
) -> tuple[date | None, list[CostRecord] | None, str]:
    """Where the resources' daily costs are replaced from, and with what: the adapter's
    resource-level records from as far back as the provider keeps them, or None to take them
    from the imported rows. When the provider's resource-level query fails, nothing is
    replaced (None start) and the third item says why."""
    if not isinstance(adapter, ResourceCosts):
        return start, None, ""
    resource_start = max(start, end - timedelta(days=adapter.resource_cost_days))
    try:
        return resource_start, adapter.resource_costs(resource_start, end), ""
    except CloudError as error:
        logger.info("No costs per resource: %s", error.message)
        return None, None, f"No costs per resource: {error.message}"


def cost_records_replace(
    *,
    account: CloudAccount,
    start: date,
    end: date,
    records: list[CostRecord],
    owners: CostOwners | None = None,
) -> int:
    """Make the stored costs of [start, end) of the account and its members exactly
    `records`, each on the account it is of (`member_costs`), rollups included. Call it in a
    transaction."""
    owners = owners or cost_owners(connection=account)
    family = owners.family
    CostData.objects.filter(account_id__in=family, date__gte=start, date__lt=end).delete()
    rows: dict[tuple, CostData] = {}
    for r in records:
        if not start <= r.date < end:
            continue  # a provider answering more than asked: keep to the window
        owner, member_id = owners.owner(r.member_id[:64])
        # Resource ids compare without case in every cloud, and Azure's costs send them in
        # lower case: store them so, and match inventory resources on LOWER(resource_id).
        key = (owner.pk, member_id, r.date, r.service[:200], r.region[:64],
               r.resource_id[:500].lower(), r.currency)  # fmt: skip
        if key in rows:  # the same line twice (e.g. credits apart): one row, summed
            rows[key].amount += r.amount
            continue
        rows[key] = CostData(
            organization_id=account.organization_id,
            account=owner,
            member_id=member_id,
            provider=account.provider,
            date=r.date,
            billing_period=f"{r.date:%Y-%m}",
            service=key[3],
            region=key[4],
            resource_id=key[5],
            amount=r.amount,
            currency=r.currency,
            metadata=r.metadata,
        )
    instances_insert(CostData, COST_FIELDS, rows.values())
    _rollup(account, family, start, end)
    return len(rows)


def export_costs_replace(*, account: CloudAccount, read: ExportRead, keys: list[str]) -> int:
    """Make the stored days of each billing period read from the account's export exactly
    the export's: the bill (and its rollups, each row marked as the export's), the
    resources' daily costs and the tag costs. Call it in the import's transaction, after
    Cost Explorer's rows are written. Returns the rows of the bill written."""
    rows = 0
    marker = {"source": SOURCE, "export": read.location}
    for period in read.periods:
        if period.start >= period.end:
            continue
        for record in period.costs:
            record.metadata = marker
        rows += cost_records_replace(
            account=account, start=period.start, end=period.end, records=period.costs
        )
        resource_costs_replace(
            account=account, start=period.start, end=period.end, records=period.resource_costs
        )
        tag_costs_replace(
            account=account, start=period.start, end=period.end, keys=keys,
            records=period.tag_costs,
        )  # fmt: skip
    return rows


def allocation_keys(organization_id: int) -> list[str]:
    """The organization's allocation tag keys (none until an admin picks them)."""
    stored = BillingSettings.objects.filter(organization_id=organization_id).values_list(
        "allocation_keys", flat=True
    )
    return list(stored.first() or [])


def tag_window_start(account: CloudAccount, keys: list[str], start: date, end: date) -> date:
    """Where the fetch of costs by tag starts: the import's own start, or the back-fill's
    when a key has no stored day in the account (or its members) yet (it was just chosen)."""
    if not keys:
        return start
    stored = set(
        CostTagDaily.objects.filter(Q(account=account) | Q(account__parent=account))
        .filter(key__in=keys)
        .values_list("key", flat=True)
        .distinct()
    )
    if set(keys) <= stored:
        return start
    return min(start, end - timedelta(days=settings.BILLING_BACKFILL_DAYS))


def tag_costs_replace(
    *,
    account: CloudAccount,
    start: date,
    end: date,
    keys: list[str],
    records: list[TagCostRecord],
    owners: CostOwners | None = None,
) -> int:
    """Make the stored costs by tag of [start, end) of the account and its members exactly
    `records` (lines of one day, key, value and currency summed: several subscriptions or
    projects; each on the account it is of, as `cost_records_replace`), and forget the keys
    the organization no longer allocates by (chosen again, they are back-filled whole). Call
    it in a transaction."""
    owners = owners or cost_owners(connection=account)
    family = CostTagDaily.objects.filter(account_id__in=owners.family)
    family.exclude(key__in=keys).delete()
    family.filter(date__gte=start, date__lt=end).delete()
    rows: dict[tuple, CostTagDaily] = {}
    for r in records:
        if not start <= r.date < end or r.key not in keys:
            continue
        owner, member_id = owners.owner(r.member_id[:64])
        key = (owner.pk, member_id, r.date, r.key, r.value[:256], r.currency)
        if key in rows:
            rows[key].amount += r.amount
            continue
        rows[key] = CostTagDaily(
            organization_id=account.organization_id,
            account=owner,
            member_id=member_id,
            provider=account.provider,
            date=r.date,
            key=r.key,
            value=key[4],
            currency=r.currency,
            amount=r.amount,
        )
    return instances_insert(CostTagDaily, TAG_FIELDS, rows.values())


def _rollup(account: CloudAccount, family: list[int], start: date, end: date) -> None:
    """Rewrite the daily and per-resource monthly rollups the window touches, of the accounts
    of `family` (the account and its members)."""
    CostDaily.objects.filter(account_id__in=family, date__gte=start, date__lt=end).delete()
    daily = (
        CostData.objects.filter(account_id__in=family, date__gte=start, date__lt=end)
        .values("account_id", "member_id", "date", "service", "region", "currency")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    _insert_totals(CostDaily, account, daily)
    # Whole months, because a month's total needs every day of it.
    first = start.replace(day=1)
    last = (end - timedelta(days=1)).replace(day=1)
    CostResourceMonth.objects.filter(
        account_id__in=family, month__gte=first, month__lte=last
    ).delete()
    monthly = (
        CostData.objects.filter(account_id__in=family, date__gte=first, date__lt=_next_month(last))
        .exclude(resource_id="")
        .annotate(month=TruncMonth("date"))
        .values("account_id", "month", "resource_id", "service", "region", "currency")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    _insert_totals(CostResourceMonth, account, monthly)


def _insert_totals(
    model: type[CostDaily | CostResourceMonth], account: CloudAccount, rows: Iterable[Mapping]
) -> None:
    """Insert grouped rows (their `total` as the amount, each of its `account_id`) as rollup
    rows of `account`'s organization and provider."""
    grouped = list(rows)
    if not grouped:
        return
    keys = [k for k in grouped[0] if k != "total"]
    rows_insert(
        model,
        ("organization", "provider", "amount", *keys),
        ((account.organization_id, account.provider, row["total"], *(row[k] for k in keys))
         for row in grouped),
    )  # fmt: skip


def _next_month(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def _import_finish(run: ImportRun, state: str, error: str) -> ImportRun:
    run.status, run.error, run.finished_at = state, error[:500], timezone.now()
    run.save(update_fields=["status", "error", "note", "finished_at", "rows"])
    audit_record(
        organization=run.account.organization,
        action="costs.imported" if state == ImportRun.State.SUCCEEDED else "costs.import_failed",
        target=run.account,
        actor_label="cost import",
        data={
            "run": run.pk,
            "start": run.start.isoformat(),
            "end": run.end.isoformat(),
            "rows": run.rows,
            "error": run.error,
            **({"note": run.note} if run.note else {}),
        },
    )
    return run
