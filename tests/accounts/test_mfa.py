"""MFA: a TOTP user logs in with a code or, with the phone lost, with a one-time recovery code."""

from __future__ import annotations

import time

import pytest
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value
from django.urls import reverse

from tests.conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db

SECRET = "JBSWY3DPEHPK3PXP"


@pytest.fixture
def mfa_user():
    user = make_user("mfa@example.test")
    TOTP.activate(user, SECRET)
    RecoveryCodes.activate(user)
    return user


def _sign_in(client, code: str):
    response = client.post(
        reverse("account_login"), {"login": "mfa@example.test", "password": PASSWORD}
    )
    assert response.url == reverse("mfa_authenticate")  # the password alone is not enough
    assert "_auth_user_id" not in client.session
    return client.post(reverse("mfa_authenticate"), {"code": code})


def test_a_totp_code_logs_in(client, mfa_user):
    code = format_hotp_value(hotp_value(SECRET, int(time.time()) // 30))
    response = _sign_in(client, code)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(mfa_user.pk)


def test_a_recovery_code_logs_in_once(client, mfa_user):
    codes = RecoveryCodes(mfa_user.authenticator_set.get(type="recovery_codes")).get_unused_codes()
    assert len(codes) >= 10
    response = _sign_in(client, codes[0])
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(mfa_user.pk)

    # Seeing the codes asks for the password again, then shows what is left.
    reauthenticate = client.get(reverse("mfa_view_recovery_codes")).url
    assert reauthenticate.startswith(reverse("account_reauthenticate"))
    response = client.post(reauthenticate, {"password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("mfa_view_recovery_codes")
    page = response.content.decode()
    assert 'class="navbar' in page or "<nav" in page  # the app's own layout
    assert codes[0] not in page  # used up
    assert codes[1] in page

    client.post(reverse("account_logout"))
    response = _sign_in(client, codes[0])
    assert response.status_code == 200
    assert "Incorrect code." in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_an_organization_can_require_two_factor_of_every_member(
    login, alice, bob, org, token_for, client
):
    settings_url = reverse("accounts:organization_settings")
    owner = login(alice)
    refused = owner.post(settings_url, {"mfa": "1", "require_mfa": "on"}, follow=True)
    assert "Set up two-factor authentication for yourself first." in refused.content.decode()
    TOTP.activate(alice, SECRET)
    owner.post(settings_url, {"mfa": "1", "require_mfa": "on"})
    org.refresh_from_db()
    assert org.require_mfa
    assert owner.get(reverse("home")).status_code == 200  # she has it

    token = token_for(bob)
    member = login(bob)
    response = member.get(reverse("inventory:resource_list"))
    assert response.url == reverse("mfa_activate_totp")
    htmx = member.get(reverse("inventory:resource_list"), headers={"HX-Request": "true"})
    assert htmx.headers["HX-Redirect"] == reverse("mfa_activate_totp")
    assert member.get(reverse("mfa_activate_totp"), follow=True).status_code == 200  # he may go
    api = client.get("/api/resources", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.status_code == 403
    assert "requires two-factor authentication" in api.content.decode()

    TOTP.activate(bob, "KRSXG5CTMVRXEZLU")
    assert member.get(reverse("inventory:resource_list")).status_code == 200
    assert client.get("/api/resources", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200


def test_only_owners_set_the_two_factor_rule(login, ada, org):
    TOTP.activate(ada, SECRET)
    response = login(ada).post(
        reverse("accounts:organization_settings"), {"mfa": "1", "require_mfa": "on"}
    )
    assert response.status_code == 403
    org.refresh_from_db()
    assert not org.require_mfa
