"""Showback: the costs by allocation tag (selector, page, CSV, API), the untagged bucket and
the coverage, and the admin's choice of keys."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from accounts.models import AuditEvent
from billing.allocation import allocation
from billing.models import BillingSettings
from billing.services.imports import tag_costs_replace
from mcloud.clouds.base import TagCostRecord
from tests.billing.costs import daily, store
from tests.inventory.factories import aws_account, gcp_account
from tests.inventory.keys import service_account_key

pytestmark = [pytest.mark.django_db]

HTMX = {"HX-Request": "true"}
NOV = date(2026, 11, 1)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel("2026-11-20 12:00:00+00:00", tick=False):
        yield


def tag_days(account, start: date, days: int, key: str, amounts: dict[str, str]) -> None:
    """Costs by `key` for `days` days, through the import's write path."""
    records = [
        TagCostRecord(date=start + timedelta(days=n), key=key, value=value,
                      amount=Decimal(amount), currency="USD")
        for n in range(days)
        for value, amount in amounts.items()
    ]  # fmt: skip
    tag_costs_replace(
        account=account, start=start, end=start + timedelta(days=days), keys=[key],
        records=records,
    )  # fmt: skip


def keys(org, *chosen: str) -> None:
    BillingSettings.stored(org)
    BillingSettings.objects.filter(organization=org).update(allocation_keys=list(chosen))


@pytest.fixture
def tagged(org, other_org):
    """November to date (19 days): web 50, data 21, untagged 29 a day: 71 % tagged."""
    keys(org, "team")
    aws = aws_account(org, ("AKIAEXAMPLEEXAMPLE00", "x"))
    store(aws, daily(aws, NOV, 19, "100"))
    tag_days(aws, NOV, 19, "team", {"web": "50.004", "data": "21", "": "28.996"})
    keys(other_org, "team")
    theirs = aws_account(other_org, ("AKIAEXAMPLEEXAMPLE00", "x"), name="theirs")
    store(theirs, daily(theirs, NOV, 19, "999"))
    tag_days(theirs, NOV, 19, "team", {"secret-team": "999"})
    return aws


def test_the_breakdown_has_each_value_the_untagged_bucket_and_the_coverage(tagged, org):
    result = allocation(organization=org, key="team", start=NOV, end=date(2026, 11, 20),
                        currency="USD", rates={})  # fmt: skip
    assert [(r.label, r.total) for r in result.rows] == [
        ("web", Decimal("950.076")),
        ("data", Decimal(399)),
        ("untagged", Decimal("550.924")),  # always last
    ]
    assert round(result.coverage) == 71
    assert round(result.untagged_row.share, 2) == pytest.approx(29.0, abs=0.01)
    assert result.series["groups"] == ["web", "data", "Other", "Untagged"]
    assert result.series["days"][0]["values"] == [
        Decimal("50.004"),
        Decimal(21),
        Decimal(0),
        Decimal("28.996"),
    ]
    assert result.accounts_without == []


def test_accounts_imported_before_the_key_was_chosen_are_named(tagged, org):
    gcp = gcp_account(org, service_account_key("acme-prod"))
    store(gcp, daily(gcp, NOV, 3, "5"))
    result = allocation(organization=org, key="team", start=NOV, end=date(2026, 11, 20),
                        currency="USD", rates={})  # fmt: skip
    assert result.accounts_without == ["gcp-main"]
    assert round(result.coverage) == 71  # of the accounts that have costs by the key


def test_a_key_without_any_cost_has_an_empty_untagged_bucket_and_no_coverage(org):
    result = allocation(organization=org, key="team", start=NOV, end=date(2026, 11, 20),
                        currency="USD", rates={})  # fmt: skip
    assert [(r.label, r.total) for r in result.rows] == [("untagged", Decimal(0))]
    assert result.coverage is None


def test_the_page_shows_the_coverage_and_the_untagged_share(tagged, login, vera):
    page = login(vera).get(reverse("billing:allocation")).content.decode()
    assert "71 % of the cost is tagged with <code>team</code> (November 2026 to date)" in page
    assert 'id="allocation-untagged">550.92 USD' in page
    assert "<em>Untagged</em>" in page
    assert "web" in page
    assert "data" in page
    assert "secret-team" not in page
    assert "999" not in page


def test_the_page_answers_htmx_with_its_results_only(tagged, login, vera):
    response = login(vera).get(reverse("billing:allocation"), {"key": "team"}, headers=HTMX)
    assert "<html" not in response.content.decode()
    assert 'id="allocation-coverage"' in response.content.decode()


def test_without_keys_the_page_says_who_chooses_them(org, login, vera, ada):
    assert "An admin of the organization chooses them" in (
        login(vera).get(reverse("billing:allocation")).content.decode()
    )
    page = login(ada).get(reverse("billing:allocation")).content.decode()
    assert "Choose allocation tags" in page
    htmx = login(ada).get(reverse("billing:allocation"), headers={"HX-Request": "true"})
    assert "Choose allocation tags" in htmx.content.decode()  # no results to swap without keys


def test_the_page_runs_a_fixed_number_of_queries(
    tagged, org, login, vera, django_assert_max_num_queries
):
    client = login(vera)
    with django_assert_max_num_queries(20) as few:
        client.get(reverse("billing:allocation"), {"period": "last_90"})
    for n in range(30):
        tag_days(tagged, NOV - timedelta(days=60), 60, "team", {f"team-{n}": "1", "": "2"})
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("billing:allocation"), {"period": "last_90"})


def test_it_checks_ownership(tagged, login, charlie):
    page = login(charlie).get(reverse("billing:allocation")).content.decode()
    assert "secret-team" in page  # charlie's own
    assert ">web<" not in page
    assert "550.92" not in page
    rows = list(csv.reader(io.StringIO(
        b"".join(login(charlie).get(reverse("billing:allocation_export")).streaming_content)
        .decode()
    )))  # fmt: skip
    assert {r[3] for r in rows[1:]} == {"team"}
    assert {r[2] for r in rows[1:]} == {"theirs"}


def test_the_csv_has_each_day_value_and_account_rounded_to_cents(tagged, login, vera):
    response = login(vera).get(reverse("billing:allocation_export"), {"key": "team"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["date", "provider", "account", "key", "value", "tagged", "currency",
                       "amount"]  # fmt: skip
    assert rows[1:4] == [
        ["2026-11-01", "aws", "aws-prod", "team", "", "no", "USD", "29.00"],
        ["2026-11-01", "aws", "aws-prod", "team", "data", "yes", "USD", "21.00"],
        ["2026-11-01", "aws", "aws-prod", "team", "web", "yes", "USD", "50.00"],
    ]
    assert len(rows) == 1 + 19 * 3


def test_the_api_gives_the_values_coverage_and_trend(tagged, client, token_for, vera):
    auth = {"Authorization": f"Bearer {token_for(vera)}"}
    body = client.get("/api/costs/allocation", {"key": "team"}, headers=auth).json()
    assert body["coverage_percent"] == pytest.approx(70.996, abs=0.01)
    assert [(v["value"], v["untagged"], v["total"]) for v in body["values"]] == [
        ("web", False, "950.08"),
        ("data", False, "399.00"),
        ("", True, "550.92"),
    ]
    assert body["untagged"] == "550.92"
    assert body["days"][0]["values"] == {"web": "50.00", "data": "21.00", "untagged": "29.00"}
    answer = client.get("/api/costs/allocation", {"key": "cost-center"}, headers=auth)
    assert answer.status_code == 422


def test_the_api_shows_another_organization_nothing_of_ours(tagged, client, token_for, charlie):
    auth = {"Authorization": f"Bearer {token_for(charlie)}"}
    body = client.get("/api/costs/allocation", headers=auth).json()
    assert [v["value"] for v in body["values"]] == ["secret-team", ""]


def test_only_admins_change_the_keys_through_the_api(org, client, token_for, vera, ada):
    keys(org, "team")
    viewer = {"Authorization": f"Bearer {token_for(vera)}"}
    assert client.get("/api/costs/allocation/keys", headers=viewer).json() == {"keys": ["team"]}
    refused = client.put("/api/costs/allocation/keys", {"keys": ["env"]},
                         content_type="application/json", headers=viewer)  # fmt: skip
    assert refused.status_code == 403
    admin = {"Authorization": f"Bearer {token_for(ada)}"}
    bad = client.put("/api/costs/allocation/keys", {"keys": ["team$"]},
                     content_type="application/json", headers=admin)  # fmt: skip
    assert bad.status_code == 422
    assert "character tag keys cannot hold" in str(bad.json())
    saved = client.put("/api/costs/allocation/keys", {"keys": [" env ", "cost-center"]},
                       content_type="application/json", headers=admin)  # fmt: skip
    assert saved.json() == {"keys": ["env", "cost-center"]}
    assert BillingSettings.objects.get(organization=org).allocation_keys == ["env", "cost-center"]


def test_an_admin_chooses_the_keys_on_the_settings_page(org, login, ada, vera):
    url = reverse("billing:settings")
    assert login(vera).post(url, {"allocation": "1", "keys": "team"}).status_code in (403, 404)
    client = login(ada)
    page = client.post(url, {"allocation": "1", "keys": "team, Team"}).content.decode()
    assert "The tag key &quot;Team&quot; is given twice" in page
    page = client.post(url, {"allocation": "1", "keys": "a, b, c, d, e, f"}).content.decode()
    assert "Choose at most 5 keys" in page
    page = client.post(url, {"allocation": "1", "keys": "team\nenv"}, follow=True)
    assert "Saved the allocation tag keys." in page.content.decode()
    assert BillingSettings.objects.get(organization=org).allocation_keys == ["team", "env"]
    event = AuditEvent.objects.get(action="billing.allocation_keys_updated")
    assert (event.actor, event.data["keys"]) == (ada, ["team", "env"])
    assert BillingSettings.objects.get(organization=org).currency == "USD"  # untouched
