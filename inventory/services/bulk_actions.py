"""Bulk actions: one action (start, stop, reboot) asked of many resources at once, from the
inventory's lists, the API and schedules, all through `start_bulk_action`.

- Asking checks the role once (a member or more; a schedule asks with no user), plans every
  resource with the single action's rules (`resource_action_refusal`: a live VM of an active
  account whose provider acts, not managed by a deployment, no guard refusing) and the
  inventory's status (starting a running VM is skipped, "already running"), and writes one
  `BulkAction` with a run per resource: `queued`, or `skipped` with the reason in words. A
  resource with an action already under way is skipped too, naming it. Nothing is sent from
  the request: one task (`BULK_ACTION_DISPATCH`) queues the runs' tasks, taking the
  providers in turn so that each provider's rate limit is used at once.
- Each run is an ordinary action run (`action_run_execute`): the resource's lease, the
  provider's shared rate limit (`inventory.rate_limit`), the adapter's own no-op check. A run
  that fails fails alone; the others go on. Its re-sync waits for the bulk action's end.
- When the last run is final, the bulk action settles once (a conditional UPDATE picks one
  caller): each scope that a run changed, or found gone, is listed and written again once,
  the runs get the resources' new status and each resource an `action` event, and the bulk
  action is finished (or cancelled) and audited.
- Cancelling marks the runs not yet started `cancelled` (a worker takes a run with a
  conditional UPDATE from `queued`, so each run is either taken or cancelled, never both);
  running ones finish.
- A run of a dead worker is failed by the runs' recovery, which settles its bulk action too;
  the recovery schedule also settles a bulk action whose settling was lost.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import chain, zip_longest

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, QuerySet
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import Membership, Organization, User
from inventory.managed import managed_by
from inventory.models import ActionRun, BulkAction, Resource, ResourceEvent
from inventory.services.actions import (
    ACTION_ROLE,
    ACTIVE,
    resource_action_refusal,
    resource_resync,
)
from inventory.tasks import BULK_ACTION_DISPATCH, BULK_ACTION_SETTLE, RESOURCE_ACTION
from mcloud.clouds.actions import action_precheck
from mcloud.clouds.base import VM_ACTIONS, CloudError
from mcloud.clouds.registry import provider_get
from mcloud.errors import ActionRefused

logger = logging.getLogger(__name__)
PLAN_FIELDS = ("id", "name", "resource_id", "type", "provider", "region", "scope", "status",
               "deleted_at", "organization_id", "account_id", "account__name",
               "account__enabled", "account__paused_at", "account__parent_id",
               "account__retired_at")  # fmt: skip
EXECUTED = (ActionRun.State.SUCCEEDED, ActionRun.State.NOOP, ActionRun.State.FAILED)
CANCELLED_WORD = "Cancelled before it started."


@dataclass
class AccountShare:
    name: str
    provider: str
    count: int = 0


@dataclass
class BulkPlan:
    """What a bulk action would do: each resource with why it would be skipped ("" when it
    would be acted on), and the figures the confirmation states."""

    action: str
    rows: list[tuple[Resource, str]]
    accounts: list[AccountShare] = field(default_factory=list)
    providers: list[tuple[str, int]] = field(default_factory=list)  # (label, count)
    skips: list[tuple[str, int]] = field(default_factory=list)  # (reason, count)

    @property
    def total(self) -> int:
        return len(self.rows)

    @property
    def to_act(self) -> int:
        return sum(1 for _, skip in self.rows if not skip)

    @property
    def skipped(self) -> int:
        return self.total - self.to_act


def _check_role(organization: Organization, user: User | None) -> None:
    if user is None:  # a schedule of the organization's, acting on its own
        return
    membership = Membership.objects.filter(organization=organization, user=user).first()
    if membership is None or not membership.role_enum.allows(ACTION_ROLE):
        raise PermissionDenied("Starting, stopping and rebooting need the Member role or higher.")


def _resources(
    organization: Organization, resources: QuerySet[Resource] | Iterable[int]
) -> list[Resource]:
    """The organization's resources among `resources` (a queryset, or ids), at most
    BULK_ACTION_MAX of them, in account and name order."""
    if isinstance(resources, QuerySet):
        rows = resources.filter(organization=organization)
    else:
        rows = Resource.objects.filter(organization=organization, pk__in=list(resources))
    rows = rows.select_related("account").only(*PLAN_FIELDS).order_by("account__name", "name", "id")
    found = list(rows[: settings.BULK_ACTION_MAX + 1])
    if len(found) > settings.BULK_ACTION_MAX:
        raise ActionRefused(
            f"A bulk action covers at most {settings.BULK_ACTION_MAX:,} resources: narrow the "
            "filter."
        )
    return found


def bulk_action_plan(
    *, organization: Organization, action: str, resources: QuerySet[Resource] | Iterable[int]
) -> BulkPlan:
    """Plan `action` on `resources` (read only): the confirmation page shows it, and
    `start_bulk_action` writes it. A few queries whatever the number of resources."""
    if action not in VM_ACTIONS:
        raise ActionRefused(f"Unknown action {action!r}: use start, stop or reboot.")
    rows = _resources(organization, resources)
    owners = managed_by(organization_id=organization.pk, resource_ids=[r.resource_id for r in rows])
    busy = dict(
        ActionRun.objects.filter(resource_id__in=[r.pk for r in rows], status__in=ACTIVE)
        .order_by("queued_at")
        .values_list("resource_id", "pk")
    )
    plan = BulkPlan(action=action, rows=[])
    accounts: dict[int, AccountShare] = {}
    providers: dict[str, int] = defaultdict(int)
    skips: dict[str, int] = defaultdict(int)
    for r in rows:
        skip = _skip_reason(r, action, owners.get(r.resource_id.lower(), []), busy.get(r.pk))
        plan.rows.append((r, skip))
        share = accounts.setdefault(r.account_id, AccountShare(r.account.name, r.provider))
        share.count += 1
        providers[provider_get(r.provider).label] += 1
        if skip:
            skips[skip] += 1
    plan.accounts = sorted(accounts.values(), key=lambda a: a.name)
    plan.providers = sorted(providers.items())
    plan.skips = sorted(skips.items(), key=lambda item: -item[1])
    return plan


def _skip_reason(r: Resource, action: str, managed: list, busy_run: int | None) -> str:
    if refusal := resource_action_refusal(resource=r, action=action, managed=managed):
        return refusal
    if busy_run is not None:
        return "Another action on it was under way."
    try:  # worded for no VM in particular, so that the same reasons are counted together
        noop = action_precheck(action, r.status, "the VM")
    except CloudError as error:
        return error.message
    return noop.message if noop is not None else ""


# --- asking ------------------------------------------------------------------------------
def start_bulk_action(
    *,
    organization: Organization,
    user: User | None,
    action: str,
    resources: QuerySet[Resource] | Iterable[int],
    source: str = BulkAction.Source.MANUAL,
    selection: str = "",
    ip: str | None = None,
) -> BulkAction:
    """Ask `action` of `resources` (the organization's: a queryset, or ids) for `user` (None:
    a schedule). Returns the bulk action, whose runs are queued once the transaction commits.

    PermissionDenied for a viewer or an outsider; ActionRefused for an unknown action, nothing
    to act on, or more than BULK_ACTION_MAX resources. See the module docstring."""
    _check_role(organization, user)
    plan = bulk_action_plan(organization=organization, action=action, resources=resources)
    if not plan.rows:
        raise ActionRefused("Nothing to act on: no resource matches.")
    now = timezone.now()
    with transaction.atomic():
        bulk = BulkAction.objects.create(
            organization=organization, action=action, source=source, requested_by=user,
            selection=selection[:300] or f"{plan.total} resources", total=plan.total,
            queued_at=now, started_at=now,
        )  # fmt: skip
        ActionRun.objects.bulk_create(
            [
                ActionRun(
                    organization=organization,
                    resource=r,
                    action=action,
                    bulk=bulk,
                    requested_by=user,
                    status_before=r.status,
                    queued_at=now,
                    status=ActionRun.State.SKIPPED if skip else ActionRun.State.QUEUED,
                    message=skip[:500],
                    finished_at=now if skip else None,
                )
                for r, skip in plan.rows
            ],
            batch_size=500,
        )
        audit_record(
            organization=organization, action="resource.bulk_action_requested", actor=user,
            actor_label=f"{bulk.get_source_display().lower()}", target=bulk, ip=ip,
            data={"bulk": bulk.pk, "action": action, "total": plan.total,
                  "to_act": plan.to_act, "accounts": [a.name for a in plan.accounts],
                  "source": source},
        )  # fmt: skip
        if plan.to_act:
            BULK_ACTION_DISPATCH.enqueue(bulk.pk)
        else:
            _settled(bulk)
    return bulk


def bulk_action_dispatch(*, bulk: BulkAction) -> int:
    """Queue the task of each of the bulk action's queued runs, the providers in turn (a
    task. The runs' own conditional start makes a second dispatch harmless)."""
    runs = bulk.runs.filter(status=ActionRun.State.QUEUED).order_by("id")
    by_provider: dict[str, list[int]] = defaultdict(list)
    for run_id, provider in runs.values_list("pk", "resource__provider"):
        by_provider[provider].append(run_id)
    turns = [run_id for run_id in chain(*zip_longest(*by_provider.values())) if run_id]
    for run_id in turns:
        RESOURCE_ACTION.enqueue(run_id)
    return len(turns)


# --- cancelling --------------------------------------------------------------------------
def bulk_action_cancel(*, bulk: BulkAction, user: User, ip: str | None = None) -> int:
    """Cancel the runs of `bulk` that have not started; running ones finish. Returns how
    many were cancelled. ActionRefused once the bulk action is over."""
    _check_role(bulk.organization, user)
    now = timezone.now()
    with transaction.atomic():
        if not BulkAction.objects.filter(
            pk=bulk.pk, status=BulkAction.State.RUNNING, cancelled_at__isnull=True
        ).update(cancelled_at=now, cancelled_by=user):
            raise ActionRefused("This bulk action is over or cancelled already.")
        cancelled = bulk.runs.filter(status=ActionRun.State.QUEUED).update(
            status=ActionRun.State.CANCELLED, message=CANCELLED_WORD, finished_at=now
        )
        audit_record(
            organization=bulk.organization, action="resource.bulk_action_cancelled",
            actor=user, target=bulk, ip=ip, data={"bulk": bulk.pk, "cancelled": cancelled},
        )  # fmt: skip
    bulk_action_settle_if_done(bulk_id=bulk.pk)
    bulk.refresh_from_db()
    return cancelled


# --- settling ----------------------------------------------------------------------------
def bulk_action_settle_if_done(*, bulk_id: int) -> bool:
    """Once no run of the bulk action is queued or running, queue its settling, once (the
    caller whose UPDATE moves it out of `running`). Call it after a run's end is committed."""
    if ActionRun.objects.filter(bulk_id=bulk_id, status__in=ACTIVE).exists():
        return False
    with transaction.atomic():
        moved = BulkAction.objects.filter(pk=bulk_id, status=BulkAction.State.RUNNING).update(
            status=BulkAction.State.SETTLING
        )
        if moved and not ActionRun.objects.filter(bulk_id=bulk_id, status__in=EXECUTED).exists():
            # Nothing ran (all skipped or cancelled): nothing to re-sync, settled at once.
            bulk_action_settle(
                bulk=BulkAction.objects.select_related("organization").get(pk=bulk_id)
            )
        elif moved:
            BULK_ACTION_SETTLE.enqueue(bulk_id)
    return bool(moved)


def bulk_action_settle(*, bulk: BulkAction) -> BulkAction:
    """Re-sync each scope the runs changed (or found a resource gone from) once, give the
    runs the resources' new status and the resources an `action` event, and finish."""
    runs = list(
        bulk.runs.filter(status__in=EXECUTED).select_related("resource__account__organization")
    )
    scopes: dict[tuple[int, str], list[ActionRun]] = defaultdict(list)
    for run in runs:
        if run.status == ActionRun.State.SUCCEEDED or run.code == "NotFound":
            scopes[run.resource.account_id, run.resource.scope].append(run)
    notes = []
    for (_, scope), changed in scopes.items():
        note = resource_resync(resource=changed[0].resource)
        if note:
            notes.append(f"{changed[0].resource.account.name} {scope}: {note}")
        for run in changed:
            run.resync_note = note[:300]
    statuses = dict(
        Resource.objects.filter(pk__in=[r.resource_id for r in runs]).values_list("pk", "status")
    )
    for run in runs:
        run.status_after = statuses.get(run.resource_id, run.status_before)
    ActionRun.objects.bulk_update(runs, ["status_after", "resync_note"], batch_size=500)
    ResourceEvent.objects.bulk_create(
        [
            ResourceEvent(
                organization_id=run.organization_id,
                account_id=run.resource.account_id,
                resource_id=run.resource_id,
                action_run=run,
                kind=ResourceEvent.Kind.ACTION,
                old_status=run.status_before,
                new_status=run.status_after,
                occurred_at=run.finished_at or timezone.now(),
            )
            for run in runs
        ],
        batch_size=500,
    )
    bulk.resync_notes = notes
    with transaction.atomic():
        _settled(bulk)
    return bulk


def _settled(bulk: BulkAction) -> None:
    """Finish `bulk` (cancelled when it was) and audit its figures."""
    cancelled = BulkAction.objects.filter(pk=bulk.pk, cancelled_at__isnull=False).exists()
    bulk.status = BulkAction.State.CANCELLED if cancelled else BulkAction.State.FINISHED
    bulk.finished_at = timezone.now()
    bulk.save(update_fields=["status", "finished_at", "resync_notes"])
    figures = bulk_action_figures(bulk=bulk)
    audit_record(
        organization=bulk.organization, action="resource.bulk_action_finished",
        actor=bulk.requested_by, actor_label="bulk action", target=bulk,
        data={"bulk": bulk.pk, "action": bulk.action, **figures.as_dict()},
    )  # fmt: skip


def bulk_actions_settle_lost() -> int:
    """The recovery's backstop: settle the bulk actions whose last run ended without
    settling them (its worker died in between)."""
    running = BulkAction.objects.filter(status=BulkAction.State.RUNNING)
    idle = running.exclude(runs__status__in=ACTIVE).values_list("pk", flat=True)
    return sum(bulk_action_settle_if_done(bulk_id=pk) for pk in list(idle))


# --- what it did -------------------------------------------------------------------------
@dataclass(frozen=True)
class BulkFigures:
    """The runs of a bulk action by outcome: `done` acted, `skipped` needed nothing or could
    not be asked (`noop` runs among them), `gone` failed because the resource vanished."""

    total: int
    queued: int
    running: int
    done: int
    skipped: int
    failed: int
    gone: int
    cancelled: int

    @property
    def finished(self) -> int:
        return self.done + self.skipped + self.failed + self.cancelled

    def as_dict(self) -> dict[str, int]:
        return {"total": self.total, "queued": self.queued, "running": self.running,
                "done": self.done, "skipped": self.skipped, "failed": self.failed,
                "gone": self.gone, "cancelled": self.cancelled}  # fmt: skip


def bulk_action_figures(*, bulk: BulkAction) -> BulkFigures:
    """One aggregate query."""
    counts: dict[str, int] = defaultdict(int)
    gone = 0
    rows = bulk.runs.order_by().values_list("status", "code").annotate(n=Count("id"))
    for status, code, n in rows:
        counts[status] += n
        if status == ActionRun.State.FAILED and code == "NotFound":
            gone += n
    state = ActionRun.State
    return BulkFigures(
        total=sum(counts.values()),
        queued=counts[state.QUEUED],
        running=counts[state.RUNNING],
        done=counts[state.SUCCEEDED],
        skipped=counts[state.SKIPPED] + counts[state.NOOP],
        failed=counts[state.FAILED],
        gone=gone,
        cancelled=counts[state.CANCELLED],
    )
