"""The inventory's cards for phones: one per resource on the page, beside the table (CSS picks
which shows), each with its name, status, provider, region and its cost / month (billed, or
a labelled estimate) as billing wrote it, in the HTMX fragment too, for the same queries as
the table alone."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from inventory.models import Resource
from inventory.services.ingest import ingest_scope
from mcloud.clouds.base import ResourceRecord
from tests.inventory import estate

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def _vm(n: int) -> ResourceRecord:
    return ResourceRecord(
        resource_id=f"i-{n}", name=f"web-{n}", type="vm", region="eu-west-1",
        status="running" if n else "stopped", created_at=datetime(2026, 1, 1, tzinfo=UTC),
        tags={}, metadata={"instance_type": "t3.micro"},
    )  # fmt: skip


def _costed(basis: str, amount: str, **lookup: object) -> None:
    """The figures billing writes after an import (billing.services.resource_costs)."""
    Resource.objects.filter(**lookup).update(
        monthly_cost=amount, cost_currency="USD", cost_basis=basis
    )


def _cards(body: str) -> list[str]:
    block = body.split('id="resource-cards"', 1)[1].split("</ul>", 1)[0]
    return re.findall(r'<li class="card resource-card.*?</li>', block, re.S)


def test_each_resource_is_a_card_with_its_status_provider_region_and_estimate(
    login, vera, org, other_org
):
    acct = estate.account(org, "aws-prod")
    ingest_scope(account=acct, scope="eu-west-1", records=[_vm(0), _vm(1)])
    _costed("billed", "12.5", resource_id="i-1")
    estate.fill(estate.account(other_org, "theirs"), 6, prefix="secret")
    body = login(vera).get(reverse("inventory:resource_list")).content.decode()
    cards = _cards(body)
    assert len(cards) == 2
    stopped, running = cards  # sorted by name
    assert "web-0" in stopped
    assert 'title="Only this status">stopped</a>' in stopped
    assert "provider-badge" in stopped
    assert 'class="resource-region text-mono">eu-west-1<' in stopped
    assert "USD/month" not in stopped  # no figure written for it: nothing made up
    assert "web-1" in running
    assert "12.50 USD/month" in running
    assert "secret" not in body
    # The table is still there for wider screens; the cards hide from md up.
    assert 'id="resource-table"' in body
    assert 'class="list-unstyled mb-0 d-md-none" id="resource-cards"' in body


def test_the_cards_follow_the_filters_in_the_htmx_fragment_and_on_the_vm_list(login, vera, org):
    acct = estate.account(org, "aws-prod")
    estate.fill(acct, 12)
    client = login(vera)
    fragment = client.get(
        reverse("inventory:resource_list"), {"status": "stopped"}, headers=HTMX
    ).content.decode()
    assert "<html" not in fragment
    assert len(_cards(fragment)) == 2
    assert all("stopped" in card for card in _cards(fragment))
    vms = client.get(reverse("inventory:vm_list")).content.decode()
    assert len(_cards(vms)) == 4
    # Sorting without the table's headers: the links above the cards.
    assert 'id="card-sort"' in vms
    assert "?sort=-name" in vms.split('id="card-sort"', 1)[1].split("</div>", 1)[0]
    empty = client.get(reverse("inventory:resource_list"), {"q": "nothing-like-this"})
    assert (
        "No resource matches these filters."
        in empty.content.decode().split('id="resource-cards"', 1)[1].split("</ul>", 1)[0]
    )


def test_the_cards_add_no_query(login, vera, org, django_assert_max_num_queries):
    acct = estate.account(org, "aws-prod")
    ingest_scope(account=acct, scope="eu-west-1", records=[_vm(n) for n in range(5)])
    _costed("estimate", "7.59", account=acct)
    client = login(vera)
    with django_assert_max_num_queries(12) as few:
        client.get(reverse("inventory:resource_list"))
    ingest_scope(account=acct, scope="eu-west-1", records=[_vm(n) for n in range(80)])
    _costed("estimate", "7.59", account=acct)
    with django_assert_max_num_queries(len(few.captured_queries)):
        body = client.get(reverse("inventory:resource_list")).content.decode()
    assert len(_cards(body)) == 50
    assert body.count("~7.59 USD/month") == 50
