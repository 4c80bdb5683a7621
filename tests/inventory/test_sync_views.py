"""Sync now, live progress, the runs on the account page, and the sync_accounts command."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from inventory.models import CloudAccount, Resource, SyncRun
from inventory.services.sync import SYNC_ABANDONED
from mcloud.leases import Lease, lease_acquire
from tests.inventory import aws_estate
from tests.inventory.factories import aws_account

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(aws, org):
    aws_estate.instances(aws, "eu-west-1", 2)
    return aws_account(org, aws.create_user_key("reader"), regions=["eu-west-1"])


def test_a_member_syncs_now_and_sees_the_result_in_place(
    account, login, bob, django_capture_on_commit_callbacks
):
    client = login(bob)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("inventory:sync_now", args=[account.pk]), headers={"HX-Request": "true"}
        )
    body = response.content.decode()
    assert "<html" not in body
    assert f'id="sync-progress-{account.pk}"' in body
    run = SyncRun.objects.get(account=account)
    assert run.requested_by == bob
    # In tests the queued task runs at commit: the progress endpoint now says it is done.
    run.refresh_from_db()
    assert run.status == SyncRun.State.SUCCEEDED
    progress = client.get(
        reverse("inventory:sync_run_progress", args=[run.pk]), headers={"HX-Request": "true"}
    )
    assert progress["HX-Trigger"] == "syncFinished"
    assert "Sync succeeded." in progress.content.decode()
    assert "hx-trigger" not in progress.content.decode()  # polling stops
    assert Resource.objects.filter(account=account, type="vm").count() == 2


def running(account: CloudAccount, **fields) -> SyncRun:
    """A run whose worker is alive: it holds the account's lease."""
    token = lease_acquire(Lease(CloudAccount, account.pk))
    return SyncRun.objects.create(
        organization=account.organization, account=account, status=SyncRun.State.RUNNING,
        started_at=timezone.now(), lease_token=token, **fields,
    )  # fmt: skip


def lose_its_worker(run: SyncRun) -> None:
    """As if its worker had been killed a lease ago: the lease has expired."""
    CloudAccount.objects.filter(pk=run.account_id).update(
        lease_until=timezone.now() - timedelta(seconds=1)
    )


def progress(client, run: SyncRun) -> str:
    url = reverse("inventory:sync_run_progress", args=[run.pk])
    return client.get(url, headers={"HX-Request": "true"}).content.decode()


def test_a_running_sync_polls_and_shows_its_progress(account, login, vera):
    run = running(account, scopes_total=4, scopes_done=1, created=12)
    body = progress(login(vera), run)
    assert 'hx-trigger="every 1s"' in body
    assert "1 of 4 regions done, +12 new" in body
    assert "Worker lost" not in body


def test_a_sync_whose_worker_is_gone_says_so_instead_of_a_frozen_bar(account, login, vera):
    run = running(account, scopes_total=35, scopes_done=33)
    lose_its_worker(run)
    body = progress(login(vera), run)
    assert "Worker lost, recovering." in body
    assert "<progress" not in body
    assert 'hx-trigger="every 1s"' in body  # it shows the run failed once it is recovered
    assert login(vera).get(f"/api/sync-runs/{run.pk}").json()["worker_lost"] is True


def test_sync_now_returns_the_active_run_instead_of_a_second_one(account, login, bob):
    active = running(account)
    body = (
        login(bob)
        .post(reverse("inventory:sync_now", args=[account.pk]), headers={"HX-Request": "true"})
        .content.decode()
    )
    assert list(SyncRun.objects.filter(account=account)) == [active]
    assert reverse("inventory:sync_run_progress", args=[active.pk]) in body


def test_sync_now_after_the_worker_died_fails_its_run_and_starts_a_new_one(
    account, login, bob, django_capture_on_commit_callbacks
):
    dead = running(account, scopes_total=1)
    lose_its_worker(dead)
    with django_capture_on_commit_callbacks(execute=True) as queued:
        body = (
            login(bob)
            .post(reverse("inventory:sync_now", args=[account.pk]), headers={"HX-Request": "true"})
            .content.decode()
        )
    syncs = [c for c in queued if getattr(c, "args", ())[:1] == ("inventory.tasks.sync_run",)]
    assert len(syncs) == 1  # the new run, queued once (then its cost import)
    dead.refresh_from_db()
    assert (dead.status, dead.error) == (SyncRun.State.FAILED, SYNC_ABANDONED)
    event = AuditEvent.objects.get(action="sync.failed", data__run=dead.pk)
    assert (event.data["recovered"], event.data["error"]) == (True, SYNC_ABANDONED)
    assert (event.actor, event.actor_label) == (None, "sync recovery (manual)")
    new = SyncRun.objects.exclude(pk=dead.pk).get()
    assert new.status == SyncRun.State.SUCCEEDED  # run inline at commit, as in every test
    assert reverse("inventory:sync_run_progress", args=[new.pk]) in body
    assert CloudAccount.objects.get(pk=account.pk).lease_token == ""  # released


def test_viewers_cannot_sync_and_outsiders_get_a_404(account, login, vera, charlie):
    assert login(vera).post(reverse("inventory:sync_now", args=[account.pk])).status_code == 403
    run = SyncRun.objects.create(organization=account.organization, account=account)
    client = login(charlie)
    assert client.post(reverse("inventory:sync_now", args=[account.pk])).status_code == 404
    assert client.get(reverse("inventory:sync_run_progress", args=[run.pk])).status_code == 404
    assert SyncRun.objects.count() == 1


def test_a_paused_account_is_not_synced(account, login, bob):
    account.paused_at = account.created_at
    account.save()
    response = login(bob).post(reverse("inventory:sync_now", args=[account.pk]), follow=True)
    assert b"is disabled or paused" in response.content
    assert not SyncRun.objects.exists()


def test_the_account_page_lists_the_runs(account, login, vera, django_assert_max_num_queries):
    call_command("sync_accounts", "--account", str(account.pk))
    call_command("sync_accounts", "--account", str(account.pk))
    client = login(vera)
    with django_assert_max_num_queries(15):
        page = client.get(reverse("inventory:account_detail", args=[account.pk]))
    html = page.content.decode()
    assert html.count(">Succeeded</span>") == 2
    assert "Command line" in html
    assert "Sync now" not in html  # viewers cannot


def test_the_command_syncs_with_a_progress_bar(account, capsys, other_org):
    call_command("sync_accounts", "--organization", "acme")
    out = capsys.readouterr().out
    assert "[##############################] 1/1" in out  # one region (S3 is no region)
    assert "acme/aws-prod: +" in out
    assert "[Succeeded]" in out
    with pytest.raises(CommandError, match="No cloud account matches"):
        call_command("sync_accounts", "--organization", "umbrella")


def test_the_command_fails_when_a_sync_fails(aws, org):
    bad = aws_account(org, ("AKIAUNKNOWNKEY000000", "nope"), name="aws-bad", regions=["eu-west-1"])
    with pytest.raises(CommandError, match="1 sync"):
        call_command("sync_accounts", "--account", str(bad.pk))
