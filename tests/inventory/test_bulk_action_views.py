"""Bulk actions on the pages: the lists offer them to members only, the confirmation states
the count, the accounts and providers and what would be skipped (in a fixed number of
queries), the request leads to the bulk action's page, whose progress HTMX polls until it is
final; cancel; viewers 403, other organizations 404."""

from __future__ import annotations

import pytest
from django.urls import reverse

from inventory.models import ActionRun, BulkAction, Resource
from inventory.services.bulk_actions import start_bulk_action
from tests.inventory import estate

pytestmark = pytest.mark.django_db
CONFIRM = reverse("inventory:bulk_action_confirm")
CREATE = reverse("inventory:bulk_action_create")


@pytest.fixture
def inventory(org):
    aws = estate.account(org, "aws-prod")
    estate.fill(aws, 4)
    gcp = estate.account(org, "gcp-prod", provider="gcp")
    estate.fill(gcp, 2, region="us-central1", prefix="g")
    return aws, gcp


def test_the_lists_offer_bulk_actions_to_members_only(login, bob, vera, inventory):
    for name in ("inventory:resource_list", "inventory:vm_list"):
        html = login(bob).get(reverse(name)).content.decode()
        assert 'id="bulk-form"' in html
        assert 'name="ids"' in html
        assert "everything this filter matches" in html
        assert 'id="bulk-form"' not in login(vera).get(reverse(name)).content.decode()


def test_the_confirmation_states_count_accounts_and_skips(login, bob, inventory):
    vms = Resource.objects.filter(type="vm")
    query = {"action": "stop", "scope": "all", "vm_only": "1", "query": ""}
    html = login(bob).get(CONFIRM, query).content.decode()
    stopped = vms.filter(status="stopped").count()
    assert f"Stop {vms.count() - stopped} of {vms.count()} resources?" in html
    assert "aws-prod" in html
    assert "gcp-prod" in html
    assert "AWS: " in html
    assert "GCP: " in html
    assert f"{stopped} \N{MULTIPLICATION SIGN} Nothing to do: the VM is already stopped." in html
    assert not BulkAction.objects.exists()  # looking asks nothing


def test_selected_rows_and_a_filter_are_what_is_confirmed(login, bob, inventory):
    ids = list(Resource.objects.filter(type="vm", status="running").values_list("pk", flat=True))
    client = login(bob)
    html = client.get(CONFIRM, {"action": "stop", "scope": "selected", "ids": ids[:2]}).content
    assert b"2 selected rows" in html
    html = client.get(
        CONFIRM, {"action": "stop", "scope": "all", "query": "provider=gcp&type=vm"}
    ).content.decode()
    assert "gcp-prod" in html
    assert "aws-prod" not in html


def test_nothing_selected_or_a_bad_action_changes_nothing(login, bob, inventory):
    client = login(bob)
    answer = client.get(CONFIRM, {"action": "stop", "scope": "selected"}, follow=True)
    assert b"Select rows first" in answer.content
    answer = client.post(CREATE, {"action": "explode", "scope": "all"}, follow=True)
    assert b"Unknown action" in answer.content
    assert not BulkAction.objects.exists()


def test_confirming_asks_and_shows_the_bulk_actions_page(
    login, bob, inventory, django_capture_on_commit_callbacks
):
    client = login(bob)
    ids = list(Resource.objects.filter(type="vm").values_list("pk", flat=True))
    with django_capture_on_commit_callbacks() as queued:
        answer = client.post(CREATE, {"action": "stop", "scope": "selected", "ids": ids})
    assert len(queued) == 1  # one dispatch task; nothing sent from the request
    bulk = BulkAction.objects.get()
    assert answer.url == reverse("inventory:bulk_action_detail", args=[bulk.pk])
    assert (bulk.selection, bulk.requested_by, bulk.total) == (
        f"{len(ids)} selected rows",
        bob,
        len(ids),
    )
    page = client.get(answer.url).content.decode()
    assert 'hx-trigger="every 2s"' in page
    assert "Cancel what has not started" in page
    part = client.get(answer.url, headers={"HX-Request": "true"})
    assert part.status_code == 200
    assert "<html" not in part.content.decode()
    cancelled = client.post(reverse("inventory:bulk_action_cancel", args=[bulk.pk]), follow=True)
    assert b"Cancelled" in cancelled.content
    bulk.refresh_from_db()
    assert bulk.status == BulkAction.State.CANCELLED
    final = client.get(answer.url, headers={"HX-Request": "true"})
    assert final.status_code == 286  # the polling stops


def test_viewers_cannot_ask_and_outsiders_see_nothing(login, vera, charlie, bob, org, inventory):
    ids = list(Resource.objects.filter(type="vm").values_list("pk", flat=True))
    assert login(vera).get(CONFIRM, {"action": "stop", "ids": ids}).status_code == 403
    assert login(vera).post(CREATE, {"action": "stop", "ids": ids}).status_code == 403
    answer = login(charlie).post(CREATE, {"action": "stop", "scope": "selected", "ids": ids})
    assert answer.status_code == 302
    assert not BulkAction.objects.exists()
    bulk = start_bulk_action(organization=org, user=bob, action="stop", resources=ids)
    detail = reverse("inventory:bulk_action_detail", args=[bulk.pk])
    assert login(charlie).get(detail).status_code == 404
    assert login(vera).get(detail).status_code == 200
    cancel = reverse("inventory:bulk_action_cancel", args=[bulk.pk])
    assert login(vera).post(cancel).status_code == 403
    assert login(charlie).post(cancel).status_code == 404


def test_the_confirmation_and_progress_run_a_fixed_number_of_queries(
    login, bob, org, django_assert_max_num_queries
):
    acct = estate.account(org, "aws-prod")
    estate.fill(acct, 10)
    client = login(bob)
    query = {"action": "stop", "scope": "all", "vm_only": "1", "query": ""}
    with django_assert_max_num_queries(15) as few:
        client.get(CONFIRM, query)
    bulk = start_bulk_action(
        organization=org, user=bob, action="stop", resources=Resource.objects.all()
    )
    ActionRun.objects.filter(bulk=bulk, status="queued").update(status="failed", error="no")
    detail = reverse("inventory:bulk_action_detail", args=[bulk.pk])
    with django_assert_max_num_queries(15) as few_detail:
        client.get(detail)
    estate.fill(acct, 300, region="us-east-1", prefix="big")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert b"Stop " in client.get(CONFIRM, query).content
    big = start_bulk_action(
        organization=org, user=bob, action="stop", resources=Resource.objects.all()
    )
    ActionRun.objects.filter(bulk=big, status="queued").update(status="failed", error="no")
    detail = reverse("inventory:bulk_action_detail", args=[big.pk])
    with django_assert_max_num_queries(len(few_detail.captured_queries)):
        assert b"failed" in client.get(detail).content
