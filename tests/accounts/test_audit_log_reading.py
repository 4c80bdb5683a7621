"""The audit log as people read it: values in words (no Python reprs), objects that still
exist as links, filters by who, what kind of object, action and date, and the CSV export."""

from __future__ import annotations

import csv
import io
from datetime import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import AuditEvent
from inventory.models import CloudAccount

pytestmark = pytest.mark.django_db


@pytest.fixture
def accounts(org):
    kept = CloudAccount.objects.create(organization=org, name="aws-prod", provider="aws")
    gone = CloudAccount.objects.create(organization=org, name="aws-old", provider="aws")
    return kept, gone


def test_details_read_as_words_not_python(login, alice, org):
    audit_record(
        organization=org,
        actor=alice,
        action="deployment.created",
        data={"account": None, "variables": ["greeting", "name"], "replace": True, "n": 3},
    )
    html = login(alice).get(reverse("accounts:audit_log")).content.decode()
    details = html[html.index("deployment.created") :]
    assert "None" not in details
    assert "[&#x27;" not in details
    assert "greeting, name" in details
    assert "account:</span> —" in details
    assert "replace:</span> yes" in details


def test_objects_that_still_exist_are_links(login, alice, org, accounts):
    kept, gone = accounts
    audit_record(organization=org, actor=alice, action="cloud_account.created", target=kept)
    audit_record(organization=org, actor=alice, action="cloud_account.created", target=gone)
    gone.delete()
    html = login(alice).get(reverse("accounts:audit_log")).content.decode()
    link = reverse("inventory:account_detail", args=[kept.pk])
    assert f'<a href="{link}">aws-prod</a>' in html
    assert ">aws-old</a>" not in html
    assert "aws-old" in html


def test_it_filters_by_actor_and_object_type(login, alice, ada, org, accounts):
    kept, _ = accounts
    audit_record(organization=org, actor=alice, action="cloud_account.updated", target=kept)
    audit_record(organization=org, actor=ada, action="member.invited", data={"email": "x@y"})
    client = login(alice)
    page = client.get(reverse("accounts:audit_log"))
    html = page.content.decode()
    assert '<option value="ada@acme.test">' in html
    assert '<option value="cloudaccount">' in html
    by_ada = client.get(reverse("accounts:audit_log"), {"actor": "ada@acme.test"}).content
    assert b"member.invited</code>" in by_ada
    assert b"cloud_account.updated</code>" not in by_ada
    accounts_only = client.get(reverse("accounts:audit_log"), {"type": "cloudaccount"}).content
    assert b"cloud_account.updated</code>" in accounts_only
    assert b"member.invited</code>" not in accounts_only


def _events_on_days(org, alice):
    """One event at noon on each of 1, 2 and 3 March 2026 (the site's time zone)."""
    for day in (1, 2, 3):
        event = audit_record(organization=org, actor=alice, action=f"member.day{day}")
        at = timezone.make_aware(datetime(2026, 3, day, 12))
        AuditEvent.objects.filter(pk=event.pk).update(created_at=at)


def test_it_filters_by_date_both_days_included(login, alice, org):
    _events_on_days(org, alice)
    html = (
        login(alice)
        .get(reverse("accounts:audit_log"), {"since": "2026-03-02", "until": "2026-03-03"})
        .content.decode()
    )
    assert "member.day2</code>" in html
    assert "member.day3</code>" in html
    assert "member.day1</code>" not in html


@pytest.mark.parametrize(
    ("query", "message", "shown"),
    [
        ({"since": "yesterday"}, "From:</strong> Enter a valid date.", (1, 2, 3)),
        ({"since": "2026-03-03", "until": "2026-03-01"}, "The end date is before the", (3,)),
    ],
)
def test_a_refused_date_is_named_and_filters_nothing(login, alice, org, query, message, shown):
    _events_on_days(org, alice)
    html = login(alice).get(reverse("accounts:audit_log"), query).content.decode()
    assert message in html
    assert "This filter was not applied." in html
    assert [day for day in (1, 2, 3) if f"member.day{day}</code>" in html] == list(shown)


def test_the_export_is_the_filtered_log_in_words(login, alice, ada, org, other_org, charlie):
    _events_on_days(org, alice)
    audit_record(
        organization=org,
        actor=ada,
        action="member.invited",
        target=CloudAccount.objects.create(organization=org, name="=HYPERLINK(1)"),
        data={"email": "x@acme.test", "roles": ["admin", "member"], "again": False},
    )
    audit_record(organization=other_org, actor=charlie, action="member.removed")
    client = login(alice)
    response = client.get(reverse("accounts:audit_export"), {"since": "2026-03-02"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment;")
    header, *rows = csv.reader(io.StringIO(b"".join(response.streaming_content).decode()))
    actions = [row[header.index("action")] for row in rows]
    assert actions == ["member.invited", "member.day3", "member.day2"]  # newest first
    details = rows[0][header.index("details")]
    # In the order the database keeps a JSON object's keys (PostgreSQL's jsonb sorts them).
    assert sorted(details.split("; ")) == [
        "again: no",
        "email: x@acme.test",
        "roles: admin, member",
    ]
    assert rows[0][header.index("object")] == "'=HYPERLINK(1)"  # no formula
    assert rows[0][header.index("who")] == "ada@acme.test"


@pytest.mark.parametrize("name", ["bob", "vera"])
def test_only_admins_export_the_log(login, team, name):
    assert login(team[name]).get(reverse("accounts:audit_export")).status_code == 403
