"""Pages that keep up: the accounts list refreshes until its checks and syncs are done, an
account's syncs table follows a sync that ends, progress counts in the provider's own word,
recent activity folds syncs that changed nothing, and no scheduled sync follows a first
sync at once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from inventory import tasks
from inventory.models import CloudAccount, ProviderHealth, SyncRun
from inventory.services.sync import account_lease, cloud_account_sync
from mcloud.leases import lease_acquire
from tests.inventory import estate
from tests.inventory.factories import aws_account

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def _run(account, **fields) -> SyncRun:
    return SyncRun.objects.create(organization=account.organization, account=account, **fields)


@pytest.mark.parametrize(
    ("provider", "total", "words"),
    [("aws", 3, "1 of 3 regions"), ("azure", 2, "1 of 2 subscriptions"),
     ("gcp", 1, "1 of 1 project done")],
)  # fmt: skip
def test_progress_counts_in_the_providers_word(login, vera, org, provider, total, words):
    account = estate.account(org, f"{provider}-main", provider)
    token = lease_acquire(account_lease(account))  # a live worker holds the sync
    run = _run(account, status=SyncRun.State.RUNNING, scopes_total=total, scopes_done=1,
               lease_token=token)  # fmt: skip
    body = (
        login(vera)
        .get(reverse("inventory:sync_run_progress", args=[run.pk]), headers=HTMX)
        .content.decode()
    )
    assert words in body


def test_aws_progress_counts_regions_not_the_global_listing(aws, org):
    regions = ["eu-west-1", "us-east-1", "us-west-2"]
    account = aws_account(org, aws.create_user_key("reader"), regions=regions)
    run = cloud_account_sync(account=account)
    assert run.status == SyncRun.State.SUCCEEDED, run.scope_errors
    assert (run.scopes_total, run.scopes_done) == (3, 3)


def test_recent_activity_folds_syncs_that_changed_nothing(login, vera, org):
    account = estate.account(org, "aws-prod")
    now = timezone.now()
    for n in range(3):
        _run(account, status=SyncRun.State.SUCCEEDED, finished_at=now - timedelta(minutes=n))
    _run(account, status=SyncRun.State.SUCCEEDED, created=2,
         finished_at=now - timedelta(hours=1))  # fmt: skip
    body = (
        login(vera)
        .get(reverse("inventory:dashboard_tile", args=["activity"]), headers=HTMX)
        .content.decode()
    )
    assert "3 syncs, no change" in body
    assert "+0 new, 0 removed, 0 changed" not in body
    assert "aws-prod: +2 new, 0 removed, 0 changed" in body


def test_no_scheduled_sync_right_after_a_first_sync(org):
    account = estate.account(org, "aws-prod")
    CloudAccount.objects.filter(pk=account.pk).update(
        last_synced_at=timezone.now() - timedelta(seconds=10)
    )
    assert tasks.sync_account(account.pk).startswith("skipped")
    assert not SyncRun.objects.filter(account=account).exists()


def test_the_accounts_list_refreshes_until_checks_and_syncs_are_done(login, vera, org):
    account = estate.account(org, "aws-prod")
    client = login(vera)
    page = client.get(reverse("inventory:account_list")).content.decode()
    assert 'id="account-table"' in page
    assert 'hx-trigger="every 3s"' in page  # not checked yet: the list asks again

    run = _run(account, status=SyncRun.State.RUNNING, scopes_total=3, scopes_done=1)
    check = ProviderHealth.objects.create(
        organization=org, account=account, status="healthy", response_ms=80, message="ok"
    )
    CloudAccount.objects.filter(pk=account.pk).update(latest_health=check)
    fragment = client.get(reverse("inventory:account_list"), headers=HTMX).content.decode()
    assert "<html" not in fragment
    assert "Healthy" in fragment
    assert "Syncing: 1 of 3 regions" in fragment
    assert 'hx-trigger="every 3s"' in fragment

    SyncRun.objects.filter(pk=run.pk).update(
        status=SyncRun.State.SUCCEEDED, finished_at=timezone.now()
    )
    CloudAccount.objects.filter(pk=account.pk).update(last_synced_at=timezone.now())
    done = client.get(reverse("inventory:account_list"), headers=HTMX).content.decode()
    assert "hx-trigger" not in done  # nothing pending: the polling stops
    assert "Synced" in done


def test_a_finished_sync_refreshes_the_account_pages_syncs_table(login, vera, org):
    account = estate.account(org, "aws-prod")
    run = _run(account, status=SyncRun.State.SUCCEEDED, created=5, finished_at=timezone.now())
    CloudAccount.objects.filter(pk=account.pk).update(last_synced_at=timezone.now())
    detail = reverse("inventory:account_detail", args=[account.pk])
    body = (
        login(vera)
        .get(
            reverse("inventory:sync_run_progress", args=[run.pk]),
            headers={**HTMX, "HX-Current-URL": f"http://testserver{detail}"},
        )
        .content.decode()
    )
    assert 'id="sync-runs" hx-swap-oob="true"' in body
    assert "last synced" in body
    elsewhere = (
        login(vera)
        .get(
            reverse("inventory:sync_run_progress", args=[run.pk]),
            headers={**HTMX, "HX-Current-URL": "http://testserver/"},
        )
        .content.decode()
    )
    assert "sync-runs" not in elsewhere  # the dashboard has no such table


def test_the_list_queries_stay_bounded_with_syncs_running(
    login, alice, org, django_assert_max_num_queries
):
    client = login(alice)
    for n in range(3):
        _run(estate.account(org, f"a-{n}"), status=SyncRun.State.RUNNING)
    with django_assert_max_num_queries(12) as few:
        client.get(reverse("inventory:account_list"))
    for n in range(3, 30):
        _run(estate.account(org, f"a-{n}", "azure"), status=SyncRun.State.RUNNING)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("inventory:account_list"))
