"""Personal access tokens: made on the profile page, shown once, stored as a hash, capped at
the owner's role, revoked and expired ones refused."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiToken, hash_token
from accounts.roles import Role
from accounts.tokens import token_create
from mcloud.errors import ActionRefused

pytestmark = pytest.mark.django_db


def test_a_token_is_shown_once_and_only_its_hash_is_stored(login, bob, org, api):
    client = login(bob)
    page = client.post(
        reverse("accounts:token_list"),
        {"name": "ci", "organization": org.pk, "role": "member", "expires_in_days": "30"},
        follow=True,  # shown once, after the redirect
    )
    value = re.search(r'id="new-token">(mct_[\w-]+)<', page.content.decode()).group(1)
    token = ApiToken.objects.get()
    assert token.token_hash == hash_token(value)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_apitoken")
        assert value not in repr(cursor.fetchall())
    assert value not in client.get(reverse("accounts:token_list")).content.decode()
    me = api(value).get("/api/me").json()
    assert (me["email"], me["role"], me["via"]) == ("bob@acme.test", "member", "token")
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_a_token_cannot_outrank_its_owner(login, vera, org):
    page = login(vera).post(
        reverse("accounts:token_list"),
        {"name": "x", "organization": org.pk, "role": "admin", "expires_in_days": "30"},
    )
    assert "A token cannot have a higher role than yours (viewer)" in page.content.decode()
    assert not ApiToken.objects.exists()


def test_token_lifetimes_are_capped_by_the_instance(login, bob, org, settings, api):
    settings.API_TOKEN_MAX_DAYS = 60
    client = login(bob)
    form = client.get(reverse("accounts:token_list")).content.decode()
    assert ">never<" not in form
    assert 'value="60"' in form
    for days in ("", "365"):
        refused = client.post(reverse("accounts:token_list"), {
            "name": "ci", "organization": org.pk, "role": "member", "expires_in_days": days,
        }).content.decode()  # fmt: skip
        assert "new-token" not in refused
    assert not ApiToken.objects.exists()
    with pytest.raises(ActionRefused, match="within 60 days"):
        token_create(user=bob, organization=org, name="x", role=Role.MEMBER,
                     expires_in_days=None)  # fmt: skip

    # A token made when no cap was set stops working once it is older than the cap.
    settings.API_TOKEN_MAX_DAYS = 0
    _, value = token_create(user=bob, organization=org, name="old", role=Role.MEMBER,
                            expires_in_days=None)  # fmt: skip
    assert api(value).get("/api/me").status_code == 200
    settings.API_TOKEN_MAX_DAYS = 60
    with time_machine.travel(timezone.now() + timedelta(days=61)):
        assert api(value).get("/api/me").status_code == 401


def test_revoked_expired_and_unknown_tokens_are_401(login, bob, token_for, api):
    value = token_for(bob, days=1)
    assert api(value).get("/api/me").status_code == 200
    with time_machine.travel("2099-01-01"):
        expired = api(value).get("/api/me")
    assert expired.status_code == 401
    assert expired.json() == {
        "error": {"code": "unauthorized", "message": "A valid token or session is required."}
    }
    token = ApiToken.objects.get()
    login(bob).post(reverse("accounts:token_revoke", args=[token.pk]))
    assert api(value).get("/api/me").status_code == 401
    assert api("mct_not-a-real-token").get("/api/me").status_code == 401
    assert api("").get("/api/me").status_code == 401


def test_a_token_follows_its_owners_membership(bob, org, token_for, api):
    value = token_for(bob)
    bob.memberships.update(role="viewer")  # demoted since: the token is too
    assert api(value).get("/api/me").json()["role"] == "viewer"
    bob.memberships.all().delete()  # gone from the organization: the token is dead
    assert api(value).get("/api/me").status_code == 401


def test_token_requests_are_rate_limited(bob, token_for, api, settings):
    from mcloud.api import security

    value = token_for(bob)
    original = security.THROTTLE[0].rate
    security.THROTTLE[0].rate = "3/m"
    security.THROTTLE[0].num_requests, security.THROTTLE[0].duration = 3, 60
    try:
        statuses = [api(value).get("/api/me").status_code for _ in range(5)]
    finally:
        security.THROTTLE[0].rate = original
        security.THROTTLE[0].num_requests, security.THROTTLE[0].duration = security.THROTTLE[
            0
        ].parse_rate(original)
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3] == 429
