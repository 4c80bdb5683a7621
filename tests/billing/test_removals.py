""" "Remove" on the Savings page and the resource page's waste panel, on the GCP fake: an admin
removes a finding's disk and the finding and its saving leave the page; members, viewers and
outsiders cannot; the second-approver rule's Approve and Reject; the pages' query counts."""

from __future__ import annotations

import pytest
from django.urls import reverse

from billing.models import Finding
from inventory.models import ActionRun
from inventory.services.actions import resource_action_request
from inventory.services.cleanups import action_settings
from tests.inventory.test_cleanups import DISK, gcp_waste

pytestmark = pytest.mark.django_db

PAGE = reverse("billing:savings")


@pytest.fixture
def waste(gcp, org):
    return gcp_waste(gcp, org)


def remove_url(resource) -> str:
    return reverse("billing:finding_remove", args=[Finding.objects.get(resource=resource).pk])


def total(client) -> str:
    html = client.get(PAGE).content.decode()
    return html.split('id="savings-total">')[1].split("<")[0]


def test_an_admin_removes_a_finding_and_the_saving_leaves_the_page(
    waste, login, ada, gcp, django_capture_on_commit_callbacks
):
    client = login(ada)
    page = client.get(PAGE).content.decode()
    assert f'action="{remove_url(waste["spare"])}"' in page
    assert "Delete disk spare at GCP? It saves about 10.00 USD a month (estimate)." in page
    before = total(client)

    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(remove_url(waste["spare"]), {"next": PAGE}, follow=True)

    assert "Removal of spare asked" in answer.content.decode()  # the worker runs at commit
    assert gcp.calls("DELETE", DISK) == 1
    assert not Finding.objects.filter(resource=waste["spare"]).exists()
    after = total(client)
    assert float(after.split()[0]) < float(before.split()[0])
    assert "spare</a>" not in client.get(PAGE).content.decode()


@pytest.mark.parametrize(("who", "status"), [("bob", 403), ("vera", 403), ("charlie", 404)])
def test_only_the_organizations_admins_remove(waste, login, team, who, status, gcp):
    assert login(team[who]).post(remove_url(waste["spare"])).status_code == status
    assert not ActionRun.objects.exists()
    assert "/remove/" not in login(team["bob"]).get(PAGE).content.decode()


def test_the_resource_page_offers_remove_for_its_finding(
    waste, login, ada, vera, django_assert_max_num_queries
):
    url = reverse("inventory:resource_detail", args=[waste["spare"].pk])
    client = login(ada)
    client.get(url)
    with django_assert_max_num_queries(16):  # the waste panel's three among them
        html = client.get(url).content.decode()
    assert 'id="waste-panel"' in html
    assert f'action="{remove_url(waste["spare"])}"' in html
    viewer = login(vera).get(url).content.decode()
    assert "Removing resources needs the Admin role" in viewer
    assert "/remove/" not in viewer
    vm = login(ada).get(reverse("inventory:resource_detail", args=[waste["web-1"].pk]))
    assert 'id="waste-panel"' not in vm.content.decode()


def test_a_second_admin_approves_on_the_savings_page(
    waste, login, ada, alice, org, gcp, django_capture_on_commit_callbacks
):
    login(ada).post(reverse("inventory:action_settings_edit"),
                    {"require_second_approver": "on", "next": PAGE})  # fmt: skip
    assert action_settings(org).require_second_approver
    login(ada).post(remove_url(waste["spare"]))
    run = ActionRun.objects.get()
    assert run.status == "awaiting"
    approve = reverse("inventory:action_run_approve", args=[run.pk])
    assert approve not in login(ada).get(PAGE).content.decode()  # not the one who asked
    assert approve in login(alice).get(PAGE).content.decode()

    login(ada).post(approve)
    run.refresh_from_db()
    assert run.status == "awaiting"
    with django_capture_on_commit_callbacks(execute=True):
        login(alice).post(approve, {"next": PAGE})
    run.refresh_from_db()
    assert (run.status, run.approved_by) == ("succeeded", alice)
    assert gcp.calls("DELETE", DISK) == 1


def test_deciding_on_another_organizations_run_is_a_404(waste, login, ada, alice, charlie, org):
    login(alice).post(reverse("inventory:action_settings_edit"), {"require_second_approver": "on"})
    run, _ = resource_action_request(resource=waste["spare"], action="delete", user=ada)
    for name in ("inventory:action_run_approve", "inventory:action_run_reject"):
        assert login(charlie).post(reverse(name, args=[run.pk])).status_code == 404
    login(alice).post(reverse("inventory:action_run_reject", args=[run.pk]))
    run.refresh_from_db()
    assert run.status == "rejected"
    assert "Delete rejected: Rejected by alice@acme.test." in login(ada).get(PAGE).content.decode()


def test_members_cannot_change_the_rule(login, bob, org):
    answer = login(bob).post(
        reverse("inventory:action_settings_edit"), {"require_second_approver": "on"}
    )
    assert answer.status_code == 403
    assert not action_settings(org).require_second_approver


def test_the_savings_page_takes_the_same_queries_with_removals_under_way(
    waste, login, ada, alice, org, django_assert_num_queries
):
    client = login(alice)
    client.get(PAGE)
    with django_assert_num_queries(9):
        client.get(PAGE)
    login(ada).post(reverse("inventory:action_settings_edit"), {"require_second_approver": "on"})
    for name, action in (("spare", "delete"), ("spare-ip", "release"), ("old", "delete")):
        resource_action_request(resource=waste[name], action=action, user=ada)
    with django_assert_num_queries(9):
        html = client.get(PAGE).content.decode()
    assert html.count('data-removal="awaiting"') == 3
