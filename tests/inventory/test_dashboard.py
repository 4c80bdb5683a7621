"""The dashboard: tiles as HTMX partials with fixed query counts, errors in place, the
freshness poll that refreshes tiles after a sync, and Sync now for every account."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest
from django.urls import reverse
from django.utils import timezone

from inventory.extensions import TILES, Tile
from inventory.models import SyncRun
from inventory.services.sync import cloud_account_sync
from tests.inventory import aws_estate, estate
from tests.inventory.factories import aws_account

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def tile(client, name):
    response = client.get(reverse("inventory:dashboard_tile", args=[name]), headers=HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body
    return body


def test_an_empty_organization_gets_a_guide(login, alice, settings):
    settings.SANDBOX_ENABLED = True
    page = login(alice).get(reverse("home")).content.decode()
    assert 'id="getting-started"' in page
    assert "Connect a cloud account" in page
    assert "Load a sandbox estate" in page
    assert "dashboard/tiles" not in page


def test_the_page_holds_a_live_partial_per_tile(login, bob, org):
    estate.account(org, "aws-prod")
    page = login(bob).get(reverse("home")).content.decode()
    for name in TILES:
        url = reverse("inventory:dashboard_tile", args=[name])
        assert (
            f'hx-get="{url}" hx-trigger="load, every 60s, syncFinished from:body delay:1500ms"'
            in page
        )
    assert "Sync now" in page


def test_the_tiles_count_what_the_organization_runs(login, vera, org, other_org):
    acct = estate.account(org, "aws-prod")
    estate.fill(acct, 60)
    estate.fill(estate.account(other_org, "theirs"), 500)  # never counted here
    client = login(vera)
    assert 'id="stat-total">60<' in tile(client, "resources")
    running = tile(client, "running_vms")
    assert 'id="stat-running">10<' in running  # 20 VMs, half of them stopped
    assert "of 20 VMs; 10 stopped" in running
    assert 'id="stat-storage">10<' in tile(client, "storage")
    chart = tile(client, "by_provider")
    assert "<svg" in chart
    assert "AWS" in chart
    assert re.search(r">\s*60\s*</text>", chart)  # values as text, not only colour
    assert "No cost data has been imported yet" in tile(client, "cost_mtd")
    assert "aws-prod" in tile(client, "health")


def test_the_provider_chart_reads_without_colour(login, vera, org):
    estate.fill(estate.account(org, "aws-prod"), 30)
    estate.fill(estate.account(org, "gcp-main", "gcp"), 6)
    chart = tile(login(vera), "by_provider")
    # Drawn as text beside each bar, not only as a bar's length and colour...
    assert re.search(r'class="bar-label">AWS</text>.*class="bar-value">30</text>', chart, re.S)
    assert re.search(r'class="bar-label">GCP</text>.*class="bar-value">6</text>', chart, re.S)
    # ...and a table for screen readers, which skip the drawing.
    assert '<svg class="bar-chart" viewBox="0 0 420 90" width="100%" aria-hidden="true">' in chart
    table = re.search(r'<table class="visually-hidden">(.*?)</table>', chart, re.S).group(1)
    assert "<caption>Resources by provider</caption>" in table
    assert '<th scope="row">AWS</th><td>30</td>' in table
    assert '<th scope="row">Azure</th><td>0</td>' in table
    assert '<th scope="row">GCP</th><td>6</td>' in table


def test_each_tile_runs_a_fixed_number_of_queries(
    login, vera, org, aws, django_assert_max_num_queries
):
    client = login(vera)
    acct = estate.account(org, "aws-prod")
    estate.fill(acct, 12)
    few = {}
    for name in TILES:
        with django_assert_max_num_queries(12) as captured:
            tile(client, name)
        few[name] = len(captured.captured_queries)
    estate.fill(acct, 600, prefix="more")
    for name in TILES:
        with django_assert_max_num_queries(few[name]):
            tile(client, name)
    with django_assert_max_num_queries(8):
        client.get(reverse("home"))


def test_recent_activity_shows_changes_and_sync_summaries(aws, org, login, vera):
    ids = aws_estate.instances(aws, "eu-west-1", 2)
    account = aws_account(org, aws.create_user_key("reader"), regions=["eu-west-1"])
    cloud_account_sync(account=account)
    aws.client("ec2", "eu-west-1").stop_instances(InstanceIds=[ids[0]])
    cloud_account_sync(account=account)
    body = tile(login(vera), "activity")
    assert "aws-prod: +0 new, 0 removed, 1 changed" in body
    assert "aws-prod: +" in body
    assert f"{ids[0]}</a> stopped" in body


def test_a_failing_tile_shows_its_error_in_place(login, vera, org, monkeypatch):
    def broken(request):
        raise RuntimeError("boom")

    monkeypatch.setitem(TILES, "broken", Tile("broken", "Broken", "x.html", broken))
    body = tile(login(vera), "broken")
    assert "This tile could not be loaded (RuntimeError)" in body
    assert "stat-total" in tile(login(vera), "resources")


def test_the_freshness_poll_triggers_a_refresh_after_a_sync(login, vera, org):
    acct = estate.account(org, "aws-prod")
    acct.last_synced_at = timezone.now()
    acct.save()
    SyncRun.objects.create(organization=org, account=acct, status=SyncRun.State.SUCCEEDED,
                           finished_at=acct.last_synced_at)  # fmt: skip
    client = login(vera)
    url = reverse("inventory:dashboard_freshness")
    earlier = (acct.last_synced_at - timezone.timedelta(minutes=1)).isoformat()
    assert client.get(url, {"since": earlier}, headers=HTMX)["HX-Trigger"] == "syncFinished"
    same = client.get(url, {"since": acct.last_synced_at.isoformat()}, headers=HTMX)
    assert "HX-Trigger" not in same
    assert "Data last updated" in same.content.decode()


def _poll(client, since=None):
    """One freshness poll; returns the response and the `since` its next poll sends."""
    params = {} if since is None else {"since": since}
    response = client.get(reverse("inventory:dashboard_freshness"), params, headers=HTMX)
    body = response.content.decode()
    assert "<html" not in body
    next_since = re.search(r'\?since=([^"]*)"', body).group(1)
    return response, unquote(next_since)


def test_the_first_sync_and_failed_ones_refresh_the_tiles_too(login, vera, org, other_org):
    """Before: the poll compared only the last successful sync, so the very first sync (no
    earlier time to compare) and failed ones never refreshed the tiles."""
    acct = estate.account(org, "aws-prod")
    client = login(vera)
    first, since = _poll(client)  # the page's first load
    assert "HX-Trigger" not in first
    assert since == ""
    assert "HX-Trigger" not in _poll(client, since)[0]  # nothing finished yet
    theirs = estate.account(other_org, "theirs")
    SyncRun.objects.create(organization=other_org, account=theirs, status="succeeded",
                           finished_at=timezone.now())  # fmt: skip
    assert "HX-Trigger" not in _poll(client, since)[0]  # another organization's sync

    SyncRun.objects.create(organization=org, account=acct, status=SyncRun.State.FAILED,
                           error="AccessDenied", finished_at=timezone.now())  # fmt: skip
    after_failure, since = _poll(client, since)
    assert after_failure["HX-Trigger"] == "syncFinished"  # the first sync, and it failed
    assert "Not synced yet" in after_failure.content.decode()
    assert "last sync failed" in after_failure.content.decode()
    assert since
    assert "HX-Trigger" not in _poll(client, since)[0]  # once per finished sync

    later = timezone.now() + timezone.timedelta(seconds=1)
    SyncRun.objects.create(organization=org, account=acct, status=SyncRun.State.PARTIAL,
                           finished_at=later)  # fmt: skip
    after_partial, since = _poll(client, since)
    assert after_partial["HX-Trigger"] == "syncFinished"
    assert "last sync partly failed" in after_partial.content.decode()
    assert "HX-Trigger" not in _poll(client, since)[0]
    bad = client.get(reverse("inventory:dashboard_freshness"), {"since": "2026-13-45T99:00"})
    assert bad.status_code == 200
    assert 'hx-trigger="every 15s, syncFinished from:body delay:1s"' in bad.content.decode()


def test_sync_now_queues_every_active_account(
    aws, org, login, bob, vera, django_capture_on_commit_callbacks
):
    aws_estate.instances(aws, "eu-west-1", 1)
    first = aws_account(org, aws.create_user_key("a"), regions=["eu-west-1"], name="aws-a")
    second = aws_account(org, aws.create_user_key("b"), regions=["eu-west-1"], name="aws-b")
    paused = aws_account(org, aws.create_user_key("c"), regions=["eu-west-1"], name="aws-c")
    paused.paused_at = timezone.now()
    paused.save()
    assert login(vera).post(reverse("inventory:dashboard_sync")).status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        response = login(bob).post(reverse("inventory:dashboard_sync"), headers=HTMX)
    body = response.content.decode()
    assert f'id="sync-progress-{first.pk}"' in body
    assert f'id="sync-progress-{second.pk}"' in body
    assert set(SyncRun.objects.values_list("account__name", "status")) == {
        ("aws-a", "succeeded"),
        ("aws-b", "succeeded"),
    }


def test_it_checks_ownership(login, charlie, org):
    estate.fill(estate.account(org, "aws-prod"), 30)
    body = tile(login(charlie), "resources")
    assert 'id="stat-total">0<' in body
