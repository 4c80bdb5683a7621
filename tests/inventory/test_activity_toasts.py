"""Toasts for the syncs a person started, on whatever page they are: the page asks once, the
answer polls itself while a sync runs, and each finished sync is told once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from inventory.models import SyncRun
from tests.inventory.factories import aws_account

pytestmark = pytest.mark.django_db

URL = reverse("accounts:activity")


@pytest.fixture
def account(org):
    return aws_account(org, ("AKIAEXAMPLEEXAMPLE00", "x"), name="aws-prod")


def _run(account, user, status, finished_ago=None):
    finished = timezone.now() - finished_ago if finished_ago is not None else None
    return SyncRun.objects.create(
        organization=account.organization,
        account=account,
        requested_by=user,
        status=status,
        finished_at=finished,
    )


def test_every_page_of_an_organization_asks_once(login, bob, client):
    page = login(bob).get("/").content.decode()
    assert page.count(f'hx-get="{URL}"') == 1
    assert 'hx-swap="beforeend" hx-trigger="load delay:1s"' in page
    assert URL not in client.get(reverse("account_login")).content.decode()


def test_it_polls_while_a_sync_runs_then_tells_its_end_once(login, bob, account):
    client = login(bob)
    run = _run(account, bob, SyncRun.State.RUNNING)
    running = client.get(URL).content.decode()
    assert 'hx-trigger="every 4s"' in running
    assert 'class="toast' not in running

    SyncRun.objects.filter(pk=run.pk).update(
        status=SyncRun.State.SUCCEEDED, finished_at=timezone.now()
    )
    ended = client.get(URL).content.decode()
    assert "Sync of aws-prod: succeeded" in ended
    assert f'href="{reverse("inventory:account_detail", args=[account.pk])}"' in ended
    assert '<div id="activity" hidden hx-swap-oob="true"></div>' in ended
    assert "text-bg-success" in ended
    assert "hx-trigger" not in ended  # nothing runs: the polling stops
    assert 'class="toast' not in client.get(URL).content.decode()  # told once


def test_a_failed_sync_is_a_red_toast(login, bob, account):
    _run(account, bob, SyncRun.State.FAILED, finished_ago=timedelta(seconds=5))
    body = login(bob).get(URL).content.decode()
    assert "Sync of aws-prod: failed" in body
    assert "text-bg-danger" in body


def test_only_ones_own_recent_syncs_are_told(login, bob, alice, charlie, other_org, account):
    _run(account, alice, SyncRun.State.SUCCEEDED, finished_ago=timedelta(seconds=5))
    _run(account, bob, SyncRun.State.SUCCEEDED, finished_ago=timedelta(minutes=11))
    theirs = aws_account(other_org, ("AKIAEXAMPLEEXAMPLE00", "x"), name="theirs")
    _run(theirs, charlie, SyncRun.State.SUCCEEDED, finished_ago=timedelta(seconds=5))
    assert 'class="toast' not in login(bob).get(URL).content.decode()
    assert "Sync of theirs: succeeded" in login(charlie).get(URL).content.decode()


def test_its_queries_are_bounded(login, bob, account, django_assert_max_num_queries):
    for _ in range(8):
        _run(account, bob, SyncRun.State.SUCCEEDED, finished_ago=timedelta(seconds=5))
    client = login(bob)
    with django_assert_max_num_queries(10):
        body = client.get(URL).content.decode()
    assert body.count("Sync of aws-prod: succeeded") == 5  # at most five at once
