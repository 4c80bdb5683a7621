"""The inventory's "cost / month": a sortable column with the total of what the filter
matches, on the list, the VM list, the CSV export and the API. The figures are what billing
writes (`Resource.monthly_cost`); here they are set directly, as the inventory only reads."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from inventory.models import Resource
from inventory.services.ingest import tallies_rewrite
from tests.inventory import estate

pytestmark = pytest.mark.django_db


def priced(acct, prefix: str, count: int, *, region: str = "eu-west-1") -> None:
    """`count` resources, resource n costing n * 10 USD a month, billed (odd n) or estimated
    (even n); n = 0 has no figure."""
    estate.fill(acct, count, region=region, prefix=prefix)
    for n in range(1, count):
        Resource.objects.filter(account=acct, resource_id=f"{acct.provider}-{prefix}-{n}").update(
            monthly_cost=Decimal(n * 10),
            cost_currency="USD",
            cost_basis="billed" if n % 2 else "estimate",
        )
    tallies_rewrite(account=acct, scopes=[region])  # as billing does after writing them


@pytest.fixture
def costs(org, other_org):
    acct = estate.account(org, "aws-prod")
    priced(acct, "res", 12)
    priced(estate.account(other_org, "theirs"), "secret", 5)  # never in Acme's totals
    return acct


def names(response) -> list[str]:
    return [r.name for r in response.context["page"].object_list]


def test_the_list_sorts_by_cost_either_way_and_totals_what_matches(login, vera, costs):
    client = login(vera)
    url = reverse("inventory:resource_list")

    most = client.get(url, {"sort": "-cost"})
    assert names(most)[:3] == ["res-0011", "res-0010", "res-0009"]
    least = client.get(url, {"sort": "cost"})
    assert names(least)[0] == "res-0000"  # no figure: counted as nothing

    html = most.content.decode()
    assert "660.00 USD" in html  # 10 + 20 + ... + 110
    assert "(estimates included)" in html
    assert "110.00 USD" in html
    assert "estimate</span>" in html

    # The total follows the filter: the disks alone (types cycle through the estate's list),
    # from the tallies; a search, from the rows themselves.
    disks = client.get(url, {"type": "disk", "sort": "-cost"})
    expected = sum(r.monthly_cost for r in disks.context["page"].object_list)
    assert [(t.amount, t.currency) for t in disks.context["cost_totals"]] == [(expected, "USD")]
    found = client.get(url, {"q": "res-001", "sort": "-cost"})  # res-0010 and res-0011
    assert [(t.amount, t.estimated) for t in found.context["cost_totals"]] == [
        (Decimal("210.00"), True)
    ]


def test_a_resource_without_a_figure_shows_a_dash_not_a_zero(login, vera, org):
    acct = estate.account(org, "aws-prod")
    estate.fill(acct, 2)
    html = login(vera).get(reverse("inventory:resource_list")).content.decode()
    assert 'resource-cost"><span class="text-body-tertiary">—</span>' in html
    assert 'id="cost-total"' not in html  # nothing known: no total


def test_the_vm_list_has_the_column_and_its_total(login, vera, costs):
    response = login(vera).get(reverse("inventory:vm_list"), {"sort": "-cost"})
    vms = list(response.context["page"].object_list)
    assert {r.type for r in vms} == {"vm"}
    assert [r.monthly_cost for r in vms] == sorted((r.monthly_cost for r in vms), reverse=True)
    total = sum(r.monthly_cost for r in vms if r.cost_basis)
    assert [t.amount for t in response.context["cost_totals"]] == [total]
    assert "Cost / month" in response.content.decode()


def test_the_export_carries_the_cost(login, vera, costs):
    response = login(vera).get(reverse("inventory:resource_export"), {"sort": "-cost"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(r["name"], r["cost_per_month"], r["cost_currency"], r["cost_basis"])
            for r in rows[:2]] == [
        ("res-0011", "110.00", "USD", "billed"), ("res-0010", "100.00", "USD", "estimate")
    ]  # fmt: skip
    assert rows[-1]["cost_per_month"] == ""  # no figure


def test_the_api_sorts_by_cost_and_totals(client, vera, token_for, costs):
    token = token_for(vera)
    answer = client.get(
        "/api/resources", {"sort": "-cost", "per_page": 2}, HTTP_AUTHORIZATION=f"Bearer {token}"
    ).json()
    assert [(r["name"], r["cost_per_month"], r["cost_basis"]) for r in answer["results"]] == [
        ("res-0011", "110.00", "billed"),
        ("res-0010", "100.00", "estimate"),
    ]
    assert answer["cost_per_month"] == [{"currency": "USD", "amount": "660.00", "estimated": True}]


def test_sorting_by_cost_runs_a_fixed_number_of_queries(
    login, vera, org, django_assert_max_num_queries
):
    acct = estate.account(org, "aws-prod")
    priced(acct, "res", 20)
    client = login(vera)
    query = {"sort": "-cost", "page": 2, "per_page": 25, "type": "vm"}
    with django_assert_max_num_queries(13) as few:
        client.get(reverse("inventory:resource_list"), query)
    priced(acct, "big", 600, region="us-east-1")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("inventory:resource_list"), query)
    assert response.context["page"].paginator.count > 100
