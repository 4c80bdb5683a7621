"""Sign-up, e-mail verification and password reset through allauth's real views."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import Membership, User
from accounts.roles import Role
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _link(message: str) -> str:
    return re.search(r"https?://[^/\s]+(/\S+)", message).group(1)


def _signup(client, email: str = "new@example.test"):
    return client.post(
        reverse("account_signup"),
        {"email": email, "password1": PASSWORD, "password2": PASSWORD},
    )


def test_it_creates_a_personal_organization_at_signup(client):
    _signup(client)
    user = User.objects.get(email="new@example.test")
    membership = Membership.objects.select_related("organization").get(user=user)
    assert membership.role == Role.OWNER
    assert membership.organization.is_personal
    assert membership.organization.name == "new's organization"


def test_it_requires_email_verification_before_login(client):
    response = _signup(client)
    assert response.status_code == 302
    assert response.url == reverse("account_email_verification_sent")
    assert len(mail.outbox) == 1
    # Unverified: logging in sends the user back to "verify your e-mail".
    response = client.post(
        reverse("account_login"), {"login": "new@example.test", "password": PASSWORD}
    )
    assert response.url == reverse("account_email_verification_sent")
    assert client.get(reverse("home")).status_code == 302

    confirm_url = _link(mail.outbox[0].body)
    assert client.get(confirm_url).status_code == 200
    response = client.post(confirm_url)
    assert response.status_code == 302
    home = client.get(reverse("home"))
    assert home.status_code == 200
    assert b"new&#x27;s organization" in home.content


def test_it_resets_a_forgotten_password(client, alice):
    response = client.post(reverse("account_reset_password"), {"email": alice.email})
    assert response.status_code == 302
    reset_url = _link(mail.outbox[-1].body)
    response = client.get(reset_url)  # allauth swaps the key into the session and redirects
    form_url = response.url if response.status_code == 302 else reset_url
    new_password = "a brand new passphrase 99"
    response = client.post(form_url, {"password1": new_password, "password2": new_password})
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password(new_password)
    assert not alice.check_password(PASSWORD)


def test_it_changes_the_password_of_a_signed_in_user(login, alice):
    client = login(alice)
    new_password = "another long passphrase 7"
    response = client.post(
        reverse("account_change_password"),
        {"oldpassword": PASSWORD, "password1": new_password, "password2": new_password},
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password(new_password)


def test_it_rate_limits_failed_logins(client, alice):
    def attempt(password: str) -> str:
        data = {"login": alice.email, "password": password}
        return client.post(reverse("account_login"), data).content.decode()

    pages = [attempt("wrong password") for _ in range(6)]
    assert "The email address and/or password you specified are not correct" in pages[0]
    assert "Too many failed login attempts" in pages[-1]
    # Even the right password is refused while the limit holds.
    assert "Too many failed login attempts" in attempt(PASSWORD)
    assert client.get(reverse("home")).status_code == 302


def test_it_uses_the_app_layout_on_allauth_pages(client):
    page = client.get(reverse("account_login")).content.decode()
    assert 'class="navbar' in page
    assert "bootstrap.min.css" in page
    assert 'class="form-control' in page
