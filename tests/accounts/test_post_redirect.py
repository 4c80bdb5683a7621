"""Every successful POST answers with a redirect, so a reload never repeats it; what must be
shown once (a new token, a new webhook secret) travels encrypted in the session."""

from __future__ import annotations

import re

import pytest
from django.contrib.sessions.models import Session
from django.urls import reverse

from accounts.models import ApiToken
from billing.selectors import billing_settings

pytestmark = pytest.mark.django_db


def test_making_a_token_redirects_and_shows_it_once(login, bob, org):
    client = login(bob)
    response = client.post(
        reverse("accounts:token_list"),
        {"name": "ci", "organization": org.pk, "role": "member", "expires_in_days": "30"},
    )
    assert response.status_code == 302
    assert response.url == reverse("accounts:token_list")
    page = client.get(response.url).content.decode()
    value = re.search(r'id="new-token">(mct_[\w-]+)<', page).group(1)
    assert not any(value in s.session_data for s in Session.objects.all())  # encrypted
    assert not any(value in str(s.get_decoded()) for s in Session.objects.all())
    again = client.get(reverse("accounts:token_list")).content.decode()
    assert value not in again
    assert ApiToken.objects.count() == 1


def test_a_new_webhook_secret_redirects_and_shows_once(login, alice, org):
    client = login(alice)
    response = client.post(reverse("billing:settings"), {"regenerate": "1"})
    assert response.status_code == 302
    secret = billing_settings(org).webhook["secret"]
    assert secret in client.get(response.url).content.decode()
    assert secret not in client.get(reverse("billing:settings")).content.decode()
