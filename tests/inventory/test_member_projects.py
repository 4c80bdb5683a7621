"""Azure subscriptions and GCP projects discovered as member accounts of one connection:
found, synced on their own, retired when they go, unless the admin pinned a list; against
the Azure and GCP fakes."""

from __future__ import annotations

import pytest

from inventory.models import Resource, SyncRun
from inventory.services.members import account_members_discover
from inventory.services.sync import cloud_account_sync
from tests.inventory.factories import azure_account, gcp_account

pytestmark = pytest.mark.django_db

TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT = "66666666-7777-8888-9999-000000000000"
SUBS = [f"aaaaaaaa-0000-0000-0000-00000000000{n}" for n in range(1, 6)]


@pytest.fixture
def tenant(azure):
    """Five subscriptions the application can see, one VM each, listed two a page."""
    azure.page_size = 2
    for n, sub in enumerate(SUBS):
        azure.add_subscription(sub, f"team-{n}", TENANT)
        azure.add_vm(sub, name=f"vm-{n}")
    azure.add_subscription("bbbbbbbb-0000-0000-0000-000000000000", "not-ours", TENANT)
    azure.add_app(TENANT, CLIENT, "secret", SUBS)
    return azure


@pytest.fixture
def tenant_connection(org):
    account = azure_account(org, TENANT, CLIENT, "secret", [], name="acme-tenant")
    account.config["discover_members"] = True
    account.save()
    return account


def test_every_subscription_it_can_see_is_a_member_that_syncs_alone(tenant, tenant_connection):
    run = cloud_account_sync(account=tenant_connection)

    assert run.status == SyncRun.State.SUCCEEDED, (run.error, run.scope_errors)
    assert "5 subscriptions: 5 new" in run.notes
    members = {m.member_id: m for m in tenant_connection.members.all()}
    assert set(members) == set(SUBS)  # paged through nextLink; "not-ours" is not visible
    first = members[SUBS[0]]
    assert (first.name, first.provider, first.secrets) == ("acme-tenant / team-0", "azure", {})
    assert first.scopes_display == [SUBS[0]]

    member_run = cloud_account_sync(account=first)

    assert member_run.status == SyncRun.State.SUCCEEDED, member_run.scope_errors
    names = set(Resource.objects.filter(account=first, type="vm").values_list("name", flat=True))
    assert names == {"vm-0"}
    assert not Resource.objects.filter(account=tenant_connection).exists()


def test_subscriptions_that_appear_and_go_are_found_and_retired(tenant, tenant_connection):
    account_members_discover(account=tenant_connection)
    gone = tenant_connection.members.get(member_id=SUBS[1])
    cloud_account_sync(account=gone)
    disabled = tenant_connection.members.get(member_id=SUBS[2])
    tenant.grant(CLIENT, SUBS[1], granted=False)
    tenant.set_subscription_state(SUBS[2], "Disabled")
    newcomer = "cccccccc-0000-0000-0000-000000000000"
    tenant.add_subscription(newcomer, "new-team", TENANT)
    tenant.grant(CLIENT, newcomer)

    found = account_members_discover(account=tenant_connection)

    assert [m.member_id for m in found.found] == [newcomer]
    assert {m.pk for m in found.left} == {gone.pk, disabled.pk}
    assert not Resource.objects.filter(account=gone, deleted_at__isnull=True).exists()
    assert Resource.objects.filter(account=gone).exists()  # kept, as removed

    tenant.grant(CLIENT, SUBS[1])
    back = account_members_discover(account=tenant_connection)
    assert [m.pk for m in back.back] == [gone.pk]


def test_a_pinned_list_is_synced_by_the_connection_and_retires_the_members(
    tenant, tenant_connection
):
    account_members_discover(account=tenant_connection)
    tenant_connection.config = {**tenant_connection.config, "subscription_ids": SUBS[:1]}
    del tenant_connection.config["discover_members"]
    tenant_connection.save()

    run = cloud_account_sync(account=tenant_connection)

    assert run.status == SyncRun.State.SUCCEEDED, (run.error, run.scope_errors)
    assert "0 subscriptions: 5 left" in run.notes
    assert not tenant_connection.members.filter(retired_at__isnull=True).exists()
    assert Resource.objects.filter(account=tenant_connection, name="vm-0").exists()


def test_a_management_group_keeps_discovery_to_the_subscriptions_below_it(
    tenant, tenant_connection
):
    """prod holds one subscription and the group web, which holds two more; SUBS[3] sits in
    another group and SUBS[4] in none. Listed one a page, through nextLink."""
    tenant.add_management_group("mg-prod", "Production", subscriptions=[SUBS[0]],
                                readers=[CLIENT])  # fmt: skip
    tenant.add_management_group("mg-web", "Web", parent="mg-prod", subscriptions=SUBS[1:3])
    tenant.add_management_group("mg-lab", "Lab", subscriptions=[SUBS[3]])
    tenant.page_size = 1
    tenant_connection.config = {**tenant_connection.config, "management_group": "mg-prod"}
    tenant_connection.save()

    found = account_members_discover(account=tenant_connection)

    assert sorted(m.member_id for m in found.found) == sorted(SUBS[:3])
    # mg-web and three subscriptions below mg-prod, one a page
    assert tenant.calls("GET", r".*/managementGroups/mg-prod/descendants") == 4

    tenant_connection.config = {**tenant_connection.config, "management_group": "mg-lab"}
    tenant_connection.save()
    run = cloud_account_sync(account=tenant_connection)  # not a reader of mg-lab
    # A note of the run, not its failure; and nothing is retired on a failed listing.
    assert any("management group mg-lab (AuthorizationFailed)" in n for n in run.notes)
    assert tenant_connection.members.filter(retired_at__isnull=True).count() == 3


ORG = "organizations/1234"


@pytest.fixture
def gcp_org(gcp):
    """An organization with a folder tree; the service account may read four projects of
    it (one deep in folders, one being deleted) and one outside it."""
    gcp.page_size = 2
    prod = gcp.add_folder("10", "Prod", ORG)
    web = gcp.add_folder("11", "Web", prod)
    gcp.add_folder("12", "Empty", ORG)
    places = {"acme-ops": ORG, "acme-web": web, "acme-api": prod, "acme-old": prod,
              "acme-lab": "organizations/999", "acme-hidden": prod}  # fmt: skip
    for project, parent in places.items():
        state = "DELETE_REQUESTED" if project == "acme-old" else "ACTIVE"
        gcp.place_project(project, parent, state=state)
        gcp.add_instance(project, name=f"{project}-vm")
    key = gcp.add_service_account("acme-ops", projects=[p for p in places if p != "acme-hidden"])
    return gcp, key


@pytest.fixture
def org_connection(org, gcp_org):
    account = gcp_account(org, gcp_org[1], name="acme-gcp")
    account.config = {**account.config, "project_ids": [], "project_parent": ORG,
                      "discover_members": True, "billing_table": "ops.billing.export"}  # fmt: skip
    account.save()
    return account


def test_every_project_it_can_see_under_the_organization_is_a_member(org_connection):
    run = cloud_account_sync(account=org_connection)

    assert run.status == SyncRun.State.SUCCEEDED, (run.error, run.scope_errors)
    assert "3 projects: 3 new" in run.notes  # not outside, hidden, nor being deleted
    members = {m.member_id: m for m in org_connection.members.all()}
    assert set(members) == {"acme-ops", "acme-web", "acme-api"}
    assert members["acme-web"].member_path == "Prod / Web"
    assert members["acme-ops"].member_path == ""
    assert members["acme-web"].scopes_display == ["acme-web"]

    member_run = cloud_account_sync(account=members["acme-web"])

    assert member_run.status == SyncRun.State.SUCCEEDED, member_run.scope_errors
    vms = Resource.objects.filter(account=members["acme-web"], type="vm")
    assert list(vms.values_list("name", flat=True)) == ["acme-web-vm"]


def test_projects_that_appear_and_go_are_found_and_retired(gcp_org, org_connection):
    gcp, key = gcp_org
    account_members_discover(account=org_connection)
    api = org_connection.members.get(member_id="acme-api")
    gcp.place_project("acme-api", "folders/10", state="DELETE_REQUESTED")
    gcp.place_project("acme-new", "folders/12")
    gcp.add_service_account("acme-ops", email=key["client_email"], projects=["acme-new"])

    found = account_members_discover(account=org_connection)

    assert [m.member_id for m in found.found] == ["acme-new"]
    assert [m.pk for m in found.left] == [api.pk]
    assert org_connection.members.get(member_id="acme-new").member_path == "Empty"


def test_a_discovered_project_leaves_costs_to_its_connection(org_connection):
    from inventory.account_adapters import adapter_for

    account_members_discover(account=org_connection)
    member = org_connection.members.get(member_id="acme-api")
    credentials = adapter_for(member).credentials
    assert (credentials.project_ids, credentials.costs_through_connection) == (("acme-api",), True)
    assert adapter_for(member).costs(*_days()) == []


def _days():
    from datetime import date

    return date(2026, 11, 1), date(2026, 11, 2)


def test_subscriptions_are_children_of_the_connection_and_an_admin_may_exclude_one(
    tenant, tenant_connection, login, ada, bob, django_assert_max_num_queries
):
    from django.urls import reverse

    from accounts.models import AuditEvent
    from inventory.selectors import resource_figures

    account_members_discover(account=tenant_connection)
    first = tenant_connection.members.get(member_id=SUBS[0])
    second = tenant_connection.members.get(member_id=SUBS[1])
    for member in (first, second):
        cloud_account_sync(account=member)
    client = login(ada)
    page = client.get(reverse("inventory:account_detail", args=[tenant_connection.pk]))
    body = page.content.decode()
    assert "Subscriptions</h2>" in body
    assert "acme-tenant / team-0" in body
    assert SUBS[0] in body
    member_page = client.get(reverse("inventory:account_detail", args=[first.pk])).content
    assert b"with its credentials" in member_page  # signs in through its connection
    listed = reverse("inventory:resource_list")
    assert b"vm-0" in client.get(listed).content
    total = resource_figures(organization=tenant_connection.organization).counts["total"]

    toggle = reverse("inventory:account_toggle", args=[first.pk])
    assert login(bob).post(toggle).status_code == 403  # admins only
    client.post(toggle, {"back": "connection"})

    first.refresh_from_db()
    assert first.state_label == "Excluded"
    assert AuditEvent.objects.filter(action="cloud_account.disabled", target_id=first.pk).exists()
    with django_assert_max_num_queries(30):
        body = client.get(listed).content
    assert b"vm-0" not in body
    assert b"vm-1" in body
    figures = resource_figures(organization=tenant_connection.organization)
    assert figures.counts["total"] == total - Resource.objects.filter(account=first).count()
    assert cloud_account_sync(account=first).status == SyncRun.State.FAILED  # not synced

    client.post(toggle)
    assert b"vm-0" in client.get(listed).content
    assert resource_figures(organization=tenant_connection.organization).counts["total"] == total
