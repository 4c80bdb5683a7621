"""Attachments: the links the ingest writes from `attached_to`, the resource page's lists and
graph, and the "attached to" and "unattached" filters of the list and the API."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from inventory.models import Resource, ResourceLink
from inventory.services.ingest import ingest_scope
from mcloud.clouds.base import ResourceRecord
from tests.inventory import estate

pytestmark = pytest.mark.django_db

REGION = "eu-west-1"


def record(rid: str, type_: str = "vm", *attached: str, status: str = "running") -> ResourceRecord:
    return ResourceRecord(resource_id=rid, name=rid, type=type_, region=REGION, status=status,
                          attached_to=list(attached))  # fmt: skip


def small_estate() -> list[ResourceRecord]:
    """A VM with its disk (named by the VM) and IP (naming the VM), in a network; a loose
    disk and IP; a disk whose only VM is gone; a snapshot of the VM's disk."""
    return [
        record("vpc-1", "network"),
        record("i-web", "vm", "vol-root", "vpc-1", "sg-missing"),
        record("vol-root", "disk", status="in_use"),
        record("eip-web", "ip_address", "i-web", status="in_use"),
        record("vol-loose", "disk", status="available"),
        record("eip-loose", "ip_address", status="available"),
        record("i-old", "vm", "vol-orphan", status="terminated"),
        record("vol-orphan", "disk", status="available"),
        record("snap-1", "snapshot", "vol-root", status="available"),
    ]


@pytest.fixture
def acct(org):
    account = estate.account(org, "aws-prod")
    ingest_scope(account=account, scope=REGION, records=small_estate())
    return account


def pk(rid: str) -> int:
    """Our resource's (another organization may hold the same ids)."""
    return Resource.objects.get(account__name="aws-prod", resource_id=rid).pk


def links(rid: str) -> list[str]:
    return sorted(ResourceLink.objects.filter(resource_id=pk(rid)).values_list(
        "target_id", flat=True))  # fmt: skip


def test_the_ingest_writes_links_and_replaces_them_when_attachments_change(acct):
    assert links("i-web") == ["sg-missing", "vol-root", "vpc-1"]
    assert links("i-old") == ["vol-orphan"]  # a tombstone keeps what it was attached to
    assert ResourceLink.objects.filter(organization=acct.organization).count() == 6
    changed = [r for r in small_estate() if r.resource_id != "i-web"]
    changed.append(record("i-web", "vm", "vol-root", "vol-loose", "vpc-1"))
    counts = ingest_scope(account=acct, scope=REGION, records=changed)
    assert (counts.updated, counts.unchanged) == (1, 8)  # attachments are part of the fingerprint
    assert links("i-web") == ["vol-loose", "vol-root", "vpc-1"]
    assert links("eip-web") == ["i-web"]  # unchanged rows keep theirs
    gone = ingest_scope(account=acct, scope=REGION, records=changed[:1])
    assert gone.removed == 7  # i-old was gone already
    assert links("i-web") == ["vol-loose", "vol-root", "vpc-1"]


def test_ingest_writes_links_in_a_bounded_number_of_statements(org):
    def ingest(n: int) -> int:
        account = estate.account(org, f"acct-{n}")
        rows = [record("vpc-1", "network")] + [
            record(f"i-{i}", "vm", "vpc-1", f"vol-{i}", f"sg-{i % 3}") for i in range(n)
        ]
        with CaptureQueriesContext(connection) as first:
            ingest_scope(account=account, scope=REGION, records=rows)
        rows = [record("vpc-1", "network")] + [
            record(f"i-{i}", "vm", "vpc-2", f"vol-{i}") for i in range(n)
        ]
        with CaptureQueriesContext(connection) as second:
            ingest_scope(account=account, scope=REGION, records=rows)
        assert ResourceLink.objects.filter(resource__account=account).count() == 2 * n
        return len(first) + len(second)

    assert ingest(1500) == ingest(10)


def test_the_page_lists_both_directions_and_draws_them(login, vera, acct):
    client = login(vera)
    page = client.get(reverse("inventory:resource_detail", args=[pk("i-web")])).content.decode()
    to = page[page.index('id="attached-to"') :]
    to = to[: to.index("</ul>")]
    assert reverse("inventory:resource_detail", args=[pk("vol-root")]) in to
    assert reverse("inventory:resource_detail", args=[pk("vpc-1")]) in to
    assert 'sg-missing</span> <span class="text-body-secondary">not in the inventory' in to
    here = page[page.index('id="attached-here"') :]
    here = here[: here.index("</ul>")]
    assert reverse("inventory:resource_detail", args=[pk("eip-web")]) in here
    assert "vol-root" not in here
    graph = page[page.index('<svg class="attachment-graph') : page.index("</svg>")]
    assert graph.count("<line ") == 4  # three it names, one naming it
    assert "not in the inventory" in graph
    assert reverse("inventory:resource_detail", args=[pk("eip-web")]) in graph
    loose = client.get(reverse("inventory:resource_detail", args=[pk("vol-loose")]))
    assert b"attachment-graph" not in loose.content
    assert b"Nothing listed names it." in loose.content


@pytest.mark.parametrize("n", [3, 150])
def test_the_page_has_a_bounded_query_count(login, vera, org, django_assert_max_num_queries, n):
    account = estate.account(org, "aws-prod")
    rows = [record("vpc-big", "network", *[f"sg-{i}" for i in range(n)])]
    rows += [record(f"i-{i}", "vm", "vpc-big") for i in range(n)]
    rows += [record(f"sg-{i}", "firewall") for i in range(n)]
    ingest_scope(account=account, scope=REGION, records=rows)
    client = login(vera)
    with django_assert_max_num_queries(13):  # and a count beyond 100 links
        page = client.get(reverse("inventory:resource_detail", args=[pk("vpc-big")]))
    assert page.status_code == 200
    assert page.content.count(b"<line ") == (2 * n if n < 8 else 18)  # 8 a side, then "+N more"


def matches(client, **params) -> list[str]:
    response = client.get(reverse("inventory:resource_list"), params)
    return sorted(r.name for r in response.context["page"].object_list)


def test_attached_to_finds_links_either_way(login, vera, acct):
    client = login(vera)
    assert matches(client, attached_to=pk("i-web")) == ["eip-web", "vol-root", "vpc-1"]
    assert matches(client, attached_to=pk("vol-root")) == ["i-web", "snap-1"]
    page = client.get(reverse("inventory:resource_list"), {"attached_to": pk("vol-root")})
    assert b'id="attached-filter"' in page.content


def test_unattached_is_loose_disks_and_ips(login, vera, acct):
    # vol-orphan: only a terminated VM names it.
    assert matches(login(vera), unattached="on") == ["eip-loose", "vol-loose", "vol-orphan"]


def test_attached_to_another_organizations_resource_is_refused(login, vera, acct, other_org):
    theirs = estate.account(other_org, "theirs")
    ingest_scope(account=theirs, scope=REGION, records=small_estate())
    their_vm = Resource.objects.get(account=theirs, resource_id="i-web")
    client = login(vera)
    response = client.get(reverse("inventory:resource_list"), {"attached_to": their_vm.pk})
    message = response.context["filter_messages"]["attached_to"]
    assert message == f"No resource {their_vm.pk} in this organization."
    assert b'id="attached-filter"' not in response.content  # left out: the page lists all ours
    assert all(r.organization_id == vera.memberships.first().organization_id
               for r in response.context["page"].object_list)  # fmt: skip
    for value in ("web", "0", str(2**64)):  # 2**64 would not fit the column
        bad = client.get(reverse("inventory:resource_list"), {"attached_to": value})
        assert bad.context["filter_messages"]["attached_to"] == (
            "Not a resource number: give a resource's number."
        )
    # The filter itself, given another organization's pk, matches nothing of ours either.
    from inventory.attachments import attached_to_filter

    mine = Resource.objects.filter(organization=acct.organization)
    assert not mine.filter(attached_to_filter(organization=acct.organization, pk=their_vm.pk))


def test_the_api_filters_and_shows_attachments(token_for, vera, acct, other_org):
    client = Client(headers={"Authorization": f"Bearer {token_for(vera)}"})
    found = client.get("/api/resources", {"attached_to": pk("i-web")}).json()
    assert sorted(r["name"] for r in found["results"]) == ["eip-web", "vol-root", "vpc-1"]
    loose = client.get("/api/resources", {"unattached": "true"}).json()
    assert sorted(r["name"] for r in loose["results"]) == ["eip-loose", "vol-loose", "vol-orphan"]
    theirs = estate.account(other_org, "theirs")
    ingest_scope(account=theirs, scope=REGION, records=small_estate())
    their_vm = Resource.objects.get(account=theirs, resource_id="i-web")
    refused = client.get("/api/resources", {"attached_to": their_vm.pk})
    assert refused.status_code == 422
    assert f"No resource {their_vm.pk} in this organization." in refused.content.decode()
    detail = client.get(f"/api/resources/{pk('i-web')}").json()
    assert {a["provider_id"]: a["resource"] for a in detail["attached_to"]} == {
        "vol-root": pk("vol-root"), "vpc-1": pk("vpc-1"), "sg-missing": None,
    }  # fmt: skip
    assert detail["attached_here"] == [pk("eip-web")]
    assert (detail["managed"], detail["managed_by"]) == (False, [])
