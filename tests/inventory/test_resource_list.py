"""The inventory list: filters in the URL, sorting, paging, HTMX fragments, saved views, the
VM list, the CSV export and the resource page."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from inventory.models import Resource, ResourceEvent, SavedView
from inventory.services.ingest import ingest_scope
from mcloud.clouds.base import ResourceRecord
from tests.inventory import estate

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture
def inventory(org, other_org):
    aws = estate.account(org, "aws-prod")
    gcp = estate.account(org, "gcp-main", "gcp")
    estate.fill(aws, 30, region="eu-west-1", team="web")
    estate.fill(aws, 12, region="us-east-1", prefix="east")
    estate.fill(gcp, 18, region="us-central1", prefix="g")
    estate.fill(estate.account(other_org, "theirs"), 20, prefix="secret")
    return {"aws": aws, "gcp": gcp}


def names(response) -> list[str]:
    return [r.name for r in response.context["page"].object_list]


def count(response) -> int:
    return response.context["page"].paginator.count


def test_it_lists_the_organizations_resources(login, vera, inventory):
    response = login(vera).get(reverse("inventory:resource_list"))
    assert count(response) == 60
    assert b"secret-" not in response.content
    assert b"60</strong> resources match" in response.content


@pytest.mark.parametrize(("query", "expected"), [
    ({"provider": "gcp"}, 18),
    ({"region": "us-east-1"}, 12),
    ({"type": "vm"}, 20),
    ({"status": "stopped"}, 10),
    ({"tag": "team"}, 30),
    ({"tag": "team=web"}, 30),
    ({"tag": "team=data"}, 0),
    ({"tag": "env=prod", "region": "eu-west-1"}, 15),
    ({"q": "east-001"}, 2),
    ({"q": "AWS-G-1"}, 0),
    ({"q": "aws-res-2"}, 11),
    ({"managed": "unmanaged"}, 60),
    ({"managed": "managed"}, 0),
])  # fmt: skip
def test_filters(login, vera, inventory, query, expected):
    assert count(login(vera).get(reverse("inventory:resource_list"), query)) == expected


def test_the_account_filter_and_bad_values(login, vera, inventory):
    client = login(vera)
    gcp = inventory["gcp"].pk
    assert count(client.get(reverse("inventory:resource_list"), {"account": gcp})) == 18
    # An invalid value is ignored rather than failing the page.
    response = client.get(reverse("inventory:resource_list"), {"account": "x", "per_page": "7"})
    assert response.status_code == 200
    assert count(response) == 60


def test_deleted_resources_are_hidden_unless_asked_for(login, vera, inventory):
    ingest_scope(account=inventory["aws"], scope="us-east-1", records=[])  # all gone
    client = login(vera)
    assert count(client.get(reverse("inventory:resource_list"))) == 48
    response = client.get(reverse("inventory:resource_list"), {"include_deleted": "on"})
    assert count(response) == 60
    assert b">deleted</span>" in response.content


def test_managed_resources_are_those_in_a_deployments_state(login, vera, org, alice, hello_version):
    acct = estate.account(org, "aws-prod")
    tagged = estate.fill(acct, 3, **{"mcloud-deployment": "42"})
    estate.fill(acct, 2, region="us-east-1", prefix="manual")
    estate.deploy(org, alice, hello_version, "web-stack", tagged[0].resource_id)
    client = login(vera)
    managed = client.get(reverse("inventory:resource_list"), {"managed": "managed"})
    assert names(managed) == ["res-0000"]  # the other two carry the tag only
    assert b">managed by web-stack</a>" in managed.content
    assert count(client.get(reverse("inventory:resource_list"), {"managed": "unmanaged"})) == 4


def test_sorting_and_paging(login, vera, inventory):
    client = login(vera)
    first = client.get(reverse("inventory:resource_list"), {"sort": "-name", "per_page": 25})
    assert names(first)[0] == "res-0029"
    assert first.context["page"].paginator.num_pages == 3
    third = client.get(
        reverse("inventory:resource_list"), {"sort": "-name", "per_page": 25, "page": 3}
    )
    assert len(names(third)) == 10
    html = third.content.decode()
    assert 'href="?sort=-name&amp;per_page=25&amp;page=2"' in html  # filters kept when paging
    by_region = client.get(reverse("inventory:resource_list"), {"sort": "region"})
    assert by_region.context["page"].object_list[0].region == "eu-west-1"


def test_htmx_gets_the_results_fragment_only(login, vera, inventory):
    response = login(vera).get(
        reverse("inventory:resource_list"), {"provider": "gcp"}, headers=HTMX
    )
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="results">')
    assert "<html" not in body
    assert "18</strong> resources match" in body
    assert response["Vary"] == "HX-Request, Cookie" or "HX-Request" in response["Vary"]
    # The history-restore request (the back button after htmx pushed the URL) gets the page.
    restore = login(vera).get(
        reverse("inventory:resource_list"),
        {"provider": "gcp"},
        headers={**HTMX, "HX-History-Restore-Request": "true"},
    )
    assert "<html" in restore.content.decode()


def test_the_list_runs_a_fixed_number_of_queries(login, vera, org, django_assert_max_num_queries):
    acct = estate.account(org, "aws-prod")
    estate.fill(acct, 30)
    client = login(vera)
    query = {"type": "vm", "tag": "env=prod", "sort": "-last_seen", "page": 2, "per_page": 25}
    with django_assert_max_num_queries(12) as few:
        client.get(reverse("inventory:resource_list"), query)
    estate.fill(acct, 900, region="us-east-1", prefix="big")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("inventory:resource_list"), query)
    assert count(response) > 100


def test_the_vm_list_keeps_to_vms(login, vera, inventory):
    client = login(vera)
    response = client.get(reverse("inventory:vm_list"), {"type": "storage", "provider": "aws"})
    assert count(response) == 14
    assert {r.type for r in response.context["page"].object_list} == {"vm"}


def test_the_csv_holds_the_filtered_rows_and_neutralizes_formulas(login, vera, org):
    acct = estate.account(org, "aws-prod")
    estate.fill(acct, 6)
    ingest_scope(account=acct, scope="evil", records=[ResourceRecord(
        resource_id="evil-1", name="=HYPERLINK(\"http://x\")", type="vm", region="evil",
        status="running", tags={"note": "+1 <script>alert(1)</script>"})])  # fmt: skip
    response = login(vera).get(reverse("inventory:resource_export"), {"type": "vm"})
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:4] == ["provider", "account", "type", "name"]
    assert len(rows) == 1 + 2 + 1  # header, the two VMs of six, the evil one
    evil = next(r for r in rows if r[4] == "evil-1")
    assert evil[3] == '\'=HYPERLINK("http://x")'
    assert evil[7] == "note=+1 <script>alert(1)</script>"  # not a formula: starts with "n"


def test_names_with_html_are_escaped(login, vera, org):
    acct = estate.account(org, "aws-prod")
    ingest_scope(account=acct, scope="x", records=[ResourceRecord(
        resource_id="x-1", name="<script>alert(1)</script>", type="vm", region="x",
        status="running", tags={"<b>k</b>": "<img src=x onerror=alert(1)>"})])  # fmt: skip
    client = login(vera)
    page = client.get(reverse("inventory:resource_list")).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    detail = client.get(
        reverse("inventory:resource_detail", args=[Resource.objects.get().pk])
    ).content.decode()
    assert "<img src=x" not in detail


def test_saved_views_for_oneself_or_the_organization(login, vera, bob, ada, inventory):
    login(vera).post(reverse("inventory:saved_view_create"),
                     {"name": "GCP VMs", "query": "provider=gcp&type=vm&bogus=1",
                      "shared": "on"})  # fmt: skip
    view = SavedView.objects.get()
    assert (view.query, view.shared) == ("provider=gcp&type=vm", False)  # viewers cannot share
    response = login(bob).post(
        reverse("inventory:saved_view_create"),
        {"name": "East", "query": "region=us-east-1", "shared": "on"},
    )
    assert response.url == reverse("inventory:resource_list") + "?region=us-east-1"
    ada_page = login(ada).get(reverse("inventory:resource_list")).content.decode()
    assert ">East</a>" in ada_page
    assert ">GCP VMs</a>" not in ada_page  # vera's own view
    vera_page = login(vera).get(reverse("inventory:resource_list")).content.decode()
    assert ">GCP VMs</a>" in vera_page
    assert 'href="/inventory/?provider=gcp&amp;type=vm"' in vera_page
    east = SavedView.objects.get(name="East")
    login(vera).post(reverse("inventory:saved_view_delete", args=[east.pk]))
    assert SavedView.objects.filter(pk=east.pk).exists()  # not hers
    login(ada).post(reverse("inventory:saved_view_delete", args=[east.pk]))
    assert not SavedView.objects.filter(pk=east.pk).exists()  # an admin tidies shared views


def test_the_swapped_results_carry_the_current_filter_for_saving_a_view(login, vera, inventory):
    """HTMX swaps only #results, so the save form's query and the filter form's sort must live
    there: hidden inputs tied to their forms by form=, not stale ones from the first load."""
    client = login(vera)
    page = client.get(reverse("inventory:resource_list")).content.decode()
    assert 'id="save-view"' in page
    assert 'id="filters"' in page
    fragment = client.get(
        reverse("inventory:resource_list"),
        {"provider": "gcp", "sort": "-name", "page": "2"},
        headers=HTMX,
    ).content.decode()
    query = (
        '<input type="hidden" name="query" value="provider=gcp&amp;sort=-name" form="save-view">'
    )
    assert query in fragment
    assert '<input type="hidden" name="sort" value="-name" form="filters">' in fragment
    assert fragment.count('name="query"') == 1
    vms = client.get(reverse("inventory:vm_list"), {"sort": "region"}, headers=HTMX)
    assert 'name="query"' not in vms.content.decode()  # no save form on the VM list
    assert '<input type="hidden" name="sort" value="region" form="filters">' in (
        vms.content.decode()
    )


def test_the_resource_page_shows_fields_and_history(
    login, vera, org, django_assert_max_num_queries
):
    acct = estate.account(org, "aws-prod")
    records = estate.fill(acct, 2)
    records[1].status = "stopped"
    ingest_scope(account=acct, scope="eu-west-1", records=records)
    resource = Resource.objects.get(resource_id=records[1].resource_id)
    assert ResourceEvent.objects.filter(resource=resource, kind="status").exists()
    client = login(vera)
    with django_assert_max_num_queries(11):  # with its VM actions' latest runs
        page = client.get(reverse("inventory:resource_detail", args=[resource.pk]))
    html = page.content.decode()
    assert "aws-prod" in html
    assert "instance_type" in html
    assert "t3.micro" in html
    assert "(running → stopped)" in html
    assert "first seen by mcloud" in html


def test_it_checks_ownership(login, charlie, alice, org, inventory):
    resource = Resource.objects.filter(account=inventory["aws"]).first()
    client = login(charlie)
    assert client.get(reverse("inventory:resource_detail", args=[resource.pk])).status_code == 404
    assert count(client.get(reverse("inventory:resource_list"))) == 20
    view = SavedView.objects.create(organization=org, owner=alice, name="x", shared=True)
    assert client.post(reverse("inventory:saved_view_delete", args=[view.pk])).status_code == 404
    assert ">x</a>" not in client.get(reverse("inventory:resource_list")).content.decode()
    export = b"".join(client.get(reverse("inventory:resource_export")).streaming_content)
    rows = list(csv.reader(io.StringIO(export.decode())))
    assert len(rows) == 21
    assert all(row[1] == "theirs" for row in rows[1:])


def test_search_follows_a_rename_by_a_sync(login, vera, inventory):
    """The search index (FTS5 on SQLite, trigram indexes on PostgreSQL) follows the rows."""
    rows = list(Resource.objects.filter(account=inventory["aws"], scope="us-east-1"))
    records = [
        ResourceRecord(
            resource_id=r.resource_id,
            name="renamed-box" if i == 0 else r.name,
            type=r.type,
            region=r.region,
            status="stopped",  # every row changes, so the upsert writes each
        )
        for i, r in enumerate(rows)
    ]
    ingest_scope(account=inventory["aws"], scope="us-east-1", records=records)
    client = login(vera)
    search = reverse("inventory:resource_list")
    assert names(client.get(search, {"q": "renamed-b"})) == ["renamed-box"]
    assert count(client.get(search, {"q": rows[0].name})) == 0
    assert count(client.get(search, {"q": rows[1].name})) == 1  # written, not renamed
