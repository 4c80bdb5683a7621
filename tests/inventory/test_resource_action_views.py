"""The Actions card of the resource page, the action's live progress and the API: roles,
tenancy, 202 without waiting on the provider, and a bounded resource page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from inventory.models import ActionRun, Resource
from inventory.services.ingest import ingest_scope
from tests.inventory import estate

pytestmark = pytest.mark.django_db


@pytest.fixture
def vm(org) -> Resource:
    acct = estate.account(org, "aws-prod")
    ingest_scope(account=acct, scope="eu-west-1", records=estate.fill(acct, 4))
    return Resource.objects.filter(account=acct, type="vm").first()


def detail(vm: Resource) -> str:
    return reverse("inventory:resource_detail", args=[vm.pk])


def test_members_see_the_buttons_and_viewers_do_not(login, bob, vera, vm):
    page = login(bob).get(detail(vm)).content.decode()
    assert 'data-action="stop"' in page
    assert "hx-confirm=" in page  # stop and reboot ask first
    assert 'name="csrfmiddlewaretoken"' in page
    seen = login(vera).get(detail(vm)).content.decode()
    assert 'data-action="stop"' not in seen
    assert "need the Member role" in seen
    assert (
        login(vera).post(reverse("inventory:resource_action", args=[vm.pk, "stop"])).status_code
        == 403
    )


def test_a_stop_is_queued_and_its_progress_polls_until_final(
    login, bob, vm, django_capture_on_commit_callbacks
):
    client = login(bob)
    url = reverse("inventory:resource_action", args=[vm.pk, "stop"])
    with django_capture_on_commit_callbacks() as queued:  # no worker: the answer never waits
        answer = client.post(url, headers={"HX-Request": "true"})
    assert len(queued) == 1
    html = answer.content.decode()
    assert "<html" not in html
    run = ActionRun.objects.get()
    assert (run.status, run.action, run.requested_by) == ("queued", "stop", bob)
    progress = reverse("inventory:action_run_progress", args=[run.pk])
    assert f'hx-get="{progress}"' in html

    polled = client.get(progress, headers={"HX-Request": "true"})
    assert polled.status_code == 200
    assert 'hx-trigger="every 1s"' in polled.content.decode()

    ActionRun.objects.filter(pk=run.pk).update(status="succeeded", message="EC2 answered.")
    Resource.objects.filter(pk=vm.pk).update(status="stopped")
    final = client.get(progress, headers={"HX-Request": "true"})
    assert final.status_code == 286  # htmx stops polling
    body = final.content.decode()
    assert "hx-trigger" not in body
    assert "EC2 answered." in body
    assert 'id="resource-status" hx-swap-oob="true"' in body
    assert '<div id="action-runs" hx-swap-oob="true">' in body
    assert body.count("EC2 answered.") == 2  # the alert, and the run's row


def test_a_refused_action_says_why(login, bob, vm):
    disk = Resource.objects.filter(account=vm.account, type="disk").first()
    answer = login(bob).post(
        reverse("inventory:resource_action", args=[disk.pk, "stop"]), headers={"HX-Request": "true"}
    )
    assert "Only virtual machines" in answer.content.decode()
    assert not ActionRun.objects.exists()


def test_it_checks_ownership(login, charlie, bob, vm):
    run = ActionRun.objects.create(organization=vm.organization, resource=vm, action="stop",
                                   requested_by=bob)  # fmt: skip
    client = login(charlie)
    assert (
        client.post(reverse("inventory:resource_action", args=[vm.pk, "stop"])).status_code == 404
    )
    assert client.get(reverse("inventory:action_run_progress", args=[run.pk])).status_code == 404
    assert ActionRun.objects.count() == 1


def test_the_resource_page_queries_do_not_grow_with_its_runs(
    login, bob, vm, django_assert_max_num_queries
):
    client = login(bob)
    ActionRun.objects.create(organization=vm.organization, resource=vm, action="stop",
                             requested_by=bob, status="succeeded")  # fmt: skip
    with django_assert_max_num_queries(12) as few:
        client.get(detail(vm))
    ActionRun.objects.bulk_create(
        ActionRun(
            organization=vm.organization,
            resource=vm,
            action="start",
            requested_by=bob,
            status="noop",
            message=f"Nothing to do {n}",
        )
        for n in range(30)
    )
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get(detail(vm))
    assert page.content.decode().count("Nothing to do: Nothing to do") == 10  # the latest
