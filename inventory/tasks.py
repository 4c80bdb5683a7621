"""django-q2 tasks of the inventory. They receive ids only (never credentials) and call a
service; each is followed by its `Task`, the one name the rest of the code queues it by.

Services are imported inside the tasks: the services that queue these tasks import this module.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from inventory.models import ActionRun, BulkAction, CloudAccount, ProviderHealth, SyncRun
from mcloud.background import Task


def check_account(account_id: int) -> str | None:
    from inventory.services.health import connection_check

    account = _active_account(account_id)
    if account is None:  # deleted, disabled or paused since it was queued
        return None
    return connection_check(account=account, trigger=ProviderHealth.Trigger.SCHEDULED).status


CHECK_ACCOUNT = Task.of(check_account, group="health-checks")


def check_all_accounts() -> int:
    """Scheduled: queue one health check per enabled, unpaused account."""
    ids = list(CloudAccount.objects.active().values_list("pk", flat=True))
    for account_id in ids:
        CHECK_ACCOUNT.enqueue(account_id)
    return len(ids)


CHECK_ALL_ACCOUNTS = Task.of(check_all_accounts)


def sync_account(account_id: int, trigger: str = SyncRun.Trigger.SCHEDULED) -> str | None:
    """Scheduled per account. A scheduled sync that comes less than half an interval after
    the last one (a schedule made at the account's creation fires at once, right after the
    first sync of a sandbox or a "Sync now") is skipped: nothing can have changed enough."""
    from inventory.services.sync import cloud_account_sync

    account = _active_account(account_id)
    if account is None:
        return None
    if trigger == SyncRun.Trigger.SCHEDULED and account.last_synced_at is not None:
        since = timezone.now() - account.last_synced_at
        if since < timedelta(minutes=account.sync_interval_minutes) / 2:
            return f"skipped: synced {int(since.total_seconds())} s ago"
    run = cloud_account_sync(account=account, trigger=trigger)
    return run.status if run else "skipped: another sync was running"


SYNC_ACCOUNT = Task.of(sync_account, group="syncs")


def sync_run(run_id: int) -> str | None:
    """Carry out a queued run (from "Sync now")."""
    from inventory.extensions import SYNC_FOLLOWUPS
    from inventory.services.sync import cloud_account_sync

    run = SyncRun.objects.select_related("account__organization").filter(pk=run_id).first()
    if run is None or run.status != SyncRun.State.QUEUED:
        return None
    if not run.account.is_active:
        run.status, run.error = SyncRun.State.FAILED, "The account is disabled or paused."
        run.save(update_fields=["status", "error"])
        return run.status
    finished = cloud_account_sync(account=run.account, run=run)
    if finished is not None and finished.ran and finished.trigger == SyncRun.Trigger.MANUAL:
        for followup in SYNC_FOLLOWUPS.values():
            followup(run.account, finished)
    return finished.status if finished else None


SYNC_RUN = Task.of(sync_run, group="syncs")


def resource_action(run_id: int) -> str | None:
    """Carry out a queued action on a resource (start, stop, reboot)."""
    from inventory.services.actions import action_run_execute

    run = ActionRun.objects.filter(pk=run_id).first()
    if run is None or run.status != ActionRun.State.QUEUED:  # recovered, or a twin delivery
        return None
    return action_run_execute(run=run).status


RESOURCE_ACTION = Task.of(resource_action, group="actions")


def bulk_action_dispatch(bulk_id: int) -> int:
    """Queue the runs of a bulk action (start, stop, reboot of many resources)."""
    from inventory.services.bulk_actions import bulk_action_dispatch as dispatch

    bulk = BulkAction.objects.filter(pk=bulk_id, status=BulkAction.State.RUNNING).first()
    return 0 if bulk is None else dispatch(bulk=bulk)


BULK_ACTION_DISPATCH = Task.of(bulk_action_dispatch, group="actions")


def bulk_action_settle(bulk_id: int) -> str | None:
    """Once a bulk action's runs are final: re-sync what they changed, and finish it."""
    from inventory.services.bulk_actions import bulk_action_settle as settle

    bulk = (
        BulkAction.objects.filter(pk=bulk_id, status=BulkAction.State.SETTLING)
        .select_related("organization", "requested_by")
        .first()
    )
    return None if bulk is None else settle(bulk=bulk).status


BULK_ACTION_SETTLE = Task.of(bulk_action_settle, group="actions")


def run_power_schedules() -> int:
    """Scheduled every minute, on every worker: claim and carry out the off-hours schedules'
    due stops and starts (each claimed once, see `inventory.services.power_schedules`)."""
    from inventory.services.power_schedules import power_schedules_run

    return power_schedules_run()


RUN_POWER_SCHEDULES = Task.of(run_power_schedules)


def recover_abandoned_runs() -> int:
    """Scheduled, as a backstop to the recovery every request for work does first: runs of
    every kind (syncs, cost imports, Terraform runs, resource actions) whose worker died
    are marked failed, and bulk actions whose runs all ended are settled."""
    from inventory.services.bulk_actions import bulk_actions_settle_lost
    from mcloud.leases import runs_recover_all

    return runs_recover_all() + bulk_actions_settle_lost()


RECOVER_ABANDONED_RUNS = Task.of(recover_abandoned_runs)


def finish_sandbox(organization_id: int, owner_id: int) -> list[str]:
    """After the "Load a sandbox estate" button: the steps other apps add (costs, hello)."""
    from accounts.models import Organization, User
    from inventory.extensions import SANDBOX_STEPS

    organization = Organization.objects.get(pk=organization_id)
    owner = User.objects.get(pk=owner_id)
    return [step(organization, owner) for step in SANDBOX_STEPS.values()]


FINISH_SANDBOX = Task.of(finish_sandbox)


def _active_account(account_id: int) -> CloudAccount | None:
    return (
        CloudAccount.objects.active().filter(pk=account_id).select_related("organization").first()
    )
