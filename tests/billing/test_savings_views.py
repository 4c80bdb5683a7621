"""The Savings page, its CSV and the dashboard tile: findings by rule, account and type,
sorted by saving, dismissed by members with a reason; another organization's findings are
never shown and its finding a 404; a fixed number of queries however many there are."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from billing.models import Finding
from billing.services.waste import findings_refresh
from inventory.services.ingest import ingest_scope
from tests.billing.test_waste import rec
from tests.inventory.estate import account

pytestmark = pytest.mark.django_db

PAGE = reverse("billing:savings")
TILE = reverse("inventory:dashboard_tile", args=["savings"])


def estate(acct, disks: int = 3) -> None:
    records = [rec(f"vol-{n}", "disk", size=10 * (n + 1)) for n in range(disks)]
    records.append(rec("=cmd|eip", "ip_address"))
    ingest_scope(account=acct, scope="eu-west-1", records=records,
                 now=datetime.now(UTC) - timedelta(days=1))  # fmt: skip
    findings_refresh(organization=acct.organization)


@pytest.fixture
def world(org, other_org):
    mine = account(org, "prod")
    estate(mine)
    estate(account(other_org, "theirs"), disks=1)
    return mine


def test_the_page_lists_findings_biggest_saving_first_with_the_total(world, login, vera):
    page = login(vera).get(PAGE).content.decode()
    assert page.index("vol-2") < page.index("vol-1") < page.index("vol-0")
    assert "8.45 USD" in page  # 60 GB x 0.08 + 3.65 for the address
    assert "theirs" not in page
    assert "/dismiss/" not in page  # viewers cannot
    small = login(vera).get(PAGE, {"order": "saving", "type": "disk"}).content.decode()
    assert small.index("vol-0") < small.index("vol-2")
    assert "eip" not in small.split('id="findings"')[1]


def test_the_page_and_tile_take_the_same_queries_however_many(
    world, login, vera, django_assert_num_queries
):
    client = login(vera)
    client.get(PAGE)
    with django_assert_num_queries(9) as few:  # 2 for the removals: their runs, the rule
        client.get(PAGE)
    estate(world, disks=20)
    with django_assert_num_queries(len(few.captured_queries)):
        client.get(PAGE)
    tile = client.get(TILE, headers={"HX-Request": "true"}).content.decode()
    assert "Unattached disk: 20" in tile


def test_members_dismiss_with_a_reason_audited_and_not_others_findings(world, login, bob):
    client = login(bob)
    finding = Finding.objects.get(organization=world.organization, resource__name="vol-2")
    url = reverse("billing:finding_dismiss", args=[finding.pk])
    client.post(url, {"reason": ""})
    finding.refresh_from_db()
    assert finding.dismissed_at is None
    client.post(url, {"reason": "restore drill"})
    finding.refresh_from_db()
    assert (finding.dismissed_by, finding.dismiss_reason) == (bob, "restore drill")
    assert AuditEvent.objects.filter(action="costs.finding_dismissed").count() == 1
    assert "vol-2" not in client.get(PAGE).content.decode().split('id="findings"')[1]
    assert "restore drill" in client.get(PAGE, {"state": "dismissed"}).content.decode()
    theirs = Finding.objects.exclude(organization=world.organization).first()
    assert client.post(reverse("billing:finding_dismiss", args=[theirs.pk]),
                       {"reason": "x"}).status_code == 404  # fmt: skip


def test_viewers_cannot_dismiss(world, login, vera):
    finding = Finding.objects.filter(organization=world.organization).first()
    response = login(vera).post(reverse("billing:finding_dismiss", args=[finding.pk]),
                                {"reason": "x"})  # fmt: skip
    assert response.status_code == 403
    finding.refresh_from_db()
    assert finding.dismissed_at is None


def test_the_csv_rounds_to_cents_and_defuses_formulas(world, login, vera):
    response = login(vera).get(reverse("billing:savings_export"))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["resource_id"] for r in rows] == ["'=cmd|eip", "vol-2", "vol-1", "vol-0"]
    assert [r["monthly_saving"] for r in rows] == ["3.65", "2.40", "1.60", "0.80"]
    assert rows[0]["basis"] == "Estimate (list prices)"
    assert {r["account"] for r in rows} == {"prod"}


def test_the_api_lists_and_dismisses_only_the_organizations_findings(world, token_for, bob, vera):
    from django.test import Client

    api = Client(headers={"Authorization": f"Bearer {token_for(bob)}"})
    body = api.get("/api/savings", {"type": "disk"}).json()
    assert [r["name"] for r in body["results"]] == ["vol-2", "vol-1", "vol-0"]
    assert body["total"] == {"USD": "4.80"}
    assert body["results"][0]["basis"] == "estimate"
    pk = body["results"][0]["id"]
    url = f"/api/savings/{pk}/dismiss"
    assert api.post(url, {"reason": " "}, content_type="application/json").status_code == 422
    done = api.post(url, {"reason": "drill"}, content_type="application/json").json()
    assert (done["dismissed_by"], done["dismiss_reason"]) == ("bob@acme.test", "drill")
    theirs = Finding.objects.exclude(organization=world.organization).first()
    assert api.post(f"/api/savings/{theirs.pk}/dismiss", {"reason": "x"},
                    content_type="application/json").status_code == 404  # fmt: skip
    viewer = Client(headers={"Authorization": f"Bearer {token_for(vera)}"})
    assert viewer.post(url, {"reason": "x"}, content_type="application/json").status_code == 403
