"""Cost anomalies on the pages and the API: marked on the billing chart with their expected
range, listed, shown on the dashboard until acknowledged (members and up; viewers cannot),
another organization's a 404, and a fixed number of queries however many there are."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent
from billing.models import Anomaly
from tests.billing.costs import daily, store
from tests.inventory.factories import aws_account

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
TODAY = date(2026, 11, 20)
TILE = reverse("inventory:dashboard_tile", args=["cost_anomalies"])


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel("2026-11-20 12:00:00+00:00", tick=False):
        yield


def _anomaly(account, day: date, service: str = "EC2", **fields) -> Anomaly:
    values = {"expected_low": Decimal(8), "expected_high": Decimal(12), "actual": Decimal(90)}
    return Anomaly.objects.create(
        organization=account.organization, account=account, provider=account.provider,
        service=service, day=day, currency="USD", **{**values, **fields},
    )  # fmt: skip


@pytest.fixture
def world(org, other_org):
    mine = aws_account(org, ("AKIAEXAMPLEEXAMPLE00", "x"))
    store(mine, daily(mine, date(2026, 10, 1), 50, "10", service="EC2"))
    theirs = aws_account(other_org, ("AKIAEXAMPLEEXAMPLE00", "x"), name="theirs")
    store(theirs, daily(theirs, date(2026, 10, 1), 50, "10", service="Secret Service"))
    return {
        "mine": _anomaly(mine, date(2026, 11, 17)),
        "theirs": _anomaly(theirs, date(2026, 11, 17), service="Secret Service"),
        "account": mine,
    }


def test_the_chart_marks_an_anomaly_with_its_expected_range(world, login, vera):
    page = login(vera).get(reverse("billing:overview")).content.decode()
    marker = re.search(r'<circle cx="[\d.]+" cy="[\d.]+" r="4" class="anomaly"><title>([^<]+)<',
                       page)  # fmt: skip
    assert marker is not None
    assert marker.group(1) == "Anomaly: aws-prod · EC2: 90.00 USD, expected 8.00 to 12.00 USD"
    assert page.count('class="anomaly"') == 1
    # The whisker of the day's expected total, in one group with the same words.
    assert '<g class="expected"><title>Expected: Anomaly: aws-prod' in page
    assert '<th scope="col">Anomalies</th>' in page  # the figures table says it in words
    assert 'id="period-anomalies"' in page
    assert "Secret Service" not in page


def test_the_chart_follows_the_filters(world, org, login, vera):
    client = login(vera)
    other = aws_account(org, ("AKIAEXAMPLEEXAMPLE00", "x"), name="aws-other")
    body = client.get(reverse("billing:overview"), {"account": other.pk}, headers=HTMX)
    assert 'class="anomaly"' not in body.content.decode()
    body = client.get(reverse("billing:overview"), {"service": "EC2"}, headers=HTMX)
    assert 'class="anomaly"' in body.content.decode()
    body = client.get(reverse("billing:overview"), {"region": "eu-west-1"}, headers=HTMX)
    html = body.content.decode()
    assert 'class="anomaly"' not in html
    assert "clear the region filter to see them" in html
    body = client.get(reverse("billing:overview"), {"period": "last_month"}, headers=HTMX)
    assert 'class="anomaly"' not in body.content.decode()


def test_the_list_shows_open_ones_first_and_all_on_request(world, login, vera, bob):
    _anomaly(world["account"], date(2026, 11, 10), service="S3", state="acknowledged",
             acknowledged_by=bob)  # fmt: skip
    client = login(vera)
    page = client.get(reverse("billing:anomaly_list")).content.decode()
    assert "EC2" in page
    assert ">S3<" not in page
    assert "Acknowledge</button>" not in page  # a viewer reads
    every = client.get(reverse("billing:anomaly_list"), {"state": "all"}).content.decode()
    assert ">S3<" in every
    assert "acknowledged by bob@acme.test" in every
    assert "Secret Service" not in every


def test_the_tile_shows_open_anomalies_until_they_are_acknowledged(world, login, bob):
    client = login(bob)
    body = client.get(TILE, headers=HTMX).content.decode()
    assert "EC2" in body
    assert "90.00 USD" in body
    assert "expected 8.00 to 12.00" in body
    assert "Secret Service" not in body
    url = reverse("billing:anomaly_ack", args=[world["mine"].pk])
    response = client.post(url, {"next": "home"})
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    body = client.get(TILE, headers=HTMX).content.decode()
    assert "No open cost anomaly." in body
    world["mine"].refresh_from_db()
    assert world["mine"].state == "acknowledged"
    assert world["mine"].acknowledged_by.email == "bob@acme.test"
    assert world["mine"].acknowledged_at is not None
    assert AuditEvent.objects.filter(action="costs.anomaly_acknowledged", actor__email=bob.email)


def test_members_acknowledge_and_viewers_cannot(world, login, vera, bob, ada):
    url = reverse("billing:anomaly_ack", args=[world["mine"].pk])
    assert login(vera).post(url).status_code == 403
    assert "Acknowledge</button>" not in login(vera).get(TILE, headers=HTMX).content.decode()
    world["mine"].refresh_from_db()
    assert world["mine"].state == "open"
    assert "Acknowledge</button>" in login(bob).get(TILE, headers=HTMX).content.decode()
    assert login(ada).post(url).status_code == 302
    world["mine"].refresh_from_db()
    assert world["mine"].state == "acknowledged"


def test_it_checks_ownership(world, login, charlie):
    client = login(charlie)
    assert client.post(reverse("billing:anomaly_ack", args=[world["mine"].pk])).status_code == 404
    world["mine"].refresh_from_db()
    assert world["mine"].state == "open"
    for url in (reverse("billing:anomaly_list"), reverse("billing:overview"), TILE):
        body = client.get(url).content.decode()
        assert "Secret Service" in body
        assert ">EC2<" not in body
        assert "· EC2:" not in body


def test_the_billing_page_and_the_tile_run_a_fixed_number_of_queries(
    org, login, vera, django_assert_max_num_queries
):
    account = aws_account(org, ("AKIAEXAMPLEEXAMPLE00", "x"))
    store(account, daily(account, date(2026, 9, 1), 80, "10"))
    _anomaly(account, date(2026, 11, 1))
    client = login(vera)
    pages = {
        "billing": (reverse("billing:overview"), {"period": "last_90"}),
        "list": (reverse("billing:anomaly_list"), {"state": "all"}),
        "tile": (TILE, {}),
    }
    few = {}
    for name, (url, params) in pages.items():
        with django_assert_max_num_queries(40) as captured:
            assert client.get(url, params).status_code == 200
        few[name] = len(captured.captured_queries)
    others = [aws_account(org, ("AKIAEXAMPLEEXAMPLE00", "x"), name=f"aws-{n}") for n in range(5)]
    for n, each in enumerate([account, *others]):
        for day in range(60):
            _anomaly(each, TODAY - timedelta(days=day + 1), service=f"svc-{n}-{day % 4}")
    assert Anomaly.objects.count() > 300
    for name, (url, params) in pages.items():
        with django_assert_max_num_queries(few[name]):
            body = client.get(url, params).content.decode()
        assert "svc-" in body, name


# --- the API ------------------------------------------------------------------------------
@pytest.fixture
def api():
    def _client(token: str) -> Client:
        return Client(headers={"Authorization": f"Bearer {token}"})

    return _client


@pytest.fixture
def tokens(team, token_for):
    return {name: token_for(user) for name, user in team.items()}


def test_the_api_lists_and_acknowledges(world, tokens, api, bob):
    listed = api(tokens["vera"]).get("/api/anomalies").json()
    assert listed["count"] == 1
    (row,) = listed["results"]
    assert row == {
        "id": world["mine"].pk,
        "account_id": world["account"].pk,
        "account": "aws-prod",
        "provider": "aws",
        "service": "EC2",
        "day": "2026-11-17",
        "currency": "USD",
        "expected_low": "8.00",
        "expected_high": "12.00",
        "actual": "90.00",
        "state": "open",
        "acknowledged_by": None,
        "acknowledged_at": None,
    }
    url = f"/api/anomalies/{world['mine'].pk}/acknowledge"
    assert api(tokens["vera"]).post(url).status_code == 403
    done = api(tokens["bob"]).post(url)
    assert done.status_code == 200
    assert done.json()["state"] == "acknowledged"
    assert done.json()["acknowledged_by"] == "bob@acme.test"
    assert api(tokens["vera"]).get("/api/anomalies", {"state": "open"}).json()["count"] == 0
    assert api(tokens["vera"]).get("/api/anomalies", {"state": "bogus"}).status_code == 422


def test_the_api_keeps_to_the_organization(world, tokens, api):
    client = api(tokens["charlie"])
    response = client.post(f"/api/anomalies/{world['mine'].pk}/acknowledge")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Not found."}}
    names = {r["service"] for r in client.get("/api/anomalies").json()["results"]}
    assert names == {"Secret Service"}
    mine = client.get("/api/anomalies", {"account": world["account"].pk}).json()
    assert mine["count"] == 0
    world["mine"].refresh_from_db()
    assert world["mine"].state == "open"


def test_the_whisker_shows_where_the_days_total_was_expected(org, login, vera):
    from billing.services.anomalies import anomalies_detect

    account = aws_account(org, ("AKIAEXAMPLEEXAMPLE00", "x"))
    spike = date(2026, 11, 17)
    store(account, daily(account, date(2026, 9, 1), 80, "100", service="EC2"))
    store(account, daily(account, spike, 1, "400", service="EC2"))
    anomalies_detect(account=account, today=TODAY)
    anomaly = Anomaly.objects.get()
    assert (anomaly.expected_low, anomaly.expected_high) == (80, 120)
    page = login(vera).get(reverse("billing:overview"), {"period": "last_30"}).content.decode()
    # The axis runs to 400 over 230 units from y=240: 120 at y=171, 80 at y=194, and the
    # marker sits above the bar's top (y=10).
    group = re.search(r'<g class="expected">.*?</g>', page).group(0)
    ys = sorted({float(y) for y in re.findall(r'y[12]="([\d.]+)"', group)})
    assert ys == [171.0, 194.0]
    marker = re.search(r'<circle cx="[\d.]+" cy="([\d.]+)" r="4" class="anomaly"', page)
    assert float(marker.group(1)) == 5.0  # as high as the drawing allows: the bar is at the top
