from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.audit import audit_record, client_ip
from accounts.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("name", "status"), [("alice", 200), ("ada", 200), ("bob", 403), ("vera", 403)]
)
def test_admins_see_the_audit_log(login, team, name, status):
    assert login(team[name]).get(reverse("accounts:audit_log")).status_code == status


def test_it_checks_ownership(login, alice, charlie, org, other_org):
    audit_record(organization=org, actor=alice, action="member.added", data={"email": "x@y"})
    audit_record(organization=other_org, actor=charlie, action="member.removed")
    page = login(charlie).get(reverse("accounts:audit_log")).content
    assert b"member.removed" in page
    assert b"member.added" not in page


def test_it_filters_by_action_and_pages(login, alice, org, django_assert_max_num_queries):
    for i in range(120):
        audit_record(
            organization=org,
            actor=alice,
            action="member.added" if i % 2 else "member.removed",
            data={"n": i},
        )
    client = login(alice)
    with django_assert_max_num_queries(10):
        page = client.get(
            reverse("accounts:audit_log"), {"action": "member.added", "page": 2}
        ).content.decode()
    assert "Page 2 of 2" in page
    assert "member.removed</code>" not in page


def test_it_reads_the_client_ip_behind_trusted_proxies(rf, settings, alice, org):
    settings.TRUSTED_PROXY_COUNT = 1
    request = rf.get("/", HTTP_X_FORWARDED_FOR="203.0.113.9, 10.0.0.1")
    request.user = alice
    event = audit_record(organization=org, action="x", actor=alice, ip=client_ip(request))
    assert event.ip_address == "10.0.0.1"  # the hop our one trusted proxy saw
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request) == "127.0.0.1"
    assert AuditEvent.objects.filter(actor=alice).count() == 1
