"""Off-hours power schedules: saving them, and carrying out their stops and starts.

- Saving (`power_schedule_save`, `power_schedule_delete`) needs the role that may stop a VM
  (`inventory.services.actions.ACTION_ROLE`) and is audited with what changed. A schedule
  acts on nothing due before it was saved or enabled (`active_since`).
- One q2 schedule runs `power_schedules_run` every minute, on however many workers. An
  occurrence (a schedule's stop or start at one time) is claimed by inserting its row: the
  unique (schedule, due time, kind) constraint lets exactly one insert win, and its winner
  holds the row's lease (`mcloud.leases`) while it works. Occurrences are run when they fell
  due within the last GRACE; older ones are let go (VMs stopped an hour late surprise people).
- Carrying out an occurrence writes, per VM and in one transaction, a `ScheduleTarget` row
  (unique per occurrence and VM) and the `ActionRun` the single-action service queues
  (`resource_action_schedule`): a VM is acted on at most once per occurrence. A worker that
  dies mid-way leaves the occurrence running with a lease that expires; the next minute's run
  takes the lease over and continues with the VMs that have no target yet.
- A stop acts on the matching VMs that are running; a start acts only on VMs this schedule's
  own stop runs stopped (succeeded, not a no-op) and no start of it has started since. Never
  on a VM tagged mcloud-schedule=skip, and never past the action service's rules (a managed
  resource, a paused account, a VM gone: the target says why).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import Membership, Organization, User
from inventory.models import (
    SKIP_TAG,
    SKIP_VALUE,
    ActionRun,
    PowerSchedule,
    Resource,
    SavedView,
    ScheduleOccurrence,
    ScheduleTarget,
)
from inventory.schedule_preview import is_skipped, schedule_vms
from inventory.schedule_times import Occurrence, occurrences, week_problems, zone_get
from inventory.services.actions import ACTION_ROLE, resource_action_schedule
from mcloud.errors import ActionRefused
from mcloud.leases import Lease, LeaseLost, lease_acquire, lease_kept, lease_seconds

logger = logging.getLogger(__name__)
GRACE = timedelta(minutes=30)
SKIPPED = f"tagged {SKIP_TAG}={SKIP_VALUE}: left alone"
BUSY = "another action on it was under way: left alone"
FIELDS = ("name", "time_zone", "week", "saved_view_id", "tag_filter", "enabled")


# --- saving ------------------------------------------------------------------------------
def _check_role(organization: Organization, user: User) -> None:
    membership = Membership.objects.filter(organization=organization, user=user).first()
    if membership is None or not membership.role_enum.allows(ACTION_ROLE):
        raise PermissionDenied("Power schedules need the Member role or higher.")


def power_schedule_save(
    *,
    organization: Organization,
    user: User,
    schedule: PowerSchedule | None = None,
    name: str,
    time_zone: str,
    week: list[dict[str, str]],
    saved_view: SavedView | None,
    tag_filter: str,
    enabled: bool,
    ip: str | None = None,
) -> PowerSchedule:
    """Create the schedule (or change `schedule`) and audit it. PermissionDenied below the
    Member role; ActionRefused for a bad zone or week, a saved view of another organization,
    or a name in use (the form reports these first)."""
    _check_role(organization, user)
    problems = week_problems(week)
    if zone_get(time_zone) is None:
        problems.insert(0, f"{time_zone!r} is not a time zone.")
    if saved_view is not None and saved_view.organization_id != organization.pk:
        problems.append("No such saved view in this organization.")
    if not tag_filter.strip() and saved_view is None:
        problems.append("Choose a saved view or give a tag filter.")
    if problems:
        raise ActionRefused(" ".join(problems))
    now = timezone.now()
    creating = schedule is None
    if schedule is None:
        schedule = PowerSchedule(organization=organization, created_by=user, created_at=now)
    before = {f: getattr(schedule, f) for f in FIELDS} if not creating else {}
    schedule.name, schedule.time_zone, schedule.week = name, time_zone, week
    schedule.saved_view, schedule.tag_filter = saved_view, tag_filter.strip()
    schedule.enabled, schedule.updated_at = enabled, now
    changed = {f: getattr(schedule, f) for f in FIELDS if before.get(f) != getattr(schedule, f)}
    if creating or set(changed) & {"time_zone", "week", "enabled"}:
        schedule.active_since = now  # nothing due before this change runs
    try:
        with transaction.atomic():
            schedule.save()
            audit_record(
                organization=organization, ip=ip, actor=user, target=schedule,
                action="power_schedule.created" if creating else "power_schedule.updated",
                data={"changed": changed},
            )  # fmt: skip
    except IntegrityError:
        raise ActionRefused(f"A schedule named {name} already exists.") from None
    return schedule


def power_schedule_delete(*, schedule: PowerSchedule, user: User, ip: str | None = None) -> None:
    """Delete the schedule (its history of occurrences goes with it; its action runs stay).
    VMs it stopped stay stopped: the page says so before."""
    _check_role(schedule.organization, user)
    with transaction.atomic():
        audit_record(
            organization=schedule.organization, action="power_schedule.deleted", actor=user,
            target=schedule, ip=ip, data={"name": schedule.name},
        )  # fmt: skip
        schedule.delete()


# --- running -----------------------------------------------------------------------------
def power_schedules_run(*, now: datetime | None = None) -> int:
    """Claim and carry out every occurrence due now (`now`: the clock, injected in tests), and
    carry on with those whose worker died. Returns how many occurrences this call finished."""
    now = now or timezone.now()
    finished = 0
    for occurrence in _abandoned():
        finished += _take_over(occurrence)
    schedules = PowerSchedule.objects.filter(enabled=True).select_related(
        "organization", "saved_view"
    )
    for schedule in schedules:
        for due in _due(schedule, now):
            claimed = occurrence_claim(schedule=schedule, due=due)
            if claimed is not None:
                finished += occurrence_carry_out(occurrence=claimed[0], token=claimed[1])
    return finished


def _due(schedule: PowerSchedule, now: datetime) -> list[Occurrence]:
    zone = zone_get(schedule.time_zone)
    if zone is None:
        return []
    after = max(now - GRACE, schedule.active_since)
    due = list(occurrences(schedule.week, zone, after=after, until=now))
    if not due:
        return []
    claimed = set(
        ScheduleOccurrence.objects.filter(schedule=schedule, due_at__gt=after).values_list(
            "due_at", "kind"
        )
    )
    return [o for o in due if (o.due_at, o.kind) not in claimed]


def occurrence_claim(
    *, schedule: PowerSchedule, due: Occurrence
) -> tuple[ScheduleOccurrence, str] | None:
    """Insert the occurrence's row, holding its lease: (the row, the lease token), or None when
    another worker inserted it first."""
    token = uuid.uuid4().hex
    try:
        with transaction.atomic():
            occurrence = ScheduleOccurrence.objects.create(
                organization_id=schedule.organization_id, schedule=schedule, kind=due.kind,
                due_at=due.due_at, lease_token=token,
                lease_until=timezone.now() + timedelta(seconds=lease_seconds()),
            )  # fmt: skip
    except IntegrityError:
        return None
    occurrence.schedule = schedule
    return occurrence, token


def _abandoned() -> Iterator[ScheduleOccurrence]:
    """Occurrences left running by a worker that died (their lease expired)."""
    expired = Q(lease_until__isnull=True) | Q(lease_until__lt=timezone.now())
    rows = ScheduleOccurrence.objects.filter(expired, status=ScheduleOccurrence.State.RUNNING)
    yield from rows.select_related("schedule__organization", "schedule__saved_view")


def _take_over(occurrence: ScheduleOccurrence) -> int:
    token = lease_acquire(Lease(ScheduleOccurrence, occurrence.pk))
    if token is None:  # another worker took it over first
        return 0
    logger.warning("Carrying on with %s, left by a worker that stopped", occurrence)
    return occurrence_carry_out(occurrence=occurrence, token=token)


def occurrence_carry_out(*, occurrence: ScheduleOccurrence, token: str) -> int:
    """Act on each VM of the occurrence that has no target yet, then mark it done (1), or
    stop at once when the lease is lost (0): another worker carries on."""
    lease = Lease(ScheduleOccurrence, occurrence.pk)
    try:
        with lease_kept(lease, token) as keeper:
            done = set(occurrence.targets.values_list("resource_id", flat=True))
            for resource, note in _candidates(occurrence):
                if resource.pk in done:
                    continue
                keeper.check()
                target_act(occurrence, resource, note)
            if not ScheduleOccurrence.objects.filter(pk=occurrence.pk, lease_token=token).update(
                status=ScheduleOccurrence.State.DONE, finished_at=timezone.now()
            ):
                raise LeaseLost
    except LeaseLost:
        return 0
    _audit_done(occurrence)
    return 1


def target_act(occurrence: ScheduleOccurrence, resource: Resource, note: str) -> None:
    """The VM's target and its action run, together or not at all."""
    try:
        with transaction.atomic():
            target = ScheduleTarget.objects.create(
                occurrence=occurrence, resource=resource, outcome=note
            )
            if note:
                return
            try:
                run, created = resource_action_schedule(
                    resource=resource, action=occurrence.kind, schedule=occurrence.schedule
                )
            except ActionRefused as refused:
                target.outcome = f"refused: {refused.message}"[:300]
            else:
                target.action_run = run if created else None
                target.outcome = "queued" if created else BUSY
            target.save(update_fields=["action_run", "outcome"])
    except IntegrityError:  # another worker wrote this VM's target: it acted, not this one
        logger.warning("%s: resource %s was done by another worker", occurrence, resource.pk)


def _candidates(occurrence: ScheduleOccurrence) -> Iterator[tuple[Resource, str]]:
    """(VM, "" to act on it or why it is left alone), in a stable order."""
    schedule = occurrence.schedule
    if occurrence.kind == ScheduleOccurrence.Kind.STOP:
        vms = schedule_vms(
            organization=schedule.organization, saved_view=schedule.saved_view,
            tag_filter=schedule.tag_filter,
        ).filter(status="running")  # fmt: skip
    else:
        ids = stopped_by(schedule=schedule, before=occurrence.due_at)
        vms = Resource.objects.filter(pk__in=ids, organization_id=schedule.organization_id)
    for vm in vms.select_related("account").order_by("id"):
        yield vm, SKIPPED if is_skipped(vm) else ""


def stopped_by(*, schedule: PowerSchedule, before: datetime) -> set[int]:
    """The VMs the schedule's stops (due before `before`) stopped, that none of its starts
    since has asked to start: what its next start starts."""
    targets = ScheduleTarget.objects.filter(
        occurrence__schedule=schedule, occurrence__due_at__lt=before
    )
    last_stop: dict[int, datetime] = {}
    stops = targets.filter(
        occurrence__kind=ScheduleOccurrence.Kind.STOP,
        action_run__schedule=schedule,
        action_run__status=ActionRun.State.SUCCEEDED,
    ).values_list("resource_id", "occurrence__due_at")
    for resource_id, due in stops:
        last_stop[resource_id] = max(due, last_stop.get(resource_id, due))
    starts = targets.filter(
        occurrence__kind=ScheduleOccurrence.Kind.START, action_run__isnull=False
    ).values_list("resource_id", "occurrence__due_at")
    for resource_id, due in starts:
        if resource_id in last_stop and due > last_stop[resource_id]:
            del last_stop[resource_id]
    return set(last_stop)


def _audit_done(occurrence: ScheduleOccurrence) -> None:
    outcomes: dict[str, Any] = {"queued": 0, "left alone": 0}
    for target in occurrence.targets.only("action_run_id"):
        outcomes["queued" if target.action_run_id else "left alone"] += 1
    audit_record(
        organization=occurrence.schedule.organization, action=f"power_schedule.{occurrence.kind}",
        target=occurrence.schedule, actor_label="power schedule",
        data={"occurrence": occurrence.pk, "due_at": occurrence.due_at.isoformat(), **outcomes},
    )  # fmt: skip
