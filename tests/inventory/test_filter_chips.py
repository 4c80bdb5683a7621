"""Filters like NetBox's: several values per field (page and API), the applied ones as
removable chips above the table, and a row's type, status or tag as a link that filters."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.test import Client
from django.urls import reverse

from inventory.models import Resource
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


def count(response) -> int:
    return response.context["page"].paginator.count


def chips(html: str) -> dict[str, str]:
    """Each chip's text -> its remove link's query."""
    found = re.findall(r'class="badge[^"]*filter-chip">(.*?) <a[^>]*href="\?([^"]*)"', html, re.S)
    return {unescape(text).strip(): unescape(query) for text, query in found}


def test_it_matches_any_of_several_values(login, vera, inventory):
    client = login(vera)
    url = reverse("inventory:resource_list")
    assert count(client.get(url + "?type=vm&type=disk")) == 30
    assert count(client.get(url + "?status=stopped&status=available")) == 50
    assert count(client.get(url + "?region=us-east-1&region=us-central1&type=vm")) == 10
    accounts = f"?account={inventory['aws'].pk}&account={inventory['gcp'].pk}&provider=gcp"
    assert count(client.get(url + accounts)) == 18
    # With a tag the count comes from the rows, not the tallies: the same answer.
    assert count(client.get(url + "?type=vm&type=disk&tag=team")) == 15


def test_one_bad_value_is_a_message_and_the_field_is_not_applied(login, vera, inventory):
    response = login(vera).get(reverse("inventory:resource_list") + "?status=running&status=zzz")
    html = response.content.decode()
    assert "Not a status: zzz" in html
    assert "1 filter ignored" in html
    assert count(response) == 60
    assert not any(text.startswith("Status:") for text in chips(html))


def test_a_multi_value_filter_runs_a_fixed_number_of_queries(
    login, vera, org, django_assert_max_num_queries
):
    acct = estate.account(org, "aws-prod")
    estate.fill(acct, 30)
    estate.fill(acct, 6, region="x-1", prefix="big")  # a region of the filter's choices
    client = login(vera)
    url = reverse("inventory:resource_list")
    query = url + "?type=vm&type=disk&status=running&status=available&region=eu-west-1&region=x-1"
    with django_assert_max_num_queries(12) as few:
        client.get(query)
    estate.fill(acct, 900, region="x-1", prefix="big")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(query + "&per_page=25&page=2")
    assert count(response) == (10 - 5) + 5 + (300 - 150) + 150  # no stopped VMs


def test_the_applied_filters_are_chips_that_each_remove_one_value(login, vera, inventory):
    client = login(vera)
    url = reverse("inventory:resource_list")
    query = url + "?provider=aws&provider=gcp&status=running&tag=team%3Dweb&sort=-name&page=2"
    html = client.get(query).content.decode()
    assert chips(html) == {
        "Provider: AWS": "provider=gcp&status=running&tag=team%3Dweb&sort=-name",
        "Provider: GCP": "provider=aws&status=running&tag=team%3Dweb&sort=-name",
        "Status: running": "provider=aws&provider=gcp&tag=team%3Dweb&sort=-name",
        "Tag: team=web": "provider=aws&provider=gcp&status=running&sort=-name",
    }
    assert 'id="clear-filters" href="?sort=-name"' in html  # keeps the sort, drops filters
    assert 'id="filter-chips" hx-boost="true"' in html  # the filter form is redrawn too
    # An HTMX change of the filters swaps the chips with the results.
    fragment = client.get(url + "?account=" + str(inventory["gcp"].pk), headers=HTMX)
    assert "<html" not in fragment.content.decode()
    assert list(chips(fragment.content.decode())) == ["Account: gcp-main"]
    assert 'id="filter-chips"' not in client.get(url).content.decode()  # none applied


def test_the_vm_list_has_no_chip_for_its_own_type(login, vera, inventory):
    html = login(vera).get(reverse("inventory:vm_list") + "?type=disk&region=us-east-1")
    assert list(chips(html.content.decode())) == ["Region: us-east-1"]


def test_a_rows_type_status_and_tags_filter_the_list(login, vera, inventory):
    client = login(vera)
    html = client.get(reverse("inventory:resource_list") + "?q=res-0000&status=stopped&page=1")
    body = html.content.decode()
    # Each link keeps the other filters and replaces its own field's values.
    assert 'href="?q=res-0000&amp;status=running"' not in body  # res-0000 is stopped
    assert 'href="?q=res-0000&amp;status=stopped"' in body
    assert 'href="?q=res-0000&amp;status=stopped&amp;type=vm"' in body
    assert 'href="?q=res-0000&amp;status=stopped&amp;tag=team%3Dweb"' in body
    by_tag = client.get(reverse("inventory:resource_list") + "?tag=team%3Dweb")
    assert count(by_tag) == 30


def test_the_resource_page_links_its_type_status_and_tags_to_the_list(login, vera, inventory):
    resource = Resource.objects.get(resource_id="aws-res-0")
    html = (
        login(vera).get(reverse("inventory:resource_detail", args=[resource.pk])).content.decode()
    )
    url = reverse("inventory:resource_list")
    assert f'href="{url}?status=stopped"' in html
    assert f'href="{url}?type=vm"' in html
    assert f'href="{url}?tag=team%3Dweb"' in html


def api(token: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {token}"})


def test_the_api_takes_repeated_parameters(inventory, vera, token_for):
    client = api(token_for(vera))
    both = client.get("/api/resources?type=vm&type=disk&per_page=100").json()
    assert both["count"] == 30
    assert {r["type"] for r in both["results"]} == {"vm", "disk"}
    accounts = f"account={inventory['aws'].pk}&account={inventory['gcp'].pk}"
    assert client.get(f"/api/resources?{accounts}&provider=gcp").json()["count"] == 18
    bad = client.get("/api/resources?type=vm&type=zzz")
    assert bad.status_code == 422
    assert "Not a type: zzz." in bad.json()["error"]["details"]["type"]
