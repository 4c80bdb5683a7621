"""The audit log as people read it: values in words (no Python reprs), objects that still
exist as links, and filters by who, what kind of object and action."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.audit import audit_record
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
