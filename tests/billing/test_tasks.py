"""The daily import schedule, the import that follows "Sync now", and the budget check that
follows every import (django-q2 runs tasks inline in tests)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from django_q.models import Schedule

from accounts.models import AuditEvent
from billing.models import Budget, BudgetAlert, CostData, CostImportLease, ImportRun
from billing.schedules import COST_IMPORTS
from billing.services.imports import IMPORT_ABANDONED, cost_import, import_lease
from billing.tasks import import_account_costs, import_all_costs
from inventory.models import CloudAccount, SyncRun
from inventory.schedules import RECOVER_RUNS
from inventory.services.sync import BUSY as SYNC_BUSY
from inventory.services.sync import cloud_account_sync, sync_run_request
from inventory.tasks import sync_run
from mcloud.leases import Lease, lease_acquire
from tests.inventory.factories import aws_account, azure_account

pytestmark = pytest.mark.django_db

TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT = "66666666-7777-8888-9999-000000000000"
SUB = "aaaaaaaa-0000-0000-0000-000000000001"


def test_the_daily_import_and_the_recovery_are_scheduled():
    daily = Schedule.objects.get(name=COST_IMPORTS)  # created by post_migrate
    assert (daily.func, daily.schedule_type, daily.repeats) == (
        "billing.tasks.import_all_costs",
        Schedule.DAILY,
        -1,
    )
    # Dead imports are recovered by the one schedule that recovers every kind of run.
    recover = Schedule.objects.get(name=RECOVER_RUNS)
    assert (recover.func, recover.schedule_type, recover.minutes) == (
        "inventory.tasks.recover_abandoned_runs",
        Schedule.MINUTES,
        1,
    )
    assert not Schedule.objects.filter(func__contains="recover_abandoned_imports").exists()


def test_the_daily_import_covers_every_enabled_unpaused_account(aws, org, other_org, scheduled):
    mine = aws_account(org, aws.create_user_key("billing"))
    theirs = aws_account(other_org, aws.create_user_key("other"), name="theirs")
    off = aws_account(org, aws.create_user_key("off"), name="off")
    off.enabled = False
    off.save()
    paused = aws_account(org, aws.create_user_key("paused"), name="paused")
    paused.paused_at = timezone.now()
    paused.save()
    assert scheduled(import_all_costs) == 2
    assert set(ImportRun.objects.values_list("account", "status")) == {
        (mine.pk, ImportRun.State.SUCCEEDED),
        (theirs.pk, ImportRun.State.SUCCEEDED),
    }


def test_sync_now_is_followed_by_a_cost_import(
    aws, org, login, bob, django_capture_on_commit_callbacks
):
    account = aws_account(org, aws.create_user_key("reader"), regions=["eu-west-1"])
    with django_capture_on_commit_callbacks(execute=True):
        login(bob).post(reverse("inventory:sync_now", args=[account.pk]))
    assert SyncRun.objects.get(account=account).status == SyncRun.State.SUCCEEDED
    run = ImportRun.objects.get(account=account)
    assert run.status == ImportRun.State.SUCCEEDED, run.error


def test_budgets_are_checked_after_each_import(
    azure, org, alice, django_capture_on_commit_callbacks
):
    azure.add_subscription(SUB, "Prod", TENANT)
    azure.add_app(TENANT, CLIENT, "secret", [SUB])
    account = azure_account(org, TENANT, CLIENT, "secret", [SUB])
    Budget.objects.create(organization=org, name="Azure", amount=100, thresholds=[50, 100])
    azure.add_costs(
        SUB, [{"date": timezone.localdate(), "service": "VMs", "resource_id": "", "cost": 60}]
    )
    with django_capture_on_commit_callbacks(execute=True):
        import_account_costs(account.pk)
    assert CostData.objects.get(account=account).amount == Decimal(60)
    assert list(BudgetAlert.objects.values_list("threshold", flat=True)) == [50]
    assert len(mail.outbox) == 1
    assert "50%" in mail.outbox[0].subject
    assert mail.outbox[0].to == ["alice@acme.test"]


def _import_running(account) -> ImportRun:
    """An import of `account` whose worker is alive: it holds the account's import lease."""
    token = lease_acquire(import_lease(account))
    return ImportRun.objects.create(
        organization=account.organization, account=account, start=timezone.localdate(),
        end=timezone.localdate(), lease_token=token,
    )  # fmt: skip


def test_a_sync_runs_beside_a_cost_import_and_a_second_import_waits(aws, org, login, bob):
    account = aws_account(org, aws.create_user_key("reader"), regions=["eu-west-1"])
    running = _import_running(account)
    sync = cloud_account_sync(account=account)  # its own lease: not refused by the import
    assert sync.status == SyncRun.State.SUCCEEDED, sync.error

    assert cost_import(account=account) is None
    assert (
        import_account_costs(account.pk) == "postponed: A cost import of this account is running."
    )
    assert Schedule.objects.filter(func="billing.tasks.import_account_costs").exists()
    page = login(bob).post(reverse("billing:import_now"), follow=True).content.decode()
    assert "aws-prod: a cost import of this account is running." in page

    # Its worker dies: once its lease has expired, the next import recovers it and runs.
    CostImportLease.objects.filter(account=account).update(
        lease_until=timezone.now() - timedelta(seconds=1)
    )
    done = cost_import(account=account)
    assert done.status == ImportRun.State.SUCCEEDED, done.error
    running.refresh_from_db()
    assert (running.status, running.error) == (ImportRun.State.FAILED, IMPORT_ABANDONED)
    event = AuditEvent.objects.get(action="costs.import_failed", data__run=running.pk)
    assert (event.actor_label, event.data["recovered"]) == ("cost import recovery", True)


def test_only_a_sync_that_ran_queues_its_cost_import(
    aws, org, bob, django_capture_on_commit_callbacks
):
    account = aws_account(org, aws.create_user_key("reader"), regions=["eu-west-1"])
    run, created = sync_run_request(
        account=account, trigger=SyncRun.Trigger.MANUAL, requested_by=bob, enqueue=False
    )
    assert created
    # A sync outside the queue (another worker) holds the account when the task runs.
    assert lease_acquire(Lease(CloudAccount, account.pk))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert sync_run(run.pk) == SyncRun.State.FAILED
    run.refresh_from_db()
    assert (run.error, run.ran) == (SYNC_BUSY, False)
    assert callbacks == []
    assert not ImportRun.objects.exists()
